// statistics.cpp — event.get_statistics() and event.compact_statistics().
//
// Statistics never scan event.events: they are sums over the per-backend shards of
// event.stat_counters, which the write path (counters.cpp) and event.update_status maintain in
// the writing transaction. Each dimension is read by a range scan of the primary key
// (dimension, key, shard), so the cost grows with the number of distinct keys (users, types,
// days), not with the number of events. compact_statistics folds the shards into shard 0 to keep
// that number small.
#include "pg/compat.hpp"

#include "guard.hpp"
#include "pg/counters.hpp"
#include "pg/event_json_sql.hpp"

namespace event::pg {
namespace {

SPIPlanPtr statistics_plan;
SPIPlanPtr fold_plan;
SPIPlanPtr drop_zero_plan;

// Prepares sql on first use and keeps the plan for the life of the backend. SPI must be connected.
SPIPlanPtr KeptPlan(SPIPlanPtr *slot, const char *sql) {
	if (*slot != nullptr)
		return *slot;
	SPIPlanPtr plan = SPI_prepare(sql, 0, nullptr);
	if (plan == nullptr)
		elog(ERROR, "event: SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "event: SPI_keepplan failed");
	*slot = plan;
	return plan;
}

// Sum of one counter over its shards.
#define COUNTER_SUM(dimension, key)                                                                                    \
	"(SELECT COALESCE(pg_catalog.sum(c.n), 0)::bigint FROM event.stat_counters c WHERE c.dimension = '" dimension      \
	"' AND c.key = '" key "')"

// Sum of the 'day' counters from day d.lo through today (UTC).
#define DAYS_SINCE(bound)                                                                                              \
	"(SELECT COALESCE(pg_catalog.sum(c.n), 0)::bigint FROM event.stat_counters c WHERE c.dimension = 'day' "         \
	"AND c.key >= d." bound " AND c.key <= d.today)"

// {key: n} of one dimension, non-zero sums only.
#define COUNTER_OBJECT(dimension)                                                                                      \
	"COALESCE((SELECT pg_catalog.jsonb_object_agg(g.key, g.n) FROM (SELECT c.key, pg_catalog.sum(c.n)::bigint AS n "  \
	"FROM event.stat_counters c WHERE c.dimension = '" dimension "' GROUP BY c.key) g WHERE g.n <> 0), '{}'::jsonb)"

// [{name: key, "event_count": n}] of the 10 largest sums of one dimension, ties by key.
#define COUNTER_TOP(dimension, name)                                                                                   \
	"COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('" name "', g.key, 'event_count', g.n) "     \
	"ORDER BY g.n DESC, g.key) FROM (SELECT c.key, pg_catalog.sum(c.n)::bigint AS n FROM event.stat_counters c "       \
	"WHERE c.dimension = '" dimension "' GROUP BY c.key HAVING pg_catalog.sum(c.n) > 0 "                               \
	"ORDER BY 2 DESC, 1 LIMIT 10) g), '[]'::jsonb)"

// One row, one jsonb column: the EventStatistics object (spec 3.2.3, 5.2).
constexpr char kStatisticsSql[] =
	"WITH d AS (SELECT pg_catalog.to_char(u.t, 'YYYY-MM-DD') AS today, "
	"pg_catalog.to_char(pg_catalog.date_trunc('week', u.t), 'YYYY-MM-DD') AS week, "
	"pg_catalog.to_char(pg_catalog.date_trunc('month', u.t), 'YYYY-MM-DD') AS month "
	"FROM (SELECT pg_catalog.now() AT TIME ZONE 'UTC' AS t) u), "
	"v AS MATERIALIZED (SELECT " COUNTER_SUM("total", "") " AS total, " COUNTER_SUM("status", "pending") " AS pending, "
	COUNTER_SUM("status", "processing") " AS processing, " COUNTER_SUM("status", "processed") " AS processed, "
	COUNTER_SUM("status", "failed") " AS failed, " COUNTER_SUM("status", "archived") " AS archived, "
	COUNTER_SUM("processing", "count") " AS timed, " COUNTER_SUM("processing", "us_sum") " AS us_sum, "
	DAYS_SINCE("today") " AS today, " DAYS_SINCE("week") " AS week, " DAYS_SINCE("month") " AS month "
	"FROM d) "
	"SELECT pg_catalog.jsonb_build_object("
	"'total_events', v.total, 'pending_events', v.pending, 'processing_events', v.processing, "
	"'processed_events', v.processed, 'failed_events', v.failed, 'archived_events', v.archived, "
	"'events_by_source', " COUNTER_OBJECT("source") ", "
	"'events_by_category', " COUNTER_OBJECT("category") ", "
	"'events_by_type', " COUNTER_OBJECT("type") ", "
	"'events_today', v.today, 'events_this_week', v.week, 'events_this_month', v.month, "
	"'average_processing_time', CASE WHEN v.timed > 0 THEN v.us_sum::float8 / v.timed / 1000 ELSE 0 END, "
	"'processing_rate', CASE WHEN v.total > 0 THEN v.processed::float8 / v.total * 100 ELSE 0 END, "
	"'error_rate', CASE WHEN v.total > 0 THEN v.failed::float8 / v.total * 100 ELSE 0 END, "
	"'top_users', " COUNTER_TOP("user", "user_id") ", "
	"'top_event_types', " COUNTER_TOP("type", "event_type") ", "
	"'generated_at', pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', " EVENT_JSON_TS_FORMAT ")) "
	"FROM v";

// Statement 1 of compaction: moves every row of shards other than 0 into shard 0 and returns
// how many rows that removed. Rows locked by a live writer are skipped (SKIP LOCKED), so
// compaction never waits for writers; they are folded by the next run. Shard 0 rows are upserted
// in (dimension, key) order, the order writers use, so the two cannot deadlock.
constexpr char kFoldSql[] =
	"WITH victims AS (SELECT c.dimension, c.key, c.shard FROM event.stat_counters c WHERE c.shard <> 0 "
	"FOR UPDATE SKIP LOCKED), "
	"moved AS (DELETE FROM event.stat_counters c USING victims x WHERE c.dimension = x.dimension "
	"AND c.key = x.key AND c.shard = x.shard RETURNING c.dimension, c.key, c.n), "
	"sums AS (SELECT m.dimension, m.key, pg_catalog.sum(m.n)::bigint AS n FROM moved m GROUP BY m.dimension, m.key), "
	"kept AS (SELECT s.dimension, s.key, s.n FROM sums s WHERE s.n <> 0 OR s.dimension = 'total'), "
	"merged AS (INSERT INTO event.stat_counters AS t (dimension, key, shard, n) "
	"SELECT k.dimension, k.key, 0, k.n FROM kept k ORDER BY k.dimension, k.key "
	"ON CONFLICT (dimension, key, shard) DO UPDATE SET n = t.n + excluded.n) "
	"SELECT (SELECT pg_catalog.count(*) FROM moved) - (SELECT pg_catalog.count(*) FROM kept k WHERE NOT EXISTS "
	"(SELECT 1 FROM event.stat_counters z WHERE z.dimension = k.dimension AND z.key = k.key AND z.shard = 0))";

// Statement 2: drops shard-0 rows whose sum became zero (the 'total' row always stays).
constexpr char kDropZeroSql[] =
	"DELETE FROM event.stat_counters c USING (SELECT z.dimension, z.key FROM event.stat_counters z "
	"WHERE z.shard = 0 AND z.n = 0 AND z.dimension <> 'total' FOR UPDATE SKIP LOCKED) x "
	"WHERE c.dimension = x.dimension AND c.key = x.key AND c.shard = 0";

} // namespace
} // namespace event::pg

using namespace event::pg;

// event.get_statistics(): the EventStatistics object from the counters.
EVENT_FUNCTION(event_get_statistics) {
	event::pg::CountersFlush(); // this transaction's own events count too
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	SPIPlanPtr plan = KeptPlan(&statistics_plan, kStatisticsSql);
	int rc = SPI_execute_plan(plan, nullptr, nullptr, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "event: statistics query failed: %s", SPI_result_code_string(rc));
	bool isnull = false;
	Datum value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "event: statistics query returned NULL");
	value = SPI_datumTransfer(value, false, -1);
	SPI_finish();
	return value;
}

// event.compact_statistics(): folds the counter shards into shard 0; returns the rows removed.
EVENT_FUNCTION(event_compact_statistics) {
	event::pg::CountersFlush();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	int rc = SPI_execute_plan(KeptPlan(&fold_plan, kFoldSql), nullptr, nullptr, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "event: counter compaction failed: %s", SPI_result_code_string(rc));
	bool isnull = false;
	int64 removed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	rc = SPI_execute_plan(KeptPlan(&drop_zero_plan, kDropZeroSql), nullptr, nullptr, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "event: dropping zero counters failed: %s", SPI_result_code_string(rc));
	removed += static_cast<int64>(SPI_processed);
	SPI_finish();
	PG_RETURN_INT64(removed);
}
