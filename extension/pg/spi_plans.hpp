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
	kStatDeltasExist,
	kStatusDelta,
	kStatistics,
	kStatusExists,
	kStatusLock,
	kStatusInsert,
	kStatusUpdate,
	kStatusResponse,
	kInsertEvent,
	kInsertEvents,
	kClaimKeys,
	kLookupKeys,
	kFetchEvent,
	kFetchEvents,
	kStreamUpsert,
	kStreamUpdate,
	kStreamUpsertMany,
	kLoadSources,
	kLoadCategories,
	kReadAll,
	kReadCategory,
	kCount
};

// The plan for id if it was prepared already, else null.
SPIPlanPtr CachedPlanIfPrepared(PlanId id);

// The plan for id, prepared on first use from sql with nargs parameters of types argtypes.
// SPI must be connected. The same id must always be requested with the same SQL.
SPIPlanPtr CachedPlan(PlanId id, const char *sql, int nargs, const Oid *argtypes);

// The same for SQL built at run time: build() (returning palloc'd SQL) runs only on first use.
template <typename Build>
SPIPlanPtr CachedPlanBuilt(PlanId id, int nargs, const Oid *argtypes, Build build) {
	if (SPIPlanPtr plan = CachedPlanIfPrepared(id))
		return plan;
	char *sql = build();
	SPIPlanPtr plan = CachedPlan(id, sql, nargs, argtypes);
	pfree(sql);
	return plan;
}

// Runs plan (a SELECT of the columns of the function's row type) with nargs non-NULL parameters
// and returns its rows as the materialized result of the set-returning function fcinfo; the
// executor stores them straight into the result tuplestore. SPI must be connected.
void ReturnPlanRows(FunctionCallInfo fcinfo, SPIPlanPtr plan, int nargs, const Oid *argtypes, const Datum *values);

} // namespace event::pg
