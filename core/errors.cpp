// errors.cpp — core::SqlError.
#include "core/errors.hpp"

#include <utility>

namespace event::core {

// A SQLSTATE is five characters, each a digit or an upper-case ASCII letter.
bool IsValidSqlState(const std::string &code) noexcept {
	if (code.size() != 5)
		return false;
	for (char c : code) {
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

// Stores the parts as given; an invalid sqlstate is reported by the guard as XX000.
SqlError::SqlError(std::string sqlstate, std::string message, std::string detail, std::string hint)
    : sqlstate_(std::move(sqlstate)), message_(std::move(message)), detail_(std::move(detail)),
      hint_(std::move(hint)) {
}

} // namespace event::core
