// pub_ack.hpp — JetStream's answer to a publish (the PubAck), parsed without nats.c, so that the
// frontend collector's tracked publishing (nats/publisher.hpp) and the unit tests share it.
#pragma once

#include <string>
#include <string_view>

namespace event::sidecar::nats {

struct TrackedAck {
	bool ok = false;
	bool duplicate = false;     // JetStream had the Nats-Msg-Id already (within its window)
	bool no_responders = false; // no stream listens on the subject
	std::string error;          // for !ok
};

// {"stream":"EVENTS","seq":7[,"duplicate":true]} -> ok; {"error":{"code":..,"err_code":..,
// "description":".."}} -> !ok with the description; anything else -> !ok "unexpected answer".
TrackedAck ParsePubAck(std::string_view json);

} // namespace event::sidecar::nats
