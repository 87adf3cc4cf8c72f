-- 25_stream_head.sql — the append updates an existing stream head without an executor run
-- (extension/pg/direct_insert.cpp, UpdateStreamDirect): versions follow each other inside one
-- transaction even once the page is full and the update cannot be HOT (both indexes then get
-- their entries: amcheck finds every heap row in them); a trigger on the table, or a row locked
-- by another session, makes the append take the UPDATE through SPI, which fires the trigger and
-- waits for the lock as before. Names are prefixed t25.
BEGIN;
SELECT plan(12);
CREATE EXTENSION IF NOT EXISTS amcheck;

-- 600 appends to one stream in one transaction: every version of the head stays on the heap
-- (none can be pruned while the transaction runs), so the page fills and later updates move
-- the row to another page.
SELECT is((SELECT max(stream_version) FROM (SELECT (event.create_event('t25.n', stream_id => 't25:one')).stream_version
                                              FROM generate_series(1, 600)) v),
          600::bigint, '600 appends in one transaction: versions 1..600');
SELECT is((SELECT version FROM event.event_streams WHERE stream_id = 't25:one'), 600::bigint, 'the head says 600');
SELECT is((SELECT count(DISTINCT stream_version) FROM event.events WHERE stream_id = 't25:one'), 600::bigint,
          'each version once');
SELECT is((SELECT array_agg(stream_version ORDER BY position) = array_agg(stream_version ORDER BY stream_version)
             FROM event.events WHERE stream_id = 't25:one'), true, 'position order is version order');
SELECT ok((SELECT n_tup_upd >= 599 AND n_tup_upd - n_tup_hot_upd > 0 FROM pg_stat_xact_user_tables
            WHERE relid = 'event.event_streams'::regclass), 'HOT updates, and non-HOT ones once the page was full');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT version FROM event.event_streams WHERE stream_id = 't25:one'), 600::bigint,
          'found by the primary key after the moves');
SELECT is((SELECT version FROM event.event_streams WHERE entity_type = 't25' AND entity_id = 'one'), 600::bigint,
          'found by the entity index after the moves');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT lives_ok($$SELECT bt_index_check('event.event_streams_pkey', true)$$, 'primary key: every heap row indexed');
SELECT lives_ok($$SELECT bt_index_check('event.event_streams_entity_type_idx', true)$$,
                'entity index: every heap row indexed');

-- A head locked by another session: the append waits for it, then goes on from its version.
SELECT count(dblink_connect(name, format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'),
                                         current_database())))
  FROM unnest(ARRAY['t25a', 't25b']) name \g /dev/null
SELECT * FROM dblink('t25a', $$SELECT stream_version FROM event.create_event('t25.n', stream_id => 't25:two')$$)
  AS t(v bigint) \g /dev/null
SELECT dblink_exec('t25a', 'BEGIN') \g /dev/null
SELECT * FROM dblink('t25a', $$SELECT version FROM event.event_streams WHERE stream_id = 't25:two' FOR UPDATE$$)
  AS t(v bigint) \g /dev/null
SELECT dblink_send_query('t25b', $$SELECT (event.create_event('t25.n', stream_id => 't25:two', expected_version => 1)).stream_version$$)
  \g /dev/null
SELECT pg_sleep(0.3) \g /dev/null
SELECT is(dblink_is_busy('t25b'), 1, 'the append waits for the locked head');
SELECT dblink_exec('t25a', 'COMMIT') \g /dev/null
SELECT is((SELECT v FROM dblink_get_result('t25b') AS t(v bigint)), 2::bigint, 'and then appends version 2');
SELECT dblink_disconnect('t25a') \g /dev/null
SELECT dblink_disconnect('t25b') \g /dev/null

-- A trigger on the stream table: the append takes the UPDATE, so the trigger fires (last: the
-- trigger's DDL locks the table until the end of this transaction).
CREATE TABLE public.t25_fired (version bigint);
CREATE FUNCTION pg_temp.t25_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.t25_fired VALUES (NEW.version); RETURN NEW; END $$;
CREATE TRIGGER t25_log AFTER UPDATE ON event.event_streams FOR EACH ROW EXECUTE FUNCTION pg_temp.t25_log();
SELECT event.create_event('t25.n', stream_id => 't25:one') \g /dev/null
SELECT is((SELECT array_agg(version) FROM public.t25_fired), ARRAY[601::bigint], 'an update trigger fires (SPI path)');
DROP TRIGGER t25_log ON event.event_streams;

SELECT * FROM finish();
ROLLBACK;
