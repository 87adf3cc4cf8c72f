// direct_insert.hpp — one event row stored without an executor run (what COPY does per row).
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// Inserts one event.events row (values/nulls in column order) straight into the partition that
// the executor's tuple routing would pick: heap insert, constraint checks and index insertions
// (unique checks included), with no plan, no SPI and no statement setup. Returns false, having
// done nothing, whenever the executor would do more than that — a user trigger on event.events
// or the partition, row security, no partition for the row (a default partition), a partition
// whose columns differ from the parent's, a caller without INSERT privilege, a read-only
// transaction or parallel mode (where the INSERT raises its error) — and the caller
// then runs the INSERT through SPI as before. SPI need not be connected.
bool InsertEventDirect(const Datum *values, const bool *nulls);

} // namespace event::pg
