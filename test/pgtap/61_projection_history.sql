-- 61_projection_history.sql — rebuild_projection, rebuild_projections, snapshots (every N events
-- and on demand) and time travel (projection_at by version and by time): a rebuild equals the
-- incremental state, and the state at random points equals a replay from zero and an
-- independent fold in SQL.
BEGIN;
SELECT plan(24);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');
SELECT setseed(0.61);

-- Three projections of one type: merge with snapshots every 10 events, merge without snapshots,
-- sum of a field with snapshots every 7.
SELECT lives_ok($$SELECT event.create_projection('t61', 'merge', 'snap', snapshot_every => 10),
                         event.create_projection('t61', 'merge', 'plain'),
                         event.create_projection('t61', 'sum', 'total', field => '{n}', snapshot_every => 7)$$,
                'three projections');
-- 95 events on entity 1, one call each (distinct storage times), and 30 on entity 2 in one batch.
SELECT lives_ok($$SELECT count(event.create_event('t61.set', jsonb_build_object('k' || (i % 7), i, 'n', i % 5), stream_id => 't61:1'))
                  FROM generate_series(1, 95) i$$, '95 single appends');
SELECT lives_ok($$SELECT event.create_events((SELECT jsonb_agg(jsonb_build_object('event_type', 't61.set', 'stream_id', 't61:2',
                  'data', jsonb_build_object('k' || (i % 3), i, 'n', 1))) FROM generate_series(1, 30) i))$$, 'a batch of 30');

-- Automatic snapshots.
SELECT is((SELECT array_agg(s.version ORDER BY s.version) FROM event.projection_snapshots s
           JOIN event.projection_definitions d ON d.id = s.projection_id WHERE d.name = 'snap' AND s.entity_id = '1'),
          ARRAY[10, 20, 30, 40, 50, 60, 70, 80, 90]::bigint[], 'merge: a snapshot every 10 versions');
SELECT is((SELECT count(*)::int FROM event.projection_snapshots s JOIN event.projection_definitions d ON d.id = s.projection_id
           WHERE d.name = 'snap' AND s.entity_id = '2'), 3, 'a batch crossing several multiples writes each snapshot');
SELECT is((SELECT count(*)::int FROM event.projection_snapshots s JOIN event.projection_definitions d ON d.id = s.projection_id
           WHERE d.name = 'plain'), 0, 'no snapshots without snapshot_every');

-- The independent fold of entity 1 up to version v: flat merge = the last value of each key.
CREATE FUNCTION pg_temp.merged(v bigint) RETURNS jsonb LANGUAGE sql AS $$
	SELECT COALESCE(jsonb_object_agg(key, value), '{}') FROM (
		SELECT DISTINCT ON (key) key, value FROM event.events, jsonb_each(data)
		WHERE stream_id = 't61:1' AND stream_version <= v ORDER BY key, stream_version DESC) x$$;
CREATE TEMP TABLE t61_points AS SELECT (1 + floor(random() * 95))::bigint AS v FROM generate_series(1, 12);
INSERT INTO t61_points VALUES (10), (95), (1), (9), (11);

SELECT is((SELECT count(*)::int FROM t61_points
           WHERE event.projection_at('t61', '1', version => v, name => 'snap')->'state' <> pg_temp.merged(v)), 0,
          'at 17 points: state from the nearest snapshot = independent fold');
SELECT is((SELECT count(*)::int FROM t61_points
           WHERE event.projection_at('t61', '1', version => v, name => 'snap')->'state'
              <> event.projection_at('t61', '1', version => v, name => 'plain')->'state'), 0,
          'state from the nearest snapshot = replay from zero');
SELECT is((SELECT count(*)::int FROM t61_points
           WHERE (event.projection_at('t61', '1', version => v, name => 'total')->'state'->>'sum')::numeric
              <> (SELECT sum((data->>'n')::numeric) FROM event.events WHERE stream_id = 't61:1' AND stream_version <= v)), 0,
          'sum: state at each point = SQL sum');
SELECT is((SELECT count(*)::int FROM t61_points
           WHERE (event.projection_at('t61', '1', version => v, name => 'snap')->>'last_event_id')
              <> (SELECT event_id::text FROM event.events WHERE stream_id = 't61:1' AND stream_version = v)), 0,
          'last_event_id at each point');
SELECT is(event.projection_at('t61', '1', version => 95, name => 'snap'), event.get_projection('t61', '1', 'snap') - 'updated_at'
          || jsonb_build_object('updated_at', event.projection_at('t61', '1', version => 95, name => 'snap')->'updated_at'),
          'at the current version: the current state');
SELECT is(event.projection_at('t61', '1', version => 0, name => 'snap')->'state', '{}'::jsonb, 'version 0: the initial state');
SELECT throws_ok($$SELECT event.projection_at('t61', '1', version => 96, name => 'snap')$$, '22023',
                 'entity "t61:1" has no version 96', 'beyond the stream: 22023');
SELECT throws_ok($$SELECT event.projection_at('t61', '1', name => 'snap')$$, '22004',
                 'projection_at needs a version or a time', 'neither version nor time');

-- By time: the events stored at or before "at", in stream order.
SELECT is((SELECT count(*)::int FROM t61_points p,
                  LATERAL (SELECT created_at FROM event.events WHERE stream_id = 't61:1' AND stream_version = p.v) e,
                  LATERAL (SELECT COALESCE(min(stream_version) - 1, 95) AS v FROM event.events
                           WHERE stream_id = 't61:1' AND created_at > e.created_at) want
           WHERE event.projection_at('t61', '1', "at" => e.created_at, name => 'snap')->'state' <> pg_temp.merged(want.v)
              OR (event.projection_at('t61', '1', "at" => e.created_at, name => 'snap')->>'version')::bigint <> want.v), 0,
          'by time at 17 points: the state of the events stored by then');
SELECT is((event.projection_at('t61', '1', "at" => '2000-01-01', name => 'snap')->>'version')::int, 0, 'before every event: version 0');
SELECT is(event.projection_at('t61', '1', version => 50, "at" => 'infinity', name => 'snap')->'state', pg_temp.merged(50),
          'version and time together');

-- On-demand snapshot.
SELECT is((event.snapshot_projection('t61', '1', 'plain')->>'version')::int, 95, 'snapshot_projection returns the projection');
SELECT is((SELECT array_agg(s.version) FROM event.projection_snapshots s JOIN event.projection_definitions d ON d.id = s.projection_id
           WHERE d.name = 'plain'), ARRAY[95]::bigint[], 'on-demand snapshot stored');

-- Rebuild equals the incremental state.
CREATE TEMP TABLE t61_before AS SELECT event.get_projection('t61', e, n) AS p, e, n
	FROM unnest(ARRAY['1', '2']) e, unnest(ARRAY['snap', 'plain', 'total']) n;
SELECT is((SELECT count(*)::int FROM t61_before WHERE event.rebuild_projection('t61', e, n) - 'updated_at' <> p - 'updated_at'), 0,
          'rebuild_projection = incremental state, for each entity and projection');
UPDATE event.event_projections SET state = '{"broken": true}' WHERE entity_id = '1';
SELECT is(event.rebuild_projections('t61', 'snap', max_count => 1), '{"rebuilt": 1, "last_entity_id": "1"}'::jsonb,
          'rebuild_projections: one batch');
SELECT is(event.rebuild_projections('t61', 'snap', after_entity_id => '1'), '{"rebuilt": 1, "last_entity_id": "2"}'::jsonb,
          'rebuild_projections: from the cursor to the end');
SELECT is((SELECT count(*)::int FROM t61_before WHERE n = 'snap' AND event.get_projection('t61', e, n) - 'updated_at' <> p - 'updated_at'), 0,
          'rebuilt states equal the incremental ones');

SELECT * FROM finish();
ROLLBACK;
