-- 15_immutability.sql — stored events cannot be changed (EV003), except by a superuser with
-- event.allow_event_mutation = on (data-privacy erasure).
BEGIN;
SELECT plan(9);

CREATE TEMP TABLE t15 AS SELECT e.* FROM event.create_event('t15.x', data => '{"secret": 1}') e;
CREATE TEMP TABLE t15_part AS SELECT tableoid::regclass::text AS relname FROM event.events WHERE event_id = (SELECT event_id FROM t15);

SELECT throws_ok($$UPDATE event.events SET data = '{}' WHERE event_id = (SELECT event_id FROM t15)$$, 'EV003', 'stored events are immutable', 'UPDATE');
SELECT throws_ok($$DELETE FROM event.events WHERE event_id = (SELECT event_id FROM t15)$$, 'EV003', 'stored events are immutable', 'DELETE');
SELECT throws_ok(format($$UPDATE %s SET event_type = 'x' WHERE event_id = %L$$, relname, (SELECT event_id FROM t15)), 'EV003',
                 'stored events are immutable', 'UPDATE on the partition') FROM t15_part;
SELECT throws_ok(format($$DELETE FROM %s WHERE event_id = %L$$, relname, (SELECT event_id FROM t15)), 'EV003',
                 'stored events are immutable', 'DELETE on the partition') FROM t15_part;
SELECT throws_ok($$TRUNCATE event.events$$, 'EV003', 'stored events are immutable', 'TRUNCATE');
SELECT throws_ok(format('TRUNCATE %s', relname), 'EV003', 'stored events are immutable', 'TRUNCATE of the partition') FROM t15_part;
SELECT is((SELECT data FROM event.events WHERE event_id = (SELECT event_id FROM t15)), '{"secret": 1}'::jsonb, 'the event is unchanged');

SET LOCAL event.allow_event_mutation = on;
SELECT lives_ok($$DELETE FROM event.events WHERE event_id = (SELECT event_id FROM t15)$$, 'superuser with allow_event_mutation can delete');
SELECT ok(NOT EXISTS (SELECT FROM event.events WHERE event_id = (SELECT event_id FROM t15)), 'the event is gone');

SELECT * FROM finish();
ROLLBACK;
