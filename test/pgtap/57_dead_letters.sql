-- 57_dead_letters.sql — delivery dead letters: list (filters, paging), get (payload, attempts
-- history), retry one / by filter, the sidecar's claim (lease, renewal, orphans) and finish
-- (delivered: gone; failed again: dead with the attempts added), purge one / by filter, bad input.
BEGIN;
SELECT plan(47);
-- Counts below assume no other dead letter (rolled back at the end).
DELETE FROM event.delivery_dead_letters;

CREATE TEMP TABLE s57 AS SELECT
    (event.create_subscription('dl-a', 'http://127.0.0.1:9/a')->>'subscription_id')::uuid AS a,
    (event.create_subscription('dl-b', 'http://127.0.0.1:9/b')->>'subscription_id')::uuid AS b;
CREATE FUNCTION pg_temp.a() RETURNS uuid LANGUAGE sql AS $$SELECT a FROM s57$$;
CREATE FUNCTION pg_temp.b() RETURNS uuid LANGUAGE sql AS $$SELECT b FROM s57$$;
CREATE FUNCTION pg_temp.dl(id text, sub uuid, ev text, at text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('delivery_id', id, 'subscription_id', sub, 'event_id', ev, 'stream_sequence', 1,
        'attempts', 3, 'last_status_code', 500, 'last_error', 'HTTP 500', 'dead_at', at,
        'payload', jsonb_build_object('event_id', ev, 'event_type', 'dl.test', 'stream_id', 'dl:1'))$$;
SELECT is(event.record_deliveries(
    jsonb_build_array(
        jsonb_build_object('subscription_id', pg_temp.a(), 'event_id', '018f0000-0000-7000-8000-000000000001',
            'delivery_id', 'dl1', 'attempt', 1, 'status_code', 500, 'latency_ms', 2.5, 'error', 'HTTP 500',
            'attempted_at', '2026-01-01T00:00:00Z'),
        jsonb_build_object('subscription_id', pg_temp.a(), 'event_id', '018f0000-0000-7000-8000-000000000001',
            'delivery_id', 'dl1', 'attempt', 2, 'latency_ms', 10000, 'error', 'Timeout was reached',
            'attempted_at', '2026-01-01T00:00:01Z')),
    jsonb_build_array(
        pg_temp.dl('dl1', pg_temp.a(), '018f0000-0000-7000-8000-000000000001', '2026-01-01T00:00:02Z'),
        pg_temp.dl('dl2', pg_temp.a(), '018f0000-0000-7000-8000-000000000002', '2026-01-02T00:00:00Z'),
        pg_temp.dl('dl3', pg_temp.b(), '018f0000-0000-7000-8000-000000000003', '2026-01-03T00:00:00Z'))), 5,
    'setup: two attempts and three dead letters recorded');

-- List.
SELECT is(event.list_dead_letters()->'total', '3', 'list: total');
SELECT is((SELECT array_agg(x->>'delivery_id') FROM jsonb_array_elements(event.list_dead_letters()->'dead_letters') x),
          ARRAY['dl1', 'dl2', 'dl3'], 'list: oldest first');
SELECT is((event.list_dead_letters()->'dead_letters'->0) - 'subscription_id',
          '{"delivery_id": "dl1", "subscriber_name": "dl-a", "event_id": "018f0000-0000-7000-8000-000000000001",
            "event_type": "dl.test", "stream_id": "dl:1", "stream_sequence": 1, "attempts": 3, "last_status_code": 500,
            "last_error": "HTTP 500", "dead_at": "2026-01-01T00:00:02.000000Z", "retries": 0, "state": "dead",
            "retry_requested_at": null}'::jsonb, 'list: the fields of a dead letter');
SELECT is(event.list_dead_letters(subscription_id => pg_temp.b())->'dead_letters'->0->>'delivery_id', 'dl3',
          'list: by subscription');
SELECT is(event.list_dead_letters(event_id => '018f0000-0000-7000-8000-000000000002')->'dead_letters'->0->>'delivery_id',
          'dl2', 'list: by event');
SELECT is(event.list_dead_letters(start_time => '2026-01-01T12:00:00Z', end_time => '2026-01-02T12:00:00Z')->'total',
          '1', 'list: by time range');
SELECT is(event.list_dead_letters(start_time => '2026-01-02T00:00:00Z')->'total', '2', 'list: start_time inclusive');
SELECT is(event.list_dead_letters("limit" => 2) - 'dead_letters', '{"total": 3, "limit": 2, "offset": 0, "has_more": true}',
          'list: page 1 of 2');
SELECT is((SELECT array_agg(x->>'delivery_id') FROM jsonb_array_elements(
              event.list_dead_letters("limit" => 2, "offset" => 2)->'dead_letters') x), ARRAY['dl3'], 'list: page 2');
SELECT is(event.list_dead_letters("limit" => 2, "offset" => 2)->'has_more', 'false', 'list: last page');
SELECT is(event.list_dead_letters(subscription_id => event.uuid_v7()) - 'limit' - 'offset',
          '{"dead_letters": [], "total": 0, "has_more": false}', 'list: nothing matches');
SELECT throws_ok($$SELECT event.list_dead_letters("limit" => 0)$$, '22023', 'invalid limit "0"', 'list: limit 0');
SELECT throws_ok($$SELECT event.list_dead_letters("limit" => 1001)$$, '22023', 'invalid limit "1001"', 'list: limit 1001');
SELECT throws_ok($$SELECT event.list_dead_letters("offset" => -1)$$, '22023', 'invalid offset "-1"', 'list: negative offset');
SELECT throws_ok($$SELECT event.list_dead_letters(start_time => now(), end_time => now() - interval '1 day')$$, '22023',
                 'start_time is after end_time', 'list: inverted time range');

-- Get.
SELECT is(event.get_dead_letter('dl1')->'payload'->>'event_type', 'dl.test', 'get: the payload');
SELECT is((SELECT array_agg((x->>'attempt') || ' ' || coalesce(x->>'status_code', 'none') || ' ' || (x->>'error'))
           FROM jsonb_array_elements(event.get_dead_letter('dl1')->'attempts_history') x),
          ARRAY['1 500 HTTP 500', '2 none Timeout was reached'], 'get: the attempts history, in order');
SELECT is(event.get_dead_letter('dl2')->'attempts_history', '[]', 'get: no attempt recorded: empty history');
SELECT throws_ok($$SELECT event.get_dead_letter('nope')$$, 'P0002', 'dead letter "nope" does not exist', 'get: unknown id');
SELECT throws_ok($$SELECT event.get_dead_letter(NULL)$$, '22004', 'delivery_id must not be null', 'get: NULL');

-- Retry one: stays listed as retrying.
SELECT is(event.retry_dead_letter('dl1')->>'state', 'retrying', 'retry: state retrying');
SELECT isnt(event.get_dead_letter('dl1')->>'retry_requested_at', NULL, 'retry: requested time shown');
SELECT is(event.list_dead_letters()->'total', '3', 'retry: still listed until delivered');
SELECT throws_ok($$SELECT event.retry_dead_letter('nope')$$, 'P0002', 'dead letter "nope" does not exist',
                 'retry: unknown id');

-- The sidecar's claim.
SELECT is((SELECT array_agg(delivery_id || ' ' || attempts || ' ' || (payload::jsonb->>'event_type'))
           FROM event.claim_dead_letter_retries('i1', '{}')), ARRAY['dl1 3 dl.test'], 'claim: the requested retry, with its attempts and payload');
SELECT is((SELECT count(*)::int FROM event.claim_dead_letter_retries('i2', '{}')), 0,
          'claim: another instance does not get a leased row');
SELECT is((SELECT count(*)::int FROM event.claim_dead_letter_retries('i1', '{dl1}')), 0,
          'claim: a held row is renewed, not returned again');
SELECT is((SELECT count(*)::int FROM event.claim_dead_letter_retries('i1', '{}')), 1,
          'claim: a row the instance no longer holds (worker restarted) is returned again');
UPDATE event.delivery_dead_letters SET retry_claimed_at = now() - interval '31 seconds' WHERE delivery_id = 'dl1';
SELECT is((SELECT array_agg(delivery_id) FROM event.claim_dead_letter_retries('i2', '{}')), ARRAY['dl1'],
          'claim: an expired lease is taken over by another instance');

-- Finish: failed again, then delivered.
SELECT is(event.finish_dead_letter_retries(jsonb_build_array(jsonb_build_object('delivery_id', 'dl1', 'delivered', false,
          'attempts', 2, 'last_status_code', 503, 'last_error', 'HTTP 503', 'dead_at', '2026-02-01T00:00:00Z'))), 1,
          'finish: failed again');
SELECT is(event.get_dead_letter('dl1') - 'payload' - 'attempts_history' - 'subscription_id' - 'subscriber_name' - 'event_id'
          - 'event_type' - 'stream_id' - 'stream_sequence',
          '{"delivery_id": "dl1", "attempts": 5, "last_status_code": 503, "last_error": "HTTP 503",
            "dead_at": "2026-02-01T00:00:00.000000Z", "retries": 1, "state": "dead", "retry_requested_at": null}',
          'finish: dead again with the attempts added');
SELECT is((SELECT count(*)::int FROM event.claim_dead_letter_retries('i1', '{}')), 0, 'claim: nothing left to retry');
SELECT is(event.retry_dead_letters(subscription_id => pg_temp.a()), '{"retried": 2, "skipped": 0}',
          'retry by subscription: both of its dead letters');
SELECT is(event.finish_dead_letter_retries('[{"delivery_id": "dl2", "delivered": true, "attempts": 1}]'), 1,
          'finish: delivered');
SELECT is((SELECT count(*)::int FROM event.delivery_dead_letters WHERE delivery_id = 'dl2'), 0,
          'delivered: the dead letter is gone');
SELECT is(event.finish_dead_letter_retries('[{"delivery_id": "dl2", "delivered": true, "attempts": 1}]'), 0,
          'finish: an outcome reported twice changes nothing');
SELECT throws_ok($$SELECT event.retry_dead_letters()$$, '22023', 'no filter given', 'retry: no filter');

-- A deleted subscription: its retry cannot be carried out.
SELECT lives_ok(format('SELECT event.delete_subscription(%L)', pg_temp.a()), 'delete subscription a');
SELECT is((SELECT count(*)::int FROM event.claim_dead_letter_retries('i1', '{}')), 0,
          'claim: a retry of a deleted subscription is not handed out');
SELECT is(event.get_dead_letter('dl1')->>'state' || ' ' || (event.get_dead_letter('dl1')->>'last_error'),
          'dead retry dropped: the subscription was deleted', 'claim: ... and dropped with the reason');
SELECT throws_ok($$SELECT event.retry_dead_letter('dl1')$$, '55000',
                 'the subscription of dead letter "dl1" no longer exists', 'retry: subscription deleted');
SELECT is(event.retry_dead_letters(end_time => now()), '{"retried": 1, "skipped": 1}', 'retry all: deleted subscription skipped');

-- Purge.
SELECT is(event.purge_dead_letter('dl3')->>'delivery_id', 'dl3', 'purge one: returns it');
SELECT throws_ok($$SELECT event.purge_dead_letter('dl3')$$, 'P0002', 'dead letter "dl3" does not exist', 'purge: unknown id');
SELECT throws_ok($$SELECT event.purge_dead_letters()$$, '22023', 'no filter given', 'purge: no filter');
SELECT is(event.purge_dead_letters(subscription_id => pg_temp.a()), '{"purged": 1}', 'purge by subscription');

SELECT * FROM finish();
ROLLBACK;
