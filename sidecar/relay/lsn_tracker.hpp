// lsn_tracker.hpp — which LSN may be confirmed to PostgreSQL as flushed.
//
// Every decoded event carries the commit LSN of its transaction (its "key"). The tracker keeps an
// ordered map key -> number of events published but not yet acknowledged by JetStream, and
// confirms the highest position L such that every event whose key is <= L has been acknowledged.
//
// Why "closed" keys matter: the plugin sends no begin/commit messages, so after the first event
// of a transaction has been acknowledged we cannot yet know whether more events of the same
// transaction are still to come. A key is closed once something beyond it has been received:
// an event or heartbeat with a greater LSN, or a keepalive whose walEnd is greater (the walsender
// reports walEnd = end of the last record it fully processed, so it only passes a commit record
// after all of that transaction's messages were sent). Only acknowledged, closed keys are
// confirmed. Confirming a key K that is a commit record's start LSN makes PostgreSQL resend that
// transaction after a restart (decoding skips commits strictly before the confirmed position),
// which is harmless: JetStream drops the duplicates by Nats-Msg-Id.
//
// When no key is open or outstanding, the greatest walEnd/heartbeat position seen is confirmed,
// so idle or filtered slots advance. The confirmed value never goes backwards. After a
// reconnect PostgreSQL resends from the slot; re-added keys below the confirmed value are counted
// but never move it back. Not thread-safe: the relay loop owns it.
#pragma once

#include <cstdint>
#include <map>

#include "relay/protocol.hpp"

namespace event::sidecar::relay {

class LsnTracker {
public:
	// One event with commit LSN `key` was handed to the publisher.
	void Add(Lsn key);
	// One event with commit LSN `key` was acknowledged. False if nothing was outstanding there.
	bool Ack(Lsn key);
	// Everything strictly below `end` has been received (keepalive walEnd, heartbeat LSN).
	void Observe(Lsn end);

	// Highest LSN safe to report as flushed.
	Lsn Confirmed() const { return confirmed_; }
	// Events added but not acknowledged.
	int64_t Outstanding() const { return outstanding_; }
	// Highest position received from any message.
	Lsn Received() const { return received_; }
	// Starts from a known-safe position (the slot's confirmed_flush_lsn).
	void SetConfirmedFloor(Lsn lsn);

private:
	void Advance();

	std::map<Lsn, int64_t> keys_; // commit LSN -> unacknowledged events
	Lsn confirmed_ = 0;
	Lsn closed_below_ = 0;   // keys < this are closed
	Lsn observed_end_ = 0;   // greatest keepalive/heartbeat position
	Lsn received_ = 0;
	int64_t outstanding_ = 0;
};

} // namespace event::sidecar::relay
