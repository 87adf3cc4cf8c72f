-- event 0.1.0 -> 0.2.0: upgrade script (ALTER EXTENSION event UPDATE TO '0.2.0').
-- Every change of the 0.2.0 cycle to sql/event--0.2.0.sql is made here too, so that an updated
-- database has exactly the catalog of a fresh 0.2.0 install (test/upgrade/01_update.sh).

\echo Use "ALTER EXTENSION event UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------------
-- API keys of the HTTP API (0.2.0). Only a SHA-256 hash of each secret is stored; the sidecar
-- caches the hashes (event.api_key_hashes) and checks keys without a query per request.
------------------------------------------------------------------------------

CREATE TABLE event.api_keys (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (name <> '' AND length(name) <= 200),
    prefix      text        NOT NULL UNIQUE,
    secret_hash bytea       NOT NULL CHECK (length(secret_hash) = 32),
    scopes      text[]      NOT NULL CHECK (scopes <> '{}' AND scopes <@ '{read,write,admin}'),
    rate_limit  integer     CHECK (rate_limit > 0),
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
COMMENT ON TABLE event.api_keys IS 'API keys of the HTTP API: display/lookup prefix, SHA-256 of the secret (never the secret), scopes, per-second rate limit';
SELECT pg_catalog.pg_extension_config_dump('event.api_keys', '');

CREATE FUNCTION event.create_api_key(name text, scopes text[] DEFAULT '{read,write,admin}', rate_limit integer DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_create_api_key' LANGUAGE C VOLATILE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.create_api_key(text, text[], integer) IS 'Create an API key; returns {"id", "name", "prefix", "secret", "scopes", "rate_limit", "created_at"}: the secret is shown only here';
REVOKE ALL ON FUNCTION event.create_api_key(text, text[], integer) FROM PUBLIC;

CREATE FUNCTION event.revoke_api_key(key text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_revoke_api_key' LANGUAGE C VOLATILE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.revoke_api_key(text) IS 'Revoke an API key by id or prefix (idempotent); returns the key as event.list_api_keys shows it';
REVOKE ALL ON FUNCTION event.revoke_api_key(text) FROM PUBLIC;

CREATE FUNCTION event.list_api_keys()
    RETURNS TABLE (id uuid, name text, prefix text, scopes text[], rate_limit integer,
                   created_at timestamptz, revoked_at timestamptz)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
    AS $$SELECT k.id, k.name, k.prefix, k.scopes, k.rate_limit, k.created_at, k.revoked_at
          FROM event.api_keys k ORDER BY k.created_at, k.id$$;
COMMENT ON FUNCTION event.list_api_keys() IS 'Every API key, without its hash';
REVOKE ALL ON FUNCTION event.list_api_keys() FROM PUBLIC;

CREATE FUNCTION event.api_key_hashes()
    RETURNS TABLE (id uuid, prefix text, secret_hash bytea, scopes text[], rate_limit integer, revoked boolean)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
    AS $$SELECT k.id, k.prefix, k.secret_hash, k.scopes, k.rate_limit, k.revoked_at IS NOT NULL
          FROM event.api_keys k$$;
COMMENT ON FUNCTION event.api_key_hashes() IS 'For the sidecar''s key cache: id, prefix, SHA-256 of the secret, scopes, rate limit, revoked';
REVOKE ALL ON FUNCTION event.api_key_hashes() FROM PUBLIC;
