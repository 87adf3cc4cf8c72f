-- 62_projection_fold.sql — the in-memory fold of the built-in reducers (extension/pg/merge_tree.cpp,
-- the live state in projections.cpp): a state folded over many events (rebuild, time travel, a
-- batch, a state catching up with its stream) is byte for byte the state of folding one event at a
-- time, and both equal an independent RFC 7386 merge written in plpgsql. Edge cases: null removes
-- a key (also nested and inside a new object), nested merge, arrays replaced, numeric precision of
-- merge and sum, empty objects and arrays, deep nesting, many keys, key order, a fold long enough
-- to compact its memory.
BEGIN;
SELECT plan(29);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');

-- RFC 7386 merge patch, independent of the extension.
CREATE FUNCTION pg_temp.merge_patch(target jsonb, patch jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE k text; v jsonb; r jsonb;
BEGIN
	IF jsonb_typeof(patch) <> 'object' THEN
		RETURN patch;
	END IF;
	r := CASE WHEN jsonb_typeof(target) = 'object' THEN target ELSE '{}' END;
	FOR k, v IN SELECT * FROM jsonb_each(patch) LOOP
		IF jsonb_typeof(v) = 'null' THEN
			r := r - k;
		ELSE
			r := r || jsonb_build_object(k, pg_temp.merge_patch(r -> k, v));
		END IF;
	END LOOP;
	RETURN r;
END $$;
-- The merge of a stream's data up to version upto.
CREATE FUNCTION pg_temp.fold(stream text, upto bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE s jsonb := '{}'; d jsonb;
BEGIN
	FOR d IN SELECT data FROM event.events WHERE stream_id = stream AND stream_version <= upto ORDER BY stream_version LOOP
		s := pg_temp.merge_patch(s, d);
	END LOOP;
	RETURN s;
END $$;
-- n levels of {"a": ...} around leaf.
CREATE FUNCTION pg_temp.nest(n integer, leaf jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT (repeat('{"a": ', n) || leaf::text || repeat('}', n))::jsonb $$;

SELECT lives_ok($$SELECT event.create_projection('t62', 'merge', 'plain'),
                         event.create_projection('t62', 'merge', 'snap', snapshot_every => 3),
                         event.create_projection('t62', 'sum', 'total', field => '{n}', snapshot_every => 4),
                         event.create_projection('t62', 'count', 'sets', event_types => '{t62.set}')$$,
                'merge without and with snapshots, sum, count of one event type');

CREATE TEMP TABLE t62_data (v bigint PRIMARY KEY, data jsonb);
INSERT INTO t62_data VALUES
	(1, '{"b": 1, "aa": "x", "a": {"n": 1, "keep": true}, "arr": [1, {"z": null}, [2, 3]], "": "empty key", "é": "two bytes", "n": 0.1}'),
	(2, '{"a": {"n": null, "m": {"deep": 1}}, "n": 0.20}'),
	(3, '{"arr": [{"q": 1}], "b": null, "n": null}'),
	(4, '{}'),
	(5, '{"a": 5, "n": 1e-30}'),
	(6, '{"a": {"x": null, "y": {"z": null, "w": 2}}, "n": 12345678901234567890.5}'),
	(7, '{"num": 1.10, "big": 123456789012345678901234567890.123456789, "tiny": 1e-30, "neg": -0.000, "n": -3.000}'),
	(8, '{"s": "quote\" backslash\\ tab\t ✓", "m": "no n"}'),
	(9, '{"a": {"y": {}}, "m": {"n": "not the sum field"}}'),
	(10, '{"empty": {}, "arr": []}'),
	(11, jsonb_build_object('d', pg_temp.nest(60, '{"leaf": 1, "other": 2}'))),
	(12, jsonb_build_object('d', pg_temp.nest(60, '{"leaf": null, "new": [null]}'))),
	(13, (SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 40) i)),
	(14, '{"k20": null, "k1": null, "k40": {"was": 40}, "k41": 41}'),
	(15, '{"null_in_array": [null, {"a": null}], "empty": {"now": true}, "a": null}'),
	(16, '{"d": null, "b": "back"}');

-- One append per event, saving the inline state (folded one event at a time) after each.
CREATE TEMP TABLE t62_inline (v bigint PRIMARY KEY, merged text, total text, sets text);
DO $$
DECLARE r record;
BEGIN
	FOR r IN SELECT * FROM t62_data ORDER BY v LOOP
		PERFORM event.create_event(CASE WHEN r.v % 5 = 0 THEN 't62.other' ELSE 't62.set' END, r.data, stream_id => 't62:e');
		INSERT INTO t62_inline VALUES (r.v, (event.get_projection('t62', 'e', 'plain') -> 'state')::text,
			(event.get_projection('t62', 'e', 'total') -> 'state')::text, (event.get_projection('t62', 'e', 'sets') -> 'state')::text);
	END LOOP;
END $$;

SELECT is((SELECT count(*)::int FROM t62_inline i WHERE i.merged <> pg_temp.fold('t62:e', i.v)::text), 0,
          'inline (one event at a time) = independent merge, as text, after each of 16 events');
SELECT is((SELECT count(*)::int FROM t62_inline i
           WHERE (event.projection_at('t62', 'e', version => i.v, name => 'plain') -> 'state')::text <> i.merged), 0,
          'time travel from zero (one fold of many events) = inline, as text, at every version');
SELECT is((SELECT count(*)::int FROM t62_inline i
           WHERE (event.projection_at('t62', 'e', version => i.v, name => 'snap') -> 'state')::text <> i.merged), 0,
          'time travel from the nearest snapshot = inline, as text, at every version');
SELECT is((SELECT count(*)::int FROM event.projection_snapshots s JOIN event.projection_definitions d ON d.id = s.projection_id
           JOIN t62_inline i ON i.v = s.version WHERE d.entity_type = 't62' AND d.name = 'snap' AND s.state::text <> i.merged), 0,
          'snapshots written while folding = inline states');
SELECT is((SELECT count(*)::int FROM event.projection_snapshots s JOIN event.projection_definitions d ON d.id = s.projection_id
           WHERE d.entity_type = 't62' AND d.name = 'snap'), 5, 'a snapshot every 3 versions');

-- Each edge case, spelled out.
SELECT is((SELECT merged::jsonb -> 'a' FROM t62_inline WHERE v = 2), '{"m": {"deep": 1}, "keep": true}',
          'nested: null removes a nested key, a new nested object is added, the rest is kept');
SELECT is((SELECT merged::jsonb FROM t62_inline WHERE v = 3) ?| ARRAY['b'], false, 'null removes a top-level key');
SELECT is((SELECT merged::jsonb -> 'arr' FROM t62_inline WHERE v = 3), '[{"q": 1}]', 'an array is replaced, not merged');
SELECT is((SELECT merged FROM t62_inline WHERE v = 4), (SELECT merged FROM t62_inline WHERE v = 3), 'an empty object changes nothing');
SELECT is((SELECT merged::jsonb -> 'a' FROM t62_inline WHERE v = 6), '{"y": {"w": 2}}',
          'an object replacing a scalar loses its nulls, also nested ones');
SELECT is((SELECT merged::jsonb -> 'a' FROM t62_inline WHERE v = 9), '{"y": {"w": 2}}', 'merging {} into an object keeps it');
SELECT is((SELECT ARRAY[merged::jsonb ->> 'num', merged::jsonb ->> 'big', merged::jsonb ->> 'tiny', merged::jsonb ->> 'neg']
           FROM t62_inline WHERE v = 7),
          ARRAY['1.10', '123456789012345678901234567890.123456789', '0.000000000000000000000000000001', '0.000'],
          'numbers keep their digits and scale');
SELECT is((SELECT merged::jsonb ->> 's' FROM t62_inline WHERE v = 8), E'quote" backslash\\ tab\t ✓', 'string escapes survive');
SELECT is((SELECT ARRAY[merged::jsonb -> 'empty', merged::jsonb -> 'arr'] FROM t62_inline WHERE v = 10), ARRAY['{}', '[]']::jsonb[],
          'an empty object and an empty array as values');
SELECT is((SELECT merged::jsonb #> (ARRAY['d'] || ARRAY(SELECT 'a' FROM generate_series(1, 60))) FROM t62_inline WHERE v = 12),
          '{"new": [null], "other": 2}', '60 levels deep: the leaf removed, a sibling kept, null inside an array kept');
SELECT is((SELECT (SELECT count(*) FROM jsonb_object_keys(merged::jsonb) k WHERE k LIKE 'k%')::int FROM t62_inline WHERE v = 14), 39,
          '40 new keys, two removed, one added');
SELECT is((SELECT merged::jsonb -> 'null_in_array' FROM t62_inline WHERE v = 15), '[null, {"a": null}]',
          'nulls inside an array are values, not removals');
SELECT is((SELECT merged::jsonb ?| ARRAY['a', 'd'] FROM t62_inline WHERE v = 16), false, 'a whole nested object removed by null');

-- sum and count.
SELECT is((SELECT total FROM t62_inline WHERE v = 16),
          (SELECT jsonb_build_object('sum', sum((data ->> 'n')::numeric))::text FROM t62_data WHERE jsonb_typeof(data -> 'n') = 'number'),
          'sum: = SQL sum of the numbers, as text (precision and scale), skipping absent and null');
SELECT is((SELECT count(*)::int FROM t62_inline i
           WHERE (event.projection_at('t62', 'e', version => i.v, name => 'total') -> 'state')::text <> i.total), 0,
          'sum: time travel from snapshots = inline, as text, at every version');
SELECT is((SELECT sets FROM t62_inline WHERE v = 16), '{"count": 13}', 'count: only the events of its type');

-- Rebuild: one fold of the whole stream, stored.
SELECT is((SELECT array_agg((event.rebuild_projection('t62', 'e', n) -> 'state')::text ORDER BY o)
           FROM unnest(ARRAY['plain', 'snap', 'total', 'sets']) WITH ORDINALITY u(n, o)),
          (SELECT ARRAY[merged, merged, total, sets] FROM t62_inline WHERE v = 16), 'rebuild = inline, as text, for each reducer');

-- Two batches of 750 events with about 8 kB of data each (stored out of line): each folded in
-- one step, long enough for the live state to be compacted on the way.
SELECT lives_ok($$SELECT event.append_to_stream('t62:big', (SELECT jsonb_agg(jsonb_build_object('event_type', 't62.set',
                  'data', jsonb_build_object('k' || (i % 17), i, 'pad' || (i % 3),
                      (SELECT string_agg(md5(i::text || j::text), '') FROM generate_series(1, 250) j),
                      'o', jsonb_build_object('x' || (i % 5), i, 'y' || (i % 4), CASE WHEN i % 9 = 0 THEN NULL ELSE i END),
                      'n', i)))
                  FROM generate_series(b * 750 + 1, b * 750 + 750) i)) FROM generate_series(0, 1) b$$,
                'two batches of 750 large events');
SELECT is((event.get_projection('t62', 'big', 'plain') -> 'state')::text, pg_temp.fold('t62:big', 1500)::text,
          'batch fold = independent merge, as text');
SELECT is((SELECT count(*)::int FROM (VALUES (1), (499), (1000), (1499)) p(v)
           WHERE (event.projection_at('t62', 'big', version => p.v, name => 'plain') -> 'state')::text
              <> pg_temp.fold('t62:big', p.v)::text), 0, 'replay from zero at 4 points of the large stream = independent merge');

-- A state behind its stream catches up at the next append, with the same fold.
UPDATE event.event_projections p SET state = '{}', version = 0 FROM event.projection_definitions d
	WHERE d.id = p.projection_id AND d.entity_type = 't62' AND d.name = 'plain' AND p.entity_id = 'big';
SELECT lives_ok($$SELECT event.create_event('t62.set', '{"k1": "last"}', stream_id => 't62:big')$$, 'append to a state 1,500 behind');
SELECT is((event.get_projection('t62', 'big', 'plain') -> 'state')::text, pg_temp.fold('t62:big', 1501)::text,
          'caught-up state = independent merge, as text');

SELECT * FROM finish();
ROLLBACK;
