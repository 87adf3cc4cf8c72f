-- 55_replay_dead_letters.sql — replay (event.replay_events, get_replay, process_replays) and
-- processing dead letters (list, get, retry, purge): every malformed request, the dry run's
-- exact event list, a background replay advanced in steps to completion with new results and
-- untouched statuses, dead letters filtered, retried (one more attempt) and purged.
BEGIN;
SELECT plan(37);

SELECT dblink_connect('t55', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
CREATE TEMP TABLE e55 AS SELECT x.k, x.id, x.p FROM (VALUES ('a', 't55:1', 't55.step'), ('b', 't55:1', 't55.step'),
    ('c', 't55:1', 't55.step'), ('d', 't55:2', 't55.other'), ('bad', 't55:3', 't55.poison')) AS v(k, s, t),
    dblink('t55', format($$SELECT %L, e.event_id, e.position FROM event.create_event(%L, '{}', 'backend', 'order', stream_id => %L) e$$, v.k, v.t, v.s))
    AS x(k text, id uuid, p bigint);
SELECT dblink_disconnect('t55') \gset _
CREATE FUNCTION pg_temp.id(k text) RETURNS uuid LANGUAGE sql AS $$SELECT id FROM e55 WHERE e55.k = $1$$;

CREATE SCHEMA t55;
CREATE TABLE t55.log (processor text, event_id uuid);
CREATE FUNCTION t55.rec(e jsonb) RETURNS void LANGUAGE sql AS $$INSERT INTO t55.log VALUES ('rec', ($1->>'event_id')::uuid)$$;
CREATE FUNCTION t55.poison(e jsonb) RETURNS void LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'poisoned'; END $$;
DELETE FROM event.event_processors;
SELECT event.create_processor('rec', 'sql', '{"function": "t55.rec"}', event_types => '{t55.step,t55.other}') \gset _
SELECT event.create_processor('steps', 'sql', '{"function": "t55.rec"}', event_types => '{t55.step}') \gset _
SELECT event.create_processor('poison', 'sql', '{"function": "t55.poison"}', event_types => '{t55.poison}', max_attempts => 1) \gset _

-- Malformed replay requests.
SELECT throws_ok($$SELECT event.replay_events('[]')$$, '22023', 'the replay request must be a JSON object', 'replay: not an object');
SELECT throws_ok($$SELECT event.replay_events('{}')$$, '22023', 'a replay needs event_ids, stream_id or a time range', 'replay: no selection');
SELECT throws_ok($$SELECT event.replay_events('{"stream": "x"}')$$, '22023', 'unknown field "stream"', 'replay: unknown field');
SELECT throws_ok($$SELECT event.replay_events('{"event_ids": "x"}')$$, '22023', 'event_ids has the wrong JSON type', 'replay: event_ids a string');
SELECT throws_ok($$SELECT event.replay_events('{"event_ids": []}')$$, '22023', 'event_ids must hold 1 to 10000 ids', 'replay: no ids');
SELECT throws_ok($$SELECT event.replay_events('{"event_ids": ["x"]}')$$, '22P02', 'invalid event id "x"', 'replay: malformed id');
SELECT throws_ok($$SELECT event.replay_events('{"start_time": "soon"}')$$, '22007', 'invalid start_time or end_time', 'replay: malformed time');
SELECT throws_ok($$SELECT event.replay_events('{"stream_id": "t55:1", "dry_run": "yes"}')$$, '22023', 'dry_run has the wrong JSON type', 'replay: dry_run a string');
SELECT throws_ok($$SELECT event.replay_events('{"stream_id": "t55:1", "target_service": "nobody"}')$$, '22023', 'target_service "nobody" is neither a processor nor a subscription', 'replay: unknown target');

-- Dry runs: exactly the events that would be replayed.
SELECT is((SELECT array_agg((x->>'event_id')::uuid ORDER BY (x->>'position')::bigint)
             FROM jsonb_array_elements(event.replay_events('{"stream_id": "t55:1", "dry_run": true}')->'events') x),
          ARRAY[pg_temp.id('a'), pg_temp.id('b'), pg_temp.id('c')], 'dry run: the stream''s events in order');
SELECT is((event.replay_events(jsonb_build_object('event_ids', ARRAY[pg_temp.id('a'), pg_temp.id('d')], 'dry_run', true))->>'total')::int,
          2, 'dry run: by ids');
SELECT is((event.replay_events(jsonb_build_object('event_ids', ARRAY[pg_temp.id('a'), pg_temp.id('d')], 'target_service', 'steps',
          'dry_run', true))->'events'->0->>'event_id')::uuid, pg_temp.id('a'), 'dry run: a target that matches only a');
SELECT is((event.replay_events('{"start_time": "2999-01-01T00:00:00Z", "dry_run": true}')->>'total')::int, 0,
          'dry run: a future time range selects nothing');
SELECT is((event.replay_events(jsonb_build_object('stream_id', 't55:1', 'start_time',
          (SELECT "timestamp" FROM event.events WHERE event_id = pg_temp.id('b')), 'dry_run', true))->>'total')::int, 2,
          'dry run: stream and start_time together');

-- A real replay, advanced in steps.
CREATE TEMP TABLE r55 AS SELECT event.replay_events('{"stream_id": "t55:1", "target_service": "rec"}') AS r;
CREATE FUNCTION pg_temp.rid() RETURNS uuid LANGUAGE sql AS $$SELECT (r->>'replay_id')::uuid FROM r55$$;
SELECT is((SELECT r->>'status' || ':' || (r->>'total') FROM r55), 'running:3', 'replay: running, 3 events');
SELECT is((SELECT count(*)::int FROM event.events WHERE event_type = 'event.replay.started' AND data->>'replay_id' = pg_temp.rid()::text),
          1, 'replay: event.replay.started stored');
SELECT is((event.process_replays(2)->>'events')::int, 2, 'process_replays: 2 events');
SELECT is((event.get_replay(pg_temp.rid())->>'done')::int, 2, 'get_replay: progress 2 of 3');
SELECT is((event.process_replays(2)->>'events')::int, 1, 'process_replays: the last one');
SELECT is(event.process_replays(2)->>'status', 'completed', 'process_replays: completed');
SELECT is(event.get_replay(pg_temp.rid())->>'status', 'completed', 'get_replay: completed');
SELECT is((SELECT count(*)::int FROM event.processing_results WHERE replay_id = pg_temp.rid()), 3, 'replay: one new result per event');
SELECT is((SELECT count(*)::int FROM t55.log WHERE event_id IN (pg_temp.id('a'), pg_temp.id('b'), pg_temp.id('c'))), 3,
          'replay: only the target ran');
SELECT is((SELECT count(*)::int FROM event.event_status WHERE event_id IN (pg_temp.id('a'), pg_temp.id('b'), pg_temp.id('c'))), 0,
          'replay: statuses untouched (still pending)');
SELECT throws_ok($$SELECT event.get_replay('01890000-0000-7000-8000-000000000000')$$, 'P0002', NULL, 'get_replay: unknown id');
SELECT throws_ok($$SELECT event.process_replays(0)$$, '22023', 'invalid max_events "0"', 'process_replays: bad max_events');

-- Dead letters.
SELECT event.process_batch(10000) \gset _
SELECT is((SELECT status FROM event.event_status WHERE event_id = pg_temp.id('bad')), 'archived', 'poison: archived at max_attempts 1');
SELECT is((SELECT array_agg(x->>'event_id') FROM jsonb_array_elements(event.list_processing_dead_letters(event_type => 't55.poison')) x),
          ARRAY[pg_temp.id('bad')::text], 'list: by event type');
SELECT is(event.list_processing_dead_letters(processor_name => 'rec'), '[]'::jsonb, 'list: by another processor: none');
SELECT is((event.get_processing_dead_letter(pg_temp.id('bad'))->'results'->0->>'error'), 'poison: poisoned (SQLSTATE P0001)',
          'get: the results with the error');
SELECT throws_ok(format('SELECT event.get_processing_dead_letter(%L)', pg_temp.id('a')), 'P0002', NULL, 'get: not a dead letter');
SELECT throws_ok($$SELECT event.list_processing_dead_letters(max_count => 0)$$, '22023', NULL, 'list: bad max_count');
SELECT is(event.retry_processing_dead_letters(processor_name => 'poison'), 1, 'retry: by processor');
SELECT is((event.process_batch()->>'archived')::int, 1, 'retry: one more attempt, archived again');
SELECT is(event.purge_processing_dead_letters(older_than => '1 hour'), 0, 'purge: none older than an hour');
SELECT is(event.purge_processing_dead_letters(ARRAY[pg_temp.id('bad')]), 1, 'purge: by id');
SELECT is((SELECT status FROM event.event_status WHERE event_id = pg_temp.id('bad')), 'archived', 'purge: the event stays archived');

SELECT * FROM finish();
ROLLBACK;
