-- 22_batch_lookups.sql — a batch looks up its caller-given ids and claims its idempotency keys in
-- one statement each, and a non-atomic batch is tried whole before item by item
-- (extension/pg/append.cpp): redelivered ids and repeated keys (stored earlier, or earlier in the
-- same batch) are duplicates returning their originals, a bad item fails alone, and nothing of a
-- failed whole attempt remains. Names are prefixed t22.
BEGIN;
SELECT plan(13);

-- Two events stored first: one with id and key (as the frontend ingester sends), one with a key only.
CREATE TEMP TABLE t22_setup AS SELECT event.create_events(
	'[{"event_id": "01a233cd-28f0-772a-a380-2f52da730001", "idempotency_key": "t22:1", "event_type": "t22.a"},
	  {"idempotency_key": "t22:2", "event_type": "t22.b", "data": {"n": 2}}]', false);
CREATE TEMP TABLE t22_first AS SELECT event_id, idempotency_key, position FROM event.events WHERE event_type LIKE 't22.%';

-- A non-atomic batch mixing: a redelivered id, a stored key, a new item, the new item's id again,
-- a new key repeated in the batch.
CREATE TEMP TABLE t22_r AS SELECT event.create_events(
	'[{"event_id": "01a233cd-28f0-772a-a380-2f52da730001", "idempotency_key": "t22:1", "event_type": "t22.a", "data": {"n": 99}},
	  {"idempotency_key": "t22:2", "event_type": "t22.b"},
	  {"event_id": "01a233cd-28f0-772a-a380-2f52da730003", "idempotency_key": "t22:3", "event_type": "t22.c"},
	  {"event_id": "01a233cd-28f0-772a-a380-2f52da730003", "idempotency_key": "t22:3", "event_type": "t22.c"},
	  {"idempotency_key": "t22:4", "event_type": "t22.d"},
	  {"idempotency_key": "t22:4", "event_type": "t22.e"}]', false) AS r;
SELECT is(ARRAY(SELECT x->>'status' FROM t22_r, jsonb_array_elements(r) WITH ORDINALITY AS a(x, n) ORDER BY n),
          ARRAY['duplicate', 'duplicate', 'created', 'duplicate', 'created', 'duplicate'], 'statuses in request order');
SELECT is(ARRAY(SELECT (x->>'index')::int FROM t22_r, jsonb_array_elements(r) WITH ORDINALITY AS a(x, n) ORDER BY n),
          ARRAY[0, 1, 2, 3, 4, 5], 'indexes in request order');
SELECT is((SELECT r->0->'event'->>'data' FROM t22_r), '{}', 'a redelivered id returns the original, not the new data');
SELECT is((SELECT (r->1->'event'->>'event_id')::uuid FROM t22_r),
          (SELECT event_id FROM t22_first WHERE idempotency_key = 't22:2'), 'a stored key returns its original event');
SELECT is((SELECT r->1->'event'->'data'->>'n' FROM t22_r), '2', '... with its data');
SELECT is((SELECT r->3->'event'->>'event_id' FROM t22_r), '01a233cd-28f0-772a-a380-2f52da730003',
          'an id repeated in the batch returns the first item');
SELECT is((SELECT r->5->'event'->>'event_id' FROM t22_r), (SELECT r->4->'event'->>'event_id' FROM t22_r),
          'a key repeated in the batch belongs to its first item');
SELECT is((SELECT r->5->'event'->>'event_type' FROM t22_r), 't22.d', '... and returns it');
SELECT is((SELECT count(*) FROM event.events WHERE event_type LIKE 't22.%'), 4::bigint,
          'two new rows stored, the duplicates nothing');

-- A bad item (and a wrong expected version) in a non-atomic batch fail alone; nothing of the
-- whole attempt remains (no key claimed twice, versions consecutive).
CREATE TEMP TABLE t22_bad AS SELECT event.create_events(
	'[{"idempotency_key": "t22:5", "event_type": "t22.f", "stream_id": "t22:s"},
	  {"event_type": ""},
	  {"idempotency_key": "t22:6", "event_type": "t22.g", "stream_id": "t22:s", "expected_version": 7},
	  {"idempotency_key": "t22:7", "event_type": "t22.h", "stream_id": "t22:s", "expected_version": 1}]', false) AS r;
SELECT is(ARRAY(SELECT coalesce(x->'error'->>'code', x->>'status') FROM t22_bad, jsonb_array_elements(r) WITH ORDINALITY AS a(x, n) ORDER BY n),
          ARRAY['created', '22023', 'EV001', 'created'], 'each item has its own outcome');
SELECT is(ARRAY(SELECT stream_version FROM event.events WHERE stream_id = 't22:s' ORDER BY position),
          ARRAY[1, 2]::bigint[], 'stored once each, versions consecutive');
SELECT is(ARRAY(SELECT idempotency_key FROM event.idempotency_keys WHERE idempotency_key LIKE 't22:%' ORDER BY 1),
          ARRAY['t22:1', 't22:2', 't22:3', 't22:4', 't22:5', 't22:7'], 'keys of stored events only, each once');

-- Atomic: the same set-based lookups.
SELECT is((SELECT event.create_events(
	'[{"event_id": "01a233cd-28f0-772a-a380-2f52da730003", "event_type": "t22.c"},
	  {"idempotency_key": "t22:2", "event_type": "t22.b"}]', true)->1->'data'->>'n'), '2',
          'atomic: redelivered id and stored key are duplicates');

SELECT * FROM finish();
ROLLBACK;
