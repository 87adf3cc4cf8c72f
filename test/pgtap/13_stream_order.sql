-- 13_stream_order.sql — for every stream, position order equals version order (defect 5 of issue 14),
-- under writers racing on the same streams from four sessions (dblink), single and batch appends.
BEGIN;
SELECT plan(6);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');
CREATE TEMP TABLE t13_run AS SELECT 't13r' || substr(md5(random()::text), 1, 8) AS et;

-- Sessions 5 and 6 read the statistics meanwhile (each call may fold the rollup).
SELECT count(dblink_connect('t13_' || i, format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'),
                            current_database())))
FROM generate_series(5, 6) AS i \gset _
SELECT count(dblink_send_query('t13_' || i, $q$DO $d$BEGIN
	FOR k IN 1..100 LOOP PERFORM event.get_statistics(); PERFORM pg_sleep(0.005); COMMIT; END LOOP;
END$d$$q$)) FROM generate_series(5, 6) AS i \gset _
-- Each session appends 150 times (one transaction each, committed inside the DO block) to two
-- shared streams, alternating single events and batches of two.
SELECT count(dblink_connect('t13_' || i, format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'),
                            current_database())))
FROM generate_series(1, 4) AS i \gset _
SELECT count(dblink_send_query('t13_' || i, format($f$DO $d$BEGIN
	FOR k IN 1..150 LOOP
		IF k %% 2 = 0 THEN
			PERFORM event.create_event('t13.x', stream_id => %1$L || ':' || (k %% 3 = 0)::int);
		ELSE
			PERFORM event.create_events(jsonb_build_array(
				jsonb_build_object('event_type', 't13.y', 'stream_id', %1$L || ':' || (k %% 3 = 0)::int),
				jsonb_build_object('event_type', 't13.z', 'stream_id', %1$L || ':' || (k %% 3 = 1)::int)));
		END IF;
		COMMIT;
	END LOOP;
END$d$$f$, et)))
FROM generate_series(1, 4) AS i, t13_run \gset _
SELECT count(*) FROM generate_series(1, 6) AS i, LATERAL dblink_get_result('t13_' || i) AS r(status text) \gset _
SELECT count(dblink_disconnect('t13_' || i)) FROM generate_series(1, 6) AS i \gset _

SELECT is((SELECT count(*) FROM event.events e, t13_run r WHERE e.stream_id LIKE r.et || ':%'), 4 * (75 + 75 * 2)::bigint,
          'every append stored');
SELECT is((SELECT count(*) FROM (SELECT e.stream_version, lag(e.stream_version) OVER (PARTITION BY e.stream_id ORDER BY e.position) AS prev
                                 FROM event.events e, t13_run r WHERE e.stream_id LIKE r.et || ':%') o
           WHERE o.prev IS NOT NULL AND o.prev <> o.stream_version - 1), 0::bigint,
          'per stream, ordering by position gives versions 1, 2, 3 ... with no inversion');
SELECT is((SELECT string_agg(s.stream_id || '=' || s.version, ',' ORDER BY s.stream_id) FROM event.event_streams s, t13_run r
           WHERE s.stream_id LIKE r.et || ':%'),
          (SELECT string_agg(m.stream_id || '=' || m.v, ',' ORDER BY m.stream_id)
           FROM (SELECT e.stream_id, max(e.stream_version) AS v FROM event.events e, t13_run r
                 WHERE e.stream_id LIKE r.et || ':%' GROUP BY 1) m),
          'stream heads match the stored versions');

-- Statistics folded while writers raced still equal the stored rows.
SELECT is((event.get_statistics()->>'total_events')::bigint, (SELECT count(*) FROM event.events),
          'get_statistics total = the rows of event.events');
SELECT is((SELECT jsonb_object_agg(t.k, t.n) FROM jsonb_each(event.get_statistics()->'events_by_type') AS t(k, n)
           WHERE t.k LIKE 't13.%'),
          (SELECT jsonb_object_agg(g.event_type, g.n) FROM (SELECT event_type, count(*) AS n FROM event.events
                                                            WHERE event_type LIKE 't13.%' GROUP BY 1) g),
          'events_by_type = the rows of event.events');

SELECT * FROM finish();
ROLLBACK;
