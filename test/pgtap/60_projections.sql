-- 60_projections.sql — event.create_projection, list_projections, drop_projection, get_projection:
-- the built-in reducers (merge, replace, count, sum) and a user function, maintained inline by
-- create_event, create_events (atomic and per item) and append_to_stream; catch-up of a state
-- behind its stream; reducer errors (nothing stored); a reducer that itself calls create_event.
BEGIN;
SELECT plan(63);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');

-- Definition.
CREATE TEMP TABLE t60 AS SELECT event.create_projection('t60a') AS d;
SELECT is((SELECT d->>'entity_type' FROM t60), 't60a', 'create: entity_type');
SELECT is((SELECT d->>'name' FROM t60), 'default', 'create: name defaults to "default"');
SELECT is((SELECT d->>'reducer' FROM t60), 'merge', 'create: reducer defaults to merge');
SELECT is((SELECT d->'event_types' FROM t60), '[]'::jsonb, 'create: every event type');
SELECT is((SELECT count(*)::int FROM event.events e, t60 WHERE e.event_type = 'event.projection.created'
             AND e.event_id = (t60.d->>'event_id')::uuid AND e.event_source = 'system'
             AND e.data->>'projection_id' = t60.d->>'projection_id'), 1, 'event.projection.created stored (spec 9.4)');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements(event.list_projections()) x WHERE x->>'entity_type' = 't60a'),
          1, 'list: the new projection');
SELECT throws_ok($$SELECT event.create_projection('t60a')$$, '42710',
                 'projection "default" of entity type "t60a" already exists', 'create twice: 42710');
SELECT throws_ok($$SELECT event.create_projection('t60a', 'fold', 'x')$$, '22023', 'invalid reducer "fold"',
                 'unknown reducer: 22023');
SELECT throws_ok($$SELECT event.create_projection('t60a', 'sum', 'x')$$, '22023', 'the sum reducer needs a field',
                 'sum without field');
SELECT throws_ok($$SELECT event.create_projection('t60a', 'merge', 'x', field => '{a}')$$, '22023',
                 'field is only for the sum reducer', 'field without sum');
SELECT throws_ok($$SELECT event.create_projection('t60a', 'function', 'x')$$, '22023',
                 'the function reducer needs a function', 'function reducer without function');
SELECT throws_ok($$SELECT event.create_projection('t60a', 'function', 'x', function => 'pg_catalog.jsonb_typeof(jsonb)')$$,
                 '22023', 'reducer function "jsonb_typeof(jsonb)" must take (jsonb, jsonb) and return jsonb',
                 'function with the wrong signature');
SELECT throws_ok($$SELECT event.create_projection('bad:type')$$, '22023', NULL, 'invalid entity type');
SELECT throws_ok($$SELECT event.create_projection('t60a', 'merge', 'x', snapshot_every => 0)$$, '22023',
                 'invalid snapshot_every "0"', 'snapshot_every must be positive');

-- merge: deep merge, null removes a key, arrays and scalars replace.
SELECT lives_ok($$SELECT event.create_event('t60.created', '{"name": "a", "address": {"city": "X", "zip": "1"}, "tags": [1, 2]}', stream_id => 't60a:1')$$,
                'create_event on a projected type');
SELECT is(event.get_projection('t60a', '1')->'state',
          '{"name": "a", "address": {"city": "X", "zip": "1"}, "tags": [1, 2]}'::jsonb, 'merge: first event is the state');
SELECT lives_ok($$SELECT event.create_event('t60.changed', '{"address": {"city": "Y", "zip": null, "street": {"no": 5, "x": null}}, "tags": [3], "name": null, "n": 1}', stream_id => 't60a:1')$$,
                'second event');
SELECT is(event.get_projection('t60a', '1')->'state',
          '{"address": {"city": "Y", "street": {"no": 5}}, "tags": [3], "n": 1}'::jsonb,
          'merge: nested objects merge, null removes (also inside new objects), arrays replace');
SELECT is(event.get_projection('t60a', '1') - 'state' - 'updated_at' - 'last_event_id',
          '{"entity_type": "t60a", "entity_id": "1", "projection": "default", "version": 2}'::jsonb,
          'get_projection: entity_type, entity_id, projection, version');
SELECT is(event.get_projection('t60a', '1')->>'last_event_id',
          (SELECT event_id::text FROM event.events WHERE stream_id = 't60a:1' AND stream_version = 2), 'last_event_id');
SELECT ok(event.get_projection('t60a', '1')->>'updated_at' ~ '^\d{4}-\d\d-\d\dT', 'updated_at');
SELECT is(event.get_projection('t60a', 'nobody'), NULL, 'unknown entity: NULL');
-- A type without any projection: the default one (merge) folded from the stream at read time.
SELECT is(event.get_projection('t60none', '1'), NULL, 'type without projection, entity without events: NULL');
SELECT lives_ok($$SELECT event.create_event('t60.n', '{"a": 1, "o": {"x": 1}}', stream_id => 't60none:1'),
                         event.create_event('t60.n', '{"b": 2, "a": 3, "o": {"y": 2}}', stream_id => 't60none:1')$$,
                'two events of a type without projection');
SELECT is(event.get_projection('t60none', '1') - 'updated_at',
          jsonb_build_object('entity_type', 't60none', 'entity_id', '1', 'projection', 'default',
                             'state', '{"a": 3, "b": 2, "o": {"x": 1, "y": 2}}'::jsonb, 'version', 2,
                             'last_event_id', (SELECT event_id::text FROM event.events WHERE stream_id = 't60none:1' AND stream_version = 2)),
          'type without projection: the merge of its events, folded at read time');
SELECT is((SELECT count(*) FROM event.event_projections WHERE entity_id = '1'
             AND projection_id NOT IN (SELECT id FROM event.projection_definitions)), 0::bigint,
          'type without projection: nothing stored');
SELECT throws_ok($$SELECT event.get_projection('t60none', '1', 'default')$$, 'P0002',
                 'projection "default" of entity type "t60none" does not exist', 'type without projection, named: P0002');
SELECT throws_ok($$SELECT event.get_projection('t60a', '1', 'other')$$, 'P0002',
                 'projection "other" of entity type "t60a" does not exist', 'unknown name: P0002');

-- Batches and append_to_stream; events of other types and without a stream are untouched.
SELECT lives_ok($$SELECT event.create_events('[{"event_type": "t60.a", "stream_id": "t60a:2", "data": {"x": 1}},
    {"event_type": "t60.b", "data": {"free": 1}}, {"event_type": "t60.c", "stream_id": "t60a:2", "data": {"y": 2}},
    {"event_type": "t60.d", "stream_id": "t60other:2", "data": {"z": 3}}]')$$, 'atomic batch');
SELECT is(event.get_projection('t60a', '2')->'state', '{"x": 1, "y": 2}'::jsonb, 'atomic batch: both events folded in order');
SELECT is((event.get_projection('t60a', '2')->>'version')::int, 2, 'atomic batch: version 2');
SELECT lives_ok($$SELECT event.create_events('[{"event_type": "t60.a", "stream_id": "t60a:3", "data": {"x": 1}},
    {"event_type": "", "stream_id": "t60a:3", "data": {"bad": 1}}, {"event_type": "t60.a", "stream_id": "t60a:3", "data": {"x": 2}}]', false)$$,
    'per-item batch with a failing item');
SELECT is(event.get_projection('t60a', '3')->'state', '{"x": 2}'::jsonb, 'per-item batch: the failed item is not folded');
SELECT lives_ok($$SELECT * FROM event.append_to_stream('t60a:4', '[{"event_type": "t60.a", "data": {"k": "v1"}}, {"event_type": "t60.a", "data": {"k": "v2", "o": {"p": 1}}}]', 0)$$,
                'append_to_stream');
SELECT is(event.get_projection('t60a', '4')->'state', '{"k": "v2", "o": {"p": 1}}'::jsonb, 'append_to_stream: folded');
SELECT is((SELECT count(*)::int FROM event.event_projections p JOIN event.projection_definitions d ON d.id = p.projection_id
           WHERE d.entity_type = 't60a'), 4, 'one state row per entity');

-- replace, count, sum (with an event type filter), several projections of one type.
SELECT lives_ok($$SELECT event.create_projection('t60b', 'replace', 'last'), event.create_projection('t60b', 'count', 'n'),
                  event.create_projection('t60b', 'sum', 'total', field => '{order,amount}', event_types => '{t60.paid}')$$,
                'three projections of one type');
SELECT lives_ok($$SELECT event.create_events('[{"event_type": "t60.paid", "stream_id": "t60b:1", "data": {"order": {"amount": 10.5}}},
    {"event_type": "t60.note", "stream_id": "t60b:1", "data": {"order": {"amount": 1000}}},
    {"event_type": "t60.paid", "stream_id": "t60b:1", "data": {"order": {"amount": 4}}},
    {"event_type": "t60.paid", "stream_id": "t60b:1", "data": {"other": 1}}]')$$, 'four events');
SELECT is(event.get_projection('t60b', '1', 'last')->'state', '{"other": 1}'::jsonb, 'replace: the last event''s data');
SELECT is(event.get_projection('t60b', '1', 'n')->'state', '{"count": 4}'::jsonb, 'count: every event');
SELECT is(event.get_projection('t60b', '1', 'total')->'state', '{"sum": 14.5}'::jsonb,
          'sum: the field of the filtered events (missing field skipped)');
SELECT is((event.get_projection('t60b', '1', 'total')->>'version')::int, 4, 'sum: version follows the stream');
SELECT throws_ok($$SELECT event.get_projection('t60b', '1')$$, '22023', 'entity type "t60b" has several projections',
                 'several projections: name one');
SELECT throws_ok($$SELECT event.create_event('t60.paid', '{"order": {"amount": "ten"}}', stream_id => 't60b:1')$$, '22023',
                 NULL, 'sum of a non-number: the append fails');
SELECT is((SELECT count(*)::int FROM event.events WHERE stream_id = 't60b:1'), 4, 'failed append: nothing stored');

-- User function reducer; a raising reducer names the projection and the event.
CREATE FUNCTION public.t60_reduce(state jsonb, ev jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	IF ev->'data' ? 'boom' THEN RAISE EXCEPTION 'reducer says no' USING ERRCODE = 'P0001'; END IF;
	RETURN jsonb_set(state, '{seen}', COALESCE(state->'seen', '[]') || to_jsonb(ev->>'event_type'));
END $$;
SELECT lives_ok($$SELECT event.create_projection('t60c', 'function', function => 'public.t60_reduce(jsonb,jsonb)')$$,
                'function projection');
SELECT lives_ok($$SELECT event.create_event('t60.one', '{}', stream_id => 't60c:1'), event.create_event('t60.two', '{}', stream_id => 't60c:1')$$,
                'two events');
SELECT is(event.get_projection('t60c', '1')->'state', '{"seen": ["t60.one", "t60.two"]}'::jsonb, 'function: folded in order');
SELECT throws_like($$SELECT event.create_event('t60.three', '{"boom": 1}', stream_id => 't60c:1')$$,
                   'projection "default" of entity type "t60c" failed on event % (stream "t60c:1" version 3): reducer says no',
                   'a raising reducer fails the append, naming projection, event and cause');
SELECT is((SELECT count(*)::int FROM event.events WHERE stream_id = 't60c:1'), 2, 'nothing stored');
SELECT is((event.get_projection('t60c', '1')->>'version')::int, 2, 'state unchanged');

-- A reducer that appends an event to another entity (nested write path), and one that appends to
-- the entity it folds (refused).
CREATE FUNCTION public.t60_audit(state jsonb, ev jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	PERFORM event.create_event('t60.audit', jsonb_build_object('of', ev->>'event_id'),
	                           stream_id => CASE WHEN ev->'data' ? 'self' THEN ev->>'stream_id' ELSE 't60a:audit' END);
	RETURN state || jsonb_build_object('n', COALESCE((state->>'n')::int, 0) + 1);
END $$;
SELECT lives_ok($$SELECT event.create_projection('t60d', 'function', function => 'public.t60_audit(jsonb,jsonb)')$$, 'audit projection');
SELECT lives_ok($$SELECT event.create_events('[{"event_type": "t60.x", "stream_id": "t60d:1"}, {"event_type": "t60.x", "stream_id": "t60d:1"}]')$$,
                'outer batch whose reducer writes nested events');
SELECT is(event.get_projection('t60a', 'audit')->'state' ? 'of' AND (event.get_projection('t60a', 'audit')->>'version')::int = 2,
          true, 'nested appends were folded into their own projection');
SELECT throws_like($$SELECT event.create_event('t60.x', '{"self": 1}', stream_id => 't60d:1')$$,
                   '%appended to entity "1" while folding it', 'a reducer appending to its own entity is refused');

-- A trigger on event.events that appends to another projected entity while the outer append runs.
CREATE FUNCTION public.t60_on_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.event_type = 't60.trig' THEN
		PERFORM event.create_event('t60.inner', jsonb_build_object('about', NEW.stream_version), stream_id => 't60a:trig-inner');
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER t60_nested AFTER INSERT ON event.events FOR EACH ROW EXECUTE FUNCTION public.t60_on_event();
SELECT lives_ok($$SELECT * FROM event.append_to_stream('t60a:trig', '[{"event_type": "t60.trig", "data": {"a": 1}}, {"event_type": "t60.trig", "data": {"b": 2}}]')$$,
                'append whose trigger appends to another projected entity');
SELECT is(ARRAY[event.get_projection('t60a', 'trig')->'state', event.get_projection('t60a', 'trig-inner')->'state',
                to_jsonb((event.get_projection('t60a', 'trig-inner')->>'version')::int)],
          ARRAY['{"a": 1, "b": 2}'::jsonb, '{"about": 2}'::jsonb, '2'::jsonb], 'outer and nested projections both folded');
DROP TRIGGER t60_nested ON event.events;

-- Catch-up: a projection defined without building, then an append folds the whole stream.
SELECT lives_ok($$SELECT * FROM event.append_to_stream('t60e:1', '[{"event_type": "a", "data": {"a": 1}}, {"event_type": "b", "data": {"b": 2}}]')$$,
                'events before the projection');
SELECT lives_ok($$SELECT event.create_projection('t60e', build => false), event.create_event('c', '{"c": 3}', stream_id => 't60e:1')$$,
                'projection without build, then an append');
SELECT is(event.get_projection('t60e', '1')->'state', '{"a": 1, "b": 2, "c": 3}'::jsonb, 'catch-up folded the earlier events');

-- Drop.
SELECT is(event.drop_projection('t60e')->>'entity_type', 't60e', 'drop returns the definition');
SELECT throws_ok($$SELECT event.drop_projection('t60e')$$, 'P0002', 'projection "default" of entity type "t60e" does not exist',
                 'drop twice: P0002');

SELECT * FROM finish();
ROLLBACK;
