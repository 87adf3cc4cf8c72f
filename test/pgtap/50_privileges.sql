-- 50_privileges.sql — the least-privilege model (docs/sql-api.md "Privileges"): the write
-- functions are the only way to write events, streams, keys and counters; the grant recipes for
-- writer, reader and admin roles work; a role with EXECUTE on every function still cannot write
-- any table directly; admin functions are not callable by default.
BEGIN;
SELECT plan(16);

CREATE ROLE ev50_writer NOLOGIN;
CREATE ROLE ev50_reader NOLOGIN;
CREATE ROLE ev50_admin NOLOGIN;
CREATE ROLE ev50_all NOLOGIN;
CREATE ROLE ev50_nobody NOLOGIN;
GRANT USAGE ON SCHEMA event TO ev50_writer, ev50_reader, ev50_admin, ev50_all, ev50_nobody;
-- The recipes of docs/sql-api.md.
GRANT EXECUTE ON FUNCTION event.create_event(text, jsonb, text, text, text, text, bigint, jsonb, jsonb, timestamptz, text),
    event.create_event_json(jsonb), event.create_events(jsonb, boolean), event.append_to_stream(text, jsonb, bigint),
    event.update_status(uuid, text, text, double precision) TO ev50_writer;
GRANT EXECUTE ON FUNCTION event.get_event(uuid), event.get_event_json(uuid),
    event.query_events(text, text, text, text, text, timestamptz, timestamptz, integer, integer),
    event.query_events_json(jsonb), event.query_events_text(jsonb), event.read_stream(text, bigint, integer), event.get_stream_json(text, bigint),
    event.read_all(bigint, integer), event.read_category(text, bigint, integer), event.get_statistics() TO ev50_reader;
GRANT EXECUTE ON FUNCTION event.create_partitions(timestamptz), event.add_source(text), event.add_category(text, text),
    event.compact_statistics() TO ev50_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA event TO ev50_all;
-- Lets COPY FROM a file reach the table privilege check.
GRANT pg_read_server_files TO ev50_all;

-- Runs a statement, returns 'ok' or its SQLSTATE.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
CREATE TEMP TABLE attempts (who text, stmt text, result text);
GRANT ALL ON attempts TO PUBLIC;

\o /dev/null
SELECT event.create_event('priv.seed', stream_id => 'priv:1');
\o

-- Every direct write on every table, sequence and partition, for each role.
CREATE TEMP TABLE direct_writes AS
SELECT s FROM (
	SELECT unnest(ARRAY[
		format('INSERT INTO %s DEFAULT VALUES', t),
		format('UPDATE %s SET %I = %I', t, c, c),
		format('DELETE FROM %s', t),
		format('TRUNCATE %s', t),
		format('COPY %s FROM %L', t, '/dev/null')]) AS s
	FROM (SELECT c.oid::regclass::text AS t,
	             (SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum = 1) AS c
	      FROM pg_class c WHERE c.relnamespace = 'event'::regnamespace AND c.relkind IN ('r', 'p')) tables
	UNION ALL SELECT 'SELECT setval(''event.events_position_seq'', 1)'
	UNION ALL SELECT 'SELECT nextval(''event.events_position_seq'')'
) x;
GRANT SELECT ON direct_writes TO PUBLIC;
SELECT cmp_ok((SELECT count(*)::int FROM direct_writes), '>=', 7 * 5 + 5 + 2, 'direct writes: every table and a partition listed');

SET ROLE ev50_all;
INSERT INTO attempts SELECT 'all', s, pg_temp.try(s) FROM direct_writes;
RESET ROLE;
SET ROLE ev50_writer;
INSERT INTO attempts SELECT 'writer', s, pg_temp.try(s) FROM direct_writes;
RESET ROLE;
SET ROLE ev50_admin;
INSERT INTO attempts SELECT 'admin', s, pg_temp.try(s) FROM direct_writes;
RESET ROLE;
SELECT is((SELECT array_agg(who || ': ' || stmt || ' -> ' || result) FROM attempts WHERE result <> '42501'), NULL,
          'direct writes: every INSERT/UPDATE/DELETE/TRUNCATE/COPY refused (42501) for all, writer and admin roles');
SELECT is((SELECT count(*) FROM attempts), 3 * (SELECT count(*) FROM direct_writes), 'direct writes: all attempted');

-- Writer recipe: appends, also with a stream and expected version, and status updates.
SET ROLE ev50_writer;
SELECT is(pg_temp.try($$SELECT event.create_event('priv.write', stream_id => 'priv:2', expected_version => 0)$$), 'ok',
          'writer: create_event');
SELECT is(pg_temp.try($$SELECT event.create_events('[{"event_type": "priv.batch"}]')$$), 'ok', 'writer: create_events');
SELECT is(pg_temp.try($$SELECT event.append_to_stream('priv:2', '[{"event_type": "priv.more"}]', 1)$$), 'ok',
          'writer: append_to_stream');
SELECT is(pg_temp.try($$SELECT event.read_all()$$), '42501', 'writer: read_all not granted');
SELECT is(pg_temp.try($$SELECT event.create_partitions()$$), '42501', 'writer: create_partitions not granted');
RESET ROLE;

-- Reader recipe.
SET ROLE ev50_reader;
SELECT is(pg_temp.try($$SELECT count(*) FROM event.read_all()$$), 'ok', 'reader: read_all');
SELECT is(pg_temp.try($$SELECT event.get_statistics()$$), 'ok', 'reader: get_statistics');
SELECT is(pg_temp.try($$SELECT event.create_event('priv.no')$$), '42501', 'reader: create_event not granted');
RESET ROLE;

-- Admin recipe.
SET ROLE ev50_admin;
SELECT is(pg_temp.try($$SELECT event.add_source('priv_source')$$), 'ok', 'admin: add_source');
SELECT is(pg_temp.try($$SELECT event.create_partitions()$$), 'ok', 'admin: create_partitions');
RESET ROLE;

-- Nothing but schema USAGE: only the UUIDv7 helpers.
SET ROLE ev50_nobody;
SELECT is(pg_temp.try($$SELECT event.uuid_v7()$$), 'ok', 'USAGE only: uuid_v7');
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY 1) FROM pg_proc p
           WHERE p.pronamespace = 'event'::regnamespace AND has_function_privilege(p.oid, 'EXECUTE')),
          ARRAY['event.uuid_v7()', 'event.uuid_v7_floor(timestamp with time zone)', 'event.uuid_v7_time(uuid)'],
          'USAGE only: EXECUTE on the UUIDv7 helpers and nothing else');
RESET ROLE;

SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY 1) FROM pg_proc p
           WHERE p.pronamespace = 'event'::regnamespace AND NOT p.prosecdef AND p.prorettype <> 'trigger'::regtype
             AND p.proname NOT LIKE 'uuid_v7%' AND p.proname NOT LIKE '\_%'),
          NULL, 'every function that touches a table is SECURITY DEFINER');

SELECT * FROM finish();
ROLLBACK;
