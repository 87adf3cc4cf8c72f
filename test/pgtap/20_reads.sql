-- 20_reads.sql — reading events: get_event[_json], query_events[_json], read_stream, get_stream_json.
-- Fixtures go through event.create_event (the real write path); names are prefixed t20_ so rows
-- committed by other tests never match the filters.
BEGIN;
SELECT plan(90);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');

-- Five events of user t20_alice (one a day), two of t20_bob, a stream of three.
CREATE TEMP TABLE t20 AS
SELECT n, (event.create_event(
	event_type => CASE WHEN n % 2 = 0 THEN 't20.even' ELSE 't20.odd' END,
	data => jsonb_build_object('n', n),
	event_source => CASE WHEN n <= 3 THEN 'backend' ELSE 'frontend' END,
	event_category => CASE WHEN n <= 3 THEN 'user_action' ELSE 'click' END,
	user_id => CASE WHEN n <= 5 THEN 't20_alice' ELSE 't20_bob' END,
	"timestamp" => timestamptz '2025-01-01 00:00:00+00' + (n - 1) * interval '1 day'
)).event_id AS id
FROM generate_series(1, 7) AS n;

SELECT event.create_event('t20.stream', jsonb_build_object('v', v), stream_id => 't20order:42', user_id => 't20_carol')
FROM generate_series(1, 3) AS v;

-- get_event
SELECT is((event.get_event(id)).event_type, 't20.odd', 'get_event returns the row') FROM t20 WHERE n = 1;
SELECT is((event.get_event(id)).data, '{"n": 1}'::jsonb, 'get_event returns the data') FROM t20 WHERE n = 1;
SELECT ok(event.get_event('00000000-0000-7000-8000-000000000000') IS NULL, 'get_event of a missing id is NULL');
SELECT ok(event.get_event(NULL) IS NULL, 'get_event(NULL) is NULL');

-- get_event_json: the EventResponse shape
SELECT is(event.get_event_json(id)->>'event_id', id::text, 'get_event_json: event_id') FROM t20 WHERE n = 1;
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(event.get_event_json(id)) AS k),
          ARRAY['attempts', 'context', 'created_at', 'data', 'error', 'event_category', 'event_id', 'event_source',
                'event_type', 'idempotency_key', 'metadata', 'position', 'processed_at', 'status', 'stream_id',
                'stream_version', 'timestamp', 'user_id'],
          'get_event_json: exactly the EventResponse keys') FROM t20 WHERE n = 1;
SELECT is(event.get_event_json(id)->>'timestamp', '2025-01-01T00:00:00.000000Z', 'get_event_json: UTC timestamp format')
FROM t20 WHERE n = 1;
-- The timestamp text (core/timestamp.hpp, the output plugin's form too) against PostgreSQL's own
-- formatting: before 2000 and 1970 (negative internal values), a leap day, microseconds.
SELECT is((SELECT array_agg(event.create_event_json(jsonb_build_object('event_type', 't20.ts', 'timestamp', ts))->>'timestamp'
                            ORDER BY ts)
             FROM unnest(ARRAY['1969-12-31T23:59:59.999999Z', '1999-12-31T23:59:59.5Z', '2000-01-01T00:00:00.000001Z',
                               '2024-02-29T12:34:56.789012Z', '2999-12-31T23:59:59Z']) AS ts),
          (SELECT array_agg(to_char(ts::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ORDER BY ts)
             FROM unnest(ARRAY['1969-12-31T23:59:59.999999Z', '1999-12-31T23:59:59.5Z', '2000-01-01T00:00:00.000001Z',
                               '2024-02-29T12:34:56.789012Z', '2999-12-31T23:59:59Z']) AS ts),
          'timestamps are written as PostgreSQL formats them in UTC, before 2000 too');
SELECT matches(event.get_event_json(id)->>'created_at', '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$',
               'get_event_json: created_at format') FROM t20 WHERE n = 1;
SELECT is(event.get_event_json(id)->>'status', 'pending', 'get_event_json: no status row means pending') FROM t20 WHERE n = 1;
SELECT is(event.get_event_json(id)->'attempts', '0'::jsonb, 'get_event_json: attempts 0 without a status row')
FROM t20 WHERE n = 1;
SELECT is(jsonb_typeof(event.get_event_json(id)->'position'), 'number', 'get_event_json: position is a number')
FROM t20 WHERE n = 1;
SELECT is(event.get_event_json(id)->'stream_id', 'null'::jsonb, 'get_event_json: stream_id null outside a stream')
FROM t20 WHERE n = 1;
SELECT ok(event.get_event_json('00000000-0000-7000-8000-000000000000') IS NULL, 'get_event_json of a missing id is NULL');

-- The write path renders the same EventResponse, byte for byte.
CREATE TEMP TABLE t20_written AS SELECT event.create_event_json(
	'{"event_type": "t20.json", "user_id": "t20_dave", "data": {"k": [1, 2]}, "metadata": {"m": true}}') AS j;
SELECT is(event.get_event_json((j->>'event_id')::uuid)::text, j::text, 'get_event_json equals create_event_json output')
FROM t20_written;

-- query_events: filters, order, paging
SELECT is(event.query_events(user_id => 't20_alice')->'total', '5'::jsonb, 'query by user: total');
SELECT is((SELECT array_agg((e->'data'->>'n')::int) FROM jsonb_array_elements(event.query_events(user_id => 't20_alice')->'events') e),
          ARRAY[5, 4, 3, 2, 1], 'query by user: newest first');
SELECT is(event.query_events(user_id => 't20_alice', event_type => 't20.odd')->'total', '3'::jsonb, 'user + type');
SELECT is(event.query_events(user_id => 't20_alice', event_source => 'frontend')->'total', '2'::jsonb, 'user + source');
SELECT is(event.query_events(user_id => 't20_alice', event_category => 'user_action')->'total', '3'::jsonb, 'user + category');
SELECT is(event.query_events(event_type => 't20.even', event_source => 'frontend', event_category => 'click')->'total',
          '2'::jsonb, 'type + source + category');
SELECT is(event.query_events(event_type => 't20.even')->'total', '3'::jsonb, 'query by type alone');
SELECT is(event.query_events(user_id => 't20_nobody')->'events', '[]'::jsonb, 'no match: empty array');
SELECT is(event.query_events(user_id => 't20_nobody')->'total', '0'::jsonb, 'no match: total 0');
SELECT is(event.query_events(user_id => 't20_alice', start_time => '2025-01-02 00:00:00+00')->'total', '4'::jsonb,
          'start_time is inclusive');
SELECT is(event.query_events(user_id => 't20_alice', end_time => '2025-01-02 00:00:00+00')->'total', '2'::jsonb,
          'end_time is inclusive');
SELECT is(event.query_events(user_id => 't20_alice', start_time => '2025-01-02 00:00:00+00',
                             end_time => '2025-01-04 00:00:00+00')->'total', '3'::jsonb, 'time range');
SELECT is(event.query_events(event_type => 't20.odd', start_time => '2025-01-03 00:00:00+00',
                             end_time => '2025-01-03 00:00:00+00')->'total', '1'::jsonb, 'start_time = end_time');
SELECT is(event.query_events(user_id => 't20_alice', "limit" => 2)->'events' @> '[{"data": {"n": 5}}, {"data": {"n": 4}}]'
          AND jsonb_array_length(event.query_events(user_id => 't20_alice', "limit" => 2)->'events') = 2, true,
          'limit: the first page');
SELECT is(event.query_events(user_id => 't20_alice', "limit" => 2) - 'events',
          '{"total": 5, "limit": 2, "offset": 0, "has_more": true}'::jsonb, 'limit: total, limit, offset, has_more');
SELECT is(event.query_events(user_id => 't20_alice', "limit" => 2, "offset" => 4)->'events'->0->'data',
          '{"n": 1}'::jsonb, 'offset: the last page');
SELECT is(event.query_events(user_id => 't20_alice', "limit" => 2, "offset" => 4)->'has_more', 'false'::jsonb,
          'offset: has_more false on the last page');
SELECT is(event.query_events(user_id => 't20_alice', "offset" => 10)->'events', '[]'::jsonb, 'offset past the end');
SELECT is(event.query_events(user_id => 't20_alice')->'limit', '100'::jsonb, 'default limit 100');
SELECT is(event.query_events(user_id => 't20_alice', "limit" => NULL, "offset" => NULL) - 'events',
          '{"total": 5, "limit": 100, "offset": 0, "has_more": false}'::jsonb, 'NULL limit and offset mean the defaults');
SELECT is(event.query_events()->'total', to_jsonb((SELECT count(*) FROM event.events)), 'no filter: total of all events');
SELECT is(event.query_events(user_id => 't20_alice')->'events'->0, event.get_event_json(id), 'query returns EventResponses')
FROM t20 WHERE n = 5;

-- status filter (no status row = pending)
SELECT lives_ok($$SELECT event.update_status(id, 'failed', 'boom') FROM t20 WHERE n = 2$$, 'fixture: one failed');
SELECT lives_ok($$SELECT event.update_status(id, 'processing') FROM t20 WHERE n = 3$$, 'fixture: one processing');
SELECT lives_ok($$SELECT event.update_status(id, 'pending') FROM t20 WHERE n = 2$$, 'fixture: retried back to pending');
SELECT lives_ok($$SELECT event.update_status(id, 'failed') FROM t20 WHERE n = 4$$, 'fixture: another failed');
SELECT is(event.query_events(user_id => 't20_alice', status => 'failed')->'events'->0->'data', '{"n": 4}'::jsonb,
          'status failed');
SELECT is(event.query_events(user_id => 't20_alice', status => 'pending')->'total', '3'::jsonb,
          'status pending: no row or a pending row');
SELECT is(event.query_events(user_id => 't20_alice', status => 'processing', event_type => 't20.odd')->'total',
          '1'::jsonb, 'status + type');
SELECT is(event.query_events(user_id => 't20_alice', status => 'processed')->'total', '0'::jsonb, 'status processed: none');
SELECT lives_ok($$SELECT event.update_status(id, 'processed', processing_ms => 5) FROM t20 WHERE n = 1$$,
                'fixture: one processed');
-- The page is built in C from the rows: every object equals get_event_json's (SQL-built), in
-- order, with and without status rows, filtered by status or not.
SELECT is((SELECT jsonb_agg(event.get_event_json((x->>'event_id')::uuid) ORDER BY x.o)
           FROM jsonb_array_elements(event.query_events(user_id => 't20_alice')->'events') WITH ORDINALITY x(x, o)),
          event.query_events(user_id => 't20_alice')->'events', 'query page equals get_event_json of each event');
SELECT is((SELECT jsonb_agg(event.get_event_json((x->>'event_id')::uuid) ORDER BY x.o)
           FROM jsonb_array_elements(event.query_events(user_id => 't20_alice', status => 'failed')->'events')
                WITH ORDINALITY x(x, o)),
          event.query_events(user_id => 't20_alice', status => 'failed')->'events',
          'status-filtered page equals get_event_json of each event');

-- query_events: bad input
SELECT throws_ok($$SELECT event.query_events("limit" => 0)$$, '22023', 'invalid limit "0"', 'limit 0');
SELECT throws_ok($$SELECT event.query_events("limit" => 1001)$$, '22023', 'invalid limit "1001"', 'limit 1001');
SELECT throws_ok($$SELECT event.query_events("offset" => -1)$$, '22023', 'invalid offset "-1"', 'negative offset');
SELECT throws_ok($$SELECT event.query_events(event_source => 'nope')$$, '22023', 'invalid event_source "nope"',
                 'unknown source');
SELECT throws_ok($$SELECT event.query_events(event_category => 'nope')$$, '22023', 'invalid event_category "nope"',
                 'unknown category');
SELECT throws_ok($$SELECT event.query_events(status => 'done')$$, '22023', 'invalid status "done"', 'unknown status');
SELECT throws_ok($$SELECT event.query_events(start_time => '2025-02-01', end_time => '2025-01-01')$$, '22023',
                 'start_time is after end_time', 'start_time after end_time');

-- query_events_json
SELECT is(event.query_events_json('{"user_id": "t20_alice", "event_type": "t20.odd", "start_time": "2025-01-02T00:00:00Z", "limit": 1}'),
          event.query_events(user_id => 't20_alice', event_type => 't20.odd', start_time => '2025-01-02 00:00:00+00',
                             "limit" => 1), 'query_events_json equals query_events');
SELECT is(event.query_events_json('{}') - 'events', event.query_events() - 'events', 'empty request: no filter');
SELECT is(event.query_events_json('{"user_id": null, "limit": null, "event_source": "frontend", "event_type": "t20.even"}')->'total',
          '2'::jsonb, 'null values mean no filter / default');
SELECT throws_ok($$SELECT event.query_events_json('{"user": "x"}')$$, '22023', 'unknown key "user" in EventQueryRequest',
                 'unknown key');
SELECT throws_ok($$SELECT event.query_events_json('{"limit": "abc"}')$$, '22023', 'invalid value for "limit"',
                 'limit as a string');
SELECT throws_ok($$SELECT event.query_events_json('{"limit": 1.5}')$$, '22023', 'invalid value for "limit": 1.5',
                 'fractional limit');
SELECT throws_ok($$SELECT event.query_events_json('{"limit": 5000}')$$, '22023', 'invalid limit "5000"', 'limit too big');
SELECT throws_ok($$SELECT event.query_events_json('{"offset": -3}')$$, '22023', 'invalid offset "-3"', 'negative offset');
SELECT throws_ok($$SELECT event.query_events_json('{"user_id": 7}')$$, '22023', 'invalid value for "user_id"',
                 'user_id as a number');
SELECT throws_ok($$SELECT event.query_events_json('{"status": ["failed"]}')$$, '22023', 'invalid value for "status"',
                 'status as an array');
SELECT throws_ok($$SELECT event.query_events_json('{"start_time": "yesterday-ish"}')$$, '22023',
                 'invalid value for "start_time": "yesterday-ish"', 'unparsable start_time');
SELECT throws_ok($$SELECT event.query_events_json('[]')$$, '22023', 'invalid EventQueryRequest', 'array request');
SELECT throws_ok($$SELECT event.query_events_json('"x"')$$, '22023', 'invalid EventQueryRequest', 'scalar request');

-- query_events_text: the same result written as text (the HTTP API's query page)
SELECT event.create_event('t20.text', data => $j${"q": "say \"hi\"\\ \n\t\u0001 é 😀 </script>", "n": 12345678901234567890.5,
	"deep": {"a": [1, null, true, {"b": []}]}, "empty": {}}$j$, user_id => 't20_text "quoted"\', stream_id => 't20text:1',
	metadata => '{"m": "\u001f"}', context => '{"ip": "::1"}', idempotency_key => 't20-text-key') \gset _
SELECT event.create_event('t20.text', user_id => 't20_text "quoted"\') \gset _
SELECT event.update_status(event_id, 'failed', 'it "broke"\', 12.5) FROM event.events WHERE event_type = 't20.text' AND stream_id IS NULL \gset _
SELECT is(pg_typeof(event.query_events_text('{}'))::text, 'json', 'query_events_text returns json');
SELECT is(event.query_events_text(r)::jsonb, event.query_events_json(r), 'query_events_text equals query_events_json: ' || r::text)
FROM (VALUES ('{"event_type": "t20.text"}'::jsonb), ('{"user_id": "t20_text \"quoted\"\\", "limit": 1, "offset": 1}'),
             ('{"user_id": "t20_alice", "limit": 3}'), ('{"event_type": "t20.none"}'), ('{"status": "failed", "event_type": "t20.text"}'),
             ('{"limit": 1000}')) AS v(r);
SELECT is(json_typeof(event.query_events_text('{"event_type": "t20.none"}')->'events'), 'array', 'no match: an empty events array');
-- Its strings are escaped as PostgreSQL's escape_json escapes them (to_json(text)), byte for byte:
-- every control character, quote, backslash, DEL, non-ASCII, and a string longer than the escaper's
-- 8 KB chunks with escapes across their boundaries.
SELECT event.create_event('t20.escape') \gset _
SELECT string_agg(chr(c), '') || '"\' || chr(127) || ' é 😀' AS t20_ctl FROM generate_series(1, 31) c \gset
SELECT event.update_status(event_id, 'failed', :'t20_ctl') FROM event.events WHERE event_type = 't20.escape' \gset _
SELECT ok(position(to_json(:'t20_ctl'::text)::text IN event.query_events_text('{"event_type": "t20.escape"}')::text) > 0,
          'query_events_text: control characters, quote, backslash, DEL, UTF-8 escaped as escape_json does');
SELECT repeat('x', 8190) || E'\n"\\' || repeat(E'\t', 3000) || repeat('é', 5000) || chr(1) AS t20_long \gset
SELECT event.create_event('t20.escape2') \gset _
SELECT event.update_status(event_id, 'failed', :'t20_long') FROM event.events WHERE event_type = 't20.escape2' \gset _
SELECT ok(position(to_json(:'t20_long'::text)::text IN event.query_events_text('{"event_type": "t20.escape2"}')::text) > 0,
          'query_events_text: a 16,194-character string escaped across the 8 KB chunks as escape_json does');
SELECT throws_ok($$SELECT event.query_events_text('{"limit": 0}')$$, '22023', 'invalid limit "0"', 'query_events_text: the same validation');

-- read_stream
SELECT is((SELECT array_agg(stream_version ORDER BY stream_version) FROM event.read_stream('t20order:42')),
          ARRAY[1, 2, 3]::bigint[], 'read_stream: all versions');
SELECT is((SELECT array_agg(data->>'v') FROM event.read_stream('t20order:42', 2, 1)), ARRAY['2'],
          'read_stream: from_version and max_count');
SELECT is((SELECT count(*) FROM event.read_stream('t20order:missing')), 0::bigint, 'read_stream: missing stream is empty');
SELECT throws_ok($$SELECT * FROM event.read_stream('t20order:42', 0)$$, '22023', 'invalid from_version "0"',
                 'read_stream: from_version 0');
SELECT throws_ok($$SELECT * FROM event.read_stream('t20order:42', 1, 0)$$, '22023', 'invalid max_count "0"',
                 'read_stream: max_count 0');
SELECT throws_ok($$SELECT * FROM event.read_stream('t20order:42', 1, 10001)$$, '22023', 'invalid max_count "10001"',
                 'read_stream: max_count 10001');

-- get_stream_json
SELECT is(event.get_stream_json('t20order:42', 2) - 'events',
          '{"stream_id": "t20order:42", "entity_type": "t20order", "entity_id": "42", "version": 3}'::jsonb,
          'get_stream_json: stream metadata');
SELECT is((SELECT array_agg((e->>'stream_version')::int) FROM jsonb_array_elements(event.get_stream_json('t20order:42', 2)->'events') e),
          ARRAY[2, 3], 'get_stream_json: events from a version, in order');
SELECT is(event.get_stream_json('t20order:nope'),
          '{"stream_id": "t20order:nope", "entity_type": "t20order", "entity_id": "nope", "version": 0, "events": []}'::jsonb,
          'get_stream_json: a missing stream has version 0 and no events');
SELECT throws_ok($$SELECT event.get_stream_json('t20order:42', 0)$$, '22023', 'invalid from_version "0"',
                 'get_stream_json: from_version 0');

SELECT * FROM finish();
ROLLBACK;
