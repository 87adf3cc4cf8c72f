-- 14_catch_up.sql — the sequence-gap problem: event.read_all never returns a position while a
-- smaller one may still commit. Writers are dblink sessions that commit; their events carry a
-- random event_type suffix, so only this run's rows are compared. The main session writes
-- nothing (its own open position would hold the horizon back).
BEGIN;
SELECT plan(27);

CREATE TEMP TABLE t14 AS SELECT 't14.' || md5(random()::text) AS t;
SELECT dblink_connect('t14_a', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())),
       dblink_connect('t14_b', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
CREATE FUNCTION pg_temp.mine(after bigint) RETURNS bigint[] LANGUAGE sql AS $$
	SELECT coalesce(array_agg(position ORDER BY position), '{}') FROM event.read_all(after, 10000) e, t14 WHERE e.event_type = t14.t
$$;
CREATE TEMP TABLE t14_start AS SELECT event.safe_position() AS p;

-- A opens a transaction and takes p1; B commits p2 > p1.
SELECT dblink_exec('t14_a', 'BEGIN') \gset _
CREATE TEMP TABLE t14_p1 AS SELECT p FROM t14, dblink('t14_a', format($$SELECT (event.create_event(%L)).position$$, t)) AS x(p bigint);
CREATE TEMP TABLE t14_p2 AS SELECT p FROM t14, dblink('t14_b', format($$SELECT (event.create_event(%L)).position$$, t)) AS x(p bigint);
SELECT ok((SELECT p FROM t14_p2) > (SELECT p FROM t14_p1), 'B''s committed position is after A''s open one');
SELECT ok(event.safe_position() < (SELECT p FROM t14_p1), 'safe_position is below the open transaction''s position');
SELECT is(pg_temp.mine(p), '{}'::bigint[], 'read_all does not return B''s event while A is open') FROM t14_start;
SELECT dblink_exec('t14_a', 'COMMIT') \gset _
SELECT is(pg_temp.mine(s.p), ARRAY[a.p, b.p], 'after A commits: both, in position order') FROM t14_start s, t14_p1 a, t14_p2 b;
SELECT ok(event.safe_position() >= (SELECT p FROM t14_p2), 'safe_position reaches B''s position');

-- Rollback variant: A's hole must not stall readers.
CREATE TEMP TABLE t14_start2 AS SELECT event.safe_position() AS p;
SELECT dblink_exec('t14_a', 'BEGIN') \gset _
CREATE TEMP TABLE t14_p3 AS SELECT p FROM t14, dblink('t14_a', format($$SELECT (event.create_event(%L)).position$$, t)) AS x(p bigint);
CREATE TEMP TABLE t14_p4 AS SELECT p FROM t14, dblink('t14_b', format($$SELECT (event.create_event(%L)).position$$, t)) AS x(p bigint);
SELECT is(pg_temp.mine(p), '{}'::bigint[], 'rollback variant: nothing while A is open') FROM t14_start2;
SELECT dblink_exec('t14_a', 'ROLLBACK') \gset _
SELECT is(pg_temp.mine(s.p), ARRAY[b.p], 'after A rolls back: the reader passes the hole') FROM t14_start2 s, t14_p4 b;
SELECT ok(event.safe_position() >= (SELECT p FROM t14_p4), 'safe_position passes the rolled-back position');

-- Each backend remembers its last horizon and tests only the positions above it, one by one when
-- there are few (position.cpp). A held position in the middle of such a short range:
CREATE TEMP TABLE t14_h AS SELECT event.safe_position() AS h;
CREATE TEMP TABLE t14_before AS SELECT max(p) AS p FROM t14, generate_series(1, 3),
	dblink('t14_b', format($$SELECT (event.create_event(%L)).position$$, t)) AS x(p bigint);
SELECT dblink_exec('t14_a', 'BEGIN') \gset _
CREATE TEMP TABLE t14_p5 AS SELECT p FROM t14, dblink('t14_a', format($$SELECT (event.create_event(%L)).position$$, t)) AS x(p bigint);
CREATE TEMP TABLE t14_after AS SELECT max(p) AS p FROM t14, generate_series(1, 3),
	dblink('t14_b', format($$SELECT (event.create_event(%L)).position$$, t)) AS x(p bigint);
SELECT ok(event.safe_position() BETWEEN b.p AND a.p - 1, 'short range: the horizon stops just below the held position')
FROM t14_before b, t14_p5 a;
-- ... then more commits than are tested one by one (the full lock list is read):
CREATE TEMP TABLE t14_many AS SELECT max(p) AS p FROM t14, generate_series(1, 40),
	dblink('t14_b', format($$SELECT (event.create_event(%L)).position$$, t)) AS x(p bigint);
SELECT ok(event.safe_position() BETWEEN b.p AND a.p - 1, 'long range: still below the held position')
FROM t14_before b, t14_p5 a;
SELECT ok(event.safe_position() BETWEEN b.p AND a.p - 1, 'and again from the remembered horizon')
FROM t14_before b, t14_p5 a;
-- A transaction's own open position holds its own horizon back, on both paths.
SELECT is((SELECT h FROM dblink('t14_a', 'SELECT event.safe_position()') AS x(h bigint)), p - 1,
          'the writer''s own horizon is below its open position') FROM t14_p5;
SELECT is((SELECT h FROM dblink('t14_a', 'SELECT event.safe_position()') AS x(h bigint)), p - 1,
          'and again from the remembered horizon') FROM t14_p5;
SELECT dblink_exec('t14_a', 'COMMIT') \gset _
SELECT ok(event.safe_position() >= (SELECT p FROM t14_many), 'after the commit: the horizon passes every position');
SELECT ok((SELECT h FROM dblink('t14_a', 'SELECT event.safe_position()') AS x(h bigint)) >= (SELECT p FROM t14_many),
          'and the writer''s own horizon too');
-- Several positions held when the full lock list is read: every one of them is remembered
-- (whatever order the list has), so committing them one by one moves the horizon up to the next
-- still open, never past it.
CREATE TEMP TABLE t14_hold AS SELECT i, 't14_h' || i AS name FROM generate_series(1, 6) i;
SELECT count(dblink_connect(name, format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())))
FROM t14_hold \gset _
SELECT count(dblink_exec(name, 'BEGIN')) FROM t14_hold \gset _
CREATE TEMP TABLE t14_held AS SELECT h.i, h.name, x.p FROM t14_hold h, t14,
	LATERAL dblink(h.name, format($$SELECT (event.create_event(%L)).position$$, t14.t)) AS x(p bigint) ORDER BY h.i;
SELECT count(*) FROM t14, generate_series(1, 20), dblink('t14_b', format($$SELECT (event.create_event(%L)).position$$, t)) AS x(p bigint) \gset _
SELECT ok(event.safe_position() < (SELECT min(p) FROM t14_held), 'six held positions: the horizon is below all of them');
CREATE FUNCTION pg_temp.release_in_order() RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record; nxt bigint; h bigint; bad text := '';
BEGIN
	FOR r IN SELECT * FROM t14_held ORDER BY p LOOP
		PERFORM dblink_exec(r.name, 'COMMIT');
		SELECT min(p) INTO nxt FROM t14_held WHERE p > r.p;
		h := event.safe_position();
		IF nxt IS NOT NULL AND h >= nxt THEN
			bad := bad || format('after committing %s the horizon %s passed %s still open; ', r.p, h, nxt);
		END IF;
	END LOOP;
	RETURN bad;
END $$;
SELECT is(pg_temp.release_in_order(), '', 'committed lowest first: the horizon never passes a position still open');
SELECT count(dblink_disconnect(name)) FROM t14_hold \gset _
SELECT count(dblink_disconnect(c)) FROM unnest(ARRAY['t14_a', 't14_b']) c \gset _

-- Randomized: 4 writers, 25 transactions each (some rolled back), a paging reader.
CREATE TEMP TABLE t14_w AS SELECT 't14_w' || i AS name FROM generate_series(1, 4) i;
SELECT count(dblink_connect(name, format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())))
FROM t14_w \gset _
CREATE TEMP TABLE t14_start3 AS SELECT event.safe_position() AS p;
SELECT count(dblink_send_query(name, format($f$DO $$
BEGIN
	FOR i IN 1..25 LOOP
		PERFORM event.create_event(%L, data => jsonb_build_object('w', %L, 'i', i), stream_id => %L || ':' || (i %% 3));
		IF i %% 4 = 0 THEN
			PERFORM event.create_event(%L, data => '{"second": true}');
		END IF;
		PERFORM pg_sleep(random() * 0.02);
		IF random() < 0.2 THEN ROLLBACK; ELSE COMMIT; END IF;
	END LOOP;
END $$$f$, t, name, replace(t, '.', '_'), t))) FROM t14_w, t14 \gset _
CREATE TEMP TABLE t14_read (event_id uuid, position bigint, n serial);
CREATE FUNCTION pg_temp.page() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE cursor_pos bigint; busy boolean; pages integer := 0; last_page integer;
BEGIN
	SELECT p INTO cursor_pos FROM t14_start3;
	LOOP
		busy := EXISTS (SELECT FROM t14_w WHERE dblink_is_busy(name) = 1);
		INSERT INTO t14_read (event_id, position)
		SELECT e.event_id, e.position FROM event.read_all(cursor_pos, 7) e, t14 WHERE true ORDER BY e.position;
		GET DIAGNOSTICS last_page = ROW_COUNT;
		cursor_pos := coalesce((SELECT max(position) FROM t14_read), cursor_pos);
		pages := pages + 1;
		EXIT WHEN NOT busy AND last_page = 0;
		PERFORM pg_sleep(0.005);
		IF pages > 100000 THEN RAISE EXCEPTION 'reader did not finish'; END IF;
	END LOOP;
	RETURN pages;
END $$;
SELECT ok(pg_temp.page() > 1, 'the reader paged while the writers ran');
SELECT count(*) FROM t14_w, dblink_get_result(name) AS r(x text) \gset _
SELECT count(dblink_disconnect(name)) FROM t14_w \gset _
CREATE TEMP TABLE t14_committed AS SELECT e.event_id, e.position FROM event.events e, t14 WHERE e.event_type = t14.t AND e.data ? 'w' OR e.event_type = t14.t AND e.data ? 'second';
DELETE FROM t14_committed c USING t14_start3 s WHERE c.position <= s.p;
CREATE TEMP TABLE t14_mine AS SELECT r.* FROM t14_read r JOIN t14_committed USING (event_id);
SELECT ok((SELECT count(*) FROM t14_committed) BETWEEN 40 AND 124, 'writers committed some and rolled back some');
SELECT set_eq('SELECT event_id FROM t14_mine', 'SELECT event_id FROM t14_committed', 'the reader saw exactly the committed events');
SELECT is((SELECT count(*) FROM t14_read), (SELECT count(DISTINCT event_id) FROM t14_read), 'no event read twice');
SELECT is((SELECT count(*) FROM t14_read a JOIN t14_read b ON b.n = a.n + 1 WHERE b.position <= a.position), 0::bigint,
          'positions strictly increasing in read order');

-- Arguments and isolation.
SELECT throws_ok($$SELECT * FROM event.read_all(-1)$$, '22023', 'after_position must not be negative', 'read_all: negative after');
SELECT throws_ok($$SELECT * FROM event.read_all(0, 0)$$, '22023', 'max_count must be between 1 and 10000', 'read_all: max_count 0');
SELECT throws_ok($$SELECT * FROM event.read_category('t14', 0, 10001)$$, '22023', 'max_count must be between 1 and 10000', 'read_category: max_count 10001');
SELECT dblink_connect('t14_rr', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
SELECT dblink_exec('t14_rr', 'BEGIN ISOLATION LEVEL REPEATABLE READ') \gset _
SELECT is(dblink_exec('t14_rr', $f$DO $$BEGIN PERFORM * FROM event.read_all(0); EXCEPTION WHEN SQLSTATE '0A000' THEN RAISE EXCEPTION 'got 0A000: %', SQLERRM; END$$$f$, false),
          'ERROR', 'read_all under REPEATABLE READ fails');
SELECT matches(dblink_error_message('t14_rr'), 'got 0A000: catch-up reads require READ COMMITTED isolation', 'read_all under REPEATABLE READ: 0A000');
SELECT dblink_disconnect('t14_rr') \gset _
SELECT * FROM finish();
ROLLBACK;
