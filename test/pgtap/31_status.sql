-- 31_status.sql — event.update_status(): lifecycle transitions (spec 9.3), the status row, counters, errors.
BEGIN;
SELECT plan(46);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');
CREATE TEMP TABLE t31 AS
SELECT n, (event.create_event('t31.job', jsonb_build_object('n', n), user_id => 't31_user')).event_id AS id
FROM generate_series(1, 8) AS n;

-- Status counts from get_statistics (all events here start pending).
CREATE FUNCTION pg_temp.status_count(s text) RETURNS bigint LANGUAGE sql AS
$$SELECT (event.get_statistics()->>(s || '_events'))::bigint$$;
CREATE TEMP TABLE t31_before AS
SELECT k, pg_temp.status_count(k) AS n FROM unnest(ARRAY['pending', 'processing', 'processed', 'failed', 'archived']) k;
CREATE FUNCTION pg_temp.status_delta(s text) RETURNS bigint LANGUAGE sql AS
$$SELECT pg_temp.status_count(s) - (SELECT n FROM t31_before WHERE k = s)$$;
CREATE FUNCTION pg_temp.id(i int) RETURNS uuid LANGUAGE sql AS $$SELECT id FROM t31 WHERE n = i$$;

-- pending -> processing -> processed -> archived
SELECT is(event.update_status(pg_temp.id(1), 'processing')->>'status', 'processing', 'pending -> processing');
SELECT is((SELECT attempts FROM event.event_status WHERE event_id = pg_temp.id(1)), 1, 'entering processing: attempts 1');
SELECT is(event.update_status(pg_temp.id(1), 'processing')->'attempts', '1'::jsonb,
          'same status again is a no-op (attempts unchanged)');
SELECT is(event.update_status(pg_temp.id(1), 'processed', NULL, 42.5)->>'status', 'processed', 'processing -> processed');
SELECT is((SELECT processing_ms FROM event.event_status WHERE event_id = pg_temp.id(1)), 42.5::float8,
          'processing_ms stored');
SELECT isnt((SELECT processed_at FROM event.event_status WHERE event_id = pg_temp.id(1)), NULL, 'processed_at set');
SELECT matches(event.get_event_json(pg_temp.id(1))->>'processed_at', '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$',
               'processed_at in the EventResponse');
SELECT is(event.update_status(pg_temp.id(1), 'archived')->>'status', 'archived', 'processed -> archived');
SELECT is(event.get_event_json(pg_temp.id(1))->>'status', 'archived', 'get_event_json shows the status');

-- pending -> failed -> pending (retry) -> processing -> failed -> archived
SELECT is(event.update_status(pg_temp.id(2), 'failed', 'timeout', 5)->'error', '"timeout"'::jsonb,
          'pending -> failed keeps the error');
SELECT is(event.update_status(pg_temp.id(2), 'pending')->>'status', 'pending', 'failed -> pending (retry)');
SELECT is(event.get_event_json(pg_temp.id(2))->'error', '"timeout"'::jsonb, 'the last error stays after a retry');
SELECT is(event.update_status(pg_temp.id(2), 'processing')->'attempts', '2'::jsonb, 'a retry is a second attempt');
SELECT is(event.update_status(pg_temp.id(2), 'failed', 'again')->'error', '"again"'::jsonb, 'processing -> failed');
SELECT is(event.update_status(pg_temp.id(2), 'failed')->'attempts', '2'::jsonb, 'failed again is a no-op');
SELECT is(event.update_status(pg_temp.id(2), 'archived')->>'status', 'archived', 'failed -> archived');

-- the remaining allowed transitions from pending
SELECT is(event.update_status(pg_temp.id(3), 'processed')->>'status', 'processed', 'pending -> processed');
SELECT is(event.update_status(pg_temp.id(3), 'processed')->'attempts', '1'::jsonb, 'pending -> processed is one attempt');
SELECT is(event.update_status(pg_temp.id(4), 'archived')->>'status', 'archived', 'pending -> archived');
SELECT is(event.update_status(pg_temp.id(5), 'pending')->>'status', 'pending', 'pending -> pending is a no-op');
SELECT is((SELECT count(*) FROM event.event_status WHERE event_id = pg_temp.id(5)), 0::bigint,
          'a no-op writes no status row');

-- the result is the EventResponse
CREATE TEMP TABLE t31_result AS SELECT event.update_status(pg_temp.id(6), 'processing') AS j;
SELECT is((SELECT j::text FROM t31_result), event.get_event_json(pg_temp.id(6))::text,
          'update_status returns the EventResponse');

-- forbidden transitions: 55000 with "from X to Y"
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(1), 'pending')$$, '55000',
                 format('invalid status transition for event "%s"', pg_temp.id(1)), 'archived -> pending');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(3), 'failed')$$, '55000', NULL, 'processed -> failed');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(3), 'processing')$$, '55000', NULL, 'processed -> processing');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(6), 'pending')$$, '55000', NULL, 'processing -> pending');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(6), 'archived')$$, '55000', NULL, 'processing -> archived');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(4), 'processed')$$, '55000', NULL, 'archived -> processed');
CREATE FUNCTION pg_temp.error_detail(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
	EXECUTE sql;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN d;
END $$;
SELECT is(pg_temp.error_detail(format('SELECT event.update_status(%L, %L)', pg_temp.id(3), 'failed')),
          'from processed to failed', 'the detail names both statuses');

-- bad input
SELECT throws_ok($$SELECT event.update_status('00000000-0000-7000-8000-000000000000', 'processed')$$, 'P0002',
                 'event "00000000-0000-7000-8000-000000000000" does not exist', 'unknown event');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(7), 'done')$$, '22023', 'invalid status "done"', 'unknown status');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(7), '')$$, '22023', 'invalid status ""', 'empty status');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(7), 'PROCESSED')$$, '22023', 'invalid status "PROCESSED"',
                 'statuses are lowercase');
SELECT throws_ok($$SELECT event.update_status(NULL, 'processed')$$, '22004', 'event_id must not be null', 'NULL event_id');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(7), NULL)$$, '22004', 'status must not be null', 'NULL status');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(7), 'processed', NULL, -1)$$, '22023',
                 'invalid processing_ms "-1"', 'negative processing_ms');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(7), 'processed', NULL, 'NaN')$$, '22023',
                 'invalid processing_ms "NaN"', 'NaN processing_ms');
SELECT throws_ok($$SELECT event.update_status(pg_temp.id(7), 'processed', NULL, 'Infinity')$$, '22023',
                 'invalid processing_ms "Infinity"', 'infinite processing_ms');
SELECT is(event.get_event_json(pg_temp.id(7))->>'status', 'pending', 'failed calls change nothing');

-- counters moved with the statuses: ids 1, 2, 4 archived; 3 processed; 6 processing; 5, 7, 8 pending
SELECT is(pg_temp.status_delta('pending'), -5::bigint, 'status/pending counter');
SELECT is(pg_temp.status_delta('processing'), 1::bigint, 'status/processing counter');
SELECT is(pg_temp.status_delta('processed'), 1::bigint, 'status/processed counter');
SELECT is(pg_temp.status_delta('failed'), 0::bigint, 'status/failed counter');
SELECT is(pg_temp.status_delta('archived'), 3::bigint, 'status/archived counter');
SELECT is(event.query_events(user_id => 't31_user', status => 'archived')->'total', '3'::jsonb,
          'query_events sees the new statuses');

SELECT * FROM finish();
ROLLBACK;
