// projections.hpp — inline projections: the write path's hook (projections.cpp).
#pragma once

#include "pg/compat.hpp"

#include "pg/event_record.hpp"

namespace event::pg {

// True if this database defines at least one projection (a per-backend cache, reloaded after
// event.projection_definitions changes; no query while it is valid).
bool HasProjections();

// Folds the stored events records[0..n) (any order; events without a stream or of an entity type
// without a projection are skipped) into the projections of their entity types, in the caller's
// transaction. The caller holds every stream's order lock (position.hpp) and SPI is connected.
void ApplyProjections(const EventRecord *const *records, int n);

} // namespace event::pg
