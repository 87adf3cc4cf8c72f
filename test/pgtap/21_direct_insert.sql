-- 21_direct_insert.sql — the append stores its rows without an executor run
-- (extension/pg/direct_insert.cpp; a batch by one heap multi-insert per partition run): each row
-- lands in the partition of its event_id with every index entry, is visible to the rest of the
-- transaction, and whenever a plain INSERT would do more (a statement trigger on event.events, a
-- row trigger on the partition only) the write path falls back to the INSERT, so those triggers
-- still fire. Names are prefixed t21.
BEGIN;
SELECT plan(20);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');

CREATE TEMP TABLE t21_a AS SELECT * FROM event.create_event('t21.direct', '{"n": 1}', user_id => 't21_user',
	stream_id => 't21s:1', expected_version => 0);
SELECT is((SELECT e.tableoid::regclass::text FROM event.events e, t21_a a WHERE e.event_id = a.event_id),
          'event.events_p' || (SELECT to_char(event.uuid_v7_time(event_id) AT TIME ZONE 'UTC', 'YYYYMM') FROM t21_a),
          'the row is in the month partition of its event_id');
SELECT is((SELECT e::text FROM event.events e, t21_a a WHERE e.event_id = a.event_id), (SELECT a::text FROM t21_a a),
          'the stored row equals the returned row, visible in the same transaction');

-- Every index has the row (index scans only).
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM event.events e, t21_a a WHERE e.position = a.position), 1::bigint, 'position index');
SELECT is((SELECT count(*) FROM event.events WHERE user_id = 't21_user' AND "timestamp" <= clock_timestamp()), 1::bigint,
          'user index');
SELECT is((SELECT count(*) FROM event.events WHERE split_part(stream_id, ':', 1) = 't21s' AND position > 0), 1::bigint,
          'category expression index');
SELECT is((SELECT count(*) FROM event.events WHERE stream_id = 't21s:1' AND stream_version = 1), 1::bigint,
          'stream index');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- A batch: one multi-insert; rows in request order (positions, versions), every index.
CREATE TEMP TABLE t21_batch AS SELECT event.create_events(
	'[{"event_type": "t21.batch", "stream_id": "t21b:1", "user_id": "t21_buser", "data": {"n": 1}},
	  {"event_type": "t21.batch", "stream_id": "t21b:1", "user_id": "t21_buser", "data": {"n": 2}},
	  {"event_type": "t21.batch", "stream_id": "t21b:1", "user_id": "t21_buser", "data": {"n": 3}}]') AS r;
SELECT is((SELECT array_agg(data->>'n' ORDER BY position) FROM event.events WHERE event_type = 't21.batch'),
          ARRAY['1', '2', '3'], 'batch: positions in request order');
SELECT is((SELECT array_agg(e.event_id::text || ' ' || e.position ORDER BY e.position) FROM event.events e
           WHERE event_type = 't21.batch'),
          (SELECT array_agg((x->>'event_id') || ' ' || (x->>'position') ORDER BY n) FROM t21_batch,
           jsonb_array_elements(r) WITH ORDINALITY AS a(x, n)), 'batch: the stored rows are the returned events, in order');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT array_agg(stream_version ORDER BY stream_version) FROM event.events
           WHERE stream_id = 't21b:1' AND stream_version >= 1), ARRAY[1, 2, 3]::bigint[], 'batch: stream index');
SELECT is((SELECT count(*) FROM event.events WHERE user_id = 't21_buser' AND "timestamp" <= clock_timestamp()), 3::bigint,
          'batch: user index');
SELECT is((SELECT count(*) FROM event.events e, t21_batch b, jsonb_array_elements(b.r) x
           WHERE e.event_id = (x->>'event_id')::uuid), 3::bigint, 'batch: primary key');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- A batch over two partitions (caller-given ids of this month and the next): each row in its own.
SELECT lpad(to_hex((extract(epoch FROM now() + interval '32 days') * 1000)::bigint), 12, '0') AS t21_next_ms \gset
CREATE TEMP TABLE t21_ids AS SELECT n, CASE WHEN n = 2
	THEN substr(:'t21_next_ms', 1, 8) || '-' || substr(:'t21_next_ms', 9, 4) || substr(event.uuid_v7()::text, 14)
	ELSE event.uuid_v7()::text END AS id FROM generate_series(1, 3) n;
SELECT count(*) FROM jsonb_array_elements(event.create_events((SELECT jsonb_agg(jsonb_build_object('event_id', id,
	'event_type', 't21.months', 'data', jsonb_build_object('n', n)) ORDER BY n) FROM t21_ids))) \gset t21_
SELECT is((SELECT array_agg(e.tableoid::regclass::text ORDER BY e.position) FROM event.events e WHERE event_type = 't21.months'),
          (SELECT array_agg('event.events_p' || to_char(event.uuid_v7_time(id::uuid) AT TIME ZONE 'UTC', 'YYYYMM') ORDER BY n)
           FROM t21_ids), 'two partitions: each row in the partition of its event_id, in request order');
SELECT is((SELECT count(DISTINCT e.tableoid) FROM event.events e WHERE event_type = 't21.months'), 2::bigint,
          'two partitions: both used');

-- A statement trigger on event.events: the write path uses the INSERT, the trigger fires.
CREATE TEMP TABLE t21_fired (what text);
CREATE FUNCTION pg_temp.t21_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO t21_fired VALUES (TG_LEVEL || ' ' || TG_TABLE_NAME);
	IF TG_LEVEL = 'ROW' THEN
		NEW.metadata := '{"t21": "row trigger"}';
		RETURN NEW;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER t21_stmt AFTER INSERT ON event.events FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.t21_note();
SELECT is((event.create_event('t21.stmt')).event_type, 't21.stmt', 'stored with a statement trigger on event.events');
SELECT is((SELECT array_agg(what) FROM t21_fired), ARRAY['STATEMENT events'], 'the statement trigger fired once');
TRUNCATE t21_fired;
SELECT is(jsonb_array_length(event.create_events('[{"event_type": "t21.stmt"}, {"event_type": "t21.stmt"}]')), 2,
          'a batch stored with a statement trigger on event.events');
SELECT is((SELECT array_agg(what) FROM t21_fired), ARRAY['STATEMENT events'], 'the statement trigger fired once for the batch');
DROP TRIGGER t21_stmt ON event.events;
TRUNCATE t21_fired;

-- A row trigger on the current month's partition only (not on the parent).
SELECT format('CREATE TRIGGER t21_row BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION pg_temp.t21_note()',
              'event.events_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')) AS ddl \gset
:ddl;
CREATE TEMP TABLE t21_b AS SELECT * FROM event.create_event('t21.row');
SELECT is((SELECT e.metadata FROM event.events e, t21_b b WHERE e.event_id = b.event_id),
          '{"t21": "row trigger"}'::jsonb, 'a BEFORE ROW trigger on the partition changed the stored row');
SELECT is((SELECT count(*) FROM t21_fired), 1::bigint, 'the row trigger fired once');

SELECT * FROM finish();
ROLLBACK;
