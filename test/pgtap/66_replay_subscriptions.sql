-- 66_replay_subscriptions.sql — replay to a subscription (event.replay_events with a
-- subscription as target_service): the target found by name or id (ambiguous and unknown names
-- refused), the dry run through the subscription's filters, deliveries queued by
-- process_replays with the relay message's members, claimed in position order with a per-stream
-- key under a lease, finished (a failure becomes a delivery dead letter and counts as failed),
-- the replay completed only when every delivery reported, a later replay not held back by one
-- that waits, and the deliveries of a deleted subscription dropped.
BEGIN;
SELECT plan(32);

SELECT dblink_connect('t66', format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database())) \gset _
CREATE TEMP TABLE e66 AS SELECT x.k, x.id, x.p FROM (VALUES ('a1', 't66:1', 't66.a.created'), ('a2', 't66:1', 't66.a.updated'),
    ('n1', NULL, 't66.a.created'), ('b1', 't66:2', 't66.b.created'), ('a3', 't66:1', 't66.a.updated')) AS v(k, s, t),
    dblink('t66', format($$SELECT %L, e.event_id, e.position FROM event.create_event(%L, '{"n": 1}', 'backend', 'order',
                                 user_id => 'u66', stream_id => %L) e$$, v.k, v.t, v.s))
    AS x(k text, id uuid, p bigint);
SELECT dblink_disconnect('t66') \gset _
CREATE FUNCTION pg_temp.id(k text) RETURNS uuid LANGUAGE sql AS $$SELECT id FROM e66 WHERE e66.k = $1$$;

DELETE FROM event.event_subscriptions;
CREATE TEMP TABLE s66 AS SELECT event.create_subscription('crm', 'http://127.0.0.1:9/hook', event_types => '{t66.a.*}') AS s;
CREATE FUNCTION pg_temp.sid() RETURNS uuid LANGUAGE sql AS $$SELECT (s->>'subscription_id')::uuid FROM s66$$;
CREATE FUNCTION pg_temp.ts(k text) RETURNS jsonb LANGUAGE sql AS
    $$SELECT jsonb_build_object('event_ids', (SELECT jsonb_agg(id ORDER BY p) FROM e66), 'target_service', k)$$;

-- The target.
SELECT throws_ok($$SELECT event.replay_events('{"stream_id": "t66:1", "target_service": "nobody"}')$$, '22023',
                 'target_service "nobody" is neither a processor nor a subscription', 'target: unknown name');
SELECT throws_ok($$SELECT event.replay_events('{"stream_id": "t66:1", "target_service": "01890000-0000-7000-8000-000000000000"}')$$,
                 '22023', NULL, 'target: unknown subscription id');
SELECT is((event.replay_events(pg_temp.ts('crm') || '{"dry_run": true}')->>'total')::int, 4,
          'dry run by subscriber_name: the events its filters take (t66.a.*)');
SELECT is((SELECT array_agg(x->>'event_id' ORDER BY (x->>'position')::bigint)
             FROM jsonb_array_elements(event.replay_events(pg_temp.ts(pg_temp.sid()::text) || '{"dry_run": true}')->'events') x),
          (SELECT array_agg(id::text ORDER BY p) FROM e66 WHERE k <> 'b1'), 'dry run by subscription_id: exactly those events');
SELECT event.create_subscription('crm', 'http://127.0.0.1:9/other') \gset _
SELECT throws_ok($$SELECT event.replay_events(pg_temp.ts('crm'))$$, '22023', 'target_service "crm" names 2 subscriptions',
                 'target: a name of two subscriptions is refused');
DELETE FROM event.event_subscriptions WHERE callback_url = 'http://127.0.0.1:9/other';

-- A replay to the subscription, queued and delivered.
CREATE TEMP TABLE r66 AS SELECT event.replay_events(pg_temp.ts(upper(pg_temp.sid()::text))) AS r;
CREATE FUNCTION pg_temp.rid() RETURNS uuid LANGUAGE sql AS $$SELECT (r->>'replay_id')::uuid FROM r66$$;
SELECT is((SELECT r->>'status' || ':' || (r->>'total') FROM r66), 'running:4', 'replay: running, 4 events');
SELECT is((SELECT target_subscription FROM event.processing_replays WHERE replay_id = pg_temp.rid()), pg_temp.sid(),
          'replay: its target is the subscription');
SELECT is((event.process_replays(3)->>'events')::int, 3, 'process_replays: 3 deliveries queued');
SELECT is((SELECT count(*)::int FROM event.replay_deliveries WHERE replay_id = pg_temp.rid()), 3, 'deliveries: 3 rows');
SELECT is((SELECT delivery_id FROM event.replay_deliveries WHERE event_id = pg_temp.id('a1')),
          pg_temp.id('a1')::text || '.' || left(replace(pg_temp.sid()::text, '-', ''), 12) || '.' || pg_temp.rid()::text,
          'delivery id: <event_id>.<12 hex digits of the subscription>.<replay_id>');
SELECT is((SELECT array_agg(k ORDER BY k) FROM event.replay_deliveries d, jsonb_object_keys(d.payload) k
            WHERE d.event_id = pg_temp.id('a1')),
          '{context,created_at,data,event_category,event_id,event_source,event_type,idempotency_key,metadata,position,stream_id,stream_version,timestamp,user_id}'::text[],
          'payload: the relay message''s event members');
SELECT is((SELECT payload->>'user_id' || ' ' || (payload->>'stream_version') || ' ' || (payload->'data')::text
             FROM event.replay_deliveries WHERE event_id = pg_temp.id('a2')), 'u66 2 {"n": 1}', 'payload: the event''s values');
SELECT is((event.process_replays(3)->>'events')::int, 1, 'process_replays: the last delivery queued');
SELECT is((event.process_replays(3)->>'events')::int, 0, 'process_replays: nothing left to queue');
SELECT is(event.get_replay(pg_temp.rid())->>'status', 'running', 'replay: running while deliveries are out');

-- Claims: position order, one key per stream, the lease.
CREATE TEMP TABLE c66 AS SELECT * FROM event.claim_replay_deliveries('i1', '{}', 10);
SELECT is((SELECT array_agg(event_id ORDER BY ord) FROM (SELECT event_id, row_number() OVER () AS ord FROM c66) x),
          (SELECT array_agg(id ORDER BY p) FROM e66 WHERE k <> 'b1'), 'claim: every delivery, in position order');
SELECT is((SELECT order_key FROM c66 WHERE event_id = pg_temp.id('a2')), 'replay:' || pg_temp.rid() || ':stream:t66:1',
          'claim: the key of a stream''s events');
SELECT is((SELECT order_key FROM c66 WHERE event_id = pg_temp.id('n1')), 'replay:' || pg_temp.rid() || ':' || (SELECT delivery_id FROM c66 WHERE event_id = pg_temp.id('n1')),
          'claim: an event of no stream has its own key');
SELECT is((SELECT (payload::jsonb)->>'event_id' FROM c66 WHERE event_id = pg_temp.id('a3')), pg_temp.id('a3')::text, 'claim: the payload');
SELECT is((SELECT count(*)::int FROM event.claim_replay_deliveries('i2', '{}')), 0, 'claim: leased to another instance');
SELECT is((SELECT count(*)::int FROM event.claim_replay_deliveries('i1', (SELECT array_agg(delivery_id) FROM c66))), 0,
          'claim: those held are renewed, not handed out again');
UPDATE event.replay_deliveries SET claimed_at = now() - interval '31 seconds' WHERE event_id = pg_temp.id('a3');
SELECT is((SELECT array_agg(event_id) FROM event.claim_replay_deliveries('i2', '{}')), ARRAY[pg_temp.id('a3')],
          'claim: a lease that ran out goes to another instance');

-- Outcomes.
SELECT is(event.finish_replay_deliveries((SELECT jsonb_agg(jsonb_build_object('delivery_id', delivery_id,
              'delivered', event_id <> pg_temp.id('a2'), 'attempts', 5, 'last_status_code', 500, 'last_error', 'HTTP 500',
              'dead_at', now())) FROM c66 WHERE event_id <> pg_temp.id('a3'))
            || '[{"delivery_id": "not-a-replay", "delivered": true, "attempts": 1}]'), 3,
          'finish: the replay''s outcomes recorded, another id ignored');
SELECT is((SELECT stream_sequence || ' ' || attempts || ' ' || last_status_code || ' ' || (payload->>'event_id')
             FROM event.delivery_dead_letters WHERE event_id = pg_temp.id('a2')), '0 5 500 ' || pg_temp.id('a2'),
          'finish: a failed delivery is a dead letter (stream_sequence 0, with its payload)');
SELECT is((event.get_replay(pg_temp.rid())->>'failed')::int, 1, 'finish: it counts as failed');
SELECT is(event.process_replays(3)->>'status', NULL, 'process_replays: not completed while one delivery is out');

-- A later replay is not held back by one that waits.
CREATE TEMP TABLE r66b AS SELECT event.replay_events(jsonb_build_object('event_ids', jsonb_build_array(pg_temp.id('a1')),
                                                                        'target_service', 'crm')) AS r;
SELECT is(event.process_replays(3)->>'replay_id', (SELECT r->>'replay_id' FROM r66b), 'process_replays: the later replay advances');
SELECT is(event.finish_replay_deliveries((SELECT jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'delivered', true,
              'attempts', 1)) FROM event.replay_deliveries WHERE event_id = pg_temp.id('a3') AND replay_id = pg_temp.rid())), 1,
          'finish: the first replay''s last delivery');
SELECT is(event.process_replays(3)->>'status', 'completed', 'process_replays: the first replay completes');
SELECT is((SELECT r->>'status' || ' ' || (r->>'done') || ' ' || (r->>'failed') FROM (SELECT event.get_replay(pg_temp.rid()) AS r) x),
          'completed 4 1', 'get_replay: completed, 4 done, 1 failed');

-- The subscription deleted: its waiting deliveries are dropped as failed.
SELECT event.delete_subscription(pg_temp.sid()) \gset _
SELECT is((SELECT count(*)::int FROM event.claim_replay_deliveries('i1', '{}')), 0, 'deleted subscription: nothing to claim');
SELECT is((SELECT count(*)::int FROM event.replay_deliveries) || ' ' || (event.get_replay((SELECT (r->>'replay_id')::uuid FROM r66b))->>'failed'),
          '0 1', 'deleted subscription: its deliveries dropped, each a failure of its replay');

SELECT * FROM finish();
ROLLBACK;
