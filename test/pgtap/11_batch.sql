-- 11_batch.sql — event.create_events (atomic and per-item) and idempotency keys.
-- Names are prefixed t11 so rows committed by other tests never interfere.
BEGIN;
SELECT plan(40);

CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text; c text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, c = PG_EXCEPTION_CONTEXT;
	RETURN s || ' | ' || m || ' | ' || coalesce(d, '') || ' | ' || coalesce(c, '');
END $$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
	SELECT format('events=%s keys=%s streams=%s counters=%s', (SELECT count(*) FROM event.events),
	              (SELECT count(*) FROM event.idempotency_keys), (SELECT sum(version) FROM event.event_streams),
	              (event.get_statistics()->>'total_events'))
$$;

-- Atomic success.
CREATE TEMP TABLE t11_ok AS SELECT event.create_events(
	'[{"event_type": "t11.a", "stream_id": "t11s:1"}, {"event_type": "t11.b", "user_id": "t11u"},
	  {"event_type": "t11.c", "stream_id": "t11s:1", "data": {"n": 3}}]') AS r;
SELECT is(jsonb_array_length(r), 3, 'atomic: one response per item') FROM t11_ok;
SELECT is(ARRAY[r->0->>'event_type', r->1->>'event_type', r->2->>'event_type'], ARRAY['t11.a', 't11.b', 't11.c'],
          'atomic: responses in request order') FROM t11_ok;
SELECT ok((r->0->>'position')::bigint < (r->1->>'position')::bigint AND (r->1->>'position')::bigint < (r->2->>'position')::bigint,
          'atomic: positions in request order') FROM t11_ok;
SELECT is(ARRAY[r->0->'stream_version', r->2->'stream_version'], ARRAY['1'::jsonb, '2'::jsonb], 'atomic: stream versions 1, 2') FROM t11_ok;
SELECT is(event.get_event_json((r->2->>'event_id')::uuid), r->2, 'atomic: response = stored event') FROM t11_ok;
SELECT is((SELECT count(*) FROM event.events WHERE event_type LIKE 't11.%'), 3::bigint, 'atomic: 3 stored');

-- Atomic failure anywhere: nothing stored, counters and streams unchanged.
CREATE TEMP TABLE t11_state AS SELECT pg_temp.state() AS s;
SELECT matches(pg_temp.err($$SELECT event.create_events('[{"event_type": "t11.x", "stream_id": "t11s:1"}, {"event_type": "t11.x"}, {"event_type": ""}]')$$),
               '^22023 \| invalid event_type "" \| Batch item 2\.', 'atomic: invalid item 2 named in the error');
SELECT matches(pg_temp.err($$SELECT event.create_events('[{"event_type": "t11.x"}, {"event_type": "t11.x", "data": [1]}]')$$),
               '^22023 \| field "data" must be a JSON object \| Batch item 1\..*batch item 1', 'atomic: JSON type error names item 1');
SELECT matches(pg_temp.err($$SELECT event.create_events('[{"event_type": "t11.x", "event_source": "nope"}, {"event_type": "t11.x"}]')$$),
               '^22023 \| invalid event_source "nope" \| Batch item 0\. \|.*batch item 0', 'atomic: unknown source names item 0');
SELECT matches(pg_temp.err($$SELECT event.create_events('[{"event_type": "t11.x"}, 5]')$$),
               '^22023 \| event request must be a JSON object \| Batch item 1\..*batch item 1', 'atomic: scalar item');
SELECT matches(pg_temp.err($$SELECT event.create_events('[{"event_type": "t11.x", "stream_id": "t11s:1"}, {"event_type": "t11.x", "stream_id": "t11s:2", "expected_version": 5}]')$$),
               '^EV001 \| wrong expected version for stream "t11s:2"', 'atomic: EV001 on item 1 after item 0 was placed');
SELECT is(pg_temp.state(), s, 'atomic failures: no event, key, stream version or counter changed') FROM t11_state;
SELECT is((SELECT version FROM event.event_streams WHERE stream_id = 't11s:1'), 2::bigint, 'atomic failures: stream not advanced');

-- Bad batch arguments.
SELECT throws_ok($$SELECT event.create_events('[]')$$, '22023', 'requests must not be empty', 'empty array');
SELECT throws_ok($$SELECT event.create_events('{"event_type": "t11.x"}')$$, '22023', 'requests must be a JSON array', 'object instead of array');
SELECT throws_ok($$SELECT event.create_events('"x"')$$, '22023', 'requests must be a JSON array', 'string instead of array');
SELECT throws_ok($$SELECT event.create_events('[{"event_type": "t11.x"}]', NULL)$$, NULL, NULL, 'NULL atomic flag: no error (STRICT)')
	WHERE false;
SELECT ok(event.create_events('[{"event_type": "t11.x"}]', NULL) IS NULL, 'NULL atomic: STRICT returns NULL');
SET LOCAL event.max_batch_size = 2;
SELECT throws_ok($$SELECT event.create_events('[{"event_type": "t11.x"}, {"event_type": "t11.x"}, {"event_type": "t11.x"}]')$$,
                 '54000', 'batch is too large', 'over event.max_batch_size (atomic)');
SELECT throws_ok($$SELECT event.create_events('[{"event_type": "t11.x"}, {"event_type": "t11.x"}, {"event_type": "t11.x"}]', false)$$,
                 '54000', 'batch is too large', 'over event.max_batch_size (per item)');
SELECT lives_ok($$SELECT event.create_events('[{"event_type": "t11.lim"}, {"event_type": "t11.lim"}]')$$, 'at event.max_batch_size');
RESET event.max_batch_size;

-- Per-item (atomic => false).
CREATE TEMP TABLE t11_part AS SELECT event.create_events(
	'[{"event_type": "t11.p0"}, {"event_type": "t11.p1", "event_category": "nope"}, {"event_type": "t11.p2", "stream_id": "t11s:1", "expected_version": 1},
	  {"event_type": "t11.p3", "stream_id": "t11s:1", "expected_version": 2}, "bad"]', false) AS r;
SELECT is(jsonb_array_length(r), 5, 'per item: one result per item') FROM t11_part;
SELECT is((SELECT array_agg((e->>'index')::int ORDER BY o) FROM jsonb_array_elements(r) WITH ORDINALITY AS x(e, o)), ARRAY[0, 1, 2, 3, 4],
          'per item: results in request order with index') FROM t11_part;
SELECT is((SELECT array_agg(e->>'status' ORDER BY o) FROM jsonb_array_elements(r) WITH ORDINALITY AS x(e, o)),
          ARRAY['created', 'error', 'error', 'created', 'error'], 'per item: statuses') FROM t11_part;
SELECT is(r->1->'error'->>'code', '22023', 'per item: error code') FROM t11_part;
SELECT is(r->1->'error'->>'message', 'invalid event_category "nope"', 'per item: error message') FROM t11_part;
SELECT is(r->2->'error'->>'code', 'EV001', 'per item: EV001 for a wrong expected version') FROM t11_part;
SELECT is(r->4->'error'->>'message', 'event request must be a JSON object', 'per item: scalar item') FROM t11_part;
SELECT ok(r->1 ? 'error' AND NOT r->1 ? 'event' AND r->0 ? 'event' AND NOT r->0 ? 'error', 'per item: event xor error') FROM t11_part;
SELECT is(r->3->'event'->'stream_version', '3'::jsonb, 'per item: valid stream item stored') FROM t11_part;
SELECT is(event.get_event_json((r->0->'event'->>'event_id')::uuid), r->0->'event', 'per item: stored event = response') FROM t11_part;
SELECT is((SELECT array_agg(event_type ORDER BY position) FROM event.events WHERE event_type LIKE 't11.p%'), ARRAY['t11.p0', 't11.p3'],
          'per item: only the valid items stored');

-- Idempotency.
CREATE TEMP TABLE t11_key AS SELECT 't11-' || gen_random_uuid() AS k;
CREATE TEMP TABLE t11_first AS SELECT f.* FROM t11_key, event.create_event('t11.idem', data => '{"v": 1}', idempotency_key => k) f;
CREATE TEMP TABLE t11_state2 AS SELECT pg_temp.state() AS s;
SELECT is((event.create_event('t11.idem', data => '{"v": 2}', idempotency_key => k)).event_id, f.event_id,
          'same key again: the original event') FROM t11_key, t11_first f;
SELECT is((event.create_event('t11.other', idempotency_key => k)).data, '{"v": 1}'::jsonb,
          'same key, different content: still the original') FROM t11_key;
SELECT is(event.create_event_json(jsonb_build_object('event_type', 't11.idem', 'idempotency_key', k))->>'event_id', f.event_id::text,
          'create_event_json with the same key: the original') FROM t11_key, t11_first f;
SELECT is(pg_temp.state(), s, 'duplicates store nothing and count nothing') FROM t11_state2;
CREATE TEMP TABLE t11_dup AS SELECT event.create_events(jsonb_build_array(
	jsonb_build_object('event_type', 't11.d1', 'idempotency_key', k || '-b'),
	jsonb_build_object('event_type', 't11.d2', 'idempotency_key', k || '-b'))) AS r FROM t11_key;
SELECT is(r->1->>'event_id', r->0->>'event_id', 'atomic batch: a key repeated in the batch returns the first event') FROM t11_dup;
SELECT is((SELECT count(*) FROM event.events WHERE event_type IN ('t11.d1', 't11.d2')), 1::bigint, 'atomic batch: one stored');
CREATE TEMP TABLE t11_dup2 AS SELECT event.create_events(jsonb_build_array(
	jsonb_build_object('event_type', 't11.e1', 'idempotency_key', k || '-c'),
	jsonb_build_object('event_type', 't11.e2', 'idempotency_key', k || '-c')), false) AS r FROM t11_key;
SELECT is(ARRAY[r->0->>'status', r->1->>'status'], ARRAY['created', 'duplicate'], 'per item: the repeated key is a duplicate') FROM t11_dup2;
SELECT is(r->1->'event'->>'event_id', r->0->'event'->>'event_id', 'per item: the duplicate returns the first event') FROM t11_dup2;
-- The same key twice in one SQL statement: the second call must return the first event.
SELECT is(pg_temp.err(format($$SELECT count(DISTINCT (event.create_event('t11.same', idempotency_key => %L)).event_id)
                               FROM generate_series(1, 2)$$, k || '-s')), 'no error',
          'same key twice in one statement returns the original') FROM t11_key;

SELECT * FROM finish();
ROLLBACK;
