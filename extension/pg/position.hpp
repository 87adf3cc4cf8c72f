// position.hpp — the global position of events and the catch-up horizon.
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// The next global position for an event written by this transaction. The first call in a
// transaction registers the transaction as in flight from that position (see position.cpp).
int64 NextPosition();

// Highest position p such that every event with position <= p is committed or rolled back.
// SPI must be connected.
int64 SafePosition();

} // namespace event::pg
