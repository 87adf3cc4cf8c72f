// ingested.hpp — the one definition of "an event the frontend ingester stored" (issue 13).
//
// The frontend collector publishes each frontend event to JetStream first (Nats-Msg-Id =
// event_id); the ingester (sidecar/collect/ingester.cpp) then stores it with event_source
// "frontend" and idempotency_key "jetstream:<event_id>". Such a row is in JetStream already, so
// the relay must not publish it a second time: the output plugin leaves it out of the relay's
// stream at decode time (option skip_ingested, extension/decoder, docs/logical-decoding.md).
// The ingester writes the mark with IngestedKey, the plugin tests it with IsIngested.
//
// The prefix is reserved: the write path accepts a key starting with "jetstream:" only on a
// frontend event whose caller-given event_id it names (CheckIngestedKey in extension/pg/append.cpp).
// So such a key is unique because the event_id is, and it needs no row in event.idempotency_keys
// (three WAL records fewer per ingested event); and no API client can hide an event from the
// relay's stream by setting the mark itself.
#pragma once

#include "core/cpp_only.hpp"
#include "core/uuid7.hpp"

#include <string>
#include <string_view>

namespace event::core {

inline constexpr std::string_view kIngestedSource = "frontend";
inline constexpr std::string_view kIngestedKeyPrefix = "jetstream:";

// The idempotency key the ingester stores an event_id under.
inline std::string IngestedKey(std::string_view event_id) {
	std::string key;
	key.reserve(kIngestedKeyPrefix.size() + event_id.size());
	key.append(kIngestedKeyPrefix);
	key.append(event_id);
	return key;
}

// True for a key in the reserved name space.
constexpr bool HasIngestedPrefix(std::string_view idempotency_key) {
	return idempotency_key.substr(0, kIngestedKeyPrefix.size()) == kIngestedKeyPrefix;
}

// True when key is "jetstream:" followed by event_id (any letter case).
inline bool IsIngestedKeyOf(std::string_view idempotency_key, const Uuid &event_id) {
	if (!HasIngestedPrefix(idempotency_key))
		return false;
	std::optional<Uuid> named = ParseUuid(idempotency_key.substr(kIngestedKeyPrefix.size()));
	return named && *named == event_id;
}

// True for a row the ingester stored: source frontend and a key "jetstream:" plus something.
constexpr bool IsIngested(std::string_view event_source, std::string_view idempotency_key) {
	return event_source == kIngestedSource && idempotency_key.size() > kIngestedKeyPrefix.size() &&
	       HasIngestedPrefix(idempotency_key);
}

} // namespace event::core
