// decoded_message.hpp — the fields the relay needs from one event_decoder message.
//
// The plugin sends one JSON object per event ({"event_id":…,"event_source":…,"lsn":"X/X",…}) or
// a heartbeat ({"heartbeat":true,"lsn":"X/X",…}). The payload is republished unchanged; only the
// routing fields are read here.
#pragma once

#include <string>
#include <string_view>

#include "relay/protocol.hpp"

namespace event::sidecar::relay {

enum class DecodedKind { kEvent, kHeartbeat, kInvalid };

struct DecodedMessage {
	DecodedKind kind = DecodedKind::kInvalid;
	Lsn lsn = 0;             // commit LSN (event) or message LSN (heartbeat)
	std::string event_id;
	std::string event_type;
	std::string event_source;
	std::string event_category;
	std::string stream_id;   // empty when null
	long long stream_version = 0;
	std::string error;       // why kInvalid
};

// Parses one XLogData payload from event_decoder.
DecodedMessage ParseDecodedMessage(std::string_view payload);

// NATS subject for an event: events.{source}.{category}.{event_type}, sanitised (core/subject.hpp).
std::string SubjectFor(const DecodedMessage &m);

} // namespace event::sidecar::relay
