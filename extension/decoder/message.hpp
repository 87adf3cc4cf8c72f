// message.hpp — the JSON text of one event_decoder message (an event or a heartbeat).
//
// Pure C++ (no PostgreSQL headers): plugin.cpp extracts the column values of a decoded row as
// text (uuid, timestamps and numbers already formatted, jsonb as its JSON text, text columns
// raw) and these functions assemble the message in the fixed field order of
// docs/logical-decoding.md. Strings are escaped with core/json.hpp.
#pragma once

#include "core/cpp_only.hpp"

#include "decoder/options.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace event::decoder {

// One decoded row of event.events: per field its text, or null. Text fields (uuid, text,
// timestamps) are escaped and quoted; numbers and jsonb are copied as they are.
struct EventValues {
	std::string_view text[kEventFieldCount];
	bool is_null[kEventFieldCount] = {};
};

// The transaction an event was committed in.
struct CommitInfo {
	uint32_t xid = 0;
	uint64_t lsn = 0;         // LSN of the commit record
	int64_t commit_time = 0;  // PostgreSQL TimestampTz: microseconds since 2000-01-01 00:00 UTC
};

// The prefix of pg_logical_emit_message messages reported as heartbeats.
inline constexpr char kHeartbeatPrefix[] = "event.heartbeat";

// Buffer sizes (with the NUL) for the formatters below.
inline constexpr size_t kTimestampBufferSize = 40;
inline constexpr size_t kLsnBufferSize = 24;

// PostgreSQL TimestampTz → ISO-8601 UTC with microseconds, "2026-11-23T10:00:00.123456Z";
// "infinity" / "-infinity" for the special values. Returns the length written (NUL-terminated).
size_t FormatTimestamp(int64_t pg_micros, char (&out)[kTimestampBufferSize]) noexcept;

// LSN → PostgreSQL's text form "X/X" (upper-case hex). Returns the length written.
size_t FormatLsn(uint64_t lsn, char (&out)[kLsnBufferSize]) noexcept;

// Appends the message of one event: the fields selected by options.fields in EventField order,
// then "xid", "lsn", "commit_time" as enabled by the include_* options.
void AppendEventMessage(std::string &out, const Options &options, const EventValues &values, const CommitInfo &commit);

// Appends a heartbeat message: {"heartbeat":true,"lsn":"X/X","content":"..."}.
void AppendHeartbeatMessage(std::string &out, Format format, uint64_t lsn, std::string_view content);

} // namespace event::decoder
