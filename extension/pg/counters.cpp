// counters.cpp — the statistics rollup: fold, watermark, status deltas (see counters.hpp).
#include "pg/compat.hpp"

extern "C" {
#include "access/xlog.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/numeric.h"
}

#include "pg/counters.hpp"
#include "pg/extension_state.hpp"
#include "pg/position.hpp"
#include "pg/spi_plans.hpp"

namespace event::pg {
namespace {

constexpr uint16 kFoldField4 = 0x4503;

const char kWatermarkSql[] = "SELECT COALESCE(pg_catalog.max(m.position), 0) FROM event.stat_watermark m";

// $1 = watermark, $2 = new watermark (<= the horizon). One statement, so the rollup, the moved
// deltas and the watermark change together. Rollup rows are upserted in key order; nothing is
// written when there is nothing to fold.
const char kFoldSql[] =
	"WITH g AS (" EVENT_STAT_LOG_GROUPS_SQL("e.position OPERATOR(pg_catalog.>) $1 AND e.position OPERATOR(pg_catalog.<=) $2")
	"), moved AS (DELETE FROM event.stat_deltas d RETURNING d.dimension, d.key, d.n), "
	"a AS (SELECT x.dimension, x.key, pg_catalog.sum(x.n) AS n FROM (SELECT g.dimension, g.key, g.n FROM g "
	"UNION ALL SELECT m.dimension, m.key, m.n FROM moved m) x GROUP BY 1, 2 HAVING pg_catalog.sum(x.n) <> 0), "
	"up AS (INSERT INTO event.stat_rollup AS r (dimension, key, n) SELECT a.dimension, a.key, a.n FROM a "
	"ORDER BY 1, 2 ON CONFLICT (dimension, key) DO UPDATE SET n = r.n OPERATOR(pg_catalog.+) excluded.n), "
	"wm AS (INSERT INTO event.stat_watermark AS w (id, position) SELECT true, $2 WHERE $2 OPERATOR(pg_catalog.>) $1 "
	"ON CONFLICT (id) DO UPDATE SET position = excluded.position) "
	"SELECT COALESCE((SELECT a.n FROM a WHERE a.dimension = 'total'), 0)::bigint";

// $1 from, $2 to, $3 processing_ms (numeric) or NULL when the change is not a timed completion.
const char kStatusDeltaSql[] =
	"INSERT INTO event.stat_deltas (dimension, key, n) SELECT v.d, v.k, v.n FROM (VALUES "
	"('status', $1, -1::numeric), ('status', $2, 1::numeric), ('processing', 'count', 1::numeric), "
	"('processing', 'ms_sum', $3)) AS v(d, k, n) WHERE v.d OPERATOR(pg_catalog.=) 'status' OR $3 IS NOT NULL";

int64 SelectInt64(SPIPlanPtr plan, Datum *values, bool read_only) {
	if (SPI_execute_plan(plan, values, nullptr, read_only, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "event: statistics query failed");
	bool isnull;
	Datum v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(v);
}

// True if the current user holds every privilege of mode on event.<table>.
bool MayWrite(const char *table, AclMode mode) {
	return pg_class_aclmask(EventRelation(table), GetUserId(), mode, ACLMASK_ALL) == mode;
}

} // namespace

int64 StatisticsWatermark(bool in_snapshot) {
	return SelectInt64(CachedPlan(PlanId::kStatWatermark, kWatermarkSql, 0, nullptr), nullptr, in_snapshot);
}

int64 FoldStatistics(int64 max_events) {
	if (RecoveryInProgress() || XactReadOnly || IsolationUsesXactSnapshot())
		return -1;
	// A caller that may not write the rollup reads it and the tail instead (the figures are the
	// same); the SECURITY DEFINER functions fold as their owner.
	if (!MayWrite("stat_rollup", ACL_SELECT | ACL_INSERT | ACL_UPDATE) ||
	    !MayWrite("stat_watermark", ACL_SELECT | ACL_INSERT | ACL_UPDATE) ||
	    !MayWrite("stat_deltas", ACL_SELECT | ACL_DELETE))
		return -1;
	// One folder at a time; the others read rollup + tail and never wait.
	LOCKTAG tag;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, 0, kFoldField4);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return -1;
	// Statements below take fresh snapshots (READ COMMITTED), after the lock and the horizon:
	// they see the last committed fold and every event at or below the horizon.
	int64 watermark = StatisticsWatermark(false);
	int64 horizon = SafePosition();
	if (max_events > 0 && horizon - watermark > max_events)
		horizon = watermark + max_events;
	horizon = std::max(horizon, watermark); // still move the committed status deltas
	// Nothing to fold (every reader's case between writes): skip the fold statement. It is planned
	// at every call (its parameters make the plan cache prefer custom plans), which cost a query
	// of 10 events most of its time.
	if (horizon == watermark) {
		if (SPI_execute_plan(CachedPlan(PlanId::kStatDeltasExist, "SELECT 1 FROM event.stat_deltas LIMIT 1", 0, nullptr),
		                     nullptr, nullptr, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "event: reading statistics deltas failed");
		if (SPI_processed == 0)
			return 0;
	}
	static const Oid kTypes[] = {INT8OID, INT8OID};
	Datum args[2] = {Int64GetDatum(watermark), Int64GetDatum(horizon)};
	if (SPI_execute_plan(CachedPlan(PlanId::kStatFold, kFoldSql, 2, kTypes), args, nullptr, false, 0) !=
	        SPI_OK_SELECT ||
	    SPI_processed != 1)
		elog(ERROR, "event: folding statistics failed");
	bool isnull;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

void AppendCounterTotal(StringInfo sql, const char *dimension, const char *key_sql, int watermark_param) {
	const bool status = strcmp(dimension, "status") == 0;
	const bool pending = status && strcmp(key_sql, "'pending'") == 0;
	appendStringInfo(sql,
	                 "(SELECT (SELECT COALESCE(pg_catalog.sum(r.n), 0) FROM event.stat_rollup r WHERE r.dimension = '%s' "
	                 "AND r.key = %s) + (SELECT COALESCE(pg_catalog.sum(d.n), 0) FROM event.stat_deltas d "
	                 "WHERE d.dimension = '%s' AND d.key = %s)",
	                 dimension, key_sql, dimension, key_sql);
	if (status && !pending) {
		appendStringInfoString(sql, " AS total) t");
		return;
	}
	if (pending)
		appendStringInfoString(sql, " + (SELECT COALESCE(pg_catalog.sum(r.n), 0) FROM event.stat_rollup r "
		                            "WHERE r.dimension = 'total' AND r.key = '')");
	static const char *const kColumns[][2] = {
		{"user", "e.user_id"}, {"type", "e.event_type"}, {"source", "e.event_source"}, {"category", "e.event_category"}};
	const char *column = nullptr;
	for (const auto &c : kColumns)
		if (strcmp(c[0], dimension) == 0)
			column = c[1];
	appendStringInfo(sql, " + (SELECT pg_catalog.count(*) FROM event.events e WHERE e.position > $%d", watermark_param);
	if (column != nullptr)
		appendStringInfo(sql, " AND %s = %s", column, key_sql);
	appendStringInfoString(sql, ") AS total) t");
}

void RecordStatusChange(const char *from, const char *to, bool timed, double processing_ms) {
	static const Oid kTypes[] = {TEXTOID, TEXTOID, NUMERICOID};
	Datum args[3] = {CStringGetTextDatum(from), CStringGetTextDatum(to), (Datum)0};
	char nulls[4] = "  n";
	if (timed) {
		args[2] = DirectFunctionCall1(float8_numeric, Float8GetDatum(processing_ms));
		nulls[2] = ' ';
	}
	if (SPI_execute_plan(CachedPlan(PlanId::kStatusDelta, kStatusDeltaSql, 3, kTypes), args, nulls, false, 0) !=
	    SPI_OK_INSERT)
		elog(ERROR, "event: recording the status change failed");
}

} // namespace event::pg
