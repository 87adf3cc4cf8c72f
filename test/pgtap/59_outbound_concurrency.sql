-- 59_outbound_concurrency.sql — two sidecars at once on webhook/nats processor tasks: claims are
-- disjoint (SKIP LOCKED: a task being claimed by one session is not handed to the other), and
-- when two sessions complete the two tasks of one event at the same time, the second waits for
-- the first (the event's status row) and then settles the event exactly once.
BEGIN;
SELECT plan(10);

SELECT dblink_connect('t59w', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())),
       dblink_connect('t59a', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())),
       dblink_connect('t59b', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
CREATE TEMP TABLE mark AS SELECT COALESCE(max(position), 0) AS p FROM event.events;
-- Committed setup (removed after the ROLLBACK): two webhook processors on t59.*, three events,
-- processed until each waits for its two calls.
SELECT dblink_exec('t59w', $$DELETE FROM event.processing_tasks; DO 'BEGIN
    PERFORM event.create_processor(''t59a'', ''webhook'', ''{"url": "http://127.0.0.1:9/a"}'', event_types => ''{t59.*}'', priority => 2);
    PERFORM event.create_processor(''t59b'', ''webhook'', ''{"url": "http://127.0.0.1:9/b"}'', event_types => ''{t59.*}'', priority => 1);
    PERFORM event.create_event(''t59.e'') FROM generate_series(1, 3); END'$$) \gset _
SELECT dblink_exec('t59w', $d$DO 'BEGIN LOOP EXIT WHEN (event.process_batch(1000)->>''events'')::int = 0; COMMIT; END LOOP; END'$d$) \gset _
CREATE TEMP TABLE ev AS SELECT e.event_id FROM event.events e, mark WHERE e.event_type = 't59.e' AND e.position > mark.p;
SELECT is((SELECT count(*)::int FROM event.processing_tasks t JOIN ev USING (event_id)), 6, 'two tasks per event');

-- Session a claims two tasks and keeps its transaction open; session b claims the rest.
SELECT dblink_exec('t59a', 'BEGIN') \gset _
CREATE TEMP TABLE ca AS SELECT * FROM dblink('t59a', 'SELECT event.claim_processing_tasks(2, 60000)') AS x(j jsonb);
CREATE TEMP TABLE cb AS SELECT * FROM dblink('t59b', 'SELECT event.claim_processing_tasks(100, 60000)') AS x(j jsonb);
SELECT dblink_exec('t59a', 'COMMIT') \gset _
CREATE TEMP TABLE claimed AS SELECT 'a' AS who, t FROM ca, jsonb_array_elements(ca.j) t
    UNION ALL SELECT 'b', t FROM cb, jsonb_array_elements(cb.j) t;
DELETE FROM claimed WHERE (t->>'event_id')::uuid NOT IN (SELECT event_id FROM ev); -- tasks of other tests' events
SELECT is((SELECT count(*)::int FROM claimed WHERE who = 'a'), 2, 'session a: two tasks');
SELECT is((SELECT count(*)::int FROM claimed WHERE who = 'b'), 4, 'session b: the four others, not a''s');
SELECT is((SELECT count(DISTINCT t->>'task_id')::int FROM claimed), 6, 'no task claimed twice');

-- Both tasks of one event completed at once: a holds the event, b waits, then settles it.
CREATE TEMP TABLE one AS SELECT (SELECT event_id FROM ev ORDER BY event_id LIMIT 1) AS id;
CREATE FUNCTION pg_temp.result(proc text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('task_id', t->'task_id', 'claim', t->'claim', 'ok', true))::text
      FROM claimed, one WHERE t->>'event_id' = one.id::text AND t->>'processor_name' = $1$$;
SELECT dblink_exec('t59a', 'BEGIN') \gset _
SELECT is((SELECT j->>'recorded' || ' ' || COALESCE(j->>'processed', '-') FROM dblink('t59a',
            format('SELECT event.complete_processing_tasks(%L)', pg_temp.result('t59a'))) AS x(j jsonb)), '1 -',
          'a: one of two recorded, the event still waits');
SELECT dblink_send_query('t59b', format('SELECT event.complete_processing_tasks(%L)', pg_temp.result('t59b'))) \gset _
SELECT pg_sleep(0.3) \gset _
SELECT is(dblink_is_busy('t59b'), 1, 'b waits for a (the event''s status row)');
SELECT dblink_exec('t59a', 'COMMIT') \gset _
SELECT is((SELECT j->>'recorded' || ' ' || (j->>'processed') FROM dblink_get_result('t59b') AS x(j jsonb)), '1 1',
          'b: recorded, and it settled the event');
SELECT is((SELECT s.status FROM event.event_status s, one WHERE s.event_id = one.id), 'processed', 'the event processed');
SELECT is((SELECT count(*)::int FROM event.processing_results r, one WHERE r.event_id = one.id), 2, 'two results');

-- The other events' calls recorded (by a third session): all processed, nothing left.
SELECT dblink_exec('t59w', format('DO $d$BEGIN PERFORM event.complete_processing_tasks(%L); END$d$', (SELECT pg_catalog.jsonb_agg(
    pg_catalog.jsonb_build_object('task_id', t->'task_id', 'claim', t->'claim', 'ok', true))
    FROM claimed, one WHERE t->>'event_id' <> one.id::text)::text)) \gset _
SELECT is((SELECT string_agg(DISTINCT s.status, ',') || ' ' || (SELECT count(*) FROM event.processing_tasks t JOIN ev USING (event_id))
             FROM event.event_status s JOIN ev USING (event_id)), 'processed 0', 'all three processed, no task left');
SELECT dblink_disconnect('t59w'), dblink_disconnect('t59a'), dblink_disconnect('t59b') \gset _
SELECT * FROM finish();
ROLLBACK;
-- The committed setup, undone after the test's transaction has ended.
DELETE FROM event.processing_tasks WHERE processor_id IN (SELECT processor_id FROM event.event_processors WHERE processor_name IN ('t59a', 't59b'));
DO $$ BEGIN PERFORM event.delete_processor(p.processor_id) FROM event.event_processors p WHERE p.processor_name IN ('t59a', 't59b'); END $$;
