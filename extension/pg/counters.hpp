// counters.hpp — statistics off the write path: a rollup of the committed log up to a watermark.
//
// Appends write no counter at all. event.stat_rollup holds, per (dimension, key), the counts of
// every event with position <= the watermark in event.stat_watermark; those positions are all
// final (at or below the catch-up horizon, position.hpp), so the rollup never needs a correction.
// Readers add the tail above the watermark, aggregated from event.events by position, which
// their own snapshot decides: statistics equal the rows the reader can see, whatever savepoints,
// exception blocks or two-phase commit did. Status changes (event.update_status) insert delta
// rows into event.stat_deltas in the caller's (sub)transaction: an insert of new rows, so no
// transaction ever waits on another's counter rows. A fold moves the tail and the committed
// deltas into the rollup and advances the watermark, in one statement. Sums are numeric.
//
// Dimensions: total/'', source, category, type, user, day ('YYYY-MM-DD' of created_at, UTC),
// status/<status> (update_status deltas only: pending = total + status/pending),
// processing/count and processing/ms_sum (timed completions).
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// The day key of an event (alias e), as stored in the 'day' dimension.
#define EVENT_STAT_DAY_SQL "pg_catalog.to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

// Rows (dimension, key, n numeric) counting the events of event.events e that match where, in
// every dimension derived from the log (total, source, category, type, user, day), with one
// scan (GROUPING SETS; GROUPING() bits: source 16, category 8, type 4, user 2, day 1).
#define EVENT_STAT_LOG_GROUPS_SQL(where)                                                                               \
	"SELECT CASE g.gs WHEN 31 THEN 'total' WHEN 15 THEN 'source' WHEN 23 THEN 'category' WHEN 27 THEN 'type' "       \
	"WHEN 29 THEN 'user' ELSE 'day' END::text AS dimension, "                                                          \
	"CASE g.gs WHEN 31 THEN '' WHEN 15 THEN g.s WHEN 23 THEN g.c WHEN 27 THEN g.t WHEN 29 THEN g.u ELSE g.d END::text " \
	"COLLATE \"C\" AS key, g.n::numeric AS n FROM (SELECT e.event_source AS s, e.event_category AS c, "                 \
	"e.event_type AS t, e.user_id AS u, " EVENT_STAT_DAY_SQL " AS d, pg_catalog.count(*) AS n, "                       \
	"GROUPING(e.event_source, e.event_category, e.event_type, e.user_id, " EVENT_STAT_DAY_SQL ") AS gs "              \
	"FROM event.events e WHERE " where " GROUP BY GROUPING SETS ((), (e.event_source), (e.event_category), "         \
	"(e.event_type), (e.user_id), (" EVENT_STAT_DAY_SQL "))) g WHERE g.gs <> 29 OR g.u IS NOT NULL"

// Largest processing_ms update_status accepts (30 days).
constexpr double kMaxProcessingMs = 30.0 * 24 * 3600 * 1000;

// Folds committed events up to the catch-up horizon (at most max_events of them; 0: no limit)
// and the committed status deltas into the rollup. Skipped (returns -1) when another
// transaction is folding, in recovery, in a read-only transaction or under a transaction
// snapshot (REPEATABLE READ), where the horizon would not match the snapshot. Returns the number
// of events folded. SPI must be connected.
int64 FoldStatistics(int64 max_events);

// The watermark: every event with position <= it is counted in event.stat_rollup. in_snapshot:
// read in the active snapshot (pushed by the caller, which reads the sums in the same one), else
// in a fresh one. SPI must be connected.
int64 StatisticsWatermark(bool in_snapshot);

// Appends to sql a scalar subquery "(SELECT ... AS total) t" that counts the events whose
// dimension has the key given by the SQL expression key_sql, from the rollup, the deltas and
// the tail above the watermark given as parameter $watermark_param. dimension is one of total,
// user, type, source, category, status; status 'pending' is total plus its deltas.
void AppendCounterTotal(StringInfo sql, const char *dimension, const char *key_sql, int watermark_param);

// Records an event's status change from -> to (timed: a completion that took processing_ms) as
// delta rows of the current (sub)transaction. SPI must be connected.
void RecordStatusChange(const char *from, const char *to, bool timed, double processing_ms);

} // namespace event::pg
