-- 17_event_columns.sql — the one C++ definition of the event row (core/event_columns.hpp) against
-- the catalog: the write path checks event.events before it first writes in a backend, so a
-- layout that differs from the definition is refused with a clear error, and the installed
-- layout is accepted (every other write test runs on it).
BEGIN;
SELECT plan(4);

-- A new backend (dblink) sees a renamed column: the check refuses to write. First, before this
-- session holds any lock on event.events.
SELECT dblink_connect('t17', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
SELECT dblink_exec('t17', 'SET lock_timeout = ''5s''') \gset _
SELECT dblink_exec('t17', 'BEGIN') \gset _
SELECT dblink_exec('t17', 'ALTER TABLE event.events RENAME COLUMN context TO ctx') \gset _
SELECT is((SELECT e FROM dblink('t17', $$SELECT 'no error' FROM (SELECT event.create_event('t17.bad')) f$$, false) AS t(e text)),
          NULL, 'nothing returned');
SELECT matches(dblink_error_message('t17'), 'event.events does not have the layout this library writes',
               'a layout that differs from core/event_columns.hpp is refused');
SELECT dblink_exec('t17', 'ROLLBACK') \gset _
SELECT is(dblink_exec('t17', $$DO 'BEGIN PERFORM event.create_event(''t17.ok''); END'$$, false), 'DO',
          'the installed layout matches the definition: the same backend writes after the rollback');
SELECT dblink_disconnect('t17') \gset _


SELECT ok(event.create_partitions(now() + interval '1 month') >= 0, 'partitions through next month');
SELECT * FROM finish();
ROLLBACK;
