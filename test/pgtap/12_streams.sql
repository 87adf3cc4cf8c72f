-- 12_streams.sql — streams: versions, expected versions, EV001, append_to_stream, read_stream,
-- event.event_streams; and concurrency through dblink sessions that commit (stream ids carry a
-- random suffix, so reruns and other files are unaffected): racing expected-version appends,
-- crossing multi-stream batches, the idempotency-key race and the ingested event_id race.
BEGIN;
SELECT plan(43);

CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
	RETURN s || ' | ' || m || ' | ' || coalesce(d, '');
END $$;

-- Versions 1..n, expected versions.
SELECT is((event.create_event('t12.a', stream_id => 't12acct:1')).stream_version, 1::bigint, 'first event: version 1');
SELECT is((event.create_event('t12.a', stream_id => 't12acct:1', expected_version => 1)).stream_version, 2::bigint, 'expected 1: version 2');
SELECT is((event.create_event('t12.a', stream_id => 't12acct:1', expected_version => NULL)).stream_version, 3::bigint, 'expected any (NULL): version 3');
SELECT is((event.create_event('t12.a', stream_id => 't12acct:2', expected_version => 0)).stream_version, 1::bigint, 'no_stream (0) on a new stream');
SELECT throws_ok($$SELECT event.create_event('t12.a', stream_id => 't12acct:2', expected_version => 0)$$, 'EV001',
                 'wrong expected version for stream "t12acct:2"', 'no_stream on an existing stream');
SELECT throws_ok($$SELECT event.create_event('t12.a', stream_id => 't12acct:1', expected_version => 2)$$, 'EV001',
                 'wrong expected version for stream "t12acct:1"', 'stale expected version');
SELECT throws_ok($$SELECT event.create_event('t12.a', stream_id => 't12acct:1', expected_version => 9)$$, 'EV001',
                 'wrong expected version for stream "t12acct:1"', 'future expected version');
SELECT throws_ok($$SELECT event.create_event('t12.a', stream_id => 't12acct:3', expected_version => 1)$$, 'EV001',
                 'wrong expected version for stream "t12acct:3"', 'exact version on a missing stream');
SELECT matches(pg_temp.err($$SELECT event.create_event('t12.a', stream_id => 't12acct:1', expected_version => 2)$$),
               '^EV001 \| .* \| .*\mt12acct:1\M.*expected=2.*actual=3', 'EV001 detail: stream, expected, actual');
SELECT matches(pg_temp.err($$SELECT event.create_event('t12.a', stream_id => 't12acct:2', expected_version => 0)$$),
               '^EV001 \| .* \| .*\mt12acct:2\M.*expected=no_stream.*actual=1', 'EV001 detail for no_stream');
SELECT is((SELECT count(*) FROM event.events WHERE stream_id = 't12acct:3'), 0::bigint, 'a failed append stores nothing');
SELECT ok(NOT EXISTS (SELECT FROM event.event_streams WHERE stream_id = 't12acct:3'), 'a failed append creates no stream');

-- append_to_stream: expected version applies to the first event.
SELECT is((SELECT array_agg(stream_version ORDER BY stream_version) FROM event.append_to_stream('t12acct:1',
          '[{"event_type": "t12.b"}, {"event_type": "t12.b"}, {"event_type": "t12.b"}]', 3)), ARRAY[4, 5, 6]::bigint[],
          'append_to_stream expected 3, three events: versions 4, 5, 6');
SELECT is((SELECT array_agg(stream_version) FROM event.append_to_stream('t12acct:9', '[{"event_type": "t12.b"}, {"event_type": "t12.b"}]', 0)),
          ARRAY[1, 2]::bigint[], 'append_to_stream no_stream: versions 1, 2');
SELECT is((SELECT array_agg(stream_version) FROM event.append_to_stream('t12acct:9', '[{"event_type": "t12.b"}]')),
          ARRAY[3]::bigint[], 'append_to_stream any');
SELECT throws_ok($$SELECT event.append_to_stream('t12acct:1', '[{"event_type": "t12.b"}, {"event_type": "t12.b"}]', 5)$$, 'EV001',
                 'wrong expected version for stream "t12acct:1"', 'append_to_stream with a stale version');
SELECT throws_ok($$SELECT event.append_to_stream('t12acct:1', '[{"event_type": "t12.b", "stream_id": "t12acct:1"}]')$$, '22023',
                 NULL, 'append_to_stream: stream fields in the events are refused');
SELECT throws_ok($$SELECT event.append_to_stream('t12acct:1', '[]')$$, '22023', 'events must not be empty', 'append_to_stream: empty');
SELECT throws_ok($$SELECT event.append_to_stream(NULL, '[{"event_type": "t12.b"}]')$$, '22004', 'stream_id must not be null', 'append_to_stream: NULL stream');
SELECT throws_ok($$SELECT event.append_to_stream('nocolon', '[{"event_type": "t12.b"}]')$$, '22023', 'invalid stream_id "nocolon"', 'append_to_stream: bad stream id');
SELECT is((SELECT max(version) FROM event.event_streams WHERE stream_id = 't12acct:1'), 6::bigint, 'failed appends did not advance the stream');

-- read_stream and the stream row.
SELECT is((SELECT array_agg(stream_version) FROM event.read_stream('t12acct:1')), ARRAY[1, 2, 3, 4, 5, 6]::bigint[], 'read_stream in version order');
SELECT is((SELECT array_agg(stream_version) FROM event.read_stream('t12acct:1', 3, 2)), ARRAY[3, 4]::bigint[], 'read_stream from 3, 2 events');
SELECT ok((SELECT bool_and(a.position < b.position) FROM event.read_stream('t12acct:1') a JOIN event.read_stream('t12acct:1') b
           ON b.stream_version = a.stream_version + 1), 'stream positions increase with versions');
SELECT is((SELECT format('%s %s %s %s', entity_type, entity_id, version, EXISTS (SELECT FROM event.events e WHERE e.stream_id = 't12acct:1' AND e.stream_version = 6
                                 AND e.event_id = last_event_id AND e.position = last_position))
           FROM event.event_streams WHERE stream_id = 't12acct:1'), 't12acct 1 6 t', 'event_streams: entity, version, last event and position');

-- Concurrency: 8 sessions append with the same expected version at the same moment.
CREATE TEMP TABLE t12_conn AS SELECT 't12_c' || i AS name FROM generate_series(1, 8) i;
CREATE TEMP TABLE t12_sid AS SELECT 't12race:' || md5(random()::text) AS sid;
SELECT count(dblink_connect(name, format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())))
FROM t12_conn \gset _
SELECT count(dblink_exec(name, $f$CREATE FUNCTION pg_temp.try(sid text, v bigint) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN (event.create_event('t12.race', stream_id => sid, expected_version => v)).stream_version::text;
EXCEPTION WHEN SQLSTATE 'EV001' THEN
	RETURN 'EV001';
END $$$f$)) FROM t12_conn \gset _
CREATE TEMP TABLE t12_results (round int, result text);
CREATE FUNCTION pg_temp.race(round int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE c record; v bigint; s text;
BEGIN
	SELECT sid INTO s FROM t12_sid;
	v := coalesce((SELECT version FROM event.event_streams WHERE stream_id = s), 0);
	FOR c IN SELECT name FROM t12_conn LOOP
		PERFORM dblink_send_query(c.name, format('SELECT pg_temp.try(%L, %s)', s, v));
	END LOOP;
	FOR c IN SELECT name FROM t12_conn LOOP
		INSERT INTO t12_results SELECT round, r FROM dblink_get_result(c.name) AS t(r text);
		PERFORM * FROM dblink_get_result(c.name) AS t(r text);
	END LOOP;
END $$;
SELECT count(pg_temp.race(r)) FROM generate_series(1, 5) r \gset _
SELECT is((SELECT array_agg(n ORDER BY round) FROM (SELECT round, count(*) FILTER (WHERE result <> 'EV001') AS n FROM t12_results GROUP BY round) x),
          ARRAY[1, 1, 1, 1, 1]::bigint[], '8 racing appends, 5 rounds: exactly one succeeds per round');
SELECT is((SELECT array_agg(result ORDER BY round) FROM t12_results WHERE result <> 'EV001'), ARRAY['1', '2', '3', '4', '5'],
          'the winners got versions 1..5');
SELECT is((SELECT count(*) FROM t12_results WHERE result = 'EV001'), 35::bigint, 'the others got EV001');
SELECT is((SELECT count(*) FROM event.events e, t12_sid WHERE e.stream_id = sid), 5::bigint, 'five events stored');
SELECT is((SELECT count(DISTINCT stream_version) FROM event.events e, t12_sid WHERE e.stream_id = sid), 5::bigint, 'no duplicate stream_version');
SELECT is((SELECT version FROM event.event_streams s, t12_sid WHERE s.stream_id = sid), 5::bigint, 'stream head at 5');

-- Crossing multi-stream batches in open transactions: A (s1, s2), B (s2, s1).
SELECT dblink_exec('t12_c1', 'BEGIN'), dblink_exec('t12_c2', 'BEGIN') \gset _
SELECT count(*) FROM t12_sid, dblink('t12_c1', format('SELECT event.create_events(%L)::text', jsonb_build_array(
	jsonb_build_object('event_type', 't12.x', 'stream_id', sid || 'a'), jsonb_build_object('event_type', 't12.x', 'stream_id', sid || 'b'))))
	AS t(r text) \gset _
SELECT dblink_send_query('t12_c2', format('SELECT event.create_events(%L)::text', jsonb_build_array(
	jsonb_build_object('event_type', 't12.x', 'stream_id', sid || 'b'), jsonb_build_object('event_type', 't12.x', 'stream_id', sid || 'a'))))
FROM t12_sid \gset _
SELECT pg_sleep(0.3) \gset _
SELECT is(dblink_is_busy('t12_c2'), 1, 'crossing batches: B waits for A');
SELECT dblink_exec('t12_c1', 'COMMIT') \gset _
SELECT is((SELECT jsonb_array_length(r::jsonb) FROM dblink_get_result('t12_c2') AS t(r text)), 2, 'crossing batches: B succeeds after A commits (no deadlock)');
SELECT count(*) FROM dblink_get_result('t12_c2') AS t(r text) \gset _
SELECT dblink_exec('t12_c2', 'COMMIT') \gset _
SELECT is((SELECT array_agg(version ORDER BY s.stream_id) FROM event.event_streams s, t12_sid WHERE s.stream_id IN (sid || 'a', sid || 'b')),
          ARRAY[2, 2]::bigint[], 'crossing batches: both streams at version 2');

-- Idempotency race: B sends A's key while A's transaction is open.
CREATE TEMP TABLE t12_key AS SELECT 't12-' || md5(random()::text) AS k;
SELECT dblink_exec('t12_c1', 'BEGIN') \gset _
CREATE TEMP TABLE t12_a AS SELECT id FROM t12_key, dblink('t12_c1', format($$SELECT (event.create_event('t12.idem', idempotency_key => %L)).event_id$$, k)) AS t(id uuid);
SELECT dblink_send_query('t12_c2', format($$SELECT (event.create_event('t12.idem', data => '{"b": 1}', idempotency_key => %L)).event_id$$, k)) FROM t12_key \gset _
SELECT pg_sleep(0.3) \gset _
SELECT is(dblink_is_busy('t12_c2'), 1, 'idempotency race: B blocks on A''s key');
SELECT dblink_exec('t12_c1', 'COMMIT') \gset _
CREATE TEMP TABLE t12_b AS SELECT * FROM dblink_get_result('t12_c2', false) AS t(id uuid);
SELECT count(*) FROM dblink_get_result('t12_c2', false) AS t(id uuid) \gset _
SELECT is((SELECT id FROM t12_b), (SELECT id FROM t12_a), 'idempotency race: B returns A''s event after A commits');
SELECT is((SELECT count(*) FROM event.events e, t12_key WHERE e.idempotency_key = k), 1::bigint, 'idempotency race: one event stored');

SELECT dblink_exec('t12_c1', 'BEGIN') \gset _
CREATE TEMP TABLE t12_a2 AS SELECT id FROM t12_key, dblink('t12_c1', format($$SELECT (event.create_event('t12.idem', idempotency_key => %L)).event_id$$, k || 'r')) AS t(id uuid);
SELECT dblink_send_query('t12_c2', format($$SELECT (event.create_event('t12.idem', data => '{"b": 2}', idempotency_key => %L)).event_id$$, k || 'r')) FROM t12_key \gset _
SELECT pg_sleep(0.3) \gset _
SELECT is(dblink_is_busy('t12_c2'), 1, 'idempotency race (rollback): B blocks on A''s key');
SELECT dblink_exec('t12_c1', 'ROLLBACK') \gset _
CREATE TEMP TABLE t12_b2 AS SELECT * FROM dblink_get_result('t12_c2', false) AS t(id uuid);
SELECT count(*) FROM dblink_get_result('t12_c2', false) AS t(id uuid) \gset _
SELECT ok((SELECT id FROM t12_b2) IS DISTINCT FROM (SELECT id FROM t12_a2) AND (SELECT id FROM t12_b2) IS NOT NULL,
          'idempotency race (rollback): B stores its own event');
SELECT is((SELECT data FROM event.events e, t12_key WHERE e.idempotency_key = k || 'r'), '{"b": 2}'::jsonb,
          'idempotency race (rollback): the stored event is B''s');

-- Ingested event_id race: B (a non-atomic batch, as the ingester sends) stores the frontend
-- event A's open transaction stored; its key names the event_id and claims no row, so the
-- primary key makes B wait, and B then answers A's event as a duplicate.
CREATE TEMP TABLE t12_ing AS SELECT event.uuid_v7()::text AS id;
CREATE FUNCTION pg_temp.t12_ing_batch(id text, data jsonb) RETURNS text LANGUAGE sql AS $$
	SELECT format('SELECT event.create_events(%L, false)::text', jsonb_build_array(jsonb_build_object(
		'event_id', id, 'event_type', 't12.ing', 'event_source', 'frontend', 'idempotency_key', 'jetstream:' || id,
		'data', data))) $$;
SELECT dblink_exec('t12_c1', 'BEGIN') \gset _
SELECT count(*) FROM t12_ing, dblink('t12_c1', pg_temp.t12_ing_batch(id, '{"a": 1}')) AS t(r text) \gset _
SELECT dblink_send_query('t12_c2', pg_temp.t12_ing_batch(id, '{"b": 1}')) FROM t12_ing \gset _
SELECT pg_sleep(0.3) \gset _
SELECT is(dblink_is_busy('t12_c2'), 1, 'ingested id race: B waits for A''s event_id');
SELECT dblink_exec('t12_c1', 'COMMIT') \gset _
CREATE TEMP TABLE t12_ing_b AS SELECT r::jsonb AS r FROM dblink_get_result('t12_c2', false) AS t(r text);
SELECT count(*) FROM dblink_get_result('t12_c2', false) AS t(r text) \gset _
SELECT is((SELECT ARRAY[r->0->>'status', r->0->'event'->'data'->>'a'] FROM t12_ing_b), ARRAY['duplicate', '1'],
          'ingested id race: B answers A''s event as a duplicate once A commits');
SELECT is((SELECT count(*) FROM event.events e, t12_ing WHERE e.event_id = id::uuid), 1::bigint,
          'ingested id race: one event stored');

SELECT count(dblink_disconnect(name)) FROM t12_conn \gset _
SELECT * FROM finish();
ROLLBACK;
