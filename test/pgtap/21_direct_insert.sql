-- 21_direct_insert.sql — the single-event append stores its row without an executor run
-- (extension/pg/direct_insert.cpp): the row lands in the partition of its event_id with every
-- index entry, is visible to the rest of the transaction, and whenever a plain INSERT would do
-- more (a statement trigger on event.events, a row trigger on the partition only) the write path
-- falls back to the INSERT, so those triggers still fire. Names are prefixed t21.
BEGIN;
SELECT plan(11);

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
