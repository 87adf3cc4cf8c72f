// validate.hpp — validation of user-supplied event fields (shared by the extension and sidecar).
//
// Every check throws core::SqlError on failure: SQLSTATE 22023 for a bad value, 22001 for a value
// over its length limit; message lowercase with the value in double quotes (shortened and with
// control characters shown as '?'); detail says what is wrong, hint says what is accepted.
// Input is assumed to be valid UTF-8 (PostgreSQL has checked it already).
#pragma once

#include "core/cpp_only.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace event::core {

// Length limits in bytes.
inline constexpr size_t kMaxEventTypeBytes = 255;
inline constexpr size_t kMaxStreamIdBytes = 255;
inline constexpr size_t kMaxUserIdBytes = 255;
inline constexpr size_t kMaxIdempotencyKeyBytes = 255;
inline constexpr size_t kMaxNameBytes = 63; // NAMEDATALEN - 1

// value without leading/trailing ASCII whitespace (space, \t, \n, \v, \f, \r).
std::string_view TrimAscii(std::string_view value) noexcept;

// True if value contains an ASCII control character (0x00-0x1F, 0x7F) or a C1 control (U+0080-U+009F).
bool HasControlChars(std::string_view value) noexcept;

// Checks an event_type and returns it trimmed: non-empty after trimming, at most 255 bytes,
// no control characters.
std::string ValidateEventType(std::string_view value);

// A parsed stream id "{entity_type}:{entity_id}".
struct StreamId {
	std::string entity_type;
	std::string entity_id;
};

// Parses "{entity_type}:{entity_id}", split at the first ':'. Both parts non-empty, entity_type
// matches [A-Za-z0-9_.-]+, entity_id has no control characters, whole value at most 255 bytes.
StreamId ParseStreamId(std::string_view value);

// Checks an entity_type given on its own (EventCreateRequest entity_type + entity_id): non-empty,
// [A-Za-z0-9_.-]+. A ':' is refused, not re-split into another entity type and id.
void ValidateEntityType(std::string_view value);

// Checks a user_id: at most 255 bytes, no control characters.
void ValidateUserId(std::string_view value);

// Checks an idempotency_key: non-empty, at most 255 bytes, no control characters.
void ValidateIdempotencyKey(std::string_view value);

// What an append expects of the stream's current version.
struct ExpectedVersion {
	enum class Kind { Any, NoStream, Exact };

	Kind kind = Kind::Any;
	int64_t version = 0; // >= 1 when kind == Exact, else 0

	static ExpectedVersion Any() noexcept {
		return {Kind::Any, 0};
	}
	static ExpectedVersion NoStream() noexcept {
		return {Kind::NoStream, 0};
	}
	static ExpectedVersion Exact(int64_t v) noexcept {
		return {Kind::Exact, v};
	}
	friend bool operator==(const ExpectedVersion &a, const ExpectedVersion &b) noexcept {
		return a.kind == b.kind && a.version == b.version;
	}
};

// Parses "any", "no_stream" (case-insensitive, surrounding whitespace ignored), "0" (= no_stream)
// or a decimal number >= 1 (exact version).
ExpectedVersion ParseExpectedVersion(std::string_view text);

// A JSON number given as expected_version, as its decimal text (numeric_out): only an integer
// >= 0 passes (1.5, -0.4, 2.0 are refused with 22023, never rounded).
ExpectedVersion ExpectedVersionFromJsonNumber(std::string_view text);

// 0 -> no_stream, >= 1 -> exact; negative -> error.
ExpectedVersion ExpectedVersionFromInt(int64_t value);

// The text form used in error details: "any", "no_stream" or the number.
std::string ExpectedVersionToString(const ExpectedVersion &expected);

// Checks that value is one of allowed; on failure (22023) the hint lists the allowed values,
// comma-separated. field names the parameter in the message, e.g. "source".
void CheckAllowed(std::string_view field, std::string_view value, std::initializer_list<std::string_view> allowed);
void CheckAllowed(std::string_view field, std::string_view value, const std::vector<std::string> &allowed);

// Checks a name for a new source/category/...: [a-z][a-z0-9_]*, at most 63 bytes.
void ValidateName(std::string_view field, std::string_view value);

// value for an error message: at most 64 bytes (cut at a character boundary, "..." appended),
// control characters replaced by '?'.
std::string DisplayValue(std::string_view value);

} // namespace event::core
