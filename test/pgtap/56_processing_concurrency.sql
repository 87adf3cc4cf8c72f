-- 56_processing_concurrency.sql — two sessions calling event.process_batch at once: one batch
-- runs at a time (the other answers busy without waiting), and after the first commits the next
-- batch continues after its cursor, so no event is processed twice; an event committed late with
-- a smaller position is not skipped (the catch-up horizon).
BEGIN;
SELECT plan(7);

SELECT dblink_connect('t56w', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())),
       dblink_connect('t56p', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())),
       dblink_connect('t56l', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
-- Committed setup, undone after the ROLLBACK: a schema with a logging processor function, the processor.
SELECT dblink_exec('t56w', $$CREATE SCHEMA t56; CREATE TABLE t56.log (event_id uuid);
    CREATE FUNCTION t56.rec(e jsonb) RETURNS void LANGUAGE sql AS 'INSERT INTO t56.log VALUES ((e->>''event_id'')::uuid)'$$) \gset _
SELECT * FROM dblink('t56w', $$SELECT event.create_processor('t56', 'sql', '{"function": "t56.rec"}', event_types => '{t56.*}')$$) AS x(j jsonb) \gset _
CREATE FUNCTION pg_temp.events(n int) RETURNS text LANGUAGE sql AS $$
    SELECT dblink_exec('t56w', format('DO $d$ BEGIN PERFORM event.create_event(''t56.e'') FROM generate_series(1, %s); END $d$', n))$$;
CREATE FUNCTION pg_temp.drain() RETURNS text LANGUAGE sql AS $$
    SELECT dblink_exec('t56p', $d$DO 'BEGIN LOOP EXIT WHEN (event.process_batch(5)->>''events'')::int = 0; COMMIT; END LOOP; END'$d$)$$;
SELECT pg_temp.events(20) \gset _
-- A late writer: takes a position, commits after the others.
SELECT dblink_exec('t56l', 'BEGIN') \gset _
SELECT * FROM dblink('t56l', $$SELECT (event.create_event('t56.late')).position$$) AS x(p bigint) \gset late_
SELECT pg_temp.events(5) \gset _

-- Session p takes a batch and keeps its transaction open.
SELECT dblink_exec('t56p', 'BEGIN') \gset _
SELECT is((SELECT (r->>'events')::int FROM dblink('t56p', 'SELECT event.process_batch(5)') AS x(r jsonb)) > 0, true,
          'session p: a batch taken (transaction still open)');
SELECT is(event.process_batch(5)->>'busy', 'true', 'this session: busy, without waiting for p');
SELECT dblink_exec('t56p', 'COMMIT') \gset _
SELECT pg_temp.drain() \gset _
SELECT is((SELECT count(*)::int FROM t56.log), 20, 'the 20 events below the open writer''s position processed');
SELECT ok(NOT EXISTS (SELECT 1 FROM t56.log l JOIN event.events e ON e.event_id = l.event_id WHERE e.position > :late_p),
          'nothing above the open writer''s position processed (the horizon)');
SELECT dblink_exec('t56l', 'COMMIT') \gset _
SELECT pg_temp.drain() \gset _
SELECT is((SELECT count(DISTINCT event_id)::int || '/' || count(*) FROM t56.log), '26/26', 'then all 26, the late one too, each once');
SELECT is((SELECT count(*)::int FROM event.processing_results r JOIN event.event_processors p USING (processor_id)
            WHERE p.processor_name = 't56'), 26, 'one result per event');
SELECT is((SELECT count(*)::int FROM event.events e JOIN event.event_status s USING (event_id)
            WHERE e.event_id IN (SELECT l.event_id FROM t56.log l) AND s.status = 'processed'), 26, 'all processed');
SELECT dblink_disconnect('t56w'), dblink_disconnect('t56p'), dblink_disconnect('t56l') \gset _
SELECT * FROM finish();
ROLLBACK;
-- The committed setup, undone after the test's transaction (which read t56.log) has ended.
DROP SCHEMA t56 CASCADE;
DO $$ BEGIN PERFORM event.delete_processor(p.processor_id) FROM event.event_processors p WHERE p.processor_name = 't56'; END $$;
