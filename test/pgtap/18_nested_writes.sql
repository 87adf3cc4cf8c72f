-- 18_nested_writes.sql — the write path is re-entrant: create_event called from a trigger on
-- event.events and from a user SQL function in a trigger on another table (event.event_streams)
-- while an outer create_events / append_to_stream / create_event is storing its items.
BEGIN;
SELECT plan(12);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');

-- A user SQL function that writes an event.
CREATE FUNCTION public.t16_log(what text, about uuid) RETURNS uuid LANGUAGE sql AS
$$SELECT (event.create_event('t16.inner', jsonb_build_object('what', what, 'about', about))).event_id$$;
-- Trigger on event.events: every outer event gets an inner event, written while the outer call runs.
CREATE FUNCTION public.t16_on_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.event_type = 't16.outer' THEN
		PERFORM event.create_event_json(jsonb_build_object('event_type', 't16.inner',
			'data', jsonb_build_object('what', 'event', 'about', NEW.event_id)));
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER t16_nested AFTER INSERT ON event.events FOR EACH ROW EXECUTE FUNCTION public.t16_on_event();
-- Trigger on another table the write path writes: the stream head.
CREATE FUNCTION public.t16_on_stream() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.stream_id LIKE 't16s:%' THEN
		PERFORM public.t16_log('stream', NEW.last_event_id);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER t16_nested_stream AFTER INSERT OR UPDATE ON event.event_streams FOR EACH ROW
	EXECUTE FUNCTION public.t16_on_stream();

-- Atomic batch.
CREATE TEMP TABLE t16_a AS SELECT event.create_events(
	'[{"event_type": "t16.outer", "data": {"n": 1}}, {"event_type": "t16.plain", "data": {"n": 2}},
	  {"event_type": "t16.outer", "data": {"n": 3}, "user_id": "t16u"}]') AS r;
SELECT is((SELECT array_agg(x->>'event_type' || '/' || (x->'data'->>'n') ORDER BY o) FROM t16_a, jsonb_array_elements(r) WITH ORDINALITY AS e(x, o)),
          ARRAY['t16.outer/1', 't16.plain/2', 't16.outer/3'], 'atomic batch: outer results intact');
SELECT is((SELECT count(*) FROM event.events e, t16_a WHERE e.event_type = 't16.inner'
           AND e.data->>'about' IN (r->0->>'event_id', r->2->>'event_id')), 2::bigint, 'one nested event per outer event');
SELECT is((SELECT r->2->>'user_id' FROM t16_a), 't16u', 'the outer item after a nested call keeps its fields');

-- Per-item batch.
CREATE TEMP TABLE t16_b AS SELECT event.create_events(
	'[{"event_type": "t16.outer", "data": {"n": 4}}, {"event_type": "", "data": {"n": 5}}, {"event_type": "t16.outer", "data": {"n": 6}}]',
	false) AS r;
SELECT is((SELECT array_agg(x->>'status' ORDER BY o) FROM t16_b, jsonb_array_elements(r) WITH ORDINALITY AS e(x, o)),
          ARRAY['created', 'error', 'created'], 'per-item batch: statuses');
SELECT is((SELECT array_agg(x->'event'->'data'->>'n' ORDER BY o) FROM t16_b, jsonb_array_elements(r) WITH ORDINALITY AS e(x, o)
           WHERE x->>'status' = 'created'), ARRAY['4', '6'], 'per-item batch: outer results intact');
SELECT is((SELECT r->1->'error'->>'code' FROM t16_b), '22023', 'per-item batch: the failing item reports its own error');

-- Stream appends: the stream-head trigger writes an event through a user SQL function.
CREATE TEMP TABLE t16_c AS SELECT * FROM event.append_to_stream('t16s:1',
	'[{"event_type": "t16.outer", "data": {"n": 7}}, {"event_type": "t16.step", "data": {"n": 8}}]', 0);
SELECT is((SELECT array_agg(event_type || '/' || stream_version ORDER BY stream_version) FROM t16_c),
          ARRAY['t16.outer/1', 't16.step/2'], 'append_to_stream: outer rows intact');
SELECT is((SELECT count(*) FROM event.events e WHERE e.event_type = 't16.inner' AND e.data->>'what' = 'stream'
           AND e.data->>'about' = (SELECT event_id::text FROM t16_c WHERE stream_version = 2)), 1::bigint,
          'the stream trigger wrote its event');
SELECT is((event.create_event('t16.outer', '{"n": 9}', stream_id => 't16s:1', expected_version => 2)).stream_version, 3::bigint,
          'create_event with nested writes from both triggers returns its own row');
SELECT is((SELECT version FROM event.event_streams WHERE stream_id = 't16s:1'), 3::bigint, 'stream head');
SELECT is((SELECT count(*) FROM event.events WHERE event_type = 't16.inner'), 8::bigint,
          'every nested write stored (2 + 2 from batches, 2 + 2 from the stream appends)');

SELECT * FROM finish();
ROLLBACK;
