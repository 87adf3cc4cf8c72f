// position.hpp — the global position of events and the catch-up horizon.
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// The next global position for an event written by this transaction. The first call in a
// transaction registers the transaction as in flight from that position (see position.cpp).
int64 NextPosition();

// Locks stream_id's position order until the end of the top-level transaction: taken before
// NextPosition by every writer of the stream, so that a later writer's positions are larger than
// every position of the earlier ones (position order = version order). Lock streams in
// stream_id order. An advisory lock on a 64-bit hash of the id; a collision only serialises
// two streams.
void LockStreamOrder(const char *stream_id);

// Highest position p such that every event with position <= p is committed or rolled back.
int64 SafePosition();

} // namespace event::pg
