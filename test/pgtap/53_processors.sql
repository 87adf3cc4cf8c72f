-- 53_processors.sql — the processor registry: event.create_processor, create_processor_json,
-- list_processors, toggle_processor, delete_processor: defaults, validation of every field,
-- unique names (23505), unknown ids (P0002), order of the list.
BEGIN;
SELECT plan(49);

CREATE SCHEMA t53;
CREATE FUNCTION t53.noop(e jsonb) RETURNS void LANGUAGE sql AS $$SELECT$$;

CREATE TEMP TABLE p53 AS SELECT event.create_processor('audit', 'sql', '{"function": "t53.noop"}',
    event_types => '{order.*,payment.captured}', event_sources => '{backend}', event_categories => '{order}',
    priority => 10, max_attempts => 4, backoff_base_ms => 100, backoff_max_ms => 2000) AS p;
CREATE FUNCTION pg_temp.p() RETURNS jsonb LANGUAGE sql AS $$SELECT p FROM p53$$;

SELECT matches(pg_temp.p()->>'processor_id', '^[0-9a-f]{8}-[0-9a-f]{4}-7', 'id: a UUIDv7');
SELECT is(pg_temp.p()->>'processor_name', 'audit', 'processor_name');
SELECT is(pg_temp.p()->>'processor_type', 'sql', 'processor_type');
SELECT is(pg_temp.p()->'enabled', 'true'::jsonb, 'enabled by default');
SELECT is((pg_temp.p()->>'priority')::int, 10, 'priority');
SELECT is(pg_temp.p()->'filters', '{"event_types": ["order.*", "payment.captured"], "event_sources": ["backend"], "event_categories": ["order"]}'::jsonb, 'filters');
SELECT is(pg_temp.p()->'config', '{"function": "t53.noop"}'::jsonb, 'config');
SELECT is(pg_temp.p()->'retry_policy', '{"max_attempts": 4, "backoff_base_ms": 100, "backoff_max_ms": 2000}'::jsonb, 'retry_policy');

-- Duplicate name: 23505 (HTTP 409).
SELECT throws_ok($$SELECT event.create_processor('audit', 'sql', '{"function": "t53.noop"}')$$, '23505',
                 'processor "audit" already exists', 'duplicate name refused');

-- Every malformed input.
SELECT throws_ok($$SELECT event.create_processor('', 'sql', '{"function": "t53.noop"}')$$, '22023', 'invalid processor_name', 'empty name');
SELECT throws_ok($$SELECT event.create_processor(NULL, 'sql', '{"function": "t53.noop"}')$$, '22023', 'invalid processor_name', 'null name');
SELECT throws_ok($$SELECT event.create_processor(repeat('x', 201), 'sql', '{"function": "t53.noop"}')$$, '22023', 'invalid processor_name', 'long name');
SELECT throws_ok($$SELECT event.create_processor('x', 'lambda', '{}')$$, '22023', 'invalid processor_type "lambda"', 'unknown type');
SELECT throws_ok($$SELECT event.create_processor('x', 'internal', '{"function": "t53.missing"}')$$, '22023', 'invalid config.function for an internal processor', 'internal with a missing function');
SELECT throws_ok($$SELECT event.create_processor('x', 'internal', '{"function": 5}')$$, '22023', 'invalid config.function for an internal processor', 'internal with a function that is no string');
SELECT throws_ok($$SELECT event.create_processor('x', 'sql', '[]')$$, '22023', 'invalid config', 'config not an object');
SELECT throws_ok($$SELECT event.create_processor('x', 'sql', '{}')$$, '22023', 'invalid config.function for an sql processor', 'sql without function');
SELECT throws_ok($$SELECT event.create_processor('x', 'sql', '{"function": "t53.missing"}')$$, '22023', 'invalid config.function for an sql processor', 'sql with a missing function');
SELECT throws_ok($$SELECT event.create_processor('x', 'webhook', '{"url": "ftp://x"}')$$, '22023', 'invalid config.url for a webhook processor', 'webhook with a bad url');
SELECT throws_ok($$SELECT event.create_processor('x', 'nats', '{"subject": "a.>"}')$$, '22023', 'invalid config.subject for a nats processor', 'nats with a wildcard subject');
SELECT throws_ok($$SELECT event.create_processor('x', 'sql', '{"function": "t53.noop"}', event_types => '{"order.**"}')$$, '22023', 'invalid event type filter "order.**"', 'bad type pattern');
SELECT throws_ok($$SELECT event.create_processor('x', 'sql', '{"function": "t53.noop"}', event_sources => '{mars}')$$, '22023', 'invalid event_source "mars"', 'unknown source');
SELECT throws_ok($$SELECT event.create_processor('x', 'sql', '{"function": "t53.noop"}', event_categories => '{nope}')$$, '22023', 'invalid event_category "nope"', 'unknown category');
SELECT throws_ok($$SELECT event.create_processor('x', 'sql', '{"function": "t53.noop"}', max_attempts => 0)$$, '22023', 'invalid max_attempts "0"', 'max_attempts 0');
SELECT throws_ok($$SELECT event.create_processor('x', 'sql', '{"function": "t53.noop"}', backoff_base_ms => 500, backoff_max_ms => 100)$$, '22023', 'invalid backoff_max_ms "100"', 'backoff_max_ms below base');

-- The JSON form (HTTP body).
SELECT is((event.create_processor('x', 'webhook', '{"url": "http://127.0.0.1:9/x"}'))->>'processor_type', 'webhook',
          'webhook processors: registered (executed by the sidecar, 58_outbound_processors)');
SELECT is((event.create_processor('y', 'nats', '{"subject": "a.b"}'))->'config', '{"subject": "a.b"}'::jsonb, 'nats processors: registered');
SELECT is((event.create_processor('z', 'internal'))->>'processor_type', 'internal', 'internal processors: registered without a function');
SELECT is((event.create_processor('w', 'internal', '{"function": "t53.noop"}'))->'config', '{"function": "t53.noop"}'::jsonb, 'internal processors: registered with a function');
DELETE FROM event.event_processors WHERE processor_name IN ('x', 'y', 'z', 'w');
SELECT is((event.create_processor_json('{"processor_name": "hook", "processor_type": "sql", "priority": 50,
            "enabled": false, "filters": {"event_type": "order.*", "event_source": ["backend", "frontend"], "category": "order"},
            "config": {"function": "t53.noop"}, "retry_policy": {"max_attempts": 2}}'))->'filters',
          '{"event_type": "order.*", "event_source": ["backend", "frontend"], "category": "order"}'::jsonb,
          'json: the filters shown as given');
SELECT is((SELECT event_types::text || event_sources::text || event_categories::text FROM event.event_processors
            WHERE processor_name = 'hook'), '{order.*}{backend,frontend}{order}', 'json: what matches, from strings and arrays');
SELECT is((SELECT x->'filters' FROM jsonb_array_elements(event.list_processors()) x WHERE x->>'processor_name' = 'hook'),
          '{"event_type": "order.*", "event_source": ["backend", "frontend"], "category": "order"}'::jsonb,
          'json: list_processors shows the filters as given too');
SELECT throws_ok($$SELECT event.create_processor_json('{"processor_name": "y", "processor_type": "sql", "extra": 1}')$$, '22023', 'unknown field "extra"', 'json: unknown field');
SELECT throws_ok($$SELECT event.create_processor_json('{"processor_name": "y", "processor_type": "sql", "filters": {"user": "x"}}')$$, '22023', 'unknown filter "user"', 'json: unknown filter');
SELECT throws_ok($$SELECT event.create_processor_json('{"processor_name": 5, "processor_type": "sql"}')$$, '22023', 'processor_name has the wrong JSON type', 'json: name not a string');
SELECT throws_ok($$SELECT event.create_processor_json('{"processor_name": "y", "processor_type": "sql", "priority": 1.5}')$$, '22023', 'priority must be an integer from -1000000 to 1000000', 'json: fractional priority');
SELECT throws_ok($$SELECT event.create_processor_json('{"processor_name": "y", "processor_type": "sql", "filters": {"event_type": [1]}}')$$, '22023', 'filters.event_type must be a string or an array of strings', 'json: filter of numbers');
SELECT throws_ok($$SELECT event.create_processor_json('{"processor_name": "y", "processor_type": "sql", "retry_policy": {"max_attempts": "3"}}')$$, '22023', 'retry_policy.max_attempts must be an integer', 'json: retry value a string');
SELECT throws_ok($$SELECT event.create_processor_json('[]')$$, '22023', 'the request must be a JSON object', 'json: not an object');

-- List: priority order (higher first).
SELECT is((SELECT array_agg(x->>'processor_name') FROM jsonb_array_elements(event.list_processors()) x),
          ARRAY['hook', 'audit'], 'list: higher priority first');

-- Toggle and delete; unknown ids.
SELECT is(event.toggle_processor((pg_temp.p()->>'processor_id')::uuid, false)->'enabled', 'false'::jsonb, 'toggle: disabled');
SELECT is((SELECT enabled FROM event.event_processors WHERE processor_name = 'audit'), false, 'toggle: stored');
SELECT is(event.toggle_processor((pg_temp.p()->>'processor_id')::uuid)->'enabled', 'true'::jsonb, 'toggle without enabled: flipped on');
SELECT is(event.toggle_processor((pg_temp.p()->>'processor_id')::uuid, NULL)->'enabled', 'false'::jsonb, 'toggle with NULL: flipped off');
SELECT throws_ok($$SELECT event.toggle_processor(NULL, true)$$, '22004', 'processor_id must not be null', 'toggle: NULL id');
SELECT throws_ok($$SELECT event.toggle_processor('01890000-0000-7000-8000-000000000000', true)$$, 'P0002',
                 'processor "01890000-0000-7000-8000-000000000000" does not exist', 'toggle: unknown id');
SELECT is(event.delete_processor((pg_temp.p()->>'processor_id')::uuid)->>'processor_name', 'audit', 'delete: returns it');
SELECT throws_ok(format('SELECT event.delete_processor(%L)', pg_temp.p()->>'processor_id'), 'P0002', NULL, 'delete: gone');
SELECT is(jsonb_array_length(event.list_processors()), 1, 'list: one left');

SELECT * FROM finish();
ROLLBACK;
