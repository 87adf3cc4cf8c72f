// compat.hpp — the one way C++ code in extension/ includes PostgreSQL's headers.
//
// Every extension/pg/*.cpp (and guard.hpp) includes this first. It fixes the few places where
// PostgreSQL 15's C headers do not compile, or misbehave, as C++17 under g++ 12 (style.md §2):
//
//  1. The C++ standard headers we use are included BEFORE postgres.h. port.h #defines
//     snprintf/vsnprintf/sprintf/fprintf/printf/strerror to pg_* replacements; libstdc++
//     headers read after that would refer to std::pg_vsnprintf and fail. Include guards make
//     later #include <string> etc. no-ops, so order in the .cpp files does not matter.
//  2. All PostgreSQL headers are wrapped in extern "C" (they declare C functions).
//  3. `register` in a few headers is an error in C++17: handled by -Wno-register in the build
//     flags (PG_CXXFLAGS), not here.
//  4. AssertVariableIsOfType uses the C-only __builtin_types_compatible_p; it is used by
//     LSN_FORMAT_ARGS, the dlist_/slist_foreach family and PG_FUNCTION_INFO_V1. Redefined below
//     with static_assert + decltype.
//  5. Macros that clash with C++ identifiers are removed after the PostgreSQL headers:
//     `restrict` (not a C++ keyword, but a name some code uses) and `_(x)` (gettext shorthand;
//     `_` is a legal C++ identifier). The pg_* printf replacements stay: PostgreSQL code relies on
//     their %m support and their behaviour in the backend is the same as libc's otherwise.
//     Consequence: write snprintf(...) unqualified — std::snprintf would become std::pg_snprintf.
#pragma once

// Lets core/cpp_only.hpp tell "PostgreSQL headers came in through compat.hpp" apart from a bypass.
#define EVENT_PG_COMPAT_HPP 1

#ifndef __cplusplus
#error "extension/pg/compat.hpp is for C++ translation units"
#endif

// (1) Standard headers first, see above.
#include <algorithm>
#include <cinttypes>
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// (2) PostgreSQL headers, as C. Warnings our flags would raise inside them are not ours to fix:
// unused parameters in inline functions, and (clang, for PGXS's LLVM bitcode) the gnu_printf
// format archetype that clang does not know. A .cpp that needs more PostgreSQL headers puts
// them, after this header, between the same brackets:
//   EVENT_BEGIN_PG_HEADERS
//   #include "replication/output_plugin.h"
//   EVENT_END_PG_HEADERS
#ifdef __clang__
#define EVENT_PG_IGNORE_CLANG_ONLY _Pragma("GCC diagnostic ignored \"-Wignored-attributes\"")
#else
#define EVENT_PG_IGNORE_CLANG_ONLY
#endif
#define EVENT_BEGIN_PG_HEADERS                                                                                         \
	_Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wunused-parameter\"")                            \
	    _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")                                              \
	        _Pragma("GCC diagnostic ignored \"-Wsign-compare\"") EVENT_PG_IGNORE_CLANG_ONLY extern "C" {
#define EVENT_END_PG_HEADERS                                                                                           \
	}                                                                                                                  \
	_Pragma("GCC diagnostic pop")

EVENT_BEGIN_PG_HEADERS
#include "postgres.h"

// (4) Must come right after c.h (via postgres.h), before any header that uses it in a macro.
#undef AssertVariableIsOfType
#undef AssertVariableIsOfTypeMacro
// decltype((x)) of an lvalue is a reference and __builtin_types_compatible_p ignores qualifiers,
// so compare the decayed type. The Macro form must be an expression: a static_assert inside a
// GCC statement expression (what c.h's own C++ StaticAssertExpr does).
#define AssertVariableIsOfType(varname, typename)                                                                      \
	static_assert(std::is_same<std::decay_t<decltype(varname)>, typename>::value,                                      \
	              CppAsString(varname) " does not have type " CppAsString(typename))
#define AssertVariableIsOfTypeMacro(varname, typename)                                                                 \
	((void)({                                                                                                          \
		AssertVariableIsOfType(varname, typename);                                                                     \
		true;                                                                                                          \
	}))

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
EVENT_END_PG_HEADERS

// (5) Clashing macros.
#undef restrict
#undef _
