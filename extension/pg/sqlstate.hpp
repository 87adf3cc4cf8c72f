// sqlstate.hpp — the packed errcode of a SQLSTATE defined in core/errors.hpp, for ereport:
//   ereport(ERROR, (errcode(SqlState(core::kWrongExpectedVersion)), ...))
// so that every code of ours is spelled once (core/errors.hpp) and never as a literal here.
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// MAKE_SQLSTATE of a five-character code such as core::kWrongExpectedVersion.
constexpr int SqlState(const char (&code)[6]) {
	return MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]);
}

} // namespace event::pg
