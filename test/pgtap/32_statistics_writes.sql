-- 32_statistics_writes.sql — statistics equal the committed rows whatever savepoints, exception
-- blocks, two-phase commit or SECURITY DEFINER callers do (defects 4, 6, 7, 8 of issue 14).
-- Counts are compared before and after, so committed rows of other tests do not matter.
BEGIN;
SELECT plan(22);

SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');
CREATE FUNCTION pg_temp.total() RETURNS bigint LANGUAGE sql AS $$SELECT (event.get_statistics()->>'total_events')::bigint$$;
CREATE FUNCTION pg_temp.by_type(t text) RETURNS bigint LANGUAGE sql AS
$$SELECT COALESCE((event.get_statistics()->'events_by_type'->>t)::bigint, 0)$$;
CREATE FUNCTION pg_temp.status(s text) RETURNS bigint LANGUAGE sql AS
$$SELECT (event.get_statistics()->>(s || '_events'))::bigint$$;
CREATE TEMP TABLE t32_before AS SELECT pg_temp.total() AS total, pg_temp.status('pending') AS pending,
	pg_temp.status('processing') AS processing;

-- Defect 4: a savepoint rolled back after get_statistics()/query_events() ran inside it keeps
-- the events written before it counted.
CREATE TEMP TABLE t32_ev AS SELECT (event.create_event('t32.saved', user_id => 't32_user')).event_id AS id;
SAVEPOINT s1;
SELECT count(*) FROM (SELECT event.get_statistics()) f \gset _
ROLLBACK TO SAVEPOINT s1;
SELECT is(pg_temp.total() - total, 1::bigint, 'get_statistics in a rolled-back savepoint: the event still counts')
FROM t32_before;
SAVEPOINT s2;
SELECT count(*) FROM (SELECT event.query_events(user_id => 't32_user')) f \gset _
ROLLBACK TO SAVEPOINT s2;
SELECT is(pg_temp.by_type('t32.saved'), 1::bigint, 'query_events in a rolled-back savepoint: the event still counts');
SELECT is((event.query_events(user_id => 't32_user')->>'total')::bigint, 1::bigint, 'query_events total by user');
SELECT is((event.query_events(event_type => 't32.saved')->>'total')::bigint, 1::bigint, 'query_events total by type');

-- An event written in a rolled-back savepoint or exception block does not count.
SAVEPOINT s3;
SELECT count(*) FROM (SELECT event.create_event('t32.saved')) f \gset _
SELECT count(*) FROM (SELECT event.get_statistics()) f \gset _
ROLLBACK TO SAVEPOINT s3;
SELECT is(pg_temp.by_type('t32.saved'), 1::bigint, 'an event of a rolled-back savepoint is not counted');
DO $$BEGIN PERFORM event.create_event('t32.saved'); PERFORM event.get_statistics(); RAISE EXCEPTION 'no'; EXCEPTION WHEN OTHERS THEN NULL; END$$;
SELECT is(pg_temp.by_type('t32.saved'), 1::bigint, 'an event of a failed exception block is not counted');

-- Status counts follow update_status exactly, including rolled-back savepoints.
SAVEPOINT s4;
SELECT count(*) FROM (SELECT event.update_status(id, 'processing') FROM t32_ev) f \gset _
SELECT is(pg_temp.status('processing') - processing, 1::bigint, 'processing counted in the savepoint') FROM t32_before;
ROLLBACK TO SAVEPOINT s4;
SELECT is(pg_temp.status('processing') - processing, 0::bigint, 'a rolled-back status change is not counted')
FROM t32_before;
SELECT is(pg_temp.status('pending') - pending, 1::bigint, 'the event is pending again') FROM t32_before;
SELECT is((event.query_events(status => 'pending', user_id => 't32_user')->>'total')::bigint, 1::bigint,
          'query_events pending total');

-- Defect 8: bounded processing time, overflow-safe sums.
SELECT throws_ok($$SELECT event.update_status(id, 'processed', NULL, 9e15) FROM t32_ev$$, '22023',
                 'invalid processing_ms "9e+15"', 'processing_ms of 9e15 is refused');
SELECT lives_ok($$SELECT event.update_status(id, 'processed', NULL, 2592000000) FROM t32_ev$$,
                'processing_ms of 30 days is accepted');
INSERT INTO event.stat_deltas (dimension, key, n) VALUES ('processing', 'ms_sum', 9e18), ('processing', 'ms_sum', 9e18),
	('processing', 'count', 2);
SELECT lives_ok($$SELECT event.get_statistics()$$, 'get_statistics with sums above bigint');
SELECT lives_ok($$SELECT event.compact_statistics()$$, 'compact_statistics with sums above bigint');
SELECT ok((event.get_statistics()->>'average_processing_time')::float8 > 1e18, 'the average is computed in numeric');

-- Defect 6: a prepared transaction with appended events; later appends of the same session and
-- of a new connection (which may reuse its backend id) never wait, and it is not counted.
CREATE TEMP TABLE t32_seen AS SELECT pg_temp.by_type('t32.committed') AS c, pg_temp.by_type('t32.prepared') AS p,
	pg_temp.by_type('t32.definer') AS d; -- committed by earlier runs on this database
SELECT dblink_connect('t32_p', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
SELECT dblink_exec('t32_p', 'SET lock_timeout = ''3s''') \gset _
SELECT dblink_exec('t32_p', 'BEGIN') \gset _
SELECT dblink_exec('t32_p', $$DO 'BEGIN PERFORM event.create_event(''t32.prepared''); END'$$) \gset _
SELECT dblink_exec('t32_p', $$PREPARE TRANSACTION 't32_gid'$$) \gset _
SELECT is(dblink_exec('t32_p', $$DO 'BEGIN PERFORM event.create_event(''t32.committed''); END'$$, false), 'DO',
          'after PREPARE TRANSACTION the same session appends without waiting');
SELECT dblink_disconnect('t32_p') \gset _
SELECT dblink_connect('t32_q', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
SELECT dblink_exec('t32_q', 'SET lock_timeout = ''3s''') \gset _
SELECT is(dblink_exec('t32_q', $$DO 'BEGIN PERFORM event.create_event(''t32.committed''); END'$$, false), 'DO',
          'a new connection appends without waiting for the prepared transaction');
SELECT is((pg_temp.by_type('t32.committed') - c) || '/' || (pg_temp.by_type('t32.prepared') - p), '2/0',
          'committed events count, the prepared one not yet') FROM t32_seen;
SELECT dblink_exec('t32_q', $$COMMIT PREPARED 't32_gid'$$) \gset _
SELECT is(pg_temp.by_type('t32.prepared') - p, 1::bigint, 'counted once COMMIT PREPARED') FROM t32_seen;

-- Defect 7: a SECURITY DEFINER wrapper called by a role without any right on schema event commits.
SELECT dblink_exec('t32_q', 'CREATE ROLE t32_app NOLOGIN') \gset _
SELECT dblink_exec('t32_q', $$CREATE FUNCTION public.t32_wrap() RETURNS uuid LANGUAGE sql SECURITY DEFINER
	SET search_path = pg_catalog AS 'SELECT (event.create_event(''t32.definer'')).event_id'$$) \gset _
SELECT is(dblink_exec('t32_q', 'BEGIN; SET LOCAL ROLE t32_app; DO ''BEGIN PERFORM public.t32_wrap(); END''; COMMIT', false), 'COMMIT',
          'a SECURITY DEFINER wrapper around create_event commits');
SELECT is(pg_temp.by_type('t32.definer') - d, 1::bigint, 'and its event counts') FROM t32_seen;
SELECT dblink_exec('t32_q', 'DROP FUNCTION public.t32_wrap()') \gset _
SELECT dblink_exec('t32_q', 'DROP ROLE t32_app') \gset _
SELECT dblink_disconnect('t32_q') \gset _

SELECT * FROM finish();
ROLLBACK;
