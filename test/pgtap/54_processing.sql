-- 54_processing.sql — event.process_batch and the status lifecycle (spec 9.3): processors in
-- priority order, a disabled one skipped, one failing processor stops neither the others nor the
-- other events, retry after the backoff (only the failed processor again), archive after
-- max_attempts (a processing dead letter), retry of a dead letter, processing_results per
-- processor and attempt, the statistics of get_statistics following every transition, the
-- event.processed.success/failed notifications, the cursor, and bad arguments.
-- The events are committed by a dblink session: process_batch reads only below the catch-up
-- horizon, which an event of this transaction would hold back.
BEGIN;
SELECT plan(43);

SELECT dblink_connect('t54', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
CREATE TEMP TABLE e54 AS SELECT x.k, x.id FROM (VALUES ('a', '{}'), ('b', '{"fail": true}'), ('c', '{}')) AS v(k, d),
    dblink('t54', format($$SELECT %L, (event.create_event('t54.order', %L::jsonb, 'backend', 'order')).event_id$$, v.k, v.d))
    AS x(k text, id uuid);
INSERT INTO e54 SELECT 'other', id FROM dblink('t54', $$SELECT (event.create_event('t54.other', '{}', 'backend', 'system')).event_id$$) AS x(id uuid);
CREATE FUNCTION pg_temp.id(k text) RETURNS uuid LANGUAGE sql AS $$SELECT id FROM e54 WHERE e54.k = $1$$;
CREATE FUNCTION pg_temp.status(k text) RETURNS text LANGUAGE sql AS $$SELECT event.get_event_json(pg_temp.id($1))->>'status'$$;
CREATE FUNCTION pg_temp.stat(f text) RETURNS numeric LANGUAGE sql AS $$SELECT (event.get_statistics()->>$1)::numeric$$;

CREATE SCHEMA t54;
CREATE TABLE t54.log (n serial, processor text, event_id uuid);
CREATE TABLE t54.fixed (ok boolean);
CREATE FUNCTION t54.first(e jsonb) RETURNS void LANGUAGE sql AS $$INSERT INTO t54.log (processor, event_id) VALUES ('first', ($1->>'event_id')::uuid)$$;
CREATE FUNCTION t54.third(e jsonb) RETURNS void LANGUAGE sql AS $$INSERT INTO t54.log (processor, event_id) VALUES ('third', ($1->>'event_id')::uuid)$$;
CREATE FUNCTION t54.second(e jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO t54.log (processor, event_id) VALUES ('second', (e->>'event_id')::uuid);
	IF (e->'data'->>'fail')::boolean AND NOT EXISTS (SELECT 1 FROM t54.fixed) THEN
		RAISE EXCEPTION 'boom %', e->>'event_id';
	END IF;
END $$;
CREATE FUNCTION t54.never(e jsonb) RETURNS void LANGUAGE sql AS $$INSERT INTO t54.log (processor, event_id) VALUES ('never', ($1->>'event_id')::uuid)$$;

-- Bad arguments.
SELECT throws_ok('SELECT event.process_batch(0)', '22023', 'invalid batch_size "0"', 'batch_size 0');
SELECT throws_ok('SELECT event.process_batch(NULL)', '22023', NULL, 'batch_size NULL');
SELECT is(dblink_exec('t54', 'BEGIN ISOLATION LEVEL REPEATABLE READ'), 'BEGIN', 'other session in REPEATABLE READ');
SELECT throws_ok($$SELECT * FROM dblink('t54', 'SELECT event.process_batch()') AS x(j jsonb)$$, '55000', NULL,
                 'REPEATABLE READ refused (the horizon must come before the snapshot)');
SELECT is(dblink_exec('t54', 'ROLLBACK'), 'ROLLBACK', 'other session back');

-- No enabled processor: nothing is taken.
DELETE FROM event.event_processors;
SELECT is((event.process_batch()->>'events')::int, 0, 'no enabled processor: no event taken');
SELECT is(pg_temp.status('a'), 'pending', 'no enabled processor: the event stays pending');

SELECT event.create_processor('first', 'sql', '{"function": "t54.first"}', event_types => '{t54.*}', priority => 10) \gset _
SELECT event.create_processor('second', 'sql', '{"function": "t54.second"}', event_types => '{t54.order}',
    event_categories => '{order}', priority => 5, max_attempts => 2, backoff_base_ms => 60000) \gset _
SELECT event.create_processor('third', 'sql', '{"function": "t54.third"}', event_sources => '{backend}',
    event_types => '{t54.*}', priority => 1) \gset _
SELECT event.create_processor('never', 'sql', '{"function": "t54.never"}', priority => 100, enabled => false) \gset _

CREATE TEMP TABLE s0 AS SELECT pg_temp.stat('pending_events') AS pending, pg_temp.stat('processed_events') AS processed,
    pg_temp.stat('failed_events') AS failed, (event.get_statistics()->>'archived_events')::numeric AS archived;
CREATE TEMP TABLE r1 AS SELECT event.process_batch(10000) AS r;
SELECT cmp_ok((SELECT (r->>'events')::int FROM r1), '>=', 4, 'batch 1: took our events (and any older pending ones)');
SELECT is((SELECT (r->>'failed')::int FROM r1), 1, 'batch 1: one event failed');

SELECT is(pg_temp.status('a'), 'processed', 'a: processed');
SELECT is(pg_temp.status('b'), 'failed', 'b: failed (second raised)');
SELECT is(pg_temp.status('c'), 'processed', 'c: processed');
SELECT is(pg_temp.status('other'), 'processed', 'other: processed by first and third only');
SELECT is((SELECT array_agg(processor ORDER BY n) FROM t54.log WHERE event_id = pg_temp.id('a')), ARRAY['first', 'second', 'third'],
          'a: processors in priority order, the disabled one skipped');
SELECT is((SELECT array_agg(processor ORDER BY n) FROM t54.log WHERE event_id = pg_temp.id('b')), ARRAY['first', 'third'],
          'b: the failing processor''s effects rolled back, the others ran after it');
SELECT is((SELECT array_agg(processor ORDER BY n) FROM t54.log WHERE event_id = pg_temp.id('other')), ARRAY['first', 'third'],
          'other: filters (type, category) respected');
SELECT is((SELECT array_agg(x->>'processor_name' || ':' || (x->>'status') || ':' || (x->>'attempt') ORDER BY x->>'processor_name')
             FROM jsonb_array_elements(event.get_processing_results(pg_temp.id('b'))) x),
          ARRAY['first:success:1', 'second:failed:1', 'third:success:1'], 'b: one result per processor and attempt');
SELECT matches((SELECT x->>'error' FROM jsonb_array_elements(event.get_processing_results(pg_temp.id('b'))) x
                 WHERE x->>'processor_name' = 'second'), '^second: boom ', 'b: the error recorded');
SELECT ok((SELECT bool_and((x->>'duration_ms')::float8 >= 0) FROM jsonb_array_elements(event.get_processing_results(pg_temp.id('a'))) x),
          'a: durations recorded');
SELECT is((SELECT attempts || ':' || (last_error LIKE 'second: boom%')::text FROM event.event_status WHERE event_id = pg_temp.id('b')),
          '1:true', 'b: attempt 1, last_error');
SELECT ok((SELECT due_at > now() + interval '50 seconds' FROM event.processing_retries WHERE event_id = pg_temp.id('b')),
          'b: retry scheduled after the backoff');

-- Statistics follow the transitions.
SELECT is(pg_temp.stat('processed_events') - (SELECT processed FROM s0), (SELECT (r->>'processed')::numeric FROM r1), 'statistics: processed_events');
SELECT is(pg_temp.stat('failed_events') - (SELECT failed FROM s0), 1::numeric, 'statistics: failed_events');
SELECT is((SELECT pending FROM s0) - pg_temp.stat('pending_events')
          + (SELECT count(*) FROM event.events e WHERE e.event_type LIKE 'event.processed.%'
              AND e.position > (SELECT max(x.position) FROM event.events x JOIN e54 ON e54.id = x.event_id)),
          (SELECT (r->>'events')::numeric FROM r1), 'statistics: pending_events (less the new notifications, pending)');
SELECT ok(pg_temp.stat('average_processing_time') >= 0 AND pg_temp.stat('processing_rate') > 0, 'statistics: average time and rate');

-- Notifications (spec 9.4).
SELECT ok(EXISTS (SELECT 1 FROM event.events e WHERE e.event_type = 'event.processed.success' AND e.event_source = 'system'
                   AND e.data->'event_ids' ? pg_temp.id('a')::text AND e.data->'event_ids' ? pg_temp.id('c')::text),
          'event.processed.success lists the processed events');
SELECT ok(EXISTS (SELECT 1 FROM event.events e WHERE e.event_type = 'event.processed.failed'
                   AND e.data->'events' @> jsonb_build_array(jsonb_build_object('event_id', pg_temp.id('b'), 'status', 'failed'))),
          'event.processed.failed lists the failed event');

-- Nothing new, retry not due: nothing to do.
SELECT is((event.process_batch()->>'events')::int, 0, 'batch 2: nothing due');
-- Retry due: only the failed processor runs again; max_attempts 2 reached: archived.
UPDATE event.processing_retries SET due_at = now() - interval '1 second' WHERE event_id = pg_temp.id('b');
SELECT is(event.process_batch()->>'archived', '1', 'batch 3: the retry failed again and was archived');
SELECT is(pg_temp.status('b'), 'archived', 'b: archived');
SELECT is((SELECT count(*)::int FROM t54.log WHERE event_id = pg_temp.id('b') AND processor IN ('first', 'third')), 2,
          'b: processors that succeeded were not run again');
SELECT is((SELECT processors FROM event.processing_dead_letters WHERE event_id = pg_temp.id('b')), ARRAY['second'],
          'b: a processing dead letter naming the failed processor');
SELECT is((event.get_statistics()->>'archived_events')::numeric - (SELECT archived FROM s0), 1::numeric, 'statistics: archived');
SELECT is(pg_temp.stat('failed_events') - (SELECT failed FROM s0), 0::numeric, 'statistics: failed back to where it was');

-- The fault is fixed; the dead letter is retried and processed.
INSERT INTO t54.fixed VALUES (true);
SELECT is(event.retry_processing_dead_letters(ARRAY[pg_temp.id('b')]), 1, 'dead letter retried');
SELECT is(pg_temp.status('b'), 'pending', 'b: pending again');
SELECT is(event.process_batch()->>'processed', '1', 'batch 4: processed');
SELECT is((SELECT status || ':' || attempts FROM event.event_status WHERE event_id = pg_temp.id('b')), 'processed:3', 'b: processed at attempt 3');
SELECT is(pg_temp.stat('processed_events') - (SELECT processed FROM s0), (SELECT (r->>'processed')::numeric + 1 FROM r1), 'statistics: processed after the retry');

-- An internal processor: without config.function it records each matching event as processed by
-- it; with one it calls it in the database, as an sql processor does.
DELETE FROM event.event_processors;
SELECT event.create_processor('ack', 'internal', event_types => '{t54.internal}') \gset _
SELECT event.create_processor('logged', 'internal', '{"function": "t54.first"}', event_types => '{t54.internal}') \gset _
INSERT INTO e54 SELECT 'i', id FROM dblink('t54', $$SELECT (event.create_event('t54.internal', '{}', 'backend', 'system')).event_id$$) AS x(id uuid);
-- (Run directly: this transaction's own events hold the catch-up horizon of process_batch below
-- the new event; processing_api.t sees an internal processor through the sidecar's loop.)
CREATE TEMP TABLE ri AS SELECT * FROM event._run_processors(ARRAY[pg_temp.id('i')], ARRAY[1], NULL, NULL);
SELECT is((SELECT failed FROM ri), false, 'internal processors: the event did not fail');
SELECT is((SELECT pending FROM ri), 0, 'internal processors: nothing left for the sidecar');
SELECT is((SELECT string_agg(p.processor_name || ':' || r.status || ':' || r.duration_ms, ',' ORDER BY p.processor_name)
             FROM event.processing_results r JOIN event.event_processors p USING (processor_id) WHERE r.event_id = pg_temp.id('i')),
          'ack:success:0,logged:success:' || (SELECT r.duration_ms FROM event.processing_results r JOIN event.event_processors p
                                               USING (processor_id) WHERE r.event_id = pg_temp.id('i') AND p.processor_name = 'logged'),
          'internal: one success per processor, none timed for the one without a function');
SELECT is((SELECT count(*)::int FROM t54.log WHERE event_id = pg_temp.id('i') AND processor = 'first'), 1,
          'internal with a function: called once');

SELECT dblink_disconnect('t54') \gset _
SELECT * FROM finish();
ROLLBACK;
