// counters.hpp — statistics counters maintained by the write path (event.stat_counters).
//
// Deltas are accumulated in backend memory for the whole transaction, tagged with the
// subtransaction that made them (a rolled-back savepoint drops its deltas), and written with one
// upsert just before commit, into rows sharded by backend (shard = MyBackendId) so concurrent
// writers never wait on each other's counter rows. Writing once per transaction also keeps a
// transaction that appends thousands of events from updating the same row thousands of times.
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// Adds delta to (dimension, key) in the current transaction's pending deltas.
void CounterAdd(const char *dimension, const char *key, int64 delta);

// Counts one stored event in every dimension the statistics read (total, status/pending,
// source, category, type, user, day).
void CountStoredEvent(const char *source, const char *category, const char *type, const char *user_id,
                      TimestampTz created_at);

// Writes the pending deltas now (one upsert) and clears them; a no-op when there are none.
// Called before commit, and by readers of the counters so a transaction sees its own events.
// Connects to SPI itself.
void CountersFlush();

// Forgets the deltas of an aborted subtransaction (and of its children).
void CountersAbortSubtransaction(SubTransactionId subid);

// Forgets every pending delta (transaction abort).
void CountersDiscard();

} // namespace event::pg
