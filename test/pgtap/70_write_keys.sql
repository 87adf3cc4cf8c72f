-- 70_write_keys.sql — write keys of the tracking API: event.create_write_key, revoke_write_key,
-- list_write_keys, write_key_hashes (docs/collection.md).
BEGIN;
SELECT plan(22);

CREATE TEMP TABLE t70 AS SELECT event.create_write_key('t70 web') AS k;
CREATE FUNCTION pg_temp.k() RETURNS jsonb LANGUAGE sql AS $$SELECT k FROM t70$$;

SELECT matches(pg_temp.k()->>'secret', '^ewk_[0-9a-f]{64}$', 'secret: ewk_ + 64 hex digits');
SELECT is(pg_temp.k()->>'prefix', left(pg_temp.k()->>'secret', 12), 'prefix: the first 12 characters of the secret');
SELECT is(pg_temp.k()->>'name', 't70 web', 'name returned');
SELECT ok((pg_temp.k()->>'id')::uuid IS NOT NULL AND pg_temp.k() ? 'created_at', 'id and created_at returned');
SELECT is((SELECT secret_hash FROM event.write_keys WHERE prefix = pg_temp.k()->>'prefix'),
          sha256(convert_to(pg_temp.k()->>'secret', 'UTF8')), 'only the SHA-256 of the secret is stored');
SELECT is((SELECT count(*) FROM event.write_keys w, LATERAL jsonb_each_text(to_jsonb(w)) f
           WHERE f.value LIKE '%' || substr(pg_temp.k()->>'secret', 13) || '%')::int, 0, 'the secret is in no column');
SELECT isnt(event.create_write_key('t70 app')->>'secret', pg_temp.k()->>'secret', 'two keys, two secrets');
SELECT is((SELECT count(*) FROM event.list_write_keys() WHERE name LIKE 't70 %')::int, 2, 'list_write_keys lists them');
SELECT is((SELECT count(*) FROM pg_proc p, unnest(p.proargnames) a
           WHERE p.oid = 'event.list_write_keys'::regproc AND a IN ('secret', 'secret_hash'))::int, 0,
          'list_write_keys shows neither hash nor secret');
SELECT is((SELECT h.secret_hash FROM event.write_key_hashes() h WHERE h.prefix = pg_temp.k()->>'prefix' AND NOT h.revoked),
          sha256(convert_to(pg_temp.k()->>'secret', 'UTF8')), 'write_key_hashes: the hash, not revoked');

-- Revocation: by prefix, by id, by the whole secret; idempotent; unknown keys P0002.
SELECT is(event.revoke_write_key(pg_temp.k()->>'prefix')->>'id', pg_temp.k()->>'id', 'revoke by prefix');
SELECT ok((SELECT revoked FROM event.write_key_hashes() WHERE prefix = pg_temp.k()->>'prefix'), 'revoked in write_key_hashes');
SELECT is((SELECT revoked_at FROM event.list_write_keys() WHERE name = 't70 web'),
          (event.revoke_write_key(pg_temp.k()->>'id')->>'revoked_at')::timestamptz,
          'revoke again by id keeps the first revocation time');
SELECT is(event.revoke_write_key((SELECT k->>'secret' FROM t70))->>'prefix', pg_temp.k()->>'prefix',
          'revoke by pasting the whole secret');
SELECT throws_ok($$SELECT event.revoke_write_key('ewk_00000000')$$, 'P0002', 'write key "ewk_00000000" does not exist',
                 'unknown prefix: P0002');
SELECT throws_ok($$SELECT event.revoke_write_key('ewk_')$$, 'P0002', NULL, 'a short prefix: P0002');
SELECT throws_ok($$SELECT event.revoke_write_key('00000000-0000-7000-8000-000000000000')$$, 'P0002', NULL,
                 'unknown id: P0002');
SELECT throws_ok($$SELECT event.revoke_write_key(NULL)$$, '22004', 'key must not be null', 'null key: 22004');

-- Bad names.
SELECT throws_ok($$SELECT event.create_write_key(NULL)$$, '22004', 'name must not be null', 'null name');
SELECT throws_ok($$SELECT event.create_write_key('')$$, '22023', 'invalid write key name', 'empty name');
SELECT throws_ok($$SELECT event.create_write_key(repeat('x', 201))$$, '22023', 'invalid write key name', 'overlong name');

-- Privileges: none of them is callable by PUBLIC.
SELECT is((SELECT count(*) FROM pg_proc p
           WHERE p.pronamespace = 'event'::regnamespace
             AND p.proname IN ('create_write_key', 'revoke_write_key', 'list_write_keys', 'write_key_hashes')
             AND (has_function_privilege('public', p.oid, 'EXECUTE') OR NOT p.prosecdef))::int, 0,
          'write-key functions: SECURITY DEFINER, not executable by PUBLIC');

SELECT * FROM finish();
ROLLBACK;
