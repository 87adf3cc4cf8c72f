-- 23_leaf_plans.sql — the direct insert keeps, per backend, a plan of each partition it writes
-- (its CHECK constraints compiled, its indexes' IndexInfo; extension/pg/direct_insert.cpp). A
-- writer session with a warm plan must see every later change of the partition: a constraint
-- added or dropped by another session, an index created or dropped, a constraint of its own
-- transaction that was rolled back. Writer "w" and DDL session "d" are dblink connections
-- (autocommit). Names are prefixed t23.
BEGIN;
SELECT plan(13);

SELECT count(dblink_connect(name, format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'),
                                         current_database())))
  FROM unnest(ARRAY['w', 'd']) name \g /dev/null

CREATE FUNCTION pg_temp.w(sql text) RETURNS text LANGUAGE sql AS $$ SELECT dblink_exec('w', sql) $$;
-- Runs a query in the writer, its rows discarded.
CREATE FUNCTION pg_temp.wq(sql text) RETURNS bigint LANGUAGE sql
  AS $$ SELECT count(*) FROM dblink('w', 'SELECT 1 FROM (' || sql || ') x') AS t(x int) $$;
CREATE FUNCTION pg_temp.d(sql text) RETURNS text LANGUAGE sql AS $$ SELECT dblink_exec('d', sql) $$;

SELECT lives_ok($$SELECT pg_temp.wq('SELECT event.create_event(''t23.warm'')')$$, 'the writer appends (its plan is built)');
SELECT (SELECT tableoid::regclass::text FROM dblink('w', $$SELECT tableoid::regclass::text FROM event.events
                                                          WHERE event_type = 't23.warm'$$) AS t(tableoid text)) AS leaf
\gset

-- A constraint added by another session applies to the warm writer's next append, and stops
-- applying once dropped.
SELECT pg_temp.d('ALTER TABLE event.events ADD CONSTRAINT t23_no_forbidden CHECK (event_type <> ''t23.forbidden'') NOT VALID')
  \g /dev/null
SELECT throws_ok($$SELECT pg_temp.wq('SELECT event.create_event(''t23.forbidden'')')$$, '23514', NULL,
                 'a CHECK added by another session is enforced by the warm writer');
SELECT lives_ok($$SELECT pg_temp.wq('SELECT event.create_event(''t23.allowed'')')$$, 'other rows still pass it');
SELECT pg_temp.d('ALTER TABLE event.events DROP CONSTRAINT t23_no_forbidden') \g /dev/null
SELECT lives_ok($$SELECT pg_temp.wq('SELECT event.create_event(''t23.forbidden'')')$$,
                'once dropped, the CHECK is no longer enforced');

-- An index created by another session gets the warm writer's rows (a unique partial index on
-- the partition proves it), and a dropped one is no longer opened.
SELECT pg_temp.d(format($$CREATE UNIQUE INDEX t23_unique ON %s ((data->>'u')) WHERE event_type = 't23.unique'$$, :'leaf'))
  \g /dev/null
SELECT lives_ok($$SELECT pg_temp.wq('SELECT event.create_event(''t23.unique'', ''{"u": "a"}'')')$$, 'first row of a new index');
SELECT throws_ok($$SELECT pg_temp.wq('SELECT event.create_event(''t23.unique'', ''{"u": "a"}'')')$$, '23505', NULL,
                 'the new unique index is checked by the warm writer');
SELECT lives_ok($$SELECT pg_temp.wq('SELECT event.create_event(''t23.other'', ''{"u": "a"}'')')$$,
                'the new index''s predicate is evaluated (other types are outside it)');
SELECT pg_temp.d('DROP INDEX event.t23_unique') \g /dev/null
SELECT lives_ok($$SELECT pg_temp.wq('SELECT event.create_event(''t23.unique'', ''{"u": "a"}'')')$$,
                'a dropped index is neither checked nor opened');
SELECT is((SELECT n FROM dblink('w', $$SELECT count(*) FROM event.events WHERE event_type = 't23.unique'$$) AS t(n bigint)),
          2::bigint, 'the rows that passed are stored');

-- A constraint of the writer's own transaction, rolled back: not enforced afterwards.
SELECT pg_temp.w('BEGIN') \g /dev/null
SELECT pg_temp.w(format($$ALTER TABLE %s ADD CONSTRAINT t23_tmp CHECK (event_type <> 't23.tmp') NOT VALID$$, :'leaf'))
  \g /dev/null
SELECT throws_ok($$SELECT pg_temp.wq('SELECT event.create_event(''t23.tmp'')')$$, '23514', NULL,
                 'a CHECK of the writer''s own transaction is enforced in it');
SELECT pg_temp.w('ROLLBACK') \g /dev/null
SELECT lives_ok($$SELECT pg_temp.wq('SELECT event.create_event(''t23.tmp'')')$$,
                'after its ROLLBACK it is not');

-- A batch after all of this: every row in every index of the partition.
SELECT lives_ok($$SELECT pg_temp.wq($q$SELECT event.create_events('[{"event_type": "t23.batch", "user_id": "t23u"},
                                                                  {"event_type": "t23.batch", "user_id": "t23u"}]')$q$)$$,
                'a batch by the warm writer');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM dblink('w', $$SET enable_seqscan = off; SET enable_bitmapscan = off;
                                            SELECT 1 FROM event.events WHERE user_id = 't23u' AND "timestamp" <= now()$$)
                                 AS t(x int)), 2::bigint, 'the batch''s rows are in the user index');

SELECT dblink_disconnect('w') \g /dev/null
SELECT dblink_disconnect('d') \g /dev/null
SELECT * FROM finish();
ROLLBACK;
