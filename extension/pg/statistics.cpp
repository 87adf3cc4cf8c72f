// statistics.cpp — event.get_statistics() and event.compact_statistics().
//
// Statistics never scan the whole log: they add the rollup of event.stat_rollup (events up to
// the watermark, counters.hpp), the uncommitted-to-rollup status deltas of event.stat_deltas and
// the tail of event.events above the watermark (an index range scan on position, aggregated
// here). All three are read in one statement, so one snapshot decides: the result equals the
// events and status changes that snapshot sees. Before reading, a reader folds the tail into the
// rollup when it can do so without waiting (counters.cpp), which keeps the tail small.
#include "pg/compat.hpp"

extern "C" {
#include "utils/snapmgr.h"
}

#include "guard.hpp"
#include "pg/counters.hpp"
#include "pg/event_json_sql.hpp"
#include "pg/spi_plans.hpp"

namespace event::pg {
namespace {

// Events folded by one get_statistics call at most, so no reader pays for a huge backlog.
constexpr int64 kReaderFoldLimit = 1000000;

// A float8 as a JSON number that always reads back as a float: an integral value keeps one
// decimal (0.0, 25.0; jsonb would print 0 and 25, which JSON clients parse as integers), any
// other is printed as float8 prints it (shortest exact form).
#define JSON_FLOAT(e)                                                                                                  \
	"CASE WHEN (" e ") = pg_catalog.trunc(" e ") THEN pg_catalog.to_jsonb(pg_catalog.round((" e ")::numeric, 1)) "      \
	"ELSE pg_catalog.to_jsonb(" e ") END"

// Sum of one counter of c.
#define COUNTER_SUM(dimension, key)                                                                                    \
	"(SELECT COALESCE(pg_catalog.sum(c.n), 0) FROM c WHERE c.dimension = '" dimension "' AND c.key = '" key "')"

// Sum of the 'day' counters from day d.<bound> through today (UTC).
#define DAYS_SINCE(bound)                                                                                              \
	"(SELECT COALESCE(pg_catalog.sum(c.n), 0) FROM c WHERE c.dimension = 'day' AND c.key >= d." bound                 \
	" AND c.key <= d.today)"

// {key: n} of one dimension, non-zero sums only.
#define COUNTER_OBJECT(dimension)                                                                                      \
	"COALESCE((SELECT pg_catalog.jsonb_object_agg(c.key, c.n) FROM c WHERE c.dimension = '" dimension                 \
	"' AND c.n <> 0), '{}'::jsonb)"

// [{name: key, "event_count": n}] of the 10 largest of rows r(key, n), ties by key.
#define COUNTER_TOP(rows, name)                                                                                        \
	"COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('" name "', g.key, 'event_count', g.n) "     \
	"ORDER BY g.n DESC, g.key) FROM (SELECT r.key, r.n FROM " rows " r WHERE r.n > 0 ORDER BY r.n DESC, r.key "      \
	"LIMIT 10) g), '[]'::jsonb)"

// One row, one jsonb column: the EventStatistics object (spec 3.2.3, 5.2). $1 = watermark.
// c: every dimension but user, summed over rollup, deltas and tail. Users are many: the top 10
// are among the rollup's top 10 (index stat_rollup_top_idx) and the users of the tail.
constexpr char kStatisticsSql[] =
	"WITH d AS (SELECT pg_catalog.to_char(u.t, 'YYYY-MM-DD') AS today, "
	"pg_catalog.to_char(pg_catalog.date_trunc('week', u.t), 'YYYY-MM-DD') AS week, "
	"pg_catalog.to_char(pg_catalog.date_trunc('month', u.t), 'YYYY-MM-DD') AS month "
	"FROM (SELECT pg_catalog.now() AT TIME ZONE 'UTC' AS t) u), "
	"tail AS MATERIALIZED (" EVENT_STAT_LOG_GROUPS_SQL("e.position OPERATOR(pg_catalog.>) $1") "), "
	"c AS MATERIALIZED (SELECT x.dimension, x.key, pg_catalog.sum(x.n) AS n FROM ("
	"SELECT r.dimension, r.key, r.n FROM event.stat_rollup r WHERE r.dimension <> 'user' "
	"UNION ALL SELECT s.dimension, s.key, s.n FROM event.stat_deltas s "
	"UNION ALL SELECT t.dimension, t.key, t.n FROM tail t WHERE t.dimension <> 'user') x GROUP BY 1, 2), "
	"users AS (SELECT k.key, COALESCE((SELECT r.n FROM event.stat_rollup r WHERE r.dimension = 'user' AND r.key = k.key), 0) "
	"+ COALESCE((SELECT t.n FROM tail t WHERE t.dimension = 'user' AND t.key = k.key), 0) AS n FROM ("
	"(SELECT r.key FROM event.stat_rollup r WHERE r.dimension = 'user' ORDER BY r.dimension, r.n DESC, r.key LIMIT 10) "
	"UNION SELECT t.key FROM tail t WHERE t.dimension = 'user') k), "
	"v AS MATERIALIZED (SELECT " COUNTER_SUM("total", "") " AS total, " COUNTER_SUM("status", "pending") " AS pending, "
	COUNTER_SUM("status", "processing") " AS processing, " COUNTER_SUM("status", "processed") " AS processed, "
	COUNTER_SUM("status", "failed") " AS failed, " COUNTER_SUM("status", "archived") " AS archived, "
	COUNTER_SUM("processing", "count") " AS timed, " COUNTER_SUM("processing", "ms_sum") " AS ms_sum, "
	DAYS_SINCE("today") " AS today, " DAYS_SINCE("week") " AS week, " DAYS_SINCE("month") " AS month "
	"FROM d) "
	"SELECT pg_catalog.jsonb_build_object("
	"'total_events', v.total, 'pending_events', v.total + v.pending, 'processing_events', v.processing, "
	"'processed_events', v.processed, 'failed_events', v.failed, 'archived_events', v.archived, "
	"'events_by_source', " COUNTER_OBJECT("source") ", "
	"'events_by_category', " COUNTER_OBJECT("category") ", "
	"'events_by_type', " COUNTER_OBJECT("type") ", "
	"'events_today', v.today, 'events_this_week', v.week, 'events_this_month', v.month, "
	"'average_processing_time', " JSON_FLOAT("CASE WHEN v.timed > 0 THEN (v.ms_sum / v.timed)::float8 ELSE 0 END") ", "
	"'processing_rate', " JSON_FLOAT("CASE WHEN v.total > 0 THEN (v.processed / v.total * 100)::float8 ELSE 0 END") ", "
	"'error_rate', " JSON_FLOAT("CASE WHEN v.total > 0 THEN (v.failed / v.total * 100)::float8 ELSE 0 END") ", "
	"'top_users', " COUNTER_TOP("users", "user_id") ", "
	"'top_event_types', " COUNTER_TOP("(SELECT c.key, c.n FROM c WHERE c.dimension = 'type')", "event_type") ", "
	"'generated_at', pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', " EVENT_JSON_TS_FORMAT ")) "
	"FROM v";

} // namespace
} // namespace event::pg

using namespace event::pg;

// event.get_statistics(): the EventStatistics object (rollup + deltas + tail).
EVENT_FUNCTION(event_get_statistics) {
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	(void)FoldStatistics(kReaderFoldLimit);
	// The watermark and the sums must come from one snapshot, or a fold committed in between
	// would be counted twice.
	PushActiveSnapshot(GetTransactionSnapshot());
	static const Oid kTypes[] = {INT8OID};
	Datum watermark = Int64GetDatum(StatisticsWatermark(true));
	SPIPlanPtr plan = event::pg::CachedPlan(PlanId::kStatistics, kStatisticsSql, 1, kTypes);
	int rc = SPI_execute_plan(plan, &watermark, nullptr, true, 1);
	PopActiveSnapshot();
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

// event.compact_statistics(): folds every event up to the catch-up horizon and every committed
// status delta into the rollup now; returns the number of events folded (0 if another
// transaction is folding).
EVENT_FUNCTION(event_compact_statistics) {
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	int64 folded = FoldStatistics(0);
	SPI_finish();
	PG_RETURN_INT64(folded < 0 ? 0 : folded);
}
