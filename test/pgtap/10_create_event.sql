-- 10_create_event.sql — event.create_event and create_event_json: arguments, defaults, the
-- returned row, UUIDv7 ids, positions, and every malformed input (nothing stored on error).
-- Names are prefixed t10 so rows committed by other tests never interfere.
BEGIN;
SELECT plan(106);

-- Every named argument.
CREATE TEMP TABLE t10_full AS SELECT * FROM event.create_event(
	event_type => 't10.full', data => '{"a": 1}', event_source => 'frontend', event_category => 'click',
	user_id => 't10_user', stream_id => 't10order:1', expected_version => 0, metadata => '{"m": 2}',
	context => '{"c": 3}', "timestamp" => '2025-02-03 04:05:06+00', idempotency_key => 't10-key-' || gen_random_uuid());
SELECT is(event_type, 't10.full', 'event_type') FROM t10_full;
SELECT is(data, '{"a": 1}'::jsonb, 'data') FROM t10_full;
SELECT is(event_source, 'frontend', 'event_source') FROM t10_full;
SELECT is(event_category, 'click', 'event_category') FROM t10_full;
SELECT is(user_id, 't10_user', 'user_id') FROM t10_full;
SELECT is(stream_id, 't10order:1', 'stream_id') FROM t10_full;
SELECT is(stream_version, 1::bigint, 'stream_version 1 for a new stream') FROM t10_full;
SELECT is(metadata, '{"m": 2}'::jsonb, 'metadata') FROM t10_full;
SELECT is(context, '{"c": 3}'::jsonb, 'context') FROM t10_full;
SELECT is("timestamp", '2025-02-03 04:05:06+00'::timestamptz, 'timestamp as given') FROM t10_full;
SELECT matches(idempotency_key, '^t10-key-', 'idempotency_key') FROM t10_full;
SELECT ok(created_at BETWEEN now() AND clock_timestamp(), 'created_at is the time of storage') FROM t10_full;
SELECT is((SELECT e::text FROM event.events e WHERE e.event_id = f.event_id), f::text,
          'the returned row equals the stored row') FROM t10_full f;

-- Defaults.
CREATE TEMP TABLE t10_min AS SELECT * FROM event.create_event('t10.min');
SELECT is(event_source, 'backend', 'default event_source backend') FROM t10_min;
SELECT is(event_category, 'user_action', 'default event_category user_action') FROM t10_min;
SELECT is(data, '{}'::jsonb, 'default data {}') FROM t10_min;
SELECT is(metadata, '{}'::jsonb, 'default metadata {}') FROM t10_min;
SELECT is(context, '{}'::jsonb, 'default context {}') FROM t10_min;
SELECT is("timestamp", created_at, 'default timestamp = created_at') FROM t10_min;
SELECT ok(user_id IS NULL AND stream_id IS NULL AND stream_version IS NULL AND idempotency_key IS NULL,
          'user_id, stream_id, stream_version, idempotency_key NULL by default') FROM t10_min;
SELECT is((SELECT e::text FROM event.events e WHERE e.event_id = m.event_id), m::text,
          'defaults: returned row equals stored row') FROM t10_min m;
SELECT is((event.create_event('  t10.trim  ')).event_type, 't10.trim', 'event_type is trimmed');

-- UUIDv7 and positions.
SELECT is(substr(event_id::text, 15, 1), '7', 'event_id is version 7') FROM t10_min;
SELECT is(substr(event_id::text, 20, 1) IN ('8', '9', 'a', 'b'), true, 'event_id has the RFC 4122 variant') FROM t10_min;
SELECT ok(event.uuid_v7_time(event_id) BETWEEN now() - interval '1 second' AND clock_timestamp(),
          'event_id time is now') FROM t10_min;
SELECT ok(m.position > f.position, 'positions increase') FROM t10_min m, t10_full f;
SELECT ok(m.event_id > f.event_id, 'event ids increase within the session') FROM t10_min m, t10_full f;
CREATE TEMP TABLE t10_many AS SELECT n, e.* FROM generate_series(1, 20) n, LATERAL event.create_event('t10.many', data => jsonb_build_object('n', n)) e;
SELECT is((SELECT count(*) FROM t10_many a JOIN t10_many b ON b.n = a.n + 1 WHERE b.position > a.position
                                                           AND b.event_id > a.event_id), 19::bigint,
          '20 calls: strictly increasing positions and ids');

-- create_event_json.
CREATE TEMP TABLE t10_json AS SELECT event.create_event_json(
	'{"event_type": "t10.json", "data": {"x": [1, 2]}, "event_source": "system", "event_category": "error",
	  "user_id": 42, "metadata": {"m": true}, "context": {"ip": "127.0.0.1"},
	  "timestamp": "2025-01-01T00:00:00Z", "entity_type": "t10cart", "entity_id": 7,
	  "expected_version": "no_stream"}') AS j;
SELECT is(event.get_event_json((j->>'event_id')::uuid), j, 'create_event_json = get_event_json of the stored event')
FROM t10_json;
SELECT is(j->>'stream_id', 't10cart:7', 'entity_type + entity_id form the stream id') FROM t10_json;
SELECT is(j->'stream_version', '1'::jsonb, 'stream_version 1') FROM t10_json;
SELECT is(j->>'user_id', '42', 'numeric user_id becomes text') FROM t10_json;
SELECT is(j->>'timestamp', '2025-01-01T00:00:00.000000Z', 'timestamp as given') FROM t10_json;
SELECT is(j->>'status', 'pending', 'status pending') FROM t10_json;
SELECT is((event.get_event((j->>'event_id')::uuid)).event_category, 'error', 'stored category') FROM t10_json;
SELECT is(event.create_event_json('{"event_type": "t10.json", "stream_id": "t10cart:7", "expected_version": 1}')->'stream_version',
          '2'::jsonb, 'expected_version as a JSON integer');
SELECT is(event.create_event_json('{"event_type": "t10.json", "stream_id": "t10cart:7", "expected_version": "any"}')->'stream_version',
          '3'::jsonb, 'expected_version "any"');
SELECT is(event.create_event_json('{"event_type": "t10.json", "stream_id": "t10cart:7", "expected_version": "3"}')->'stream_version',
          '4'::jsonb, 'expected_version as a numeric string');
SELECT is(event.create_event_json('{"event_type": "t10.json", "stream_id": "t10cart:7", "entity_type": "t10cart", "entity_id": "7"}')->'stream_version',
          '5'::jsonb, 'stream_id that matches entity_type + entity_id');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "t10.json", "stream_id": "t10cart:7", "expected_version": "no_stream"}')$$,
                 'EV001', 'wrong expected version for stream "t10cart:7"', 'JSON expected_version no_stream on an existing stream');

-- Bad inputs. Count what is stored before and after: nothing partial may remain.
CREATE TEMP TABLE t10_before AS SELECT (SELECT count(*) FROM event.events) AS events,
	(SELECT count(*) FROM event.idempotency_keys) AS keys, (SELECT count(*) FROM event.event_streams) AS streams,
	(event.get_statistics()->>'total_events')::bigint AS counters, (SELECT last_value FROM event.events_position_seq) AS seq;

SELECT throws_ok($$SELECT event.create_event(NULL)$$, '22004', 'event_type is required', 'NULL event_type');
SELECT throws_ok($$SELECT event.create_event('')$$, '22023', 'invalid event_type ""', 'empty event_type');
SELECT throws_ok($$SELECT event.create_event('   ')$$, '22023', 'invalid event_type ""', 'blank event_type');
SELECT throws_ok($$SELECT event.create_event(repeat('x', 256))$$, '22001', 'invalid event_type "' || repeat('x', 64) || '..."',
                 'event_type of 256 bytes');
SELECT lives_ok($$SELECT event.create_event(repeat('x', 255))$$, 'event_type of 255 bytes is fine');
SELECT throws_ok($$SELECT event.create_event(E't10\x01bad')$$, '22023', 'invalid event_type "t10?bad"', 'control char in event_type');
SELECT throws_ok($$SELECT event.create_event(E't10\nbad')$$, '22023', 'invalid event_type "t10?bad"', 'newline in event_type');
SELECT throws_ok($$SELECT event.create_event('t10.x', event_source => 'nope')$$, '22023', 'invalid event_source "nope"', 'unknown source');
SELECT throws_ok($$SELECT event.create_event('t10.x', event_category => 'nope')$$, '22023', 'invalid event_category "nope"', 'unknown category');
SELECT throws_ok($$SELECT event.create_event('t10.x', event_source => NULL)$$, '22004', 'event_source must not be null', 'NULL source');
SELECT throws_ok($$SELECT event.create_event('t10.x', event_category => NULL)$$, '22004', 'event_category must not be null', 'NULL category');

CREATE FUNCTION pg_temp.t10_hint(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
	EXECUTE sql;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
	RETURN h;
END $$;
SELECT matches(pg_temp.t10_hint($$SELECT event.create_event('t10.x', event_source => 'nope')$$),
               '^Allowed values: .*\mbackend\M.*\mexternal_api\M.*\mfrontend\M.*\miot_device\M.*\mscheduled\M.*\msystem\M.*event\.add_source',
               'unknown source: the hint lists the allowed values');
SELECT matches(pg_temp.t10_hint($$SELECT event.create_event('t10.x', event_category => 'nope')$$),
               '^Allowed values: .*\malert\M.*\mclick\M.*\muser_action\M.*event\.add_category',
               'unknown category: the hint lists the allowed values');

SELECT throws_ok($$SELECT event.create_event('t10.x', data => '[1]')$$, '22023', 'data must be a JSON object', 'data array');
SELECT throws_ok($$SELECT event.create_event('t10.x', data => '"s"')$$, '22023', 'data must be a JSON object', 'data string');
SELECT throws_ok($$SELECT event.create_event('t10.x', data => '1')$$, '22023', 'data must be a JSON object', 'data number');
SELECT throws_ok($$SELECT event.create_event('t10.x', metadata => '[]')$$, '22023', 'metadata must be a JSON object', 'metadata array');
SELECT throws_ok($$SELECT event.create_event('t10.x', metadata => 'null')$$, '22023', 'metadata must be a JSON object', 'metadata null literal');
SELECT throws_ok($$SELECT event.create_event('t10.x', context => '"s"')$$, '22023', 'context must be a JSON object', 'context string');
SELECT throws_ok($$SELECT event.create_event('t10.x', context => '2')$$, '22023', 'context must be a JSON object', 'context number');

SET LOCAL event.max_payload_size = '1kB';
SELECT throws_ok($$SELECT event.create_event('t10.x', data => jsonb_build_object('p', repeat('x', 1100)))$$, '54000',
                 'event payload is too large', 'payload over event.max_payload_size');
SELECT lives_ok($$SELECT event.create_event('t10.x', data => jsonb_build_object('p', repeat('x', 500)))$$, 'payload under the limit');
RESET event.max_payload_size;

SELECT throws_ok($$SELECT event.create_event('t10.x', stream_id => 'nocolon')$$, '22023', 'invalid stream_id "nocolon"', 'stream id without colon');
SELECT throws_ok($$SELECT event.create_event('t10.x', stream_id => ':x')$$, '22023', 'invalid stream_id ":x"', 'stream id without type');
SELECT throws_ok($$SELECT event.create_event('t10.x', stream_id => 'x:')$$, '22023', 'invalid stream_id "x:"', 'stream id without id');
SELECT throws_ok($$SELECT event.create_event('t10.x', stream_id => 'bad type!:1')$$, '22023', 'invalid stream_id "bad type!:1"', 'stream type with bad chars');
SELECT throws_ok($$SELECT event.create_event('t10.x', expected_version => 1)$$, '22023', 'expected_version requires a stream_id', 'expected_version without stream');
SELECT throws_ok($$SELECT event.create_event('t10.x', stream_id => 't10o:1', expected_version => -1)$$, '22023', 'invalid expected_version "-1"', 'negative expected_version');
SELECT throws_ok($$SELECT event.create_event('t10.x', idempotency_key => '')$$, '22023', 'invalid idempotency_key ""', 'empty idempotency key');
SELECT throws_ok($$SELECT event.create_event('t10.x', user_id => repeat('u', 256))$$, '22001', NULL, 'user_id of 256 bytes');
SELECT throws_ok($$SELECT event.create_event('t10.x', "timestamp" => 'infinity')$$, '22023', 'timestamp must be finite', 'infinite timestamp');

-- JSON form.
SELECT throws_ok($$SELECT event.create_event_json('[]')$$, '22023', 'event request must be a JSON object', 'JSON: array request');
SELECT throws_ok($$SELECT event.create_event_json('"x"')$$, '22023', 'event request must be a JSON object', 'JSON: string request');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "t10.x", "foo": 1}')$$, '22023', 'unknown field "foo" in event request', 'JSON: unknown field');
SELECT throws_ok($$SELECT event.create_event_json('{"data": {}}')$$, '22004', 'event_type is required', 'JSON: no event_type');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": 5}')$$, '22023', 'field "event_type" must be a string', 'JSON: event_type number');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "t10.x", "data": [1]}')$$, '22023', 'field "data" must be a JSON object', 'JSON: data array');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "t10.x", "user_id": {}}')$$, '22023', 'field "user_id" must be a string or a number', 'JSON: user_id object');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "t10.x", "timestamp": "garbage"}')$$, '22007', NULL, 'JSON: timestamp garbage');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "t10.x", "stream_id": "t10o:1", "expected_version": true}')$$, '22023',
                 'field "expected_version" must be an integer, "any" or "no_stream"', 'JSON: expected_version true');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "t10.x", "stream_id": "t10o:1", "expected_version": "soon"}')$$, '22023',
                 'invalid expected_version "soon"', 'JSON: expected_version bad string');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "t10.x", "entity_type": "t10o"}')$$, '22023', 'entity_type and entity_id go together', 'JSON: entity_type alone');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "t10.x", "entity_id": "1"}')$$, '22023', 'entity_type and entity_id go together', 'JSON: entity_id alone');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "t10.x", "stream_id": "t10o:2", "entity_type": "t10o", "entity_id": "1"}')$$, '22023',
                 'stream_id "t10o:2" does not match entity_type and entity_id', 'JSON: stream_id mismatch');

SELECT is((SELECT count(*) FROM event.events) - events, 2::bigint, 'after the errors: only the two lives_ok events stored') FROM t10_before;
SELECT is((SELECT count(*) FROM event.idempotency_keys), keys, 'no idempotency key stored') FROM t10_before;
SELECT is((SELECT count(*) FROM event.event_streams), streams, 'no stream created') FROM t10_before;
SELECT is((event.get_statistics()->>'total_events')::bigint - counters, 2::bigint, 'statistics count only the two stored events')
FROM t10_before;

-- Allowed values: add_source / add_category, and the cache of another session.
SELECT lives_ok($$SELECT event.add_source('t10_src')$$, 'add_source');
SELECT is((event.create_event('t10.x', event_source => 't10_src')).event_source, 't10_src', 'new source usable in the same session');
SELECT lives_ok($$SELECT event.add_category('t10_cat', 't10_group')$$, 'add_category');
SELECT is((event.create_event('t10.x', event_category => 't10_cat')).event_category, 't10_cat', 'new category usable in the same session');
SELECT is((SELECT group_name FROM event.event_categories WHERE name = 't10_cat'), 't10_group', 'category group stored');
SELECT throws_ok($$SELECT event.add_source('Bad')$$, '22023', 'invalid event_source "Bad"', 'add_source: uppercase');
SELECT throws_ok($$SELECT event.add_source('1x')$$, '22023', 'invalid event_source "1x"', 'add_source: leading digit');
SELECT throws_ok($$SELECT event.add_source('')$$, '22023', 'invalid event_source ""', 'add_source: empty');
SELECT throws_ok($$SELECT event.add_source('a-b')$$, '22023', 'invalid event_source "a-b"', 'add_source: dash');
SELECT throws_ok($$SELECT event.add_source(repeat('a', 64))$$, '22023', NULL, 'add_source: 64 bytes');
SELECT throws_ok($$SELECT event.add_category('Bad')$$, '22023', 'invalid event_category "Bad"', 'add_category: uppercase');
SELECT is((SELECT row(l.group_name, l.builtin)::text FROM event.list_categories() l WHERE l.name = 't10_cat'),
          '(t10_group,f)', 'list_categories: a new category, its group, not builtin');
SELECT is((SELECT builtin FROM event.list_categories() WHERE name = 'user_action'), true, 'list_categories: user_action is builtin');
SELECT is((SELECT array_agg(name) FROM event.list_categories()),
          (SELECT array_agg(name ORDER BY name) FROM event.event_categories), 'list_categories: every category, by name');
SELECT ok(NOT has_function_privilege('public', 'event.list_categories()', 'EXECUTE'), 'list_categories: not for PUBLIC');

-- Another session's cache: s2 has the list loaded, s1 commits a new source, s2 must see it.
SELECT dblink_connect('t10_s1', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
SELECT dblink_connect('t10_s2', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
CREATE TEMP TABLE t10_name AS SELECT 't10_' || substr(md5(random()::text), 1, 10) AS name;
SELECT is(dblink_exec('t10_s2', format($f$DO $d$BEGIN PERFORM event.create_event('t10.x', event_source => %L); END$d$$f$, name), false), 'ERROR',
          'other session: unknown source fails (list cached)') FROM t10_name;
SELECT dblink_exec('t10_s1', format($f$DO $d$BEGIN PERFORM event.add_source(%L); END$d$$f$, name)) FROM t10_name \gset _
SELECT dblink_exec('t10_s2', 'BEGIN') \gset _
SELECT is((SELECT s FROM dblink('t10_s2', format($$SELECT (event.create_event('t10.x', event_source => %L)).event_source$$, name)) AS t(s text)),
          name, 'other session: the committed new source is accepted') FROM t10_name;
SELECT dblink_exec('t10_s2', 'ROLLBACK') \gset _
SELECT dblink_exec('t10_s1', format('DELETE FROM event.event_sources WHERE name = %L', name)) FROM t10_name \gset _
SELECT is(dblink_exec('t10_s2', format($f$DO $d$BEGIN PERFORM event.create_event('t10.x', event_source => %L); END$d$$f$, name), false), 'ERROR',
          'other session: a removed source is refused again') FROM t10_name;
SELECT dblink_disconnect('t10_s1') \gset _
SELECT dblink_disconnect('t10_s2') \gset _

SELECT * FROM finish();
ROLLBACK;
