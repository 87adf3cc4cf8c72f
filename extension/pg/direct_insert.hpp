// direct_insert.hpp — event rows stored without an executor run (what COPY does).
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// Inserts event.events rows (each record's values/nulls, in order) straight into the partitions
// that the executor's tuple routing would pick: heap inserts (one multi-insert per run of rows
// with the same partition), constraint checks and index insertions
// (unique checks included), with no plan, no SPI and no statement setup. Returns false, having
// done nothing, whenever the executor would do more than that — a user trigger on event.events
// or the partition, row security, no partition for the row (a default partition), a partition
// whose columns differ from the parent's, a caller without INSERT privilege, a read-only
// transaction or parallel mode (where the INSERT raises its error) — and the caller
// then runs the INSERT through SPI as before. All rows or none. SPI need not be connected.
struct EventRecord;
bool InsertEventsDirect(const EventRecord *const *rows, int n);

// The stream head's update without an executor run: what the append's
// "UPDATE event.event_streams SET version = version + count, last_event_id, last_position,
// updated_at WHERE stream_id" does for one existing row, by the primary key, with the
// statement's snapshot, and a heap update (HOT whenever the page has room: no updated column is
// indexed). kUpdated: done, *version is the new version. kNotFound: no such stream (the caller
// upserts it). kFallback: nothing done, the caller runs the UPDATE through SPI — a trigger or
// row security on the table, no privilege, a read-only transaction, or a row changed since the
// snapshot (which the stream lock that every writer holds rules out, but the executor's
// EvalPlanQual or serialization error is then the right answer).
enum class StreamUpdate { kUpdated, kNotFound, kFallback };
StreamUpdate UpdateStreamDirect(const char *stream_id, int64 count, Datum last_event_id, Datum last_position,
                                TimestampTz now, int64 *version);

} // namespace event::pg
