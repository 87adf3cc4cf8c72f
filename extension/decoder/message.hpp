// message.hpp — the JSON text of one event_decoder message (an event or a heartbeat).
//
// Pure C++ (no PostgreSQL headers): plugin.cpp extracts the column values of a decoded row as
// text (uuid, timestamps and numbers already formatted, jsonb as its JSON text, text columns
// raw) and EventMessageWriter assembles the message in the fixed field order of
// docs/logical-decoding.md.
//
// This is the plugin's hot path (one message per decoded event), so it is written by hand
// rather than through a JSON library: the member keys with their separators are built once per
// session, the commit fields once per transaction, and a message is written with plain pointer
// stores into a buffer the caller sized with Bound() — in the plugin that buffer is the
// walsender's own output StringInfo, so the text is never copied. String escaping follows
// core/json.hpp (RFC 8259: '"', '\\' and U+0000..U+001F; everything else unchanged).
#pragma once

#include "core/cpp_only.hpp"
#include "core/timestamp.hpp"

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

	bool operator==(const CommitInfo &other) const {
		return xid == other.xid && lsn == other.lsn && commit_time == other.commit_time;
	}
};

// The prefix of pg_logical_emit_message messages reported as heartbeats.
inline constexpr char kHeartbeatPrefix[] = "event.heartbeat";

// Timestamps as core/timestamp.hpp writes them (the extension's JSON answers use the same).
using core::FormatTimestamp;
using core::kTimestampBufferSize;

// Buffer size (with the NUL) for FormatLsn.
inline constexpr size_t kLsnBufferSize = 24;

// LSN → PostgreSQL's text form "X/X" (upper-case hex). Returns the length written.
size_t FormatLsn(uint64_t lsn, char (&out)[kLsnBufferSize]) noexcept;

// Writes the messages of one decoding session.
class EventMessageWriter {
public:
	explicit EventMessageWriter(const Options &options);

	// Sets the transaction of the following events (formats xid, lsn and commit_time once).
	void SetCommit(const CommitInfo &commit);
	const CommitInfo &commit() const {
		return commit_;
	}

	// An upper bound of the bytes Write() produces for values.
	size_t Bound(const EventValues &values) const;

	// Writes the message of one event into out (at least Bound(values) bytes) and returns its
	// length: the fields selected by options.fields in EventField order, then "xid", "lsn" and
	// "commit_time" of the current commit as enabled by the include_* options.
	size_t Write(const EventValues &values, char *out) const;

	// The same, appended to a std::string.
	void Append(std::string &out, const EventValues &values) const;

private:
	Options options_;
	std::string keys_[kEventFieldCount]; // separator + quoted key + colon, per selected field
	std::string commit_text_;            // the commit members and the closing brace
	CommitInfo commit_;
};

// Appends a heartbeat message: {"heartbeat":true,"lsn":"X/X","content":"..."}.
void AppendHeartbeatMessage(std::string &out, Format format, uint64_t lsn, std::string_view content);

} // namespace event::decoder
