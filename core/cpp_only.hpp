// cpp_only.hpp — marks a file as pure C++ (core/, shared with the sidecar).
//
// Code in core/ never calls PostgreSQL: it must be unit-testable without a server and
// compile into the sidecar. Every core header includes this file first.
//
// extension/pg/*.cpp include pg/compat.hpp first and core headers after it, which is allowed:
// core headers only declare plain C++. What is refused is postgres.h arriving any other way —
// a core file (or anyone) including PostgreSQL headers directly, bypassing compat.hpp. The hard
// guarantee is the unit-test and sidecar builds, which have no PostgreSQL include path at all.
//
// No #pragma once on purpose: the check is cheap and re-runs at every inclusion.
#if defined(POSTGRES_H) && !defined(EVENT_PG_COMPAT_HPP)
#error "core/ is pure C++: it must not see postgres.h (PostgreSQL code goes in extension/pg via pg/compat.hpp)"
#endif
