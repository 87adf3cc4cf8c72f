-- 19_event_id.sql — a caller-given event_id (a UUIDv7, as the sidecar's frontend ingester sends):
-- stored as given; given again (later or in the same batch) it is a duplicate that stores nothing;
-- anything but a UUIDv7 is refused with 22023. The ingester's idempotency keys
-- ("jetstream:<event_id>" on a frontend event, core/ingested.hpp): accepted only in that form,
-- unique by the event_id, with no row in event.idempotency_keys. Names are prefixed t19.
BEGIN;
SELECT plan(24);

CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT;
	RETURN s || ' | ' || m;
END $$;

CREATE TEMP TABLE t19_r AS SELECT event.create_events(
	'[{"event_id": "01a233cd-28f0-772a-a380-2f52da73fee3", "event_type": "t19.a", "event_source": "frontend"},
	  {"event_id": "01a233cd-28f0-772a-a380-2f52da73fee4", "event_type": "t19.b", "event_source": "frontend", "data": {"n": 2}}]') AS r;
SELECT is(ARRAY[r->0->>'event_id', r->1->>'event_id'],
          ARRAY['01a233cd-28f0-772a-a380-2f52da73fee3', '01a233cd-28f0-772a-a380-2f52da73fee4'], 'given event_ids returned') FROM t19_r;
SELECT is(ARRAY[r->0->>'event_source', r->1->>'event_type'], ARRAY['frontend', 't19.b'], 'fields as given') FROM t19_r;
SELECT is((SELECT count(*) FROM event.events WHERE event_type LIKE 't19.%'), 2::bigint, 'two rows stored');
SELECT is((SELECT data->>'n' FROM event.events WHERE event_id = '01a233cd-28f0-772a-a380-2f52da73fee4'), '2',
          'stored under the given id');

-- Redelivery: the same ids again store nothing and return the originals.
CREATE TEMP TABLE t19_again AS SELECT event.create_events(
	'[{"event_id": "01a233cd-28f0-772a-a380-2f52da73fee4", "event_type": "t19.b", "event_source": "frontend", "data": {"n": 99}},
	  {"event_id": "01a233cd-28f0-772a-a380-2f52da73fee5", "event_type": "t19.c", "event_source": "frontend"},
	  {"event_id": "01a233cd-28f0-772a-a380-2f52da73fee5", "event_type": "t19.c", "event_source": "frontend"}]', false) AS r;
SELECT is(ARRAY[r->0->>'status', r->1->>'status', r->2->>'status'], ARRAY['duplicate', 'created', 'duplicate'],
          'redelivered id and a repeat within the batch are duplicates') FROM t19_again;
SELECT is((SELECT r->0->'event'->'data'->>'n' FROM t19_again), '2', 'duplicate answers the original event');
SELECT is((SELECT count(*) FROM event.events WHERE event_type LIKE 't19.%'), 3::bigint, 'only the new id stored');
SELECT is((SELECT count(*) FROM event.events WHERE event_id = '01a233cd-28f0-772a-a380-2f52da73fee4'), 1::bigint,
          'the redelivered id is stored once');

-- Only a UUIDv7 is accepted.
SELECT is(pg_temp.err($$SELECT event.create_events('[{"event_id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "event_type": "t19.x"}]')$$),
          '22023 | invalid event_id "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"', 'a UUIDv4 is refused');
SELECT is(pg_temp.err($$SELECT event.create_events('[{"event_id": "not-a-uuid", "event_type": "t19.x"}]')$$),
          '22023 | invalid event_id "not-a-uuid"', 'a non-UUID is refused');
SELECT is(pg_temp.err($$SELECT event.create_events('[{"event_id": 7, "event_type": "t19.x"}]')$$) LIKE '22023 |%', true,
          'a number is refused');
SELECT is((SELECT count(*) FROM event.events WHERE event_type = 't19.x'), 0::bigint, 'refused requests stored nothing');

-- The ingester's keys: "jetstream:<event_id>" on a frontend event giving that event_id.
CREATE TEMP TABLE t19_ing AS SELECT event.create_events(
	'[{"event_id": "01a233cd-28f0-772a-a380-2f52da73ff01", "event_type": "t19.ing", "event_source": "frontend",
	   "idempotency_key": "jetstream:01a233cd-28f0-772a-a380-2f52da73ff01", "data": {"n": 1}},
	  {"event_id": "01a233cd-28f0-772a-a380-2f52da73ff02", "event_type": "t19.ing", "event_source": "frontend",
	   "idempotency_key": "jetstream:01A233CD-28F0-772A-A380-2F52DA73FF02"}]', false) AS r;
SELECT is(ARRAY[r->0->>'status', r->1->>'status'], ARRAY['created', 'created'],
          'ingested keys: stored (the id in either letter case)') FROM t19_ing;
SELECT is((SELECT idempotency_key FROM event.events WHERE event_id = '01a233cd-28f0-772a-a380-2f52da73ff01'),
          'jetstream:01a233cd-28f0-772a-a380-2f52da73ff01', 'ingested key: kept on the event row (the relay''s mark)');
SELECT is((SELECT count(*) FROM event.idempotency_keys WHERE idempotency_key LIKE 'jetstream:%'), 0::bigint,
          'ingested keys: no row in event.idempotency_keys');
CREATE TEMP TABLE t19_ing2 AS SELECT event.create_events(
	'[{"event_id": "01a233cd-28f0-772a-a380-2f52da73ff01", "event_type": "t19.ing", "event_source": "frontend",
	   "idempotency_key": "jetstream:01a233cd-28f0-772a-a380-2f52da73ff01", "data": {"n": 2}}]', false) AS r;
SELECT is(ARRAY[r->0->>'status', r->0->'event'->'data'->>'n'], ARRAY['duplicate', '1'],
          'ingested key redelivered: a duplicate answering the original') FROM t19_ing2;
SELECT is((SELECT r->0->>'event_id' FROM t19_ing2), NULL, 'per-item result wraps the event');
SELECT is((SELECT (event.create_events(
	'[{"event_id": "01a233cd-28f0-772a-a380-2f52da73ff02", "event_type": "t19.ing", "event_source": "frontend",
	   "idempotency_key": "jetstream:01a233cd-28f0-772a-a380-2f52da73ff02"}]'))->0->>'event_id'),
          '01a233cd-28f0-772a-a380-2f52da73ff02', 'ingested key redelivered in an atomic batch: the original');
SELECT is((SELECT count(*) FROM event.events WHERE event_type = 't19.ing'), 2::bigint, 'ingested: two rows in all');

-- Anything else in that name space is refused (it would hide an event from the relay).
SELECT is(pg_temp.err($$SELECT event.create_event('t19.res', event_source => 'frontend', idempotency_key => 'jetstream:x')$$),
          '22023 | idempotency keys starting with "jetstream:" are reserved', 'reserved prefix: no event_id');
SELECT is(pg_temp.err($$SELECT event.create_event('t19.res', idempotency_key => 'jetstream:')$$),
          '22023 | idempotency keys starting with "jetstream:" are reserved', 'reserved prefix: the bare prefix');
SELECT is(pg_temp.err($$SELECT event.create_events('[{"event_id": "01a233cd-28f0-772a-a380-2f52da73ff03", "event_type": "t19.res",
	"event_source": "backend", "idempotency_key": "jetstream:01a233cd-28f0-772a-a380-2f52da73ff03"}]')$$),
          '22023 | idempotency keys starting with "jetstream:" are reserved', 'reserved prefix: not a frontend event');
SELECT is(pg_temp.err($$SELECT event.create_events('[{"event_id": "01a233cd-28f0-772a-a380-2f52da73ff03", "event_type": "t19.res",
	"event_source": "frontend", "idempotency_key": "jetstream:01a233cd-28f0-772a-a380-2f52da73ff04"}]')$$),
          '22023 | idempotency keys starting with "jetstream:" are reserved', 'reserved prefix: another event''s id');
SELECT is((SELECT count(*) FROM event.events WHERE event_type = 't19.res'), 0::bigint, 'reserved prefix: nothing stored');

SELECT * FROM finish();
ROLLBACK;
