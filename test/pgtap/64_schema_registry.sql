-- 64_schema_registry.sql — event.register_schema / get_schema / list_schemas / deactivate_schema,
-- validation in every append path (EV002 naming the event type, the schema version, the JSON
-- path and the rule), metadata.schema_version on stored events, batch partial mode, the
-- backward-compatibility check (EV020), and the cache of another session.
BEGIN;
SELECT plan(46);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');

-- The error of a statement as "SQLSTATE | message | detail".
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
	RETURN s || ' | ' || m || ' | ' || coalesce(d, '');
END $$;

-- Another session's cache (first: register_schema below locks the table until ROLLBACK): s2
-- validated without a schema; s1 commits one; s2 must use it.
SELECT dblink_connect('t64_s1', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
SELECT dblink_connect('t64_s2', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
CREATE TEMP TABLE t64_name AS SELECT 't64.x' || substr(md5(random()::text), 1, 10) AS name;
SELECT dblink_exec('t64_s2', 'BEGIN') \gset _
SELECT is((SELECT m FROM dblink('t64_s2', format($$SELECT (event.create_event(%L, '{"n": "1"}')).metadata$$, name)) AS t(m jsonb)),
          '{}'::jsonb, 'other session: no schema yet') FROM t64_name;
SELECT dblink_exec('t64_s2', 'ROLLBACK') \gset _
SELECT dblink_exec('t64_s1', format($f$DO $d$BEGIN PERFORM event.register_schema(%L, '{"properties": {"n": {"type": "integer"}}}'); END$d$$f$, name)) FROM t64_name \gset _
SELECT is(dblink_exec('t64_s2', format($f$DO $d$BEGIN PERFORM event.create_event(%L, '{"n": "1"}'); END$d$$f$, name), false), 'ERROR',
          'other session: the committed schema validates') FROM t64_name;
SELECT dblink_exec('t64_s1', format('DELETE FROM event.event_schemas WHERE event_type = %L', name)) FROM t64_name \gset _
SELECT dblink_disconnect('t64_s1') \gset _
SELECT dblink_disconnect('t64_s2') \gset _

CREATE TEMP TABLE t64_schema AS SELECT '{"type": "object", "required": ["order_id", "total"],
  "properties": {"order_id": {"type": "string", "pattern": "^o_[0-9]+$"}, "total": {"type": "number", "minimum": 0},
    "items": {"type": "array", "items": {"type": "object", "required": ["sku"],
      "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}}}}'::jsonb AS s;

-- Registering.
SELECT is(event.register_schema('t64.order', s, description => 'orders'), 1, 'first version is 1') FROM t64_schema;
SELECT is(event.register_schema('  t64.order ', s), 1, 'same schema again: the active version, no new one') FROM t64_schema;
SELECT is((SELECT count(*) FROM event.event_schemas WHERE event_type = 't64.order'), 1::bigint, 'one row stored');
SELECT throws_ok($$SELECT event.register_schema('t64.bad', '{"type": "strnig"}')$$, '22023', 'invalid JSON schema',
                 'unknown type name is refused');
SELECT throws_ok($$SELECT event.register_schema('t64.bad', '[1]')$$, '22023', 'invalid JSON schema', 'array is not a schema');
SELECT throws_ok($$SELECT event.register_schema('t64.bad', '{"$ref": "http://example.com/x.json"}')$$, '22023',
                 'invalid JSON schema', 'remote $ref refused');
SELECT throws_ok($$SELECT event.register_schema('t64.bad', '{"pattern": "(a)\\1"}')$$, '22023', 'invalid JSON schema',
                 'back-reference refused');
SELECT throws_ok($$SELECT event.register_schema('t64.bad', '{"$schema": "http://json-schema.org/draft-04/schema#"}')$$,
                 '22023', 'invalid JSON schema', 'other drafts refused');
SELECT throws_ok($$SELECT event.register_schema(NULL, '{}')$$, '22004', 'event_type must not be null', 'NULL event_type');
SELECT throws_ok($$SELECT event.register_schema('t64.x', NULL)$$, '22004', 'schema must not be null', 'NULL schema');
SELECT throws_ok($$SELECT event.register_schema('', '{}')$$, '22023', NULL, 'empty event_type');
SELECT throws_ok($$SELECT event.register_schema('t64.x', '{}', 'forward')$$, '22023', 'invalid compatibility "forward"',
                 'unknown compatibility');
SELECT is((SELECT count(*) FROM event.event_schemas WHERE event_type LIKE 't64.bad%' OR event_type = 't64.x'), 0::bigint,
          'nothing stored for refused schemas');

-- Validation on append.
SELECT is((event.create_event('t64.order', '{"order_id": "o_1", "total": 5}', metadata => '{"a": 1}')).metadata,
          '{"a": 1, "schema_version": 1}'::jsonb, 'valid event stored with metadata.schema_version');
SELECT is((event.create_event('t64.order', '{"order_id": "o_1", "total": 5}', metadata => '{"schema_version": "x"}')).metadata,
          '{"schema_version": 1}'::jsonb, 'a caller-given schema_version is replaced');
SELECT is((event.create_event('t64.other', '{}', metadata => '{"schema_version": "x"}')).metadata,
          '{"schema_version": "x"}'::jsonb, 'event type without schema: metadata untouched');
SELECT is(pg_temp.err($$SELECT event.create_event('t64.order', '{"order_id": "o_1", "total": 5, "items": [{"sku": "a"}, {"sku": "b", "qty": 0}]}')$$),
          'EV002 | event "t64.order" does not match schema version 1 | JSON path "/items/1/qty" fails rule "minimum": Expected number greater than or equal to 1.000000.',
          'create_event: path and rule of the violation');
SELECT is(pg_temp.err($$SELECT event.create_event('t64.order', '{"total": 5}')$$),
          'EV002 | event "t64.order" does not match schema version 1 | JSON path "" (the whole data) fails rule "required": Missing required property ''order_id''.',
          'missing required property: the whole data');
SELECT is(pg_temp.err($$SELECT event.create_event('t64.order', '{"order_id": "x", "total": 5}')$$),
          'EV002 | event "t64.order" does not match schema version 1 | JSON path "/order_id" fails rule "pattern": Failed to match regex specified by ''pattern'' constraint.',
          'pattern violation');
SELECT is(pg_temp.err($$SELECT event.create_event('t64.order', '{"order_id": "o_1", "total": "5"}')$$),
          'EV002 | event "t64.order" does not match schema version 1 | JSON path "/total" fails rule "type": Value type not permitted by ''type'' constraint.',
          'type violation');
SELECT is(pg_temp.err($$SELECT event.create_event_json('{"event_type": "t64.order", "data": {"order_id": "o_1", "total": -1}}')$$),
          'EV002 | event "t64.order" does not match schema version 1 | JSON path "/total" fails rule "minimum": Expected number greater than or equal to 0.000000.',
          'create_event_json validates');
SELECT is(pg_temp.err($$SELECT * FROM event.append_to_stream('t64s:1', '[{"event_type": "t64.order", "data": {"order_id": "o_1", "total": 1}}, {"event_type": "t64.order", "data": {"order_id": "o_2"}}]')$$),
          'EV002 | event "t64.order" does not match schema version 1 | Batch item 1. JSON path "" (the whole data) fails rule "required": Missing required property ''total''.',
          'append_to_stream validates every item');
SELECT is((SELECT count(*) FROM event.events WHERE stream_id = 't64s:1'), 0::bigint, 'append_to_stream stored nothing');
SELECT is(pg_temp.err($$SELECT event.create_events('[{"event_type": "t64.order", "data": {"order_id": "o_1", "total": 1}}, {"event_type": "t64.order", "data": {"order_id": "o_1", "total": 1, "items": [{}]}}]')$$),
          'EV002 | event "t64.order" does not match schema version 1 | Batch item 1. JSON path "/items/0" fails rule "required": Missing required property ''sku''.',
          'atomic batch: item index, path and rule');

-- Batch partial mode: per-item results.
CREATE TEMP TABLE t64_partial AS SELECT event.create_events('[
  {"event_type": "t64.order", "data": {"order_id": "o_7", "total": 1}, "user_id": "t64u"},
  {"event_type": "t64.order", "data": {"order_id": "o_8", "total": 1, "items": [{"sku": 3}]}, "user_id": "t64u"},
  {"event_type": "t64.free", "data": {"x": 1}, "user_id": "t64u"}]', atomic => false) AS r;
SELECT is((SELECT array_agg(x->>'status' ORDER BY o) FROM t64_partial, jsonb_array_elements(r) WITH ORDINALITY e(x, o)),
          ARRAY['created', 'error', 'created'], 'partial batch: the invalid item alone fails');
SELECT is((SELECT r->1->'error' FROM t64_partial),
          '{"code": "EV002", "message": "event \"t64.order\" does not match schema version 1", "detail": "JSON path \"/items/0/sku\" fails rule \"type\": Value type not permitted by ''type'' constraint.", "hint": "Fix the event data, or register a new schema version with event.register_schema()."}'::jsonb,
          'partial batch: the item error names path and rule');
SELECT is((SELECT r->0->'event'->'metadata' FROM t64_partial), '{"schema_version": 1}'::jsonb, 'partial batch: valid item tagged');
SELECT is((SELECT count(*) FROM event.events WHERE user_id = 't64u'), 2::bigint, 'partial batch stored the two valid items');

-- Backward compatibility.
SELECT is(pg_temp.err($$SELECT event.register_schema('t64.order', (SELECT jsonb_set(s, '{required}', '["order_id", "total", "currency"]') FROM t64_schema), 'backward')$$),
          'EV020 | schema for event type "t64.order" is not backward compatible with version 1 | /required: new required property "currency".',
          'backward: a new required property is refused');
SELECT is(pg_temp.err($$SELECT event.register_schema('t64.order', (SELECT jsonb_set(s, '{properties,total,type}', '"integer"') FROM t64_schema), 'backward')$$),
          'EV020 | schema for event type "t64.order" is not backward compatible with version 1 | /properties/total/type: type narrowed: "number" is no longer allowed.',
          'backward: type narrowing is refused');
SELECT is(event.register_schema('t64.order', (SELECT jsonb_set(s, '{properties,total,minimum}', '-10') FROM t64_schema), 'backward'),
          2, 'backward: a lower minimum is accepted as version 2');
SELECT is(event.register_schema('t64.order', (SELECT jsonb_set(s, '{required}', '["order_id", "total", "currency"]') FROM t64_schema)),
          3, 'without the check, any new version registers (version 3)');
SELECT is(pg_temp.err($$SELECT event.create_event('t64.order', '{"order_id": "o_1", "total": 5}')$$),
          'EV002 | event "t64.order" does not match schema version 3 | JSON path "" (the whole data) fails rule "required": Missing required property ''currency''.',
          'the newest active version validates, in the same transaction');

-- Reading the registry.
SELECT is((SELECT array_agg(version || ':' || active || ':' || validating ORDER BY version) FROM event.list_schemas('t64.order')),
          ARRAY['1:true:false', '2:true:false', '3:true:true'], 'list_schemas: versions, active, validating');
SELECT is(event.get_schema('t64.order')->'version', '3'::jsonb, 'get_schema: the validating version');
SELECT is(event.get_schema('t64.order', 1)->>'description', 'orders', 'get_schema: one version');
SELECT is(event.get_schema('t64.none'), NULL, 'get_schema: unknown type is NULL');

-- Deactivating.
SELECT is(event.deactivate_schema('t64.order', 3), 1, 'deactivate one version');
SELECT is((event.create_event('t64.order', '{"order_id": "o_1", "total": -5}')).metadata, '{"schema_version": 2}'::jsonb,
          'the previous active version validates again');
SELECT is(event.deactivate_schema('t64.order'), 2, 'deactivate every version');
SELECT is((event.create_event('t64.order', '{"anything": true}')).metadata, '{}'::jsonb, 'no active schema: no validation');
SELECT throws_ok($$SELECT event.deactivate_schema('t64.order', 9)$$, 'P0002', 'event type "t64.order" has no schema version 9',
                 'unknown version');
SELECT throws_ok($$SELECT event.deactivate_schema('t64.none')$$, 'P0002', 'event type "t64.none" has no schema', 'unknown type');

SELECT * FROM finish();
ROLLBACK;
