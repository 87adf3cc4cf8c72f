-- 58_outbound_processors.sql — webhook and nats processors, the SQL side: their registration
-- (a webhook secret generated, shown once, masked in the list), the tasks process_batch leaves
-- for the sidecar, claim_processing_tasks (lease, message id, the event, an expired lease claimed
-- again), complete_processing_tasks (results, stale claims ignored, the status lifecycle as for
-- sql processors: processed, failed -> retry, archived -> dead letter), an sql processor and a
-- webhook processor on one event, a disabled processor skipped, and bad arguments.
-- The events are committed by a dblink session: process_batch reads only below the catch-up horizon.
BEGIN;
SELECT plan(46);

SELECT dblink_connect('t58', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
CREATE FUNCTION pg_temp.ev(t text) RETURNS uuid LANGUAGE sql AS
    $$SELECT id FROM dblink('t58', format($q$SELECT (event.create_event(%L, '{"n": 1}', 'backend', 'order')).event_id$q$, $1)) AS x(id uuid)$$;
CREATE FUNCTION pg_temp.status(id uuid) RETURNS text LANGUAGE sql AS $$SELECT event.get_event_json($1)->>'status'$$;
CREATE FUNCTION pg_temp.claim(lease integer DEFAULT 60000) RETURNS jsonb LANGUAGE sql AS
    $$SELECT event.claim_processing_tasks(100, $1)$$;
-- Outcome of every claimed task: ok, or failed with err.
CREATE FUNCTION pg_temp.done(tasks jsonb, ok boolean, err text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS
    $$SELECT event.complete_processing_tasks(COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('task_id', t->'task_id',
          'claim', t->'claim', 'ok', $2, 'duration_ms', 12.5, 'error', $3)), '[]')) FROM pg_catalog.jsonb_array_elements($1) t$$;

DELETE FROM event.event_processors;
DELETE FROM event.processing_tasks;

-- Registration.
CREATE TEMP TABLE h AS SELECT event.create_processor('hook', 'webhook', '{"url": "http://127.0.0.1:9/h"}',
    event_types => '{t58.*}', priority => 5, max_attempts => 2, backoff_base_ms => 0, backoff_max_ms => 0) AS p;
SELECT matches((SELECT p->'config'->>'secret' FROM h), '^whsec_[A-Za-z0-9+/]{43}=$', 'webhook: a whsec_ secret generated, shown by create');
SELECT is((SELECT p->'config'->>'url' FROM h), 'http://127.0.0.1:9/h', 'webhook: url kept');
SELECT is((SELECT x->'config'->>'secret' FROM pg_catalog.jsonb_array_elements(event.list_processors()) x WHERE x->>'processor_name' = 'hook'),
          (SELECT pg_catalog.left(p->'config'->>'secret', 8) || '...' FROM h), 'list: the secret masked');
SELECT is((event.create_processor('hook2', 'webhook', '{"url": "http://127.0.0.1:9/h", "secret": "0123456789abcdef"}',
           enabled => false))->'config'->>'secret', '0123456789abcdef', 'webhook: a given secret kept');
SELECT throws_ok($$SELECT event.create_processor('x', 'webhook', '{"url": "http://127.0.0.1:9/h", "secret": ""}')$$,
                 '22023', 'invalid config.secret for a webhook processor', 'webhook: an empty secret refused');
SELECT is((event.create_processor('hook3', 'webhook', '{"url": "http://127.0.0.1:9/h", "secret": "s3cret"}',
           enabled => false))->'config'->>'secret', 's3cret', 'webhook: a short secret kept');
SELECT is((SELECT x->'config'->>'secret' FROM pg_catalog.jsonb_array_elements(event.list_processors()) x WHERE x->>'processor_name' = 'hook3'),
          's...', 'list: a short secret masked to a quarter of it');
SELECT throws_ok($$SELECT event.create_processor('x', 'webhook', '{"url": "http://127.0.0.1:9/h", "secret": 5}')$$,
                 '22023', 'invalid config.secret for a webhook processor', 'webhook: a secret not a string refused');
SELECT is((event.create_processor('bus', 'nats', '{"subject": "t58.out"}', event_types => '{t58.bus}', priority => 1))->>'processor_type',
          'nats', 'nats: registered');

-- Bad arguments.
SELECT throws_ok('SELECT event.claim_processing_tasks(0)', '22023', 'invalid max_tasks "0"', 'claim: max_tasks 0');
SELECT throws_ok('SELECT event.claim_processing_tasks(10, 5)', '22023', 'invalid lease_ms "5"', 'claim: lease 5 ms');
SELECT throws_ok($$SELECT event.complete_processing_tasks('{}')$$, '22023', 'results must be a JSON array', 'complete: not an array');
SELECT throws_ok($$SELECT event.complete_processing_tasks('[{"task_id": "x"}]')$$, '22023', NULL, 'complete: a result without claim and ok');
SELECT is(event.complete_processing_tasks('[]')->>'recorded', '0', 'complete: an empty array records nothing');

-- Every event first (process_batch reads only below the horizon, which this transaction's own
-- writes hold back once it has written): a and b for the webhook processor, c also for a failing
-- sql processor, d also for the nats processor.
CREATE SCHEMA t58;
CREATE FUNCTION t58.bad(e jsonb) RETURNS void LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'bad'; END $$;
SELECT event.create_processor('sqlbad', 'sql', '{"function": "t58.bad"}', event_types => '{t58.c}', priority => 9,
                              max_attempts => 5) \gset _
SELECT pg_temp.ev('t58.a') AS a, pg_temp.ev('t58.b') AS b, pg_temp.ev('t58.c') AS c, pg_temp.ev('t58.bus') AS d \gset
-- The tasks of one event in a claim result.
CREATE FUNCTION pg_temp.of(tasks jsonb, id uuid) RETURNS jsonb LANGUAGE sql AS
    $$SELECT COALESCE(pg_catalog.jsonb_agg(t), '[]') FROM pg_catalog.jsonb_array_elements($1) t WHERE t->>'event_id' = $2::text$$;

SELECT cmp_ok((event.process_batch(10000)->>'outbound')::int, '>=', 4, 'process_batch: the four events left for the sidecar');
SELECT is(pg_temp.status(:'a') || ' ' || pg_temp.status(:'c'), 'processing processing', 'status processing (also after a failed sql processor)');
SELECT is((SELECT count(*)::int FROM event.processing_results WHERE event_id = :'a'), 0, 'no result yet for a webhook');
CREATE TEMP TABLE c1 AS SELECT pg_temp.claim() AS t;
SELECT is((SELECT pg_catalog.jsonb_array_length(pg_temp.of(t, :'a') || pg_temp.of(t, :'b') || pg_temp.of(t, :'c') || pg_temp.of(t, :'d'))
            FROM c1), 5, 'claim: their five tasks');
SELECT is((SELECT string_agg(x->>'processor_name', ',') FROM c1, pg_catalog.jsonb_array_elements(pg_temp.of(t, :'d')) x),
          'hook,bus', 'the tasks of one event in processor order');
SELECT is((SELECT pg_temp.of(t, :'a')->0->>'message_id' FROM c1), (SELECT p->>'processor_id' FROM h) || ':' || :'a',
          'claim: message id processor:event');
SELECT is((SELECT (x->'event'->>'event_id') || ' ' || (x->>'attempt') || ' ' || (x->>'claim') || ' ' ||
                  (x->'config'->>'url') || ' ' || (x->>'processor_type') FROM c1, LATERAL (SELECT pg_temp.of(t, :'a')->0 AS x) y),
          :'a' || ' 1 1 http://127.0.0.1:9/h webhook', 'claim: the event, attempt, claim, url and type');
SELECT is((SELECT pg_temp.of(t, :'a')->0->'config'->>'secret' FROM c1), (SELECT p->'config'->>'secret' FROM h), 'claim: the secret in full');
SELECT is(pg_temp.claim(), '[]'::jsonb, 'leased tasks are not claimed again');
SELECT is((SELECT event.complete_processing_tasks(pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('task_id',
            pg_temp.of(t, :'a')->0->'task_id', 'claim', 2, 'ok', true))) FROM c1)->>'stale', '1', 'complete: another claim number is stale');
SELECT is((SELECT pg_temp.done(pg_temp.of(t, :'a'), true) FROM c1)->>'processed', '1', 'complete: recorded, the event processed');
SELECT is(pg_temp.status(:'a'), 'processed', 'status processed');
SELECT is((SELECT status || ' ' || attempt || ' ' || duration_ms FROM event.processing_results WHERE event_id = :'a'),
          'success 1 12.5', 'one result: success, attempt 1, its duration');
SELECT is((SELECT pg_temp.done(pg_temp.of(t, :'a'), true) FROM c1)->>'stale', '1', 'complete again: stale (the task is gone)');

-- A failing webhook: retry, then archived (max_attempts 2), a processing dead letter; retry from it.
SELECT is((SELECT pg_temp.done(pg_temp.of(t, :'b'), false, 'HTTP 500') FROM c1)->>'failed', '1', 'failed call: the event failed');
SELECT is((SELECT error FROM event.processing_results WHERE event_id = :'b'), 'hook: HTTP 500', 'the error names the processor');
SELECT is((SELECT count(*)::int FROM event.processing_retries WHERE event_id = :'b'), 1, 'a retry row');
SELECT is((event.process_batch(10000)->>'outbound')::int, 1, 'the retry leaves a task again');
-- The lease runs out: claimed again with the next claim number; the old claim is stale.
CREATE TEMP TABLE c2 AS SELECT pg_temp.claim(100) AS t;
SELECT pg_sleep(0.2) \gset _
CREATE TEMP TABLE c3 AS SELECT pg_temp.claim() AS t;
SELECT is((SELECT (t->0->>'task_id') || ' ' || (t->0->>'claim') || ' ' || (t->0->>'attempt') FROM c3),
          (SELECT (t->0->>'task_id') FROM c2) || ' 2 2', 'an expired lease: the same task claimed again (claim 2, attempt 2)');
SELECT is((SELECT pg_temp.done(t, true) FROM c2)->>'stale', '1', 'the first claim''s outcome is stale');
SELECT is((SELECT pg_temp.done(t, false, 'timeout') FROM c3)->>'archived', '1', 'second failure: archived');
SELECT is((event.get_processing_dead_letter(:'b'))->>'last_error', 'hook: timeout', 'a processing dead letter with the error');
SELECT is(event.retry_processing_dead_letters(ARRAY[:'b'::uuid]), 1, 'retry the dead letter');
SELECT event.process_batch(10000) \gset _
SELECT is((pg_temp.done(pg_temp.claim(), true))->>'processed', '1', 'the retried call succeeds: processed');

-- An sql processor and a webhook processor on one event: settled when both have reported.
SELECT is((SELECT pg_temp.done(pg_temp.of(t, :'c'), true) FROM c1)->>'failed', '1', 'webhook ok, sql failed: the event failed');
SELECT is((SELECT s.last_error FROM event.event_status s WHERE s.event_id = :'c'), 'sqlbad: bad (SQLSTATE P0001)',
          'the first error (processor order)');

-- A disabled processor's tasks are skipped at claim (leased or not); the event moves on.
UPDATE event.event_processors SET enabled = false;
SELECT is(pg_temp.claim(), '[]'::jsonb, 'disabled processors: nothing claimed');
SELECT is(pg_temp.status(:'d'), 'processed', 'their event moved on (processed)');

-- A claim finds the tasks of disabled or deleted processors without reading those of enabled
-- ones (processing_tasks_processor_idx): no sequential scan of processing_tasks, however many.
UPDATE event.event_processors SET enabled = true WHERE processor_name = 'hook';
INSERT INTO event.processing_tasks (task_id, event_id, processor_id, attempt, replay_id, claims, lease_until, created_at)
SELECT event.uuid_v7(), :'a', (SELECT p->>'processor_id' FROM h)::uuid, 1, NULL, 0, NULL, now() FROM generate_series(1, 5000);
ANALYZE event.processing_tasks;
SELECT seq_scan AS seq FROM pg_stat_xact_user_tables WHERE relid = 'event.processing_tasks'::regclass \gset
SELECT is(pg_catalog.jsonb_array_length(event.claim_processing_tasks(10, 60000)), 10, 'claim among 5000 tasks');
SELECT is((SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'event.processing_tasks'::regclass), :'seq'::bigint,
          'claim: no sequential scan of processing_tasks');
-- The same with a disabled processor's task among them: dropped, still without a sequential scan.
INSERT INTO event.processing_tasks (task_id, event_id, processor_id, attempt, replay_id, claims, lease_until, created_at)
SELECT event.uuid_v7(), :'d', processor_id, 1, NULL, 0, NULL, now() FROM event.event_processors WHERE processor_name = 'bus';
SELECT is(pg_catalog.jsonb_array_length(event.claim_processing_tasks(10, 60000)), 10, 'claim among 5000 tasks and a disabled one');
SELECT is((SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'event.processing_tasks'::regclass) || ' ' ||
          (SELECT count(*) FROM event.processing_tasks t JOIN event.event_processors p USING (processor_id) WHERE p.processor_name = 'bus'),
          :'seq' || ' 0', 'claim: the disabled processor''s task dropped, no sequential scan');

SELECT * FROM finish();
ROLLBACK;
