// counters.hpp — statistics counters maintained by the write path (event.stat_counters).
//
// Deltas are accumulated in backend memory during a call and written with one upsert
// (CountersFlush) into rows sharded by backend (shard = MyBackendId), so concurrent writers
// never wait on each other's counter rows. Readers sum n over shards.
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// Adds delta to (dimension, key) in the pending batch (no database access).
void CounterAdd(const char *dimension, const char *key, int64 delta);

// Counts one stored event in every dimension the statistics read (total, status/pending,
// source, category, type, user, day).
void CountStoredEvent(const char *source, const char *category, const char *type, const char *user_id,
                      TimestampTz created_at);

// Writes the pending deltas with one upsert and clears them. SPI must be connected.
void CountersFlush();

// Drops pending deltas without writing them (a failed item in partial mode).
void CountersDiscard();

// Number of pending (dimension, key) entries.
int CountersPending();

} // namespace event::pg
