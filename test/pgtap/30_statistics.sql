-- 30_statistics.sql — event.get_statistics() and event.compact_statistics(): the rollup, the status
-- deltas and the tail above the watermark. The rollup is emptied and its watermark moved to the last
-- position inside the transaction, so other tests' committed rows do not count.
BEGIN;
SELECT plan(44);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');
-- Counted from here: an empty rollup whose watermark is the last position taken so far.
CREATE FUNCTION pg_temp.reset_statistics() RETURNS void LANGUAGE sql AS $$
	DELETE FROM event.stat_rollup;
	DELETE FROM event.stat_deltas;
	INSERT INTO event.stat_watermark (id, position)
	SELECT true, CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM event.events_position_seq
	ON CONFLICT (id) DO UPDATE SET position = excluded.position;
$$;
SELECT pg_temp.reset_statistics();

-- Empty: zeros, empty objects and arrays, no division by zero.
SELECT is(event.get_statistics() - 'generated_at',
          '{"total_events": 0, "pending_events": 0, "processing_events": 0, "processed_events": 0, "failed_events": 0,
            "archived_events": 0, "events_by_source": {}, "events_by_category": {}, "events_by_type": {},
            "events_today": 0, "events_this_week": 0, "events_this_month": 0, "average_processing_time": 0,
            "processing_rate": 0, "error_rate": 0, "top_users": [], "top_event_types": []}'::jsonb,
          'no counters: all zero');
-- The three rates are floats in every JSON reader, 0 and whole values included (0.0, not 0).
SELECT is((SELECT array_agg(s->>k ORDER BY k) FROM (SELECT event.get_statistics() AS s) x,
                  unnest(ARRAY['average_processing_time', 'error_rate', 'processing_rate']) k),
          ARRAY['0.0', '0.0', '0.0'], 'no counters: the rates print as 0.0');
SELECT matches(event.get_statistics()->>'generated_at', '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$', 'generated_at format');

-- Through the write path: four events, then status changes.
CREATE TEMP TABLE t30 AS
SELECT n, (event.create_event(
	event_type => CASE WHEN n = 1 THEN 't30.signup' ELSE 't30.click' END,
	event_source => CASE WHEN n <= 2 THEN 'backend' ELSE 'frontend' END,
	event_category => CASE WHEN n <= 2 THEN 'user_lifecycle' ELSE 'click' END,
	user_id => CASE WHEN n <= 3 THEN 't30_ann' ELSE NULL END
)).event_id AS id
FROM generate_series(1, 4) AS n;

SELECT is(event.get_statistics()->'total_events', '4'::jsonb, 'total_events');
SELECT is(event.get_statistics()->'pending_events', '4'::jsonb, 'new events are pending');
SELECT is(event.get_statistics()->'events_by_source', '{"backend": 2, "frontend": 2}'::jsonb, 'events_by_source');
SELECT is(event.get_statistics()->'events_by_category', '{"user_lifecycle": 2, "click": 2}'::jsonb, 'events_by_category');
SELECT is(event.get_statistics()->'events_by_type', '{"t30.signup": 1, "t30.click": 3}'::jsonb, 'events_by_type');
SELECT is(event.get_statistics()->'top_users', '[{"user_id": "t30_ann", "event_count": 3}]'::jsonb,
          'top_users (events without a user are not counted)');
SELECT is(event.get_statistics()->'top_event_types',
          '[{"event_type": "t30.click", "event_count": 3}, {"event_type": "t30.signup", "event_count": 1}]'::jsonb,
          'top_event_types');
SELECT is(event.get_statistics()->'events_today', '4'::jsonb, 'events_today');
SELECT is(event.get_statistics()->'events_this_week', '4'::jsonb, 'events_this_week');
SELECT is(event.get_statistics()->'events_this_month', '4'::jsonb, 'events_this_month');

SELECT lives_ok($$SELECT event.update_status(id, 'processed', NULL, 10) FROM t30 WHERE n = 1$$, 'processed in 10 ms');
SELECT lives_ok($$SELECT event.update_status(id, 'processing') FROM t30 WHERE n = 2$$, 'processing');
SELECT lives_ok($$SELECT event.update_status(id, 'failed', 'boom', 30) FROM t30 WHERE n = 2$$, 'failed in 30 ms');
SELECT lives_ok($$SELECT event.update_status(id, 'processing') FROM t30 WHERE n = 3$$, 'another processing');

SELECT is(event.get_statistics() - 'generated_at' - 'events_by_source' - 'events_by_category' - 'events_by_type'
          - 'top_users' - 'top_event_types' - 'events_today' - 'events_this_week' - 'events_this_month',
          '{"total_events": 4, "pending_events": 1, "processing_events": 1, "processed_events": 1, "failed_events": 1,
            "archived_events": 0, "average_processing_time": 20, "processing_rate": 25, "error_rate": 25}'::jsonb,
          'status counts, average processing time and rates');
SELECT is(event.get_statistics()->'processing_rate', '25'::jsonb, 'processing_rate = processed / total * 100');
SELECT lives_ok($$SELECT event.update_status(id, 'archived') FROM t30 WHERE n = 1$$, 'archive one');
SELECT is(event.get_statistics()->'archived_events', '1'::jsonb, 'archived_events');
SELECT is(event.get_statistics()->'processed_events', '0'::jsonb, 'archived events leave processed');

-- Rollup and delta rows written directly: sums, day windows, top-10 order. The events above are
-- moved below the watermark, into the (emptied) rollup.
SELECT pg_temp.reset_statistics();
INSERT INTO event.stat_rollup (dimension, key, n) VALUES
	('total', '', 600), ('status', 'pending', -500), ('status', 'processed', 790),
	('source', 'frontend', 600), ('source', 'backend', 400), ('source', 'system', 0),
	('processing', 'count', 3), ('processing', 'ms_sum', 100);
INSERT INTO event.stat_deltas (dimension, key, n) VALUES
	('total', '', 400), ('status', 'pending', -300), ('status', 'failed', 10),
	('processing', 'count', 1), ('processing', 'ms_sum', 2);
-- User i has 20 - i events (u01 = 19 ... u12 = 8), plus a tie between u03b and u03 at 17.
INSERT INTO event.stat_rollup (dimension, key, n)
SELECT 'user', 'u' || lpad(i::text, 2, '0'), 20 - i FROM generate_series(1, 12) AS i;
INSERT INTO event.stat_rollup (dimension, key, n) VALUES ('user', 'u03b', 17), ('user', 'u00', 0);
-- One 'day' row per day for the last 40 days, n = 1 each, plus a future day that never counts.
INSERT INTO event.stat_rollup (dimension, key, n)
SELECT 'day', to_char((now() AT TIME ZONE 'UTC')::date - d, 'YYYY-MM-DD'), 1 FROM generate_series(0, 39) AS d;
INSERT INTO event.stat_rollup (dimension, key, n)
VALUES ('day', to_char((now() AT TIME ZONE 'UTC')::date + 1, 'YYYY-MM-DD'), 1000);

SELECT is(event.get_statistics()->'total_events', '1000'::jsonb, 'sum of rollup and deltas');
SELECT is(event.get_statistics()->'pending_events', '200'::jsonb, 'pending = total + the status deltas');
SELECT is(event.get_statistics()->'events_by_source', '{"frontend": 600, "backend": 400}'::jsonb,
          'zero sums are left out of the distribution');
SELECT is((event.get_statistics()->>'processing_rate')::numeric, 79::numeric, 'processing_rate');
SELECT is(event.get_statistics()->>'processing_rate', '79.0', 'a whole rate keeps its decimal');
SELECT is((event.get_statistics()->>'error_rate')::numeric, 1::numeric, 'error_rate');
SELECT is((event.get_statistics()->>'average_processing_time')::numeric, 25.5, 'average_processing_time in ms');
SELECT is(event.get_statistics()->'events_today', '1'::jsonb, 'events_today: the UTC day');
SELECT is((event.get_statistics()->>'events_this_week')::int,
          ((now() AT TIME ZONE 'UTC')::date - date_trunc('week', now() AT TIME ZONE 'UTC')::date) + 1,
          'events_this_week: since Monday (UTC)');
SELECT is((event.get_statistics()->>'events_this_month')::int,
          ((now() AT TIME ZONE 'UTC')::date - date_trunc('month', now() AT TIME ZONE 'UTC')::date) + 1,
          'events_this_month: since day 1 (UTC)');
SELECT is((SELECT array_agg(u->>'user_id') FROM jsonb_array_elements(event.get_statistics()->'top_users') u),
          ARRAY['u01', 'u02', 'u03', 'u03b', 'u04', 'u05', 'u06', 'u07', 'u08', 'u09'],
          'top_users: 10 by count, ties by user_id');
SELECT is(event.get_statistics()->'top_users'->0, '{"user_id": "u01", "event_count": 19}'::jsonb, 'top_users entry shape');

-- compact_statistics folds the deltas (this transaction's own events stay above the horizon).
CREATE TEMP TABLE t30_before AS SELECT event.get_statistics() - 'generated_at' AS s;
SELECT is(event.compact_statistics(), 0::bigint, 'compact_statistics: no event below the horizon to fold');
SELECT is((SELECT count(*) FROM event.stat_deltas), 0::bigint, 'the deltas are folded into the rollup');
SELECT is((SELECT n FROM event.stat_rollup WHERE dimension = 'total'), 1000::numeric, 'rollup total');
SELECT is(event.get_statistics() - 'generated_at', (SELECT s FROM t30_before), 'statistics unchanged by the fold');
-- The tail: events above the watermark count until folded.
SELECT count(*) FROM (SELECT event.create_event('t30.tail', user_id => 'u12') FROM generate_series(1, 12)) f \gset _
SELECT is(event.get_statistics()->'total_events', '1012'::jsonb, 'tail events count');
SELECT is(event.get_statistics()->'top_users'->0, '{"user_id": "u12", "event_count": 20}'::jsonb,
          'a user of the tail enters the top 10');
SELECT is(event.get_statistics()->'events_by_type'->'t30.tail', '12'::jsonb, 'tail by type');
SELECT is((event.query_events(user_id => 'u12', "limit" => 1)->>'total')::int, 20, 'query_events total: rollup + tail');
SELECT is((event.query_events("limit" => 1)->>'total')::int, 1012, 'query_events total of everything');

SELECT * FROM finish();
ROLLBACK;
