-- 52_subscriptions.sql — event.create_subscription, list_subscriptions, delete_subscription,
-- rotate_subscription_secret, subscriptions_for_delivery: validation, masking, the
-- event.subscription.created event, NOTIFY, rotation.
BEGIN;
SELECT plan(45);

CREATE TEMP TABLE t52 AS SELECT event.create_subscription('billing', 'https://billing.example/hooks',
    event_types => '{order.*,payment.captured}', event_sources => '{backend}', event_categories => '{order,payment}',
    max_attempts => 3, backoff_base_ms => 200, backoff_max_ms => 5000) AS s;
CREATE FUNCTION pg_temp.s() RETURNS jsonb LANGUAGE sql AS $$SELECT s FROM t52$$;

SELECT matches(pg_temp.s()->>'subscription_id', '^[0-9a-f]{8}-[0-9a-f]{4}-7', 'id: a UUIDv7');
SELECT is(pg_temp.s()->>'subscriber_name', 'billing', 'subscriber_name');
SELECT is(pg_temp.s()->>'subscriber_type', 'webhook', 'subscriber_type defaults to webhook');
SELECT is(pg_temp.s()->'event_types', '["order.*", "payment.captured"]'::jsonb, 'event_types kept');
SELECT is(pg_temp.s()->'event_sources', '["backend"]'::jsonb, 'event_sources kept');
SELECT is(pg_temp.s()->'event_categories', '["order", "payment"]'::jsonb, 'event_categories kept');
SELECT is(pg_temp.s()->'retry_policy', '{"max_attempts": 3, "backoff_base_ms": 200, "backoff_max_ms": 5000}'::jsonb,
          'retry_policy');
SELECT is(pg_temp.s()->'active', 'true'::jsonb, 'active');
SELECT matches(pg_temp.s()->>'webhook_secret', '^whsec_[A-Za-z0-9+/]{43}=$', 'generated secret: whsec_ + base64 of 32 bytes');
SELECT is(length(decode(substr(pg_temp.s()->>'webhook_secret', 7), 'base64')), 32, 'the secret decodes to 32 bytes');
SELECT is((SELECT webhook_secret FROM event.event_subscriptions WHERE id = (pg_temp.s()->>'subscription_id')::uuid),
          pg_temp.s()->>'webhook_secret', 'the secret is stored in full (the sidecar signs with it)');

-- The event of spec 9.4, without the secret.
SELECT is((SELECT count(*)::int FROM event.events e WHERE e.event_type = 'event.subscription.created'
             AND e.event_id = (pg_temp.s()->>'event_id')::uuid AND e.event_source = 'system'
             AND e.event_category = 'system' AND e.data->>'subscription_id' = pg_temp.s()->>'subscription_id'), 1,
          'event.subscription.created stored (source system) with the subscription id');
SELECT is((SELECT count(*)::int FROM event.events e WHERE e.event_type = 'event.subscription.created'
             AND e.data::text LIKE '%' || substr(pg_temp.s()->>'webhook_secret', 10) || '%'), 0,
          'the event does not carry the secret');

-- Listing masks the secret.
SELECT is(jsonb_array_length(event.list_subscriptions()), 1, 'list: one subscription');
SELECT is(event.list_subscriptions()->0->>'webhook_secret', left(pg_temp.s()->>'webhook_secret', 8) || '...',
          'list: secret masked');
SELECT is((event.list_subscriptions()->0) - 'webhook_secret', pg_temp.s() - 'webhook_secret' - 'event_id',
          'list: the same fields as create');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements_text(jsonb_path_query_array(event.list_subscriptions(), 'strict $.**'))
           v WHERE v LIKE '%' || substr(pg_temp.s()->>'webhook_secret', 9) || '%'), 0, 'list: the secret appears nowhere');
SELECT is(event.create_subscription('own', 'http://127.0.0.1:9/x', webhook_secret => 'a-secret-of-16ch')->>'webhook_secret',
          'a-secret-of-16ch', 'a given secret is kept');
SELECT is(jsonb_array_length(event.list_subscriptions()), 2, 'list: two subscriptions');
SELECT is((SELECT count(*)::int FROM event.subscriptions_for_delivery() d WHERE d.webhook_secret = pg_temp.s()->>'webhook_secret'),
          1, 'subscriptions_for_delivery: secrets in full');

-- Rotation: two secrets valid at once.
CREATE TEMP TABLE r52 AS SELECT event.rotate_subscription_secret((pg_temp.s()->>'subscription_id')::uuid,
    'the-new-secret-1234') AS r;
SELECT is((SELECT r->>'webhook_secret' FROM r52), 'the-new-secret-1234', 'rotate: new secret returned');
SELECT is((SELECT d.previous_secret FROM event.subscriptions_for_delivery() d
           WHERE d.id = (pg_temp.s()->>'subscription_id')::uuid), pg_temp.s()->>'webhook_secret',
          'rotate: the old secret stays as previous_secret');
SELECT is((SELECT r->>'previous_secret' FROM r52), left(pg_temp.s()->>'webhook_secret', 8) || '...',
          'rotate: previous_secret shown masked');
SELECT is(event.rotate_subscription_secret((pg_temp.s()->>'subscription_id')::uuid, drop_previous => true)->'previous_secret',
          'null'::jsonb, 'rotate with drop_previous: one secret left');

-- Bad input: 22023 with the allowed values, 22004 for nulls.
SELECT throws_ok($$SELECT event.create_subscription('x', 'ftp://example.com/')$$, '22023',
                 'invalid callback_url "ftp://example.com/"', 'callback_url: not http/https');
SELECT throws_ok($$SELECT event.create_subscription('x', 'http://')$$, '22023', 'invalid callback_url "http://"',
                 'callback_url: no host');
SELECT throws_ok($$SELECT event.create_subscription('x', 'http://a b/')$$, '22023', 'invalid callback_url "http://a b/"',
                 'callback_url: a space');
SELECT throws_ok($$SELECT event.create_subscription('x', NULL)$$, '22004', 'callback_url must not be null', 'callback_url: null');
SELECT throws_ok($$SELECT event.create_subscription('', 'http://h/')$$, '22023', 'invalid subscriber_name', 'empty name');
SELECT throws_ok($$SELECT event.create_subscription('x', 'http://h/', subscriber_type => 'pigeon')$$, '22023',
                 'invalid subscriber_type "pigeon"', 'unknown subscriber_type');
SELECT throws_ok($$SELECT event.create_subscription('x', 'http://h/', event_types => '{order.*.x}')$$, '22023',
                 'invalid event type filter "order.*.x"', 'a * only as the last segment');
SELECT throws_ok($$SELECT event.create_subscription('x', 'http://h/', event_sources => '{mars}')$$, '22023',
                 'invalid event_source "mars"', 'unknown source');
SELECT throws_ok($$SELECT event.create_subscription('x', 'http://h/', event_categories => '{nope}')$$, '22023', NULL,
                 'unknown category');
SELECT throws_ok($$SELECT event.create_subscription('x', 'http://h/', webhook_secret => '')$$, '22023',
                 'invalid webhook_secret', 'an empty secret');
SELECT throws_ok($$SELECT event.create_subscription('x', 'http://h/', webhook_secret => repeat('s', 513))$$, '22023',
                 'invalid webhook_secret', 'a secret over 512 characters');
-- Any non-empty secret is taken (as most webhook senders do); its mask shows at most a quarter of it.
SELECT is(event.create_subscription('short-secret', 'http://h/', webhook_secret => 'secret123')->>'webhook_secret',
          'secret123', 'a short secret is taken and shown in full once');
SELECT is((SELECT x->>'webhook_secret' FROM pg_catalog.jsonb_array_elements(event.list_subscriptions()) x
            WHERE x->>'subscriber_name' = 'short-secret'), 'se...', 'a short secret is masked to a quarter of it');
SELECT is(event.delete_subscription((SELECT (x->>'subscription_id')::uuid FROM pg_catalog.jsonb_array_elements(event.list_subscriptions()) x
            WHERE x->>'subscriber_name' = 'short-secret'))->>'webhook_secret', 'se...', 'delete: masked');
SELECT throws_ok($$SELECT event.create_subscription('x', 'http://h/', max_attempts => 0)$$, '22023',
                 'invalid max_attempts "0"', 'max_attempts 0');
SELECT throws_ok($$SELECT event.create_subscription('x', 'http://h/', backoff_base_ms => 500, backoff_max_ms => 100)$$,
                 '22023', 'invalid backoff_max_ms "100"', 'backoff cap below the base');

-- Delete.
SELECT is(event.delete_subscription((pg_temp.s()->>'subscription_id')::uuid)->>'subscriber_name', 'billing',
          'delete returns the subscription');
SELECT throws_ok(format('SELECT event.delete_subscription(%L)', pg_temp.s()->>'subscription_id'), 'P0002',
                 format('subscription "%s" does not exist', pg_temp.s()->>'subscription_id'), 'delete again: P0002');

-- Delivery records (written by the sidecar in batches).
CREATE TEMP TABLE d52 (a jsonb, d jsonb);
INSERT INTO d52 VALUES (
    '[{"subscription_id": "018f0000-0000-7000-8000-000000000001", "event_id": "018f0000-0000-7000-8000-000000000002", "delivery_id": "d52", "attempt": 1, "status_code": 500, "latency_ms": 1.5, "error": "HTTP 500", "attempted_at": "2026-12-01T00:00:00Z"}, {"subscription_id": "018f0000-0000-7000-8000-000000000001", "event_id": "018f0000-0000-7000-8000-000000000002", "delivery_id": "d52", "attempt": 2, "latency_ms": 3, "error": "timeout", "attempted_at": "2026-12-01T00:00:01Z"}]',
    '[{"delivery_id": "d52", "subscription_id": "018f0000-0000-7000-8000-000000000001", "event_id": "018f0000-0000-7000-8000-000000000002", "stream_sequence": 7, "attempts": 2, "last_error": "timeout", "payload": {"event_id": "018f0000-0000-7000-8000-000000000002"}, "dead_at": "2026-12-01T00:00:01Z"}]');
SELECT is((SELECT event.record_deliveries(a, d) FROM d52), 3, 'record_deliveries: two attempts and a dead letter stored');
SELECT is((SELECT array_agg(coalesce(status_code::text, 'none') || ' ' || error ORDER BY attempt) FROM event.delivery_attempts
           WHERE delivery_id = 'd52'), ARRAY['500 HTTP 500', 'none timeout'], 'attempts: status code (none for a timeout) and error');
SELECT is((SELECT event.record_deliveries('[]', d) FROM d52), 0, 'a dead letter recorded again is kept once');

SELECT * FROM finish();
ROLLBACK;
