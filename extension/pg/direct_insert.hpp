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

} // namespace event::pg
