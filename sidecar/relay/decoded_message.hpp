// decoded_message.hpp — the fields the relay needs from one event_decoder message.
//
// The plugin sends one JSON object per event ({"event_id":…,"event_source":…,"lsn":"X/X",…}) or
// a heartbeat ({"heartbeat":true,"lsn":"X/X",…}). The payload is republished unchanged; only the
// routing fields are read here.
//
// This runs once per relayed event, so it is a single pass over the text without a DOM and
// without allocating: the top-level members are scanned in order, the ones the relay needs are
// returned as views into the payload, and every other value (data, metadata, context: nested
// JSON of any size) is skipped by its brackets and strings. The syntax is still checked (quotes,
// escapes, control characters, bracket nesting, literals, nothing after the object), so a
// malformed message is rejected as before. Only a string that contains escapes is decoded, into
// storage owned by the DecodedMessage.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relay/protocol.hpp"

namespace event::sidecar::relay {

enum class DecodedKind { kEvent, kHeartbeat, kInvalid };

struct DecodedMessage {
	DecodedKind kind = DecodedKind::kInvalid;
	Lsn lsn = 0;                  // commit LSN (event) or message LSN (heartbeat)
	// Views into the parsed payload, or into `unescaped` when the JSON string had escapes. Valid
	// until the payload is released or this object is parsed into again.
	std::string_view event_id;
	std::string_view event_type;
	std::string_view event_source;
	std::string_view event_category;
	std::string_view stream_id;   // empty when null or absent
	std::string_view idempotency_key; // empty when null or absent
	long long stream_version = 0; // 0 when null, absent or not an integer
	int64_t commit_time_us = 0;   // commit_time as Unix microseconds; 0 when absent or malformed
	std::string error;            // why kInvalid

	// Backing store of decoded (unescaped) strings, one per view above.
	std::string unescaped[6];

	DecodedMessage() = default;
	DecodedMessage(const DecodedMessage &) = delete; // the views may point into `unescaped`
	DecodedMessage &operator=(const DecodedMessage &) = delete;
};

// Parses one XLogData payload from event_decoder into *m (every field is reset first).
// Returns true unless m->kind is kInvalid (then m->error says why).
bool ParseDecodedMessage(std::string_view payload, DecodedMessage *m);

// Parses the plugin's fixed timestamp format "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, exactly six
// fractional digits, years 1970-9999) into Unix microseconds. False for anything else.
bool ParseCommitTime(std::string_view text, int64_t *unix_micros);

// Appends the NATS subject of an event, events.{source}.{category}.{event_type}, sanitised as in
// core/subject.hpp.
void AppendSubject(std::string *out, const DecodedMessage &m);

std::string SubjectFor(const DecodedMessage &m);

} // namespace event::sidecar::relay
