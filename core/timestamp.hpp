// timestamp.hpp — the one text form of a timestamp in what the product writes: the output
// plugin's messages (the relay's wire format) and the extension's JSON answers (EventResponse,
// statistics), so both sides print the same instant the same way. Written by hand rather than
// through snprintf: it is on the path of every event decoded and of every event answered
// (snprintf was 2.7 % of a 100-event create_events call).
#pragma once

#include "core/cpp_only.hpp"

#include <cstddef>
#include <cstdint>

namespace event::core {

// Buffer size (with the NUL) for FormatTimestamp.
inline constexpr size_t kTimestampBufferSize = 40;

// PostgreSQL TimestampTz (microseconds since 2000-01-01 UTC) → ISO-8601 UTC with microseconds,
// "2026-11-23T10:00:00.123456Z"; "infinity" / "-infinity" for the special values; years outside
// 0..9999 get their sign and all their digits. Returns the length written (NUL-terminated).
size_t FormatTimestamp(int64_t pg_micros, char (&out)[kTimestampBufferSize]) noexcept;

} // namespace event::core
