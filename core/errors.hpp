// errors.hpp — the SQL error type of pure C++ code, and every SQLSTATE the extension raises.
//
// Core code (and extension/pg code) reports a user-facing failure by throwing core::SqlError;
// the boundary guard (extension/guard.hpp) turns it into ereport(ERROR) with the same SQLSTATE,
// message, detail and hint. The sidecar maps the same codes to HTTP statuses.
// Every code here is listed in docs/errors.md.
#pragma once

#include "core/cpp_only.hpp"

#include <exception>
#include <string>

namespace event::core {

// Our own class "EV" (design.md "Errors").
inline constexpr char kWrongExpectedVersion[] = "EV001"; // append: expected version is not the current one
inline constexpr char kSchemaValidation[] = "EV002";     // event data fails its JSON schema
inline constexpr char kEventImmutable[] = "EV003";       // UPDATE/DELETE/TRUNCATE of stored events
inline constexpr char kDirectWrite[] = "EV004";          // plain INSERT/COPY into event.events
inline constexpr char kNotOnStandby[] = "EV005";         // catch-up read on a server in recovery
inline constexpr char kSchemaIncompatible[] = "EV020";   // register_schema: not backward compatible

// Standard PostgreSQL codes we use (src/backend/utils/errcodes.txt).
inline constexpr char kNullValueNotAllowed[] = "22004";         // null_value_not_allowed
inline constexpr char kStringDataRightTruncation[] = "22001";   // string_data_right_truncation
inline constexpr char kInvalidParameterValue[] = "22023";       // invalid_parameter_value
inline constexpr char kInvalidTextRepresentation[] = "22P02";   // invalid_text_representation
inline constexpr char kInvalidRowCountInLimit[] = "2201W";      // invalid_row_count_in_limit_clause
inline constexpr char kInvalidRowCountInOffset[] = "2201X";     // invalid_row_count_in_result_offset_clause
inline constexpr char kInsufficientPrivilege[] = "42501";       // insufficient_privilege
inline constexpr char kProgramLimitExceeded[] = "54000";        // program_limit_exceeded
inline constexpr char kObjectNotInPrerequisiteState[] = "55000"; // object_not_in_prerequisite_state
inline constexpr char kFeatureNotSupported[] = "0A000";         // feature_not_supported
inline constexpr char kOutOfMemory[] = "53200";                 // out_of_memory
inline constexpr char kInternalError[] = "XX000";               // internal_error

// True if code is a well-formed SQLSTATE: exactly 5 characters from [0-9A-Z].
bool IsValidSqlState(const std::string &code) noexcept;

// A user-facing SQL error raised from C++: SQLSTATE, message and optional detail and hint.
// Conventions (style.md §5): message lowercase without final period, values in double quotes;
// detail and hint are full sentences. what() returns the message.
class SqlError : public std::exception {
public:
	SqlError(std::string sqlstate, std::string message, std::string detail = {}, std::string hint = {});

	const std::string &sqlstate() const noexcept {
		return sqlstate_;
	}
	const std::string &message() const noexcept {
		return message_;
	}
	const std::string &detail() const noexcept {
		return detail_;
	}
	const std::string &hint() const noexcept {
		return hint_;
	}
	const char *what() const noexcept override {
		return message_.c_str();
	}

private:
	std::string sqlstate_;
	std::string message_;
	std::string detail_;
	std::string hint_;
};

} // namespace event::core
