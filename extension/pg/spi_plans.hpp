// spi_plans.hpp — prepared SPI plans kept for the life of the backend.
//
// Each statement of the hot paths is parsed and planned once per backend (SPI_prepare +
// SPI_keepplan) and then executed with parameters; values are never interpolated into SQL.
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

enum class PlanId {
	kStatWatermark,
	kStatFold,
	kStatusDelta,
	kStatistics,
	kInsertEvent,
	kInsertEvents,
	kClaimKey,
	kLookupKey,
	kFetchEvent,
	kStreamUpsert,
	kStreamUpsertMany,
	kLoadSources,
	kLoadCategories,
	kSequenceLastValue,
	kReadAll,
	kReadCategory,
	kCount
};

// The plan for id, prepared on first use from sql with nargs parameters of types argtypes.
// SPI must be connected. The same id must always be requested with the same SQL.
SPIPlanPtr CachedPlan(PlanId id, const char *sql, int nargs, const Oid *argtypes);

} // namespace event::pg
