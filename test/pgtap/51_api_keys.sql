-- 51_api_keys.sql — event.create_api_key, revoke_api_key, list_api_keys, api_key_hashes.
BEGIN;
SELECT plan(27);

CREATE TEMP TABLE t50 AS SELECT event.create_api_key('t50 all') AS k;
CREATE FUNCTION pg_temp.k() RETURNS jsonb LANGUAGE sql AS $$SELECT k FROM t50$$;

SELECT matches(pg_temp.k()->>'secret', '^evk_[0-9a-f]{64}$', 'secret: evk_ + 64 hex digits');
SELECT is(pg_temp.k()->>'prefix', left(pg_temp.k()->>'secret', 12), 'prefix: the first 12 characters of the secret');
SELECT is(pg_temp.k()->'scopes', '["read", "write", "admin"]'::jsonb, 'all scopes by default');
SELECT is(pg_temp.k()->'rate_limit', 'null'::jsonb, 'no rate limit by default');
SELECT is(pg_temp.k()->>'name', 't50 all', 'name returned');
SELECT is((SELECT secret_hash FROM event.api_keys WHERE prefix = pg_temp.k()->>'prefix'),
          sha256(convert_to(pg_temp.k()->>'secret', 'UTF8')), 'only the SHA-256 of the secret is stored');
SELECT is((SELECT count(*) FROM event.api_keys a, LATERAL jsonb_each_text(to_jsonb(a)) f
           WHERE f.value LIKE '%' || substr(pg_temp.k()->>'secret', 13) || '%')::int, 0,
          'the secret is in no column');
SELECT isnt(event.create_api_key('t50 other')->>'secret', pg_temp.k()->>'secret', 'two keys, two secrets');

SELECT is(event.create_api_key('t50 rw', '{write,read,write}', 5)->'scopes', '["read", "write"]'::jsonb,
          'scopes deduplicated in canonical order');
SELECT is((SELECT rate_limit FROM event.list_api_keys() WHERE name = 't50 rw'), 5, 'rate limit stored');
SELECT is((SELECT count(*) FROM event.list_api_keys() WHERE name LIKE 't50 %')::int, 3, 'list_api_keys lists them');
SELECT hasnt_column('event', 'api_keys', 'secret', 'no secret column');
SELECT is((SELECT count(*) FROM pg_proc p, unnest(p.proargnames) a
           WHERE p.oid = 'event.list_api_keys'::regproc AND a IN ('secret', 'secret_hash'))::int, 0,
          'list_api_keys shows neither hash nor secret');

-- Bad input.
SELECT throws_ok($$SELECT event.create_api_key('t50 bad', '{read,foo}')$$, '22023', 'invalid scope "foo"',
                 'unknown scope: 22023');
SELECT throws_ok($$SELECT event.create_api_key('t50 bad', '{}')$$, '22023', 'scopes must not be empty', 'empty scopes');
SELECT throws_ok($$SELECT event.create_api_key('t50 bad', '{read,NULL}')$$, '22004', 'scopes must not contain null',
                 'null scope');
SELECT throws_ok($$SELECT event.create_api_key('t50 bad', NULL)$$, '22004', 'scopes must not be null', 'null scopes');
SELECT throws_ok($$SELECT event.create_api_key(NULL)$$, '22004', 'name must not be null', 'null name');
SELECT throws_ok($$SELECT event.create_api_key('')$$, '22023', 'invalid API key name', 'empty name');
SELECT throws_ok($$SELECT event.create_api_key(repeat('x', 201))$$, '22023', 'invalid API key name', 'overlong name');
SELECT throws_ok($$SELECT event.create_api_key('t50 bad', '{read}', 0)$$, '22023', 'invalid rate_limit "0"',
                 'rate limit 0');

-- Revocation, by prefix, by id, by the whole secret; unknown keys.
SELECT isnt(event.revoke_api_key(pg_temp.k()->>'prefix')->>'revoked_at', NULL, 'revoke by prefix');
SELECT is((SELECT revoked FROM event.api_key_hashes() WHERE prefix = pg_temp.k()->>'prefix'), true,
          'api_key_hashes shows it revoked');
SELECT is(event.revoke_api_key(pg_temp.k()->>'id')->>'revoked_at',
          (SELECT to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM event.api_keys
           WHERE prefix = pg_temp.k()->>'prefix'), 'revoke again by id: idempotent, first time kept');
SELECT is((SELECT event.revoke_api_key(k->>'secret')->>'name' FROM (SELECT event.create_api_key('t50 leaked') k) x),
          't50 leaked', 'revoke by pasting the whole secret (matched by its prefix)');
SELECT throws_ok($$SELECT event.revoke_api_key('evk_00000000')$$, 'P0002', 'API key "evk_00000000" does not exist',
                 'unknown prefix');
SELECT throws_ok($$SELECT event.revoke_api_key('evk_0')$$, 'P0002', 'API key "evk_0" does not exist',
                 'a part of a prefix is no key');

SELECT * FROM finish();
ROLLBACK;
