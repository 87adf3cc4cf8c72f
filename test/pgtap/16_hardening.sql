-- 16_hardening.sql — input and administration defects of issue 14: integer-only JSON
-- expected_version, entity_type without ':', add_source/add_category with NULL, plain INSERT/COPY
-- into event.events refused (EV004), the encoded-size limit (54000), create_partitions capped and
-- immune to the caller's tablespace/access-method settings, (stream_id, stream_version) unique per
-- partition, the partition cache after ROLLBACK PREPARED, and the PRE_COMMIT counter flush of an
-- append by a role without table rights.
BEGIN;
SELECT plan(23);

-- expected_version in JSON: integers only (defect 12).
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "h.v", "stream_id": "h:1", "expected_version": 1.5}')$$,
                 '22023', 'invalid expected_version "1.5"', 'JSON expected_version 1.5 refused');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "h.v", "stream_id": "h:1", "expected_version": -0.4}')$$,
                 '22023', 'invalid expected_version "-0.4"', 'JSON expected_version -0.4 refused');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "h.v", "stream_id": "h:1", "expected_version": -1}')$$,
                 '22023', 'invalid expected_version "-1"', 'JSON expected_version -1 refused');
SELECT is((event.create_event_json('{"event_type": "h.v", "stream_id": "h:int", "expected_version": 0}')->>'stream_version')::int,
          1, 'JSON expected_version 0 (no stream) still accepted');
SELECT throws_ok($$SELECT event.create_event_json('{"event_type": "h.e", "entity_type": "a:b", "entity_id": "c"}')$$,
                 '22023', 'invalid entity_type "a:b"', 'entity_type with '':'' refused, not re-split');
SELECT throws_ok($$SELECT event.add_category('h_cat', NULL)$$, '22004', 'group_name must not be null',
                 'add_category(x, NULL) is an error');
SELECT throws_ok($$SELECT event.add_source(NULL)$$, '22004', 'name must not be null', 'add_source(NULL) is an error');

-- Plain INSERT / COPY into event.events (defect 12).
SELECT throws_ok($$INSERT INTO event.events (event_id, position, event_type, event_source, event_category, data, metadata,
                   context, "timestamp", created_at) VALUES (event.uuid_v7(), 1, 'x', 'backend', 'order', '{}', '{}', '{}', now(), now())$$,
                 'EV004', 'events are stored only through the event functions', 'plain INSERT refused with EV004');
SELECT throws_ok($$COPY event.events FROM '/dev/null'$$, 'EV004', 'events are stored only through the event functions',
                 'COPY refused with EV004');

-- Encoded size (defect 2): 200 KB of control characters is 1.2 MB once escaped.
SELECT throws_ok($$SELECT event.create_event('h.big', jsonb_build_object('s', repeat(chr(1), 200000)))$$, '54000',
                 'event is too large to publish', 'an event whose relay message exceeds event.max_message_size is refused');
SELECT lives_ok($$SELECT event.create_event('h.big', jsonb_build_object('s', repeat('a', 200000)))$$,
                'the same size without escapes is accepted');

-- create_partitions (defect 9).
SELECT throws_ok($$SELECT event.create_partitions('infinity')$$, '22023', 'through must be finite', '''infinity'' refused');
SELECT throws_ok($$SELECT event.create_partitions(now() + interval '30 years')$$, '22023',
                 'through is more than 24 months ahead', '30 years refused');
\o /dev/null
CREATE ACCESS METHOD h_heap2 TYPE TABLE HANDLER heap_tableam_handler;
SET LOCAL default_table_access_method = h_heap2;
SET LOCAL default_tablespace = pg_global;
\o
SELECT lives_ok($$SELECT event.create_partitions(now() + interval '23 months')$$,
                'create_partitions ignores the caller''s default_tablespace and default_table_access_method');
RESET default_table_access_method;
RESET default_tablespace;
SELECT is((SELECT array_agg(DISTINCT am.amname || '/' || c.reltablespace) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_am am ON am.oid = c.relam WHERE i.inhparent IN ('event.events'::regclass, 'event.event_status'::regclass)),
          ARRAY['heap/0'], 'every partition is heap in the default tablespace');
SELECT is((SELECT count(*)::int FROM pg_inherits i WHERE i.inhparent = 'event.events'::regclass AND NOT EXISTS (
             SELECT 1 FROM pg_index x WHERE x.indrelid = i.inhrelid AND x.indisunique
               AND pg_get_indexdef(x.indexrelid) LIKE '%(stream_id, stream_version) WHERE (stream_id IS NOT NULL)')),
          0, 'every partition has a unique (stream_id, stream_version) index');

-- (stream_id, stream_version) unique per partition: a forged second "version 1" is refused.
SELECT event.create_event('h.s', stream_id => 'huniq:1') IS NOT NULL AS stored \gset
SELECT throws_ok(format($$INSERT INTO %s SELECT event.uuid_v7(), position + 1000000, event_type, event_source, event_category,
                   user_id, stream_id, stream_version, data, metadata, context, NULL, "timestamp", created_at
                   FROM event.events WHERE stream_id = 'huniq:1'$$,
                 (SELECT tableoid::regclass FROM event.events WHERE stream_id = 'huniq:1')),
                 '23505', NULL, 'a duplicate (stream_id, stream_version) in a partition is refused');

-- A position sequence with CACHE > 1 would let the horizon pass in-flight positions: refused.
SAVEPOINT cache;
ALTER SEQUENCE event.events_position_seq CACHE 10;
SELECT throws_ok($$SELECT * FROM event.read_all()$$, '55000', 'event.events_position_seq must have CACHE 1',
                 'catch-up reads refuse a position sequence with CACHE > 1');
ROLLBACK TO SAVEPOINT cache;

-- Defect 11 and defect 7, in a database and with a role of their own (committed work, dblink).
SELECT format('host=127.0.0.1 port=%s user=postgres dbname=', current_setting('port')) AS conn \gset
-- (Left over by an interrupted run: start clean.)
SELECT dblink_exec(:'conn' || 'postgres', 'DROP DATABASE IF EXISTS event_h16 WITH (FORCE)') \g /dev/null
SELECT dblink_exec(:'conn' || 'postgres', 'DROP ROLE IF EXISTS ev_h16_writer') \g /dev/null
SELECT dblink_exec(:'conn' || 'postgres', 'CREATE DATABASE event_h16') \g /dev/null
SELECT dblink_connect('h16', :'conn' || 'event_h16') \g /dev/null
SELECT dblink_exec('h16', 'CREATE EXTENSION event') \g /dev/null
-- Force the fallback path (the caller holds a lock the partition worker would need), then 2PC.
SELECT dblink_exec('h16', 'BEGIN') \g /dev/null
SELECT dblink_exec('h16', 'LOCK TABLE event.events IN SHARE UPDATE EXCLUSIVE MODE') \g /dev/null
SELECT is((SELECT n FROM dblink('h16', $$SELECT count(*) FROM event.create_event('h.2pc')$$) AS t(n bigint)), 1::bigint,
          '2PC: event stored through the fallback partition path');
SELECT dblink_exec('h16', 'PREPARE TRANSACTION ''event_h16''') \g /dev/null
SELECT dblink_exec('h16', 'ROLLBACK PREPARED ''event_h16''') \g /dev/null
SELECT is((SELECT n FROM dblink('h16', $$SELECT count(*) FROM event.create_event('h.after')$$) AS t(n bigint)), 1::bigint,
          'after ROLLBACK PREPARED the same backend stores an event (its partition cache forgot the month)');
-- A role with only USAGE + EXECUTE appends in autocommit: the counter flush at commit works.
SELECT dblink_exec('h16', 'CREATE ROLE ev_h16_writer LOGIN') \g /dev/null
SELECT dblink_exec('h16', 'GRANT USAGE ON SCHEMA event TO ev_h16_writer') \g /dev/null
SELECT dblink_exec('h16', 'GRANT EXECUTE ON FUNCTION event.create_event(text, jsonb, text, text, text, text, bigint, jsonb, jsonb, timestamptz, text) TO ev_h16_writer') \g /dev/null
SELECT dblink_connect('h16w', :'conn' || 'event_h16 user=ev_h16_writer') \g /dev/null
SELECT lives_ok($$SELECT * FROM dblink('h16w', 'SELECT event_type FROM event.create_event(''h.role'')') AS t(x text)$$,
                'an append by a role without table rights commits (counters flushed with the append''s rights)');
SELECT is((SELECT n FROM dblink('h16', $$SELECT (event.get_statistics()->>'total_events')::bigint$$) AS t(n bigint)), 2::bigint,
          'the committed appends are counted');
-- The flush at commit runs with the owner's rights, so the session's search_path must not reach
-- it: a writer's own "text" domain (whose check would run any code as the owner) is not used.
SELECT dblink_exec('h16', 'CREATE SCHEMA w AUTHORIZATION ev_h16_writer') \g /dev/null
SELECT dblink_exec('h16w', $$CREATE TABLE w.log (who text)$$) \g /dev/null
SELECT dblink_exec('h16w', $$CREATE FUNCTION w.spy(v pg_catalog.text) RETURNS boolean LANGUAGE sql
                             AS 'INSERT INTO w.log VALUES (current_user); SELECT true'$$) \g /dev/null
SELECT dblink_exec('h16w', $$CREATE DOMAIN w.text AS pg_catalog.text CHECK (w.spy(VALUE))$$) \g /dev/null
SELECT dblink_exec('h16w', 'SET search_path = w, pg_catalog') \g /dev/null
SELECT * FROM dblink('h16w', $$SELECT 1 FROM event.create_event('h.spy')$$) AS t(x int) \g /dev/null
SELECT is((SELECT n FROM dblink('h16', 'SELECT count(*) FROM w.log') AS t(n bigint)), 0::bigint,
          'the commit-time counter flush ignores the session''s search_path');
SELECT dblink_disconnect('h16w') \g /dev/null
SELECT dblink_disconnect('h16') \g /dev/null
SELECT dblink_exec(:'conn' || 'postgres', 'DROP DATABASE event_h16') \g /dev/null
SELECT dblink_exec(:'conn' || 'postgres', 'DROP ROLE ev_h16_writer') \g /dev/null

SELECT * FROM finish();
ROLLBACK;
