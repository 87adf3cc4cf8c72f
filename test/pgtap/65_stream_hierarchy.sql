-- 65_stream_hierarchy.sql — streams of one entity_type (event.list_streams, paged by entity_id)
-- with their per-stream metadata from event.event_streams. The category read in global order
-- (event.read_category) needs committed events: 14_catch_up.sql, and over HTTP
-- test/e2e/api_schemas_hierarchy.t.
BEGIN;
SELECT plan(11);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');

-- Five t65acct streams (e, a, d, b, c: not in entity_id order), a with 3 events, and another type.
SELECT count(*) FROM (SELECT event.create_event('t65.opened', jsonb_build_object('n', i), stream_id => 't65acct:' || id)
                      FROM unnest(ARRAY['e', 'a', 'd', 'b', 'c']) WITH ORDINALITY u(id, i)) x \gset _
SELECT count(*) FROM event.append_to_stream('t65acct:a', '[{"event_type": "t65.credited"}, {"event_type": "t65.debited"}]', 1) \gset _
SELECT count(*) FROM (SELECT event.create_event('t65.other', stream_id => 't65other:a')) x \gset _

SELECT is((SELECT array_agg(entity_id ORDER BY entity_id) FROM event.list_streams('t65acct', NULL, 1000)),
          ARRAY['a', 'b', 'c', 'd', 'e'], 'list_streams: every stream of the type, by entity_id');
SELECT is((SELECT array_agg(stream_id) FROM event.list_streams('t65acct', NULL, 2)), ARRAY['t65acct:a', 't65acct:b'],
          'page 1');
SELECT is((SELECT array_agg(stream_id) FROM event.list_streams('t65acct', 'b', 2)), ARRAY['t65acct:c', 't65acct:d'],
          'page 2 after the cursor b');
SELECT is((SELECT array_agg(stream_id) FROM event.list_streams('t65acct', 'd', 2)), ARRAY['t65acct:e'], 'last page');
SELECT is((SELECT count(*) FROM event.list_streams('t65acct', 'e', 2)), 0::bigint, 'after the last: empty');
SELECT is((SELECT count(*) FROM event.list_streams('t65none')), 0::bigint, 'unknown entity_type: empty');
SELECT is((SELECT version FROM event.list_streams('t65acct') WHERE entity_id = 'a'), 3::bigint, 'version of a');
SELECT is((SELECT l.last_event_id = e.event_id AND l.last_position = e.position AND l.last_event_at = e.created_at
           FROM event.list_streams('t65acct') l JOIN event.events e ON e.stream_id = l.stream_id AND e.stream_version = l.version
           WHERE l.entity_id = 'a'), true, 'last event id, position and time are those of the last event');
SELECT is((SELECT l.created_at = e.created_at FROM event.list_streams('t65acct') l
           JOIN event.events e ON e.stream_id = l.stream_id AND e.stream_version = 1 WHERE l.entity_id = 'a'),
          true, 'created_at is the time of the first event');
SELECT throws_ok($$SELECT * FROM event.list_streams('t65acct', NULL, -1)$$, '2201W', NULL, 'negative max_count refused');

SELECT * FROM finish();
ROLLBACK;
