-- event 0.2.0: install script.
-- Tables and declarations only; every function is C++ in extension/ (see docs/architecture.md).

\echo Use "CREATE EXTENSION event" to load this file. \quit

------------------------------------------------------------------------------
-- Allowed values for event_source and event_category (spec 9.1, 9.2).
------------------------------------------------------------------------------

CREATE TABLE event.event_sources (
    name       text PRIMARY KEY,
    builtin    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE event.event_sources IS 'Allowed event_source values; add more with event.add_source(name)';

CREATE TABLE event.event_categories (
    name       text PRIMARY KEY,
    group_name text NOT NULL DEFAULT 'custom',
    builtin    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE event.event_categories IS 'Allowed event_category values; add more with event.add_category(name)';

INSERT INTO event.event_sources (name, builtin) VALUES
    ('frontend', true), ('backend', true), ('system', true),
    ('iot_device', true), ('external_api', true), ('scheduled', true);

INSERT INTO event.event_categories (name, group_name, builtin) VALUES
    ('user_action', 'user_actions', true), ('page_view', 'user_actions', true),
    ('form_submit', 'user_actions', true), ('click', 'user_actions', true),
    ('user_lifecycle', 'business', true), ('payment', 'business', true),
    ('order', 'business', true), ('task', 'business', true),
    ('system', 'system', true), ('security', 'system', true),
    ('performance', 'system', true), ('error', 'system', true),
    ('device', 'iot', true), ('device_status', 'iot', true), ('telemetry', 'iot', true),
    ('command', 'iot', true), ('alert', 'iot', true);

------------------------------------------------------------------------------
-- Events: immutable, partitioned by event_id (UUIDv7 = creation time), so a
-- partition is a time range, get-by-id prunes to one partition and the primary
-- key is enforceable across partitions.
------------------------------------------------------------------------------

CREATE SEQUENCE event.events_position_seq AS bigint CACHE 1;
COMMENT ON SEQUENCE event.events_position_seq IS 'Global event order; catch-up readers use event.safe_position(), never last_value';

CREATE TABLE event.events (
    event_id        uuid        NOT NULL,
    position        bigint      NOT NULL,
    event_type      text        NOT NULL,
    event_source    text        NOT NULL,
    event_category  text        NOT NULL,
    user_id         text,
    stream_id       text COLLATE "C",
    stream_version  bigint,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    context         jsonb       NOT NULL,
    idempotency_key text,
    "timestamp"     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (event_id),
    CONSTRAINT events_stream_check CHECK ((stream_id IS NULL) = (stream_version IS NULL))
) PARTITION BY RANGE (event_id);
COMMENT ON TABLE event.events IS 'Immutable event log, partitioned by UUIDv7 event_id (monthly); write with event.create_event*';

CREATE INDEX events_position_idx ON event.events (position);
-- (stream_id, stream_version): a unique index on each partition (see "Least privilege" below).
CREATE INDEX events_category_idx ON event.events (split_part(stream_id, ':', 1), position) WHERE stream_id IS NOT NULL;
CREATE INDEX events_user_idx ON event.events (user_id, "timestamp") WHERE user_id IS NOT NULL;
CREATE INDEX events_type_idx ON event.events (event_type, "timestamp");
CREATE INDEX events_timestamp_idx ON event.events ("timestamp");

-- Processing status beside the event (absent row = pending), same partitioning.
CREATE TABLE event.event_status (
    event_id      uuid        NOT NULL,
    status        text        NOT NULL,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text,
    processing_ms double precision,
    processed_at  timestamptz,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT event_status_pkey PRIMARY KEY (event_id),
    CONSTRAINT event_status_status_check
        CHECK (status IN ('pending', 'processing', 'processed', 'failed', 'archived'))
) PARTITION BY RANGE (event_id);
COMMENT ON TABLE event.event_status IS 'Processing status per event; an event without a row here is pending';
CREATE INDEX event_status_status_idx ON event.event_status (status);

-- One row per stream: the serialisation point for expected-version appends
-- and the global uniqueness of (stream_id, stream_version).
CREATE TABLE event.event_streams (
    stream_id     text COLLATE "C" PRIMARY KEY,
    entity_type   text        NOT NULL,
    entity_id     text        NOT NULL,
    version       bigint      NOT NULL,
    last_event_id uuid        NOT NULL,
    last_position bigint      NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
) WITH (fillfactor = 80);
COMMENT ON TABLE event.event_streams IS 'Stream heads: current version per stream_id ({entity_type}:{entity_id})';
CREATE INDEX event_streams_entity_type_idx ON event.event_streams (entity_type, entity_id);

-- Global uniqueness of idempotency keys across partitions.
CREATE TABLE event.idempotency_keys (
    idempotency_key text PRIMARY KEY,
    event_id        uuid        NOT NULL,
    created_at      timestamptz NOT NULL
);
COMMENT ON TABLE event.idempotency_keys IS 'idempotency_key -> original event_id';

------------------------------------------------------------------------------
-- Statistics (issue 14, storea): derived from the committed log, off the write path.
-- stat_rollup counts every event with position <= stat_watermark.position (all
-- final: at or below the catch-up horizon); readers add the tail above it.
-- update_status inserts stat_deltas rows in the caller's transaction; a fold
-- moves them into the rollup. See extension/pg/counters.hpp.
------------------------------------------------------------------------------

CREATE TABLE event.stat_rollup (
    dimension text COLLATE "C" NOT NULL,
    key       text COLLATE "C" NOT NULL,
    n         numeric NOT NULL,
    CONSTRAINT stat_rollup_pkey PRIMARY KEY (dimension, key)
);
COMMENT ON TABLE event.stat_rollup IS 'Statistics of the events up to event.stat_watermark, per dimension and key (day: YYYY-MM-DD, UTC)';
CREATE INDEX stat_rollup_top_idx ON event.stat_rollup (dimension, n DESC, key);

CREATE TABLE event.stat_watermark (
    id       boolean PRIMARY KEY CHECK (id),
    position bigint  NOT NULL
);
COMMENT ON TABLE event.stat_watermark IS 'At most one row: events with position <= it are counted in event.stat_rollup (no row: 0)';

CREATE TABLE event.stat_deltas (
    dimension text COLLATE "C" NOT NULL,
    key       text COLLATE "C" NOT NULL,
    n         numeric NOT NULL
);
COMMENT ON TABLE event.stat_deltas IS 'Status changes not yet folded into event.stat_rollup';

------------------------------------------------------------------------------
-- UUIDv7 helpers and partitions.
------------------------------------------------------------------------------

CREATE FUNCTION event.uuid_v7() RETURNS uuid
    AS 'MODULE_PATHNAME', 'event_uuid_v7' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION event.uuid_v7() IS 'A new UUIDv7, monotonic within the session';

CREATE FUNCTION event.uuid_v7_floor(ts timestamptz) RETURNS uuid
    AS 'MODULE_PATHNAME', 'event_uuid_v7_floor' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION event.uuid_v7_floor(timestamptz) IS 'Smallest UUIDv7 of the millisecond of ts (partition bounds, time-range pruning)';

CREATE FUNCTION event.uuid_v7_time(id uuid) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'event_uuid_v7_time' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION event.uuid_v7_time(uuid) IS 'Creation time embedded in a UUIDv7';

CREATE FUNCTION event.create_partitions(through timestamptz DEFAULT now() + interval '2 months') RETURNS integer
    AS 'MODULE_PATHNAME', 'event_create_partitions' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.create_partitions(timestamptz) IS 'Create the monthly partitions of event.events and event.event_status from the current month through the given time; returns how many were created';

------------------------------------------------------------------------------
-- Writing events.
------------------------------------------------------------------------------

CREATE FUNCTION event.create_event(
    event_type      text,
    data            jsonb       DEFAULT '{}',
    event_source    text        DEFAULT 'backend',
    event_category  text        DEFAULT 'user_action',
    user_id         text        DEFAULT NULL,
    stream_id       text        DEFAULT NULL,
    expected_version bigint     DEFAULT NULL,
    metadata        jsonb       DEFAULT '{}',
    context         jsonb       DEFAULT '{}',
    "timestamp"     timestamptz DEFAULT NULL,
    idempotency_key text        DEFAULT NULL
) RETURNS event.events
    AS 'MODULE_PATHNAME', 'event_create_event' LANGUAGE C VOLATILE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.create_event(text, jsonb, text, text, text, text, bigint, jsonb, jsonb, timestamptz, text)
    IS 'Store one event in the caller''s transaction and return it; expected_version: NULL any, 0 no stream, n exact';

CREATE FUNCTION event.create_event_json(request jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_create_event_json' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.create_event_json(jsonb) IS 'Store one event from an EventCreateRequest object; returns an EventResponse';

CREATE FUNCTION event.create_events(requests jsonb, atomic boolean DEFAULT true) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_create_events' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.create_events(jsonb, boolean) IS 'Store a batch (jsonb array of EventCreateRequest); atomic by default, per-item results in request order when atomic is false';

CREATE FUNCTION event.append_to_stream(stream_id text, events jsonb, expected_version bigint DEFAULT NULL)
    RETURNS SETOF event.events
    AS 'MODULE_PATHNAME', 'event_append_to_stream' LANGUAGE C VOLATILE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.append_to_stream(text, jsonb, bigint) IS 'Append events to one stream if its version is expected_version (NULL any, 0 no stream); raises EV001 otherwise';

------------------------------------------------------------------------------
-- Reading events.
------------------------------------------------------------------------------

CREATE FUNCTION event.get_event(event_id uuid) RETURNS event.events
    AS 'MODULE_PATHNAME', 'event_get_event' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.get_event(uuid) IS 'The event with this id, or NULL';

CREATE FUNCTION event.get_event_json(event_id uuid) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_get_event_json' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.get_event_json(uuid) IS 'EventResponse of the event with this id, or NULL';

CREATE FUNCTION event.query_events(
    user_id        text        DEFAULT NULL,
    event_type     text        DEFAULT NULL,
    event_source   text        DEFAULT NULL,
    event_category text        DEFAULT NULL,
    status         text        DEFAULT NULL,
    start_time     timestamptz DEFAULT NULL,
    end_time       timestamptz DEFAULT NULL,
    "limit"        integer     DEFAULT 100,
    "offset"       integer     DEFAULT 0
) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_query_events' LANGUAGE C VOLATILE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.query_events(text, text, text, text, text, timestamptz, timestamptz, integer, integer)
    IS 'Filtered events, newest first: {"events": [...], "total": n, "limit": l, "offset": o, "has_more": b}';

CREATE FUNCTION event.query_events_json(request jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_query_events_json' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.query_events_json(jsonb) IS 'event.query_events from an EventQueryRequest object';

CREATE FUNCTION event.query_events_text(request jsonb) RETURNS json
    AS 'MODULE_PATHNAME', 'event_query_events_text' LANGUAGE C VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.query_events_text(jsonb) IS 'event.query_events_json as json text, written as it is built (what the HTTP API sends)';
REVOKE EXECUTE ON FUNCTION event.query_events_text(jsonb) FROM PUBLIC;

CREATE FUNCTION event.read_stream(stream_id text, from_version bigint DEFAULT 1, max_count integer DEFAULT 1000)
    RETURNS SETOF event.events
    AS 'MODULE_PATHNAME', 'event_read_stream' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.read_stream(text, bigint, integer) IS 'Events of one stream from a version, in version order';

CREATE FUNCTION event.get_stream_json(stream_id text, from_version bigint DEFAULT 1) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_get_stream_json' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.get_stream_json(text, bigint) IS 'Stream metadata and its events from a version (spec 3.5.1)';

CREATE FUNCTION event.safe_position() RETURNS bigint
    AS 'MODULE_PATHNAME', 'event_safe_position' LANGUAGE C VOLATILE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.safe_position() IS 'Highest position below which every event is committed or rolled back: the catch-up horizon';

CREATE FUNCTION event.read_all(after_position bigint DEFAULT 0, max_count integer DEFAULT 1000)
    RETURNS SETOF event.events
    AS 'MODULE_PATHNAME', 'event_read_all' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.read_all(bigint, integer) IS 'Catch-up read of all events after a position, in position order, never past the safe position';

CREATE FUNCTION event.read_category(entity_type text, after_position bigint DEFAULT 0, max_count integer DEFAULT 1000)
    RETURNS SETOF event.events
    AS 'MODULE_PATHNAME', 'event_read_category' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.read_category(text, bigint, integer) IS 'Catch-up read of the events of every stream of one entity_type, in position order';

------------------------------------------------------------------------------
-- Status and statistics.
------------------------------------------------------------------------------

CREATE FUNCTION event.update_status(event_id uuid, status text, error text DEFAULT NULL,
                                    processing_ms double precision DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_update_status' LANGUAGE C VOLATILE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.update_status(uuid, text, text, double precision) IS 'Set the processing status of an event (pending, processing, processed, failed, archived); returns the EventResponse';

CREATE FUNCTION event.get_statistics() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_get_statistics' LANGUAGE C VOLATILE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.get_statistics() IS 'EventStatistics (spec 3.2.3): the statistics rollup plus the events above its watermark';

CREATE FUNCTION event.compact_statistics() RETURNS bigint
    AS 'MODULE_PATHNAME', 'event_compact_statistics' LANGUAGE C VOLATILE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.compact_statistics() IS 'Fold the committed events up to the catch-up horizon and the status deltas into the statistics rollup; returns the events folded';

------------------------------------------------------------------------------
-- Administration.
------------------------------------------------------------------------------

CREATE FUNCTION event.add_source(name text) RETURNS void
    AS 'MODULE_PATHNAME', 'event_add_source' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.add_source(text) IS 'Allow a new event_source value';

CREATE FUNCTION event.add_category(name text, group_name text DEFAULT 'custom') RETURNS void
    AS 'MODULE_PATHNAME', 'event_add_category' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.add_category(text, text) IS 'Allow a new event_category value';

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
REVOKE ALL ON TABLE event.api_keys FROM PUBLIC;

CREATE FUNCTION event.create_api_key(name text, scopes text[] DEFAULT '{read,write,admin}', rate_limit integer DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_create_api_key' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.create_api_key(text, text[], integer) IS 'Create an API key; returns {"id", "name", "prefix", "secret", "scopes", "rate_limit", "created_at"}: the secret is shown only here';
REVOKE ALL ON FUNCTION event.create_api_key(text, text[], integer) FROM PUBLIC;

CREATE FUNCTION event.revoke_api_key(key text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_revoke_api_key' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.revoke_api_key(text) IS 'Revoke an API key by id or prefix (idempotent); returns the key as event.list_api_keys shows it';
REVOKE ALL ON FUNCTION event.revoke_api_key(text) FROM PUBLIC;

CREATE FUNCTION event.list_api_keys()
    RETURNS TABLE (id uuid, name text, prefix text, scopes text[], rate_limit integer,
                   created_at timestamptz, revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT k.id, k.name, k.prefix, k.scopes, k.rate_limit, k.created_at, k.revoked_at
          FROM event.api_keys k ORDER BY k.created_at, k.id$$;
COMMENT ON FUNCTION event.list_api_keys() IS 'Every API key, without its hash';
REVOKE ALL ON FUNCTION event.list_api_keys() FROM PUBLIC;

CREATE FUNCTION event.api_key_hashes()
    RETURNS TABLE (id uuid, prefix text, secret_hash bytea, scopes text[], rate_limit integer, revoked boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT k.id, k.prefix, k.secret_hash, k.scopes, k.rate_limit, k.revoked_at IS NOT NULL
          FROM event.api_keys k$$;
COMMENT ON FUNCTION event.api_key_hashes() IS 'For the sidecar''s key cache: id, prefix, SHA-256 of the secret, scopes, rate limit, revoked';
REVOKE ALL ON FUNCTION event.api_key_hashes() FROM PUBLIC;

------------------------------------------------------------------------------
-- Webhook subscriptions (0.2.0, issue 15; docs/sql-api.md "Subscriptions"). The secrets are
-- stored in full because the sidecar signs each delivery with them (a hash could not sign);
-- only create and rotate return them, list shows them masked.
------------------------------------------------------------------------------

CREATE TABLE event.event_subscriptions (
    id               uuid        PRIMARY KEY,
    subscriber_name  text        NOT NULL CHECK (subscriber_name <> '' AND length(subscriber_name) <= 200),
    subscriber_type  text        NOT NULL CHECK (subscriber_type IN ('webhook', 'service')),
    callback_url     text        NOT NULL CHECK (callback_url ~ '^https?://[^/:?#]'),
    event_types      text[]      NOT NULL,
    event_sources    text[]      NOT NULL,
    event_categories text[]      NOT NULL,
    webhook_secret   text        NOT NULL,
    previous_secret  text,
    max_attempts     integer     NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    backoff_base_ms  integer     NOT NULL CHECK (backoff_base_ms > 0),
    backoff_max_ms   integer     NOT NULL CHECK (backoff_max_ms >= backoff_base_ms),
    active           boolean     NOT NULL,
    created_at       timestamptz NOT NULL
);
COMMENT ON TABLE event.event_subscriptions IS 'Webhook subscriptions: filters (empty = all; event types exact or prefix.*), callback URL, signing secrets (current and previous during rotation), retry policy';
SELECT pg_catalog.pg_extension_config_dump('event.event_subscriptions', '');
REVOKE ALL ON TABLE event.event_subscriptions FROM PUBLIC;

CREATE FUNCTION event.create_subscription(
    subscriber_name  text,
    callback_url     text,
    event_types      text[]  DEFAULT '{}',
    event_sources    text[]  DEFAULT '{}',
    event_categories text[]  DEFAULT '{}',
    subscriber_type  text    DEFAULT 'webhook',
    webhook_secret   text    DEFAULT NULL,
    max_attempts     integer DEFAULT 5,
    backoff_base_ms  integer DEFAULT 1000,
    backoff_max_ms   integer DEFAULT 60000
) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_create_subscription' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.create_subscription(text, text, text[], text[], text[], text, text, integer, integer, integer) IS 'Create a webhook subscription (NULL secret: a whsec_ one is generated); stores an event.subscription.created event; returns the subscription with its secret, shown only here';
REVOKE ALL ON FUNCTION event.create_subscription(text, text, text[], text[], text[], text, text, integer, integer, integer) FROM PUBLIC;

CREATE FUNCTION event.list_subscriptions() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_list_subscriptions' LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.list_subscriptions() IS 'Every subscription as a jsonb array, oldest first, secrets masked';
REVOKE ALL ON FUNCTION event.list_subscriptions() FROM PUBLIC;

CREATE FUNCTION event.delete_subscription(subscription_id uuid) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_delete_subscription' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.delete_subscription(uuid) IS 'Delete a subscription (its deliveries stop); returns it as list_subscriptions shows it; unknown id: P0002';
REVOKE ALL ON FUNCTION event.delete_subscription(uuid) FROM PUBLIC;

CREATE FUNCTION event.rotate_subscription_secret(subscription_id uuid, new_secret text DEFAULT NULL,
                                                 drop_previous boolean DEFAULT false) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_rotate_subscription_secret' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.rotate_subscription_secret(uuid, text, boolean) IS 'New signing secret (NULL: generated); the old one stays valid as previous_secret (both signatures sent) unless drop_previous; returns the new secret, shown only here';
REVOKE ALL ON FUNCTION event.rotate_subscription_secret(uuid, text, boolean) FROM PUBLIC;

CREATE FUNCTION event.subscriptions_for_delivery()
    RETURNS TABLE (id uuid, callback_url text, event_types text[], event_sources text[], event_categories text[],
                   webhook_secret text, previous_secret text, max_attempts integer, backoff_base_ms integer,
                   backoff_max_ms integer, created_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT s.id, s.callback_url, s.event_types, s.event_sources, s.event_categories, s.webhook_secret,
                s.previous_secret, s.max_attempts, s.backoff_base_ms, s.backoff_max_ms, s.created_at
          FROM event.event_subscriptions s WHERE s.active ORDER BY s.id$$;
COMMENT ON FUNCTION event.subscriptions_for_delivery() IS 'For the sidecar''s delivery: the active subscriptions with their secrets in full';
REVOKE ALL ON FUNCTION event.subscriptions_for_delivery() FROM PUBLIC;

------------------------------------------------------------------------------
-- Webhook delivery records (0.2.0, issue 15; docs/sidecar.md "Webhook delivery"). The delivery
-- state itself (pending, redelivery, ack floor) is the subscription's durable JetStream consumer;
-- PostgreSQL keeps the history of attempts and the dead letters, written by the sidecar in
-- batches off the delivery path.
------------------------------------------------------------------------------

CREATE TABLE event.delivery_attempts (
    subscription_id uuid             NOT NULL,
    event_id        uuid             NOT NULL,
    delivery_id     text             NOT NULL,
    attempt         integer          NOT NULL CHECK (attempt > 0),
    status_code     integer,
    latency_ms      double precision NOT NULL,
    error           text,
    attempted_at    timestamptz      NOT NULL
);
COMMENT ON TABLE event.delivery_attempts IS 'Every webhook delivery attempt: HTTP status (NULL when none came back), latency, error';
CREATE INDEX delivery_attempts_subscription_idx ON event.delivery_attempts (subscription_id, attempted_at);
CREATE INDEX delivery_attempts_event_idx ON event.delivery_attempts (event_id);
SELECT pg_catalog.pg_extension_config_dump('event.delivery_attempts', '');
REVOKE ALL ON TABLE event.delivery_attempts FROM PUBLIC;

CREATE TABLE event.delivery_dead_letters (
    delivery_id      text        PRIMARY KEY,
    subscription_id  uuid        NOT NULL,
    event_id         uuid        NOT NULL,
    stream_sequence  bigint      NOT NULL,
    attempts         integer     NOT NULL,
    last_status_code integer,
    last_error       text,
    payload          jsonb       NOT NULL,
    dead_at          timestamptz NOT NULL
);
COMMENT ON TABLE event.delivery_dead_letters IS 'Deliveries given up after the subscription''s max_attempts (the JetStream message was terminated)';
CREATE INDEX delivery_dead_letters_subscription_idx ON event.delivery_dead_letters (subscription_id, dead_at);
SELECT pg_catalog.pg_extension_config_dump('event.delivery_dead_letters', '');
REVOKE ALL ON TABLE event.delivery_dead_letters FROM PUBLIC;

CREATE FUNCTION event.record_deliveries(attempts jsonb, dead_letters jsonb DEFAULT '[]') RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$WITH a AS (
              INSERT INTO event.delivery_attempts (subscription_id, event_id, delivery_id, attempt, status_code,
                                                   latency_ms, error, attempted_at)
              SELECT x.subscription_id, x.event_id, x.delivery_id, x.attempt, x.status_code, x.latency_ms, x.error,
                     x.attempted_at
              FROM pg_catalog.jsonb_to_recordset(attempts) AS x(subscription_id uuid, event_id uuid, delivery_id text,
                   attempt integer, status_code integer, latency_ms double precision, error text,
                   attempted_at timestamptz)
              RETURNING 1),
          d AS (
              INSERT INTO event.delivery_dead_letters (delivery_id, subscription_id, event_id, stream_sequence,
                                                       attempts, last_status_code, last_error, payload, dead_at)
              SELECT x.delivery_id, x.subscription_id, x.event_id, x.stream_sequence, x.attempts, x.last_status_code,
                     x.last_error, x.payload, x.dead_at
              FROM pg_catalog.jsonb_to_recordset(dead_letters) AS x(delivery_id text, subscription_id uuid,
                   event_id uuid, stream_sequence bigint, attempts integer, last_status_code integer,
                   last_error text, payload jsonb, dead_at timestamptz)
              ON CONFLICT (delivery_id) DO NOTHING
              RETURNING 1)
          SELECT (SELECT pg_catalog.count(*) FROM a)::integer + (SELECT pg_catalog.count(*) FROM d)::integer$$;
COMMENT ON FUNCTION event.record_deliveries(jsonb, jsonb) IS 'For the sidecar: stores a batch of delivery attempts and dead letters (a dead letter recorded again is kept once); returns the rows stored';
REVOKE ALL ON FUNCTION event.record_deliveries(jsonb, jsonb) FROM PUBLIC;

------------------------------------------------------------------------------
-- Immutability and cache invalidation triggers.
------------------------------------------------------------------------------

CREATE FUNCTION event.forbid_event_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'event_forbid_event_change' LANGUAGE C;
COMMENT ON FUNCTION event.forbid_event_change() IS 'Trigger: stored events are immutable';

CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON event.events
    FOR EACH ROW EXECUTE FUNCTION event.forbid_event_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON event.events
    FOR EACH STATEMENT EXECUTE FUNCTION event.forbid_event_change();

CREATE FUNCTION event.invalidate_value_cache() RETURNS trigger
    AS 'MODULE_PATHNAME', 'event_invalidate_value_cache' LANGUAGE C;
COMMENT ON FUNCTION event.invalidate_value_cache() IS 'Trigger: tell every session that allowed sources/categories changed';

CREATE TRIGGER event_sources_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event.event_sources
    FOR EACH STATEMENT EXECUTE FUNCTION event.invalidate_value_cache();
CREATE TRIGGER event_categories_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event.event_categories
    FOR EACH STATEMENT EXECUTE FUNCTION event.invalidate_value_cache();

-- Back up user data with pg_dump.
SELECT pg_catalog.pg_extension_config_dump('event.event_sources', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('event.event_categories', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('event.event_streams', '');
SELECT pg_catalog.pg_extension_config_dump('event.idempotency_keys', '');
SELECT pg_catalog.pg_extension_config_dump('event.stat_rollup', '');
SELECT pg_catalog.pg_extension_config_dump('event.stat_watermark', '');
SELECT pg_catalog.pg_extension_config_dump('event.stat_deltas', '');
SELECT pg_catalog.pg_extension_config_dump('event.events_position_seq', '');

-- No partition is created here on purpose: a table created by this script would be a member of
-- the extension, and pg_dump does not dump the rows of member tables, so the events of those
-- months would be missing from every backup (and a restore in another month would create other
-- partitions). Partitions are created by event.create_partitions() (run it after CREATE
-- EXTENSION and monthly) or, as a safety net, by the append path on the first write of a month;
-- either way they are ordinary tables that pg_dump dumps and restores with ATTACH PARTITION.

------------------------------------------------------------------------------
-- Least privilege (0.2.0; docs/sql-api.md "Privileges"). The write path is the only way to
-- write events, stream heads, idempotency keys and counters: every function that touches a
-- table runs as the extension's owner (SECURITY DEFINER, search_path fixed to pg_catalog), no
-- table or sequence is granted to anyone, and EXECUTE is granted by the administrator per role
-- (recipes in docs/sql-api.md). Only the pure UUIDv7 helpers stay callable by PUBLIC.
------------------------------------------------------------------------------

REVOKE ALL ON TABLE event.events, event.event_status, event.event_streams, event.idempotency_keys,
    event.stat_rollup, event.stat_watermark, event.stat_deltas, event.event_sources, event.event_categories FROM PUBLIC;
REVOKE ALL ON SEQUENCE event.events_position_seq FROM PUBLIC;

ALTER FUNCTION event.create_partitions(timestamptz) SECURITY DEFINER;
ALTER FUNCTION event.create_event(text, jsonb, text, text, text, text, bigint, jsonb, jsonb, timestamptz, text) SECURITY DEFINER;
ALTER FUNCTION event.create_event_json(jsonb) SECURITY DEFINER;
ALTER FUNCTION event.create_events(jsonb, boolean) SECURITY DEFINER;
ALTER FUNCTION event.append_to_stream(text, jsonb, bigint) SECURITY DEFINER;
ALTER FUNCTION event.get_event(uuid) SECURITY DEFINER;
ALTER FUNCTION event.get_event_json(uuid) SECURITY DEFINER;
ALTER FUNCTION event.query_events(text, text, text, text, text, timestamptz, timestamptz, integer, integer) SECURITY DEFINER;
ALTER FUNCTION event.query_events_json(jsonb) SECURITY DEFINER;
ALTER FUNCTION event.read_stream(text, bigint, integer) SECURITY DEFINER;
ALTER FUNCTION event.get_stream_json(text, bigint) SECURITY DEFINER;
ALTER FUNCTION event.safe_position() SECURITY DEFINER;
ALTER FUNCTION event.read_all(bigint, integer) SECURITY DEFINER;
ALTER FUNCTION event.read_category(text, bigint, integer) SECURITY DEFINER;
ALTER FUNCTION event.update_status(uuid, text, text, double precision) SECURITY DEFINER;
ALTER FUNCTION event.get_statistics() SECURITY DEFINER;
ALTER FUNCTION event.compact_statistics() SECURITY DEFINER;
-- A NULL name or group_name is an error (22004), not a silent no-op.
ALTER FUNCTION event.add_source(text) SECURITY DEFINER CALLED ON NULL INPUT;
ALTER FUNCTION event.add_category(text, text) SECURITY DEFINER CALLED ON NULL INPUT;

-- Writers, readers and administrators get EXECUTE explicitly; PUBLIC keeps only the UUIDv7 helpers.
REVOKE EXECUTE ON FUNCTION
    event.create_partitions(timestamptz),
    event.create_event(text, jsonb, text, text, text, text, bigint, jsonb, jsonb, timestamptz, text),
    event.create_event_json(jsonb),
    event.create_events(jsonb, boolean),
    event.append_to_stream(text, jsonb, bigint),
    event.get_event(uuid),
    event.get_event_json(uuid),
    event.query_events(text, text, text, text, text, timestamptz, timestamptz, integer, integer),
    event.query_events_json(jsonb),
    event.read_stream(text, bigint, integer),
    event.get_stream_json(text, bigint),
    event.safe_position(),
    event.read_all(bigint, integer),
    event.read_category(text, bigint, integer),
    event.update_status(uuid, text, text, double precision),
    event.get_statistics(),
    event.compact_statistics(),
    event.add_source(text),
    event.add_category(text, text),
    event.forbid_event_change(),
    event.invalidate_value_cache()
FROM PUBLIC;

COMMENT ON FUNCTION event.safe_position() IS 'Internal (EXECUTE not granted by default): the catch-up horizon; use read_all/read_category, which take their snapshot after computing it';

------------------------------------------------------------------------------
-- Plain INSERT or COPY into event.events is refused (EV004) with the function to use; the
-- write path's own insert passes. Statement level: one call per statement.
------------------------------------------------------------------------------

CREATE FUNCTION event.refuse_direct_insert() RETURNS trigger
    AS 'MODULE_PATHNAME', 'event_refuse_direct_insert' LANGUAGE C;
COMMENT ON FUNCTION event.refuse_direct_insert() IS 'Trigger: events are stored only through event.create_event*, event.append_to_stream';
REVOKE EXECUTE ON FUNCTION event.refuse_direct_insert() FROM PUBLIC;
CREATE TRIGGER events_insert_via_functions BEFORE INSERT ON event.events
    FOR EACH STATEMENT EXECUTE FUNCTION event.refuse_direct_insert();

------------------------------------------------------------------------------
-- (stream_id, stream_version) is unique per partition: each partition gets a unique index when
-- it is created (extension/pg/partitions.cpp); a unique index on the partitioned parent would
-- have to contain the partition key.
------------------------------------------------------------------------------
-- Test-only functions (_guard_test, _guard_leak_test) live in the event_test extension
-- (extension/test/), which only the test harness creates.


------------------------------------------------------------------------------
-- Processors, processing lifecycle, processing dead letters and replay (0.2.0, issue 15;
-- docs/sql-api.md "Processors", docs/architecture.md "Event processing"). event.process_batch
-- takes the pending events above event.processing_cursor (up to the catch-up horizon) and the
-- due retries, runs the matching enabled processors in priority order, records one
-- event.processing_results row per processor and attempt, and moves each event's status
-- (pending -> processing -> processed | failed -> pending (retry) | archived) with its statistics
-- deltas, all in one transaction: an sql processor's effects commit exactly once with the status.
-- webhook and nats processors run in the sidecar after that transaction: process_batch leaves a
-- task per event and outbound processor (event.processing_tasks, at the end of this script) and
-- the event in status processing until the sidecar has recorded every task's outcome.
------------------------------------------------------------------------------

CREATE TABLE event.event_processors (
    processor_id     uuid        PRIMARY KEY,
    processor_name   text        NOT NULL,
    processor_type   text        NOT NULL,
    enabled          boolean     NOT NULL,
    priority         integer     NOT NULL,
    event_types      text[]      NOT NULL,
    event_sources    text[]      NOT NULL,
    event_categories text[]      NOT NULL,
    config           jsonb       NOT NULL,
    max_attempts     integer     NOT NULL,
    backoff_base_ms  integer     NOT NULL,
    backoff_max_ms   integer     NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    filters          jsonb,
    CONSTRAINT event_processors_name_key UNIQUE (processor_name),
    CONSTRAINT event_processors_type_check CHECK (processor_type IN ('sql', 'internal', 'webhook', 'nats'))
);
COMMENT ON TABLE event.event_processors IS 'Processors (sql, webhook, nats) applied to matching events, higher priority first; manage with event.create_processor, toggle_processor, delete_processor';
COMMENT ON COLUMN event.event_processors.filters IS 'The filters object as registered by create_processor_json (shown as given); NULL for create_processor: event_types, event_sources and event_categories are what match';
SELECT pg_catalog.pg_extension_config_dump('event.event_processors', '');
REVOKE ALL ON TABLE event.event_processors FROM PUBLIC;

CREATE TABLE event.processing_results (
    event_id     uuid             NOT NULL,
    processor_id uuid             NOT NULL,
    attempt      integer          NOT NULL CHECK (attempt > 0),
    replay_id    uuid,
    status       text             NOT NULL CHECK (status IN ('success', 'failed')),
    duration_ms  double precision NOT NULL,
    error        text,
    processed_at timestamptz      NOT NULL
);
COMMENT ON TABLE event.processing_results IS 'One row per processor, event and attempt (replay_id set for replays): outcome, duration, error';
CREATE INDEX processing_results_event_idx ON event.processing_results (event_id, processor_id);
CREATE INDEX processing_results_replay_idx ON event.processing_results (replay_id) WHERE replay_id IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('event.processing_results', '');
REVOKE ALL ON TABLE event.processing_results FROM PUBLIC;

CREATE TABLE event.processing_cursor (
    id       boolean PRIMARY KEY CHECK (id),
    position bigint  NOT NULL
);
COMMENT ON TABLE event.processing_cursor IS 'At most one row: every event with position <= it has been taken by event.process_batch (no row: 0)';
SELECT pg_catalog.pg_extension_config_dump('event.processing_cursor', '');
REVOKE ALL ON TABLE event.processing_cursor FROM PUBLIC;

CREATE TABLE event.processing_retries (
    event_id uuid        PRIMARY KEY,
    due_at   timestamptz NOT NULL
);
COMMENT ON TABLE event.processing_retries IS 'Failed events waiting for their next attempt (exponential backoff of the failed processors)';
CREATE INDEX processing_retries_due_idx ON event.processing_retries (due_at);
SELECT pg_catalog.pg_extension_config_dump('event.processing_retries', '');
REVOKE ALL ON TABLE event.processing_retries FROM PUBLIC;

CREATE TABLE event.processing_dead_letters (
    event_id   uuid        PRIMARY KEY,
    attempts   integer     NOT NULL,
    last_error text,
    processors text[]      NOT NULL,
    dead_at    timestamptz NOT NULL
);
COMMENT ON TABLE event.processing_dead_letters IS 'Archived events (processing gave up after max_attempts): the processors that failed and the last error';
CREATE INDEX processing_dead_letters_dead_at_idx ON event.processing_dead_letters (dead_at);
SELECT pg_catalog.pg_extension_config_dump('event.processing_dead_letters', '');
REVOKE ALL ON TABLE event.processing_dead_letters FROM PUBLIC;

CREATE TABLE event.processing_replays (
    replay_id        uuid        PRIMARY KEY,
    request          jsonb       NOT NULL,
    target_processor uuid,
    target_subscription uuid,
    status           text        NOT NULL CHECK (status IN ('running', 'completed')),
    max_position     bigint      NOT NULL,
    cursor_position  bigint      NOT NULL,
    total            integer     NOT NULL,
    done             integer     NOT NULL,
    failed           integer     NOT NULL,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz
);
COMMENT ON TABLE event.processing_replays IS 'Replays (event.replay_events) and their progress; event.process_replays runs them in the background';
COMMENT ON COLUMN event.processing_replays.target_processor IS 'The one processor the replay runs (target_service names a processor); NULL: every matching processor, or a subscription target';
COMMENT ON COLUMN event.processing_replays.target_subscription IS 'The webhook subscription the replay delivers to (target_service names a subscription); NULL: processors';
SELECT pg_catalog.pg_extension_config_dump('event.processing_replays', '');
REVOKE ALL ON TABLE event.processing_replays FROM PUBLIC;

-- True if an event (type, source, category) passes a processor's filters: each empty list
-- matches everything; an event type pattern is exact, a prefix ending in ".*", or "*".
CREATE FUNCTION event._processor_matches(event_types text[], event_sources text[], event_categories text[],
                                         event_type text, event_source text, event_category text)
    RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE
    AS $$SELECT (pg_catalog.cardinality($1) = 0
                 OR $4 OPERATOR(pg_catalog.~) ('^(' OPERATOR(pg_catalog.||) pg_catalog.replace(pg_catalog.replace(
                        pg_catalog.array_to_string($1, '|'), '.', '\.'), '*', '.*') OPERATOR(pg_catalog.||) ')$'))
             AND (pg_catalog.cardinality($2) = 0 OR $5 OPERATOR(pg_catalog.=) ANY ($2))
             AND (pg_catalog.cardinality($3) = 0 OR $6 OPERATOR(pg_catalog.=) ANY ($3))$$;
-- (No sub-SELECT, and STABLE like array_to_string, so the planner inlines it: declared IMMUTABLE
-- it was called once per event and row. Patterns hold only letters, digits, _, -, . and a
-- final * (create_processor checks), so as a regular expression "." is escaped and "*" is ".*".)
COMMENT ON FUNCTION event._processor_matches(text[], text[], text[], text, text, text) IS 'Internal: processor filter match (empty list = any; type patterns exact, prefix.* or *)';
REVOKE EXECUTE ON FUNCTION event._processor_matches(text[], text[], text[], text, text, text) FROM PUBLIC;

-- A processor as list_processors shows it.
CREATE FUNCTION event._mask_secret(secret text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$SELECT pg_catalog.left(secret, LEAST(8, pg_catalog.length(secret) OPERATOR(pg_catalog./) 4)) OPERATOR(pg_catalog.||) '...'$$;
COMMENT ON FUNCTION event._mask_secret(text) IS 'Internal: a signing secret as shown outside create and rotate: at most a quarter of it and never more than 8 characters, then ... (NULL stays NULL)';
REVOKE EXECUTE ON FUNCTION event._mask_secret(text) FROM PUBLIC;

CREATE FUNCTION event._processor_json(p event.event_processors) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$SELECT pg_catalog.jsonb_build_object('processor_id', p.processor_id, 'processor_name', p.processor_name,
              'processor_type', p.processor_type, 'enabled', p.enabled, 'priority', p.priority,
              'filters', COALESCE(p.filters, pg_catalog.jsonb_build_object('event_types', p.event_types,
                                      'event_sources', p.event_sources, 'event_categories', p.event_categories)),
              'config', CASE WHEN p.config ? 'secret' THEN p.config OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
                                 'secret', event._mask_secret(p.config->>'secret'))
                             ELSE p.config END,
              'retry_policy', pg_catalog.jsonb_build_object('max_attempts', p.max_attempts,
                                                            'backoff_base_ms', p.backoff_base_ms,
                                                            'backoff_max_ms', p.backoff_max_ms),
              'created_at', pg_catalog.to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
              'updated_at', pg_catalog.to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))$$;
COMMENT ON FUNCTION event._processor_json(event.event_processors) IS 'Internal: a processor as JSON (a webhook secret masked)';
REVOKE EXECUTE ON FUNCTION event._processor_json(event.event_processors) FROM PUBLIC;

CREATE FUNCTION event.create_processor(processor_name text, processor_type text, config jsonb DEFAULT '{}',
                                       event_types text[] DEFAULT '{}', event_sources text[] DEFAULT '{}',
                                       event_categories text[] DEFAULT '{}', priority integer DEFAULT 0,
                                       enabled boolean DEFAULT true, max_attempts integer DEFAULT 3,
                                       backoff_base_ms integer DEFAULT 1000, backoff_max_ms integer DEFAULT 60000)
    RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_bad text;
    v_row event.event_processors;
BEGIN
    IF processor_name IS NULL OR pg_catalog.length(processor_name) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'invalid processor_name' USING ERRCODE = '22023',
            HINT = 'Give a name of 1 to 200 characters.';
    END IF;
    IF processor_type IS NULL OR processor_type NOT IN ('sql', 'internal', 'webhook', 'nats') THEN
        RAISE EXCEPTION 'invalid processor_type "%"', processor_type USING ERRCODE = '22023',
            HINT = 'Allowed values: sql, internal, webhook, nats.';
    END IF;
    IF config IS NULL OR pg_catalog.jsonb_typeof(config) <> 'object' THEN
        RAISE EXCEPTION 'invalid config' USING ERRCODE = '22023', HINT = 'Give config as a JSON object.';
    END IF;
    IF processor_type = 'sql' AND (pg_catalog.jsonb_typeof(config->'function') IS DISTINCT FROM 'string'
            OR pg_catalog.to_regprocedure((config->>'function') || '(jsonb)') IS NULL) THEN
        RAISE EXCEPTION 'invalid config.function for an sql processor' USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('No function %s(jsonb) exists.', COALESCE(config->>'function', '(none)')),
            HINT = 'Give config {"function": "schema.name"} naming a function that takes the event as one jsonb argument.';
    END IF;
    IF processor_type = 'internal' AND config ? 'function' AND (pg_catalog.jsonb_typeof(config->'function') <> 'string'
            OR pg_catalog.to_regprocedure((config->>'function') || '(jsonb)') IS NULL) THEN
        RAISE EXCEPTION 'invalid config.function for an internal processor' USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('No function %s(jsonb) exists.', config->>'function'),
            HINT = 'Name a function that takes the event as one jsonb argument, or leave config.function out to only record the events as processed.';
    END IF;
    IF processor_type = 'webhook' AND (pg_catalog.jsonb_typeof(config->'url') IS DISTINCT FROM 'string'
            OR (config->>'url') !~ '^https?://[^/:?#\s][^\s]*$' OR pg_catalog.length(config->>'url') > 2048) THEN
        RAISE EXCEPTION 'invalid config.url for a webhook processor' USING ERRCODE = '22023',
            HINT = 'Give config {"url": "http(s)://host/path"}: an absolute URL of at most 2048 characters.';
    END IF;
    IF processor_type = 'nats' AND (pg_catalog.jsonb_typeof(config->'subject') IS DISTINCT FROM 'string'
            OR (config->>'subject') !~ '^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$') THEN
        RAISE EXCEPTION 'invalid config.subject for a nats processor' USING ERRCODE = '22023',
            HINT = 'Give config {"subject": "a.b.c"}: dot-separated tokens of letters, digits, _ and - (no wildcards).';
    END IF;
    IF processor_type = 'webhook' AND config ? 'secret' AND (pg_catalog.jsonb_typeof(config->'secret') <> 'string'
            OR pg_catalog.length(config->>'secret') NOT BETWEEN 1 AND 512) THEN
        RAISE EXCEPTION 'invalid config.secret for a webhook processor' USING ERRCODE = '22023',
            HINT = 'Give 1 to 512 characters, or leave it out to have one generated (whsec_...).';
    END IF;
    IF processor_type = 'webhook' AND NOT config ? 'secret' THEN
        -- The signing secret (docs/sidecar.md "Outbound processors"): 32 random bytes, Standard Webhooks form.
        config := config OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('secret', 'whsec_' OPERATOR(pg_catalog.||)
            pg_catalog.encode(pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '')
                OPERATOR(pg_catalog.||) pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''), 'hex'), 'base64'));
    END IF;
    IF event_types IS NULL OR event_sources IS NULL OR event_categories IS NULL THEN
        RAISE EXCEPTION 'filters must not be null' USING ERRCODE = '22004', HINT = 'Give an empty array for "any".';
    END IF;
    SELECT t INTO v_bad FROM pg_catalog.unnest(event_types) t
        WHERE t IS NULL OR t !~ '^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$' OR pg_catalog.length(t) > 255 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invalid event type filter "%"', v_bad USING ERRCODE = '22023',
            HINT = 'Give an event type (order.created), a prefix pattern (order.*) or *: dot-separated segments of letters, digits, _ and -.';
    END IF;
    SELECT t INTO v_bad FROM pg_catalog.unnest(event_sources) t
        WHERE t IS NULL OR NOT EXISTS (SELECT 1 FROM event.event_sources s WHERE s.name = t) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invalid event_source "%"', v_bad USING ERRCODE = '22023',
            HINT = 'Allowed values: ' || (SELECT pg_catalog.string_agg(s.name, ', ' ORDER BY s.name) FROM event.event_sources s) || '.';
    END IF;
    SELECT t INTO v_bad FROM pg_catalog.unnest(event_categories) t
        WHERE t IS NULL OR NOT EXISTS (SELECT 1 FROM event.event_categories c WHERE c.name = t) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invalid event_category "%"', v_bad USING ERRCODE = '22023',
            HINT = 'Allowed values: ' || (SELECT pg_catalog.string_agg(c.name, ', ' ORDER BY c.name) FROM event.event_categories c) || '.';
    END IF;
    IF priority IS NULL OR enabled IS NULL THEN
        RAISE EXCEPTION 'priority and enabled must not be null' USING ERRCODE = '22004';
    END IF;
    IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'invalid max_attempts "%"', max_attempts USING ERRCODE = '22023', HINT = 'Give 1 to 100.';
    END IF;
    IF backoff_base_ms IS NULL OR backoff_base_ms NOT BETWEEN 0 AND 3600000 THEN
        RAISE EXCEPTION 'invalid backoff_base_ms "%"', backoff_base_ms USING ERRCODE = '22023', HINT = 'Give 0 to 3600000.';
    END IF;
    IF backoff_max_ms IS NULL OR backoff_max_ms NOT BETWEEN backoff_base_ms AND 86400000 THEN
        RAISE EXCEPTION 'invalid backoff_max_ms "%"', backoff_max_ms USING ERRCODE = '22023',
            HINT = 'Give a value from backoff_base_ms to 86400000.';
    END IF;
    BEGIN
        INSERT INTO event.event_processors AS p VALUES (event.uuid_v7(), processor_name, processor_type, enabled,
            priority, event_types, event_sources, event_categories, config, max_attempts, backoff_base_ms,
            backoff_max_ms, pg_catalog.now(), pg_catalog.now())
        RETURNING p.* INTO v_row;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'processor "%" already exists', processor_name USING ERRCODE = '23505',
            HINT = 'Processor names are unique; list them with event.list_processors().';
    END;
    -- The config in full (a webhook secret is shown only here).
    RETURN event._processor_json(v_row) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('config', v_row.config);
END $$;
COMMENT ON FUNCTION event.create_processor(text, text, jsonb, text[], text[], text[], integer, boolean, integer, integer, integer) IS 'Register a processor (sql: config.function(jsonb) run in the database; internal: the same with config.function optional, without it the events are only recorded as processed; webhook: config.url, signed with config.secret (generated when absent, shown only here); nats: config.subject on JetStream); a duplicate name raises 23505';

-- The strings under any of keys in object f (each value a string or an array of strings), as an array.
CREATE FUNCTION event._json_strings(f jsonb, keys text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    AS $$SELECT ARRAY(SELECT x FROM pg_catalog.jsonb_each($1) AS f(k, v),
                      LATERAL pg_catalog.jsonb_array_elements_text(CASE pg_catalog.jsonb_typeof(f.v) WHEN 'array'
                          THEN f.v ELSE pg_catalog.jsonb_build_array(f.v) END) AS x
                      WHERE f.k = ANY ($2))$$;
COMMENT ON FUNCTION event._json_strings(jsonb, text[]) IS 'Internal: the strings of some keys of a JSON object';
REVOKE EXECUTE ON FUNCTION event._json_strings(jsonb, text[]) FROM PUBLIC;

-- HTTP body (spec 3.3.1 processor configuration) -> create_processor.
CREATE FUNCTION event.create_processor_json(request jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_bad text;
    v_f jsonb;
    v_r jsonb;
    v_p jsonb;
BEGIN
    IF request IS NULL OR pg_catalog.jsonb_typeof(request) <> 'object' THEN
        RAISE EXCEPTION 'the request must be a JSON object' USING ERRCODE = '22023';
    END IF;
    SELECT k INTO v_bad FROM pg_catalog.jsonb_object_keys(request) k
        WHERE k NOT IN ('processor_name', 'processor_type', 'enabled', 'priority', 'filters', 'config', 'retry_policy')
        ORDER BY k LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'unknown field "%"', v_bad USING ERRCODE = '22023',
            HINT = 'Fields: processor_name, processor_type, enabled, priority, filters, config, retry_policy.';
    END IF;
    v_f := COALESCE(NULLIF(request->'filters', 'null'), '{}');
    v_r := COALESCE(NULLIF(request->'retry_policy', 'null'), '{}');
    IF pg_catalog.jsonb_typeof(v_f) <> 'object' OR pg_catalog.jsonb_typeof(v_r) <> 'object' THEN
        RAISE EXCEPTION 'filters and retry_policy must be objects' USING ERRCODE = '22023';
    END IF;
    SELECT k INTO v_bad FROM pg_catalog.jsonb_object_keys(v_f) k
        WHERE k NOT IN ('event_type', 'event_types', 'event_source', 'event_sources', 'category', 'event_category',
                        'event_categories') ORDER BY k LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'unknown filter "%"', v_bad USING ERRCODE = '22023',
            HINT = 'Filters: event_type, event_source, category (a string or an array of strings each).';
    END IF;
    SELECT k INTO v_bad FROM pg_catalog.jsonb_object_keys(v_r) k
        WHERE k NOT IN ('max_attempts', 'backoff_base_ms', 'backoff_max_ms') ORDER BY k LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'unknown field in retry_policy "%"', v_bad USING ERRCODE = '22023',
            HINT = 'Fields: max_attempts, backoff_base_ms, backoff_max_ms.';
    END IF;
    SELECT k INTO v_bad FROM (VALUES ('processor_name', 'string'), ('processor_type', 'string'), ('enabled', 'boolean'),
                                     ('priority', 'number'), ('config', 'object')) AS x(k, t)
        WHERE pg_catalog.jsonb_typeof(request->x.k) NOT IN (x.t, 'null') LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% has the wrong JSON type', v_bad USING ERRCODE = '22023';
    END IF;
    SELECT k INTO v_bad FROM pg_catalog.jsonb_each(v_r) AS x(k, v)
        WHERE pg_catalog.jsonb_typeof(x.v) <> 'number' OR (x.v #>> '{}')::numeric <> pg_catalog.trunc((x.v #>> '{}')::numeric)
           OR pg_catalog.abs((x.v #>> '{}')::numeric) > 2147483647 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'retry_policy.% must be an integer', v_bad USING ERRCODE = '22023';
    END IF;
    IF pg_catalog.jsonb_typeof(request->'priority') = 'number' AND ((request->>'priority')::numeric
            <> pg_catalog.trunc((request->>'priority')::numeric) OR pg_catalog.abs((request->>'priority')::numeric) > 1000000) THEN
        RAISE EXCEPTION 'priority must be an integer from -1000000 to 1000000' USING ERRCODE = '22023';
    END IF;
    SELECT k INTO v_bad FROM pg_catalog.jsonb_each(v_f) AS x(k, v)
        WHERE NOT (pg_catalog.jsonb_typeof(x.v) = 'string' OR (pg_catalog.jsonb_typeof(x.v) = 'array' AND NOT EXISTS (
              SELECT 1 FROM pg_catalog.jsonb_array_elements(x.v) e WHERE pg_catalog.jsonb_typeof(e) <> 'string'))) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'filters.% must be a string or an array of strings', v_bad USING ERRCODE = '22023';
    END IF;
    v_p := event.create_processor(
        processor_name => request->>'processor_name',
        processor_type => request->>'processor_type',
        config => COALESCE(NULLIF(request->'config', 'null'), '{}'),
        event_types => event._json_strings(v_f, ARRAY['event_type', 'event_types']),
        event_sources => event._json_strings(v_f, ARRAY['event_source', 'event_sources']),
        event_categories => event._json_strings(v_f, ARRAY['category', 'event_category', 'event_categories']),
        priority => COALESCE((request->>'priority')::integer, 0),
        enabled => COALESCE((request->>'enabled')::boolean, true),
        max_attempts => COALESCE((v_r->>'max_attempts')::integer, 3),
        backoff_base_ms => COALESCE((v_r->>'backoff_base_ms')::integer, 1000),
        backoff_max_ms => COALESCE((v_r->>'backoff_max_ms')::integer, 60000));
    -- Shown as given (a string stays a string), so what a client registered is what it reads back.
    UPDATE event.event_processors p SET filters = v_f WHERE p.processor_id = (v_p->>'processor_id')::uuid;
    RETURN v_p OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('filters', v_f);
END $$;
COMMENT ON FUNCTION event.create_processor_json(jsonb) IS 'Register a processor from its JSON configuration (processor_name, processor_type, enabled, priority, filters {event_type, event_source, category}, config, retry_policy)';

CREATE FUNCTION event.list_processors() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT COALESCE(pg_catalog.jsonb_agg(event._processor_json(p) ORDER BY p.priority DESC, p.processor_name), '[]')
          FROM event.event_processors p$$;
COMMENT ON FUNCTION event.list_processors() IS 'Every processor, in the order they are applied (priority, higher first; then name)';

CREATE FUNCTION event.toggle_processor(processor_id uuid, enabled boolean DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_row event.event_processors;
BEGIN
    IF processor_id IS NULL THEN
        RAISE EXCEPTION 'processor_id must not be null' USING ERRCODE = '22004';
    END IF;
    -- enabled NULL (HTTP: toggle without ?enabled=) flips the processor's state, under the row's lock.
    UPDATE event.event_processors p SET enabled = COALESCE(toggle_processor.enabled, NOT p.enabled), updated_at = pg_catalog.now()
        WHERE p.processor_id = toggle_processor.processor_id RETURNING p.* INTO v_row;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'processor "%" does not exist', processor_id USING ERRCODE = 'P0002',
            HINT = 'List the processors with event.list_processors().';
    END IF;
    RETURN event._processor_json(v_row);
END $$;
COMMENT ON FUNCTION event.toggle_processor(uuid, boolean) IS 'Enable or disable a processor (a disabled one is skipped; enabled NULL flips it); returns it';

CREATE FUNCTION event.delete_processor(processor_id uuid) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_row event.event_processors;
BEGIN
    IF processor_id IS NULL THEN
        RAISE EXCEPTION 'processor_id must not be null' USING ERRCODE = '22004';
    END IF;
    DELETE FROM event.event_processors p WHERE p.processor_id = delete_processor.processor_id RETURNING p.* INTO v_row;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'processor "%" does not exist', processor_id USING ERRCODE = 'P0002',
            HINT = 'List the processors with event.list_processors().';
    END IF;
    RETURN event._processor_json(v_row);
END $$;
COMMENT ON FUNCTION event.delete_processor(uuid) IS 'Remove a processor (its processing_results stay); returns it';

CREATE FUNCTION event._events_json(ids uuid[]) RETURNS jsonb[]
    AS 'MODULE_PATHNAME', 'event_events_json' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION event._events_json(uuid[]) IS 'Internal: the EventResponse JSON of events, in the order of ids';
REVOKE EXECUTE ON FUNCTION event._events_json(uuid[]) FROM PUBLIC;

CREATE FUNCTION event._pending_events(after_position bigint, horizon bigint, max_count integer,
                                      OUT last_position bigint, OUT event_ids uuid[], OUT attempts integer[],
                                      OUT events jsonb[])
    AS 'MODULE_PATHNAME', 'event_pending_events' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION event._pending_events(bigint, bigint, integer) IS 'Internal: of the first max_count events with position in (after_position, horizon], the last position and the pending ones (ids, attempts, EventResponse JSON), in position order';
REVOKE EXECUTE ON FUNCTION event._pending_events(bigint, bigint, integer) FROM PUBLIC;

-- Internal: runs the enabled processors (or only target) that match each event, in priority
-- order, and records one processing_results row each (an internal processor without
-- config.function records success and calls nothing). Each sql processor is first called on
-- all its events in one statement inside a subtransaction; if that raises, the subtransaction is
-- rolled back and the events are run one by one, each in its own, so a failing event fails
-- alone and its processor's partial effects are undone. A batched call records each event's
-- share of the statement's time as its duration. On a retry (attempt > 1, no replay) a
-- processor that already succeeded for the event is not run again. A webhook or nats processor
-- is not run here: each of its events gets an event.processing_tasks row for the sidecar.
-- events: the events' EventResponse JSON in the order of event_ids if the caller has it (else read).
-- Returns per event: failed, the summed duration, the first error ("processor: message"), the
-- failed processors and, of the failed processors, the smallest max_attempts and backoff; pending:
-- the tasks left for the sidecar.
CREATE FUNCTION event._run_processors(event_ids uuid[], attempts integer[], replay uuid, target uuid,
                                      events jsonb[] DEFAULT NULL)
    RETURNS TABLE (event_id uuid, failed boolean, duration_ms double precision, error text,
                   failed_processors text[], max_attempts integer, backoff_base_ms integer, backoff_max_ms integer,
                   internal boolean, pending integer)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_json jsonb[];
    p record;
    v_one record;
    v_sel integer[];
    v_sel_json jsonb[];
    v_fn regprocedure;
    v_sql text;
    v_t0 timestamptz;
    v_ms double precision;
    v_ok boolean;
    v_err text;
    r_i integer[] := '{}';
    r_proc uuid[] := '{}';
    r_ok boolean[] := '{}';
    r_ms double precision[] := '{}';
    r_err text[] := '{}';
    r_task integer[] := '{}';
BEGIN
    v_json := COALESCE(events, event._events_json(event_ids));
    IF pg_catalog.cardinality(v_json) IS DISTINCT FROM pg_catalog.cardinality(event_ids) THEN
        RAISE EXCEPTION 'event: an event to process does not exist';
    END IF;
    FOR p IN SELECT q.* FROM event.event_processors q WHERE q.enabled AND (target IS NULL OR q.processor_id = target)
             ORDER BY q.priority DESC, q.processor_name LOOP
        SELECT pg_catalog.array_agg(g.i ORDER BY g.i), pg_catalog.array_agg(g.j ORDER BY g.i) INTO v_sel, v_sel_json
          FROM ROWS FROM (pg_catalog.unnest(event_ids), pg_catalog.unnest(v_json), pg_catalog.unnest(attempts))
               WITH ORDINALITY AS g(id, j, a, i)
         WHERE event._processor_matches(p.event_types, p.event_sources, p.event_categories,
                                        g.j->>'event_type', g.j->>'event_source', g.j->>'event_category')
           AND (replay IS NOT NULL OR g.a = 1 OR NOT EXISTS (
                SELECT 1 FROM event.processing_results r WHERE r.event_id = g.id
                   AND r.processor_id = p.processor_id AND r.replay_id IS NULL AND r.status = 'success'));
        CONTINUE WHEN v_sel IS NULL;
        IF p.processor_type NOT IN ('sql', 'internal') THEN
            -- Called by the sidecar after this transaction (event.claim_processing_tasks), in
            -- task_id order: per event, in the order of the processors.
            INSERT INTO event.processing_tasks (task_id, event_id, processor_id, attempt, replay_id, claims,
                                                lease_until, created_at)
            SELECT event.uuid_v7(), event_ids[i.i], p.processor_id, attempts[i.i], replay, 0, NULL, pg_catalog.now()
              FROM pg_catalog.unnest(v_sel) WITH ORDINALITY AS i(i, o) ORDER BY i.o;
            r_task := r_task || v_sel;
            CONTINUE;
        END IF;
        IF p.processor_type = 'internal' AND NOT p.config ? 'function' THEN
            -- Nothing to call: the processor records each event as processed by it, in no time.
            v_ok := true;
            v_ms := 0;
        ELSE
            v_fn := pg_catalog.to_regprocedure((p.config->>'function') || '(jsonb)');
            IF v_fn IS NULL THEN
                r_i := r_i || v_sel;
                r_proc := r_proc || pg_catalog.array_fill(p.processor_id, ARRAY[pg_catalog.cardinality(v_sel)]);
                r_ok := r_ok || pg_catalog.array_fill(false, ARRAY[pg_catalog.cardinality(v_sel)]);
                r_ms := r_ms || pg_catalog.array_fill(0::double precision, ARRAY[pg_catalog.cardinality(v_sel)]);
                r_err := r_err || pg_catalog.array_fill(pg_catalog.format('function %s(jsonb) does not exist',
                                                        p.config->>'function'), ARRAY[pg_catalog.cardinality(v_sel)]);
                CONTINUE;
            END IF;
            v_sql := pg_catalog.format('SELECT pg_catalog.count((%s(j.j)) IS NULL) FROM pg_catalog.unnest($1) AS j(j)',
                                       v_fn::oid::regproc);
            v_ok := true;
            v_t0 := pg_catalog.clock_timestamp();
            BEGIN
                EXECUTE v_sql USING v_sel_json;
            EXCEPTION WHEN OTHERS THEN
                v_ok := false;
            END;
            v_ms := pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - v_t0) * 1000 / pg_catalog.cardinality(v_sel);
        END IF;
        IF v_ok THEN
            r_i := r_i || v_sel;
            r_proc := r_proc || pg_catalog.array_fill(p.processor_id, ARRAY[pg_catalog.cardinality(v_sel)]);
            r_ok := r_ok || pg_catalog.array_fill(true, ARRAY[pg_catalog.cardinality(v_sel)]);
            r_ms := r_ms || pg_catalog.array_fill(v_ms, ARRAY[pg_catalog.cardinality(v_sel)]);
            r_err := r_err || pg_catalog.array_fill(NULL::text, ARRAY[pg_catalog.cardinality(v_sel)]);
            CONTINUE;
        END IF;
        v_sql := pg_catalog.format('SELECT (%s($1)) IS NULL', v_fn::oid::regproc);
        FOR v_one IN SELECT * FROM ROWS FROM (pg_catalog.unnest(v_sel), pg_catalog.unnest(v_sel_json)) AS y(i, j) LOOP
            v_t0 := pg_catalog.clock_timestamp();
            v_err := NULL;
            BEGIN
                EXECUTE v_sql USING v_one.j;
            EXCEPTION WHEN OTHERS THEN
                v_err := pg_catalog.format('%s: %s (SQLSTATE %s)', p.processor_name, SQLERRM, SQLSTATE);
            END;
            r_i := r_i || v_one.i;
            r_proc := r_proc || p.processor_id;
            r_ok := r_ok || (v_err IS NULL);
            r_ms := r_ms || pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - v_t0) * 1000;
            r_err := r_err || v_err;
        END LOOP;
    END LOOP;

    INSERT INTO event.processing_results (event_id, processor_id, attempt, replay_id, status, duration_ms, error, processed_at)
    SELECT event_ids[x.i], x.p, attempts[x.i], replay, CASE WHEN x.ok THEN 'success' ELSE 'failed' END, x.ms, x.err,
           pg_catalog.now()
      FROM ROWS FROM (pg_catalog.unnest(r_i), pg_catalog.unnest(r_proc), pg_catalog.unnest(r_ok), pg_catalog.unnest(r_ms), pg_catalog.unnest(r_err)) AS x(i, p, ok, ms, err);

    RETURN QUERY
    SELECT g.id, COALESCE(pg_catalog.bool_or(NOT x.ok), false), COALESCE(pg_catalog.sum(x.ms), 0),
           (pg_catalog.array_agg(x.err ORDER BY x.n) FILTER (WHERE NOT x.ok))[1],
           COALESCE(pg_catalog.array_agg(q.processor_name ORDER BY x.n) FILTER (WHERE NOT x.ok), '{}'),
           pg_catalog.min(q.max_attempts) FILTER (WHERE NOT x.ok), pg_catalog.min(q.backoff_base_ms) FILTER (WHERE NOT x.ok),
           pg_catalog.min(q.backoff_max_ms) FILTER (WHERE NOT x.ok),
           -- The service's own events (source system, type event.*).
           pg_catalog.bool_and(g.j->>'event_source' = 'system' AND pg_catalog.starts_with(g.j->>'event_type', 'event.')),
           COALESCE(pg_catalog.max(tk.n), 0)::integer
      FROM ROWS FROM (pg_catalog.unnest(event_ids), pg_catalog.unnest(v_json)) WITH ORDINALITY AS g(id, j, i)
      LEFT JOIN ROWS FROM (pg_catalog.unnest(r_i), pg_catalog.unnest(r_proc), pg_catalog.unnest(r_ok), pg_catalog.unnest(r_ms), pg_catalog.unnest(r_err)) WITH ORDINALITY AS x(i, p, ok, ms, err, n) ON x.i = g.i
      LEFT JOIN event.event_processors q ON q.processor_id = x.p
      LEFT JOIN (SELECT t.t, pg_catalog.count(*) AS n FROM pg_catalog.unnest(r_task) AS t(t) GROUP BY t.t) tk ON tk.t = g.i
     GROUP BY g.i, g.id;
END $$;
COMMENT ON FUNCTION event._run_processors(uuid[], integer[], uuid, uuid, jsonb[]) IS 'Internal: run the matching processors on events and record their processing_results (webhook and nats: tasks for the sidecar)';
REVOKE EXECUTE ON FUNCTION event._run_processors(uuid[], integer[], uuid, uuid, jsonb[]) FROM PUBLIC;

CREATE FUNCTION event.process_batch(batch_size integer DEFAULT 1000) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_cursor bigint;
    v_horizon bigint;
    v_last bigint;
    v_ids uuid[];
    v_old text[];
    v_att integer[];
    v_json jsonb[];
    v_retry uuid[];
    v_res jsonb;
BEGIN
    IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'invalid batch_size "%"', batch_size USING ERRCODE = '22023', HINT = 'Give 1 to 10000.';
    END IF;
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        -- The horizon must be computed before the snapshot that reads the events.
        RAISE EXCEPTION 'event.process_batch needs READ COMMITTED' USING ERRCODE = '55000',
            HINT = 'Call it outside a REPEATABLE READ or SERIALIZABLE transaction.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM event.event_processors p WHERE p.enabled) THEN
        -- Nothing to apply: the events stay pending until a processor is enabled.
        RETURN pg_catalog.jsonb_build_object('busy', false, 'events', 0);
    END IF;
    -- An idle poll writes nothing (no row lock, no transaction id): check for work first.
    v_horizon := event.safe_position();
    IF COALESCE((SELECT c.position FROM event.processing_cursor c), 0) >= v_horizon
       AND NOT EXISTS (SELECT 1 FROM event.processing_retries r WHERE r.due_at <= pg_catalog.now()) THEN
        RETURN pg_catalog.jsonb_build_object('busy', false, 'events', 0);
    END IF;
    -- One batch at a time, without waiting: a transaction-level advisory lock (keys 17750, 1).
    IF NOT pg_catalog.pg_try_advisory_xact_lock(17750, 1) THEN
        RETURN pg_catalog.jsonb_build_object('busy', true, 'events', 0);
    END IF;
    -- The lock holder's statements see the cursor its predecessor committed. The row is made on
    -- first use, not by the install script (pg_dump dumps it as user data).
    SELECT c.position INTO v_cursor FROM event.processing_cursor c;
    IF NOT FOUND THEN
        INSERT INTO event.processing_cursor (id, position) VALUES (true, 0);
        v_cursor := 0;
    END IF;
    -- New events above the cursor (statement snapshot taken after the horizon) that are still
    -- pending, with their JSON from the same range scan, then the due retries.
    SELECT b.last_position, b.event_ids, b.attempts, b.events INTO v_last, v_ids, v_att, v_json
      FROM event._pending_events(v_cursor, v_horizon, batch_size) b;
    v_old := pg_catalog.array_fill('pending'::text, ARRAY[pg_catalog.cardinality(v_ids)]);
    WITH d AS (DELETE FROM event.processing_retries q WHERE q.event_id IN (
                   SELECT r.event_id FROM event.processing_retries r WHERE r.due_at <= pg_catalog.now()
                    ORDER BY r.due_at LIMIT batch_size FOR UPDATE SKIP LOCKED)
               RETURNING q.event_id)
    SELECT pg_catalog.array_agg(d.event_id), v_att || COALESCE(pg_catalog.array_agg(s.attempts), '{}'),
           v_old || COALESCE(pg_catalog.array_agg(s.status), '{}')
      INTO v_retry, v_att, v_old
      FROM d JOIN event.event_status s ON s.event_id = d.event_id
     WHERE s.status IN ('failed', 'pending') AND NOT (d.event_id = ANY (v_ids));
    IF v_retry IS NOT NULL THEN
        v_ids := v_ids || v_retry;
        v_json := v_json || event._events_json(v_retry);
    END IF;
    IF v_last IS NOT NULL THEN
        UPDATE event.processing_cursor c SET position = v_last;
    END IF;
    IF pg_catalog.cardinality(v_ids) = 0 THEN
        RETURN pg_catalog.jsonb_build_object('busy', false, 'events', 0, 'cursor', COALESCE(v_last, v_cursor));
    END IF;

    v_res := event._finish_processing(v_ids, v_old, v_att, false, v_json);
    RETURN v_res || pg_catalog.jsonb_build_object('busy', false, 'cursor', COALESCE(v_last, v_cursor));
END $$;
COMMENT ON FUNCTION event.process_batch(integer) IS 'Process up to batch_size pending events (and as many due retries) with the enabled processors, in one transaction; returns counts. The sidecar calls it in a loop; any scheduler can';

-- Internal: one attempt for each event (old status pending or failed, attempts so far): runs
-- its processors, then moves it to processed, failed (a retry row due after the backoff) or, at
-- the failed processors' max_attempts, archived (a processing dead letter); the status deltas of
-- event.stat_deltas follow (statistics), and event.processed.success / event.processed.failed
-- are stored (source system) listing the events, except the service's own (source system, type event.*).
-- An event with tasks left for the sidecar (webhook, nats) stays processing; when the last one has
-- reported, settle = true decides it from the attempt's processing_results (event._attempt_outcomes).
-- events: as for event._run_processors.
CREATE FUNCTION event._finish_processing(event_ids uuid[], old_statuses text[], old_attempts integer[],
                                         settle boolean, events jsonb[] DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_counts jsonb;
    v_ok uuid[];
    v_bad jsonb;
BEGIN
    WITH o AS MATERIALIZED (
        SELECT r.event_id, x.old AS old_status, x.att AS attempt,
               CASE WHEN r.pending > 0 THEN 'processing' WHEN NOT r.failed THEN 'processed'
                    WHEN x.att >= COALESCE(r.max_attempts, 1) THEN 'archived' ELSE 'failed' END
                   AS new_status,
               r.duration_ms, r.error, r.failed_processors,
               -- No notification about the service's own events, or notifications about
               -- notifications would never end.
               r.internal,
               CASE WHEN r.failed THEN pg_catalog.now() + pg_catalog.make_interval(secs => LEAST(
                    r.backoff_base_ms::double precision * pg_catalog.power(2, x.att - 1), r.backoff_max_ms) / 1000)
               END AS due_at
          FROM (SELECT * FROM event._run_processors(event_ids, ARRAY(SELECT a + 1 FROM pg_catalog.unnest(old_attempts) AS a),
                                                    NULL, NULL, events) WHERE NOT settle
                UNION ALL
                SELECT * FROM event._attempt_outcomes(event_ids, ARRAY(SELECT a + 1 FROM pg_catalog.unnest(old_attempts) AS a))
                 WHERE settle) r
          JOIN (SELECT u.id, u.old, u.att0 + 1 AS att
                  FROM ROWS FROM (pg_catalog.unnest(event_ids), pg_catalog.unnest(old_statuses), pg_catalog.unnest(old_attempts)) AS u(id, old, att0)) x ON x.id = r.event_id),
    st AS (
        INSERT INTO event.event_status AS s (event_id, status, attempts, last_error, processing_ms, processed_at, updated_at)
        SELECT o.event_id, o.new_status, o.attempt, o.error, o.duration_ms,
               CASE WHEN o.new_status = 'processed' THEN pg_catalog.now() END, pg_catalog.now()
          FROM o
        ON CONFLICT (event_id) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts,
            last_error = EXCLUDED.last_error, processing_ms = EXCLUDED.processing_ms,
            processed_at = COALESCE(EXCLUDED.processed_at, s.processed_at), updated_at = EXCLUDED.updated_at
        RETURNING 1),
    -- Statistics: the deltas update_status records, summed per key (extension/pg/counters.hpp).
    sd AS (
        INSERT INTO event.stat_deltas (dimension, key, n)
        SELECT 'status', d.k, pg_catalog.sum(d.n) FROM (
            SELECT o.old_status AS k, -1 AS n FROM o UNION ALL SELECT o.new_status, 1 FROM o) d
         GROUP BY d.k HAVING pg_catalog.sum(d.n) <> 0
        UNION ALL SELECT 'processing', 'count', pg_catalog.count(*) FROM o WHERE o.new_status <> 'processing'
        UNION ALL SELECT 'processing', 'ms_sum', COALESCE(pg_catalog.sum(o.duration_ms)::numeric, 0) FROM o
         WHERE o.new_status <> 'processing'
        RETURNING 1),
    rt AS (
        INSERT INTO event.processing_retries (event_id, due_at)
        SELECT o.event_id, o.due_at FROM o WHERE o.new_status = 'failed'
        ON CONFLICT (event_id) DO UPDATE SET due_at = EXCLUDED.due_at
        RETURNING 1),
    dl AS (
        INSERT INTO event.processing_dead_letters AS d (event_id, attempts, last_error, processors, dead_at)
        SELECT o.event_id, o.attempt, o.error, o.failed_processors, pg_catalog.now() FROM o WHERE o.new_status = 'archived'
        ON CONFLICT (event_id) DO UPDATE SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
            processors = EXCLUDED.processors, dead_at = EXCLUDED.dead_at
        RETURNING 1)
    SELECT pg_catalog.array_agg(o.event_id ORDER BY o.event_id) FILTER (WHERE o.new_status = 'processed' AND NOT o.internal),
           pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('event_id', o.event_id, 'status', o.new_status,
               'attempt', o.attempt, 'error', o.error, 'processors', o.failed_processors) ORDER BY o.event_id)
               FILTER (WHERE o.new_status NOT IN ('processed', 'processing') AND NOT o.internal),
           pg_catalog.jsonb_build_object('events', pg_catalog.count(*),
               'processed', pg_catalog.count(*) FILTER (WHERE o.new_status = 'processed'),
               'failed', pg_catalog.count(*) FILTER (WHERE o.new_status = 'failed'),
               'archived', pg_catalog.count(*) FILTER (WHERE o.new_status = 'archived'),
               'outbound', pg_catalog.count(*) FILTER (WHERE o.new_status = 'processing'),
               'writes', (SELECT pg_catalog.count(*) FROM st) + (SELECT pg_catalog.count(*) FROM sd)
                         + (SELECT pg_catalog.count(*) FROM rt) + (SELECT pg_catalog.count(*) FROM dl))
      INTO v_ok, v_bad, v_counts
      FROM o;
    IF v_ok IS NOT NULL THEN
        PERFORM event.create_event('event.processed.success',
            pg_catalog.jsonb_build_object('count', pg_catalog.cardinality(v_ok), 'event_ids', v_ok), 'system', 'system');
    END IF;
    IF v_bad IS NOT NULL THEN
        PERFORM event.create_event('event.processed.failed',
            pg_catalog.jsonb_build_object('count', pg_catalog.jsonb_array_length(v_bad), 'events', v_bad), 'system', 'system');
    END IF;
    RETURN v_counts - 'writes';
END $$;
COMMENT ON FUNCTION event._finish_processing(uuid[], text[], integer[], boolean, jsonb[]) IS 'Internal: one processing attempt of events, their status changes, statistics, retries, dead letters and notifications';
REVOKE EXECUTE ON FUNCTION event._finish_processing(uuid[], text[], integer[], boolean, jsonb[]) FROM PUBLIC;

CREATE FUNCTION event.get_processing_results(event_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('processor_id', r.processor_id,
              'processor_name', p.processor_name, 'attempt', r.attempt, 'replay_id', r.replay_id, 'status', r.status,
              'duration_ms', r.duration_ms, 'error', r.error,
              'processed_at', pg_catalog.to_char(r.processed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
              ORDER BY r.processed_at, r.replay_id NULLS FIRST, p.priority DESC, p.processor_name), '[]')
          FROM event.processing_results r LEFT JOIN event.event_processors p ON p.processor_id = r.processor_id
         WHERE r.event_id = $1$$;
COMMENT ON FUNCTION event.get_processing_results(uuid) IS 'The processing results of an event (every processor, attempt and replay), oldest first';

------------------------------------------------------------------------------
-- Processing dead letters: archived events (processing gave up after max_attempts).
------------------------------------------------------------------------------

-- A dead letter as the list shows it (d: processing_dead_letters, e: events).
CREATE FUNCTION event._dead_letter_json(d event.processing_dead_letters, e event.events) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$SELECT pg_catalog.jsonb_build_object('event_id', d.event_id, 'event_type', e.event_type,
              'event_source', e.event_source, 'event_category', e.event_category, 'stream_id', e.stream_id,
              'attempts', d.attempts, 'last_error', d.last_error, 'processors', d.processors,
              'dead_at', pg_catalog.to_char(d.dead_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))$$;
COMMENT ON FUNCTION event._dead_letter_json(event.processing_dead_letters, event.events) IS 'Internal: a processing dead letter as JSON';
REVOKE EXECUTE ON FUNCTION event._dead_letter_json(event.processing_dead_letters, event.events) FROM PUBLIC;

CREATE FUNCTION event.list_processing_dead_letters(processor_name text DEFAULT NULL, event_type text DEFAULT NULL,
                                                   max_count integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
BEGIN
    IF max_count IS NULL OR max_count NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'invalid max_count "%"', max_count USING ERRCODE = '22023', HINT = 'Give 1 to 10000.';
    END IF;
    RETURN (SELECT COALESCE(pg_catalog.jsonb_agg(x.j ORDER BY x.dead_at DESC, x.event_id), '[]') FROM (
        SELECT event._dead_letter_json(d, e) AS j, d.dead_at, d.event_id
          FROM event.processing_dead_letters d JOIN event.events e ON e.event_id = d.event_id
         WHERE (list_processing_dead_letters.processor_name IS NULL
                OR list_processing_dead_letters.processor_name = ANY (d.processors))
           AND (list_processing_dead_letters.event_type IS NULL OR e.event_type = list_processing_dead_letters.event_type)
         ORDER BY d.dead_at DESC, d.event_id LIMIT max_count) x);
END $$;
COMMENT ON FUNCTION event.list_processing_dead_letters(text, text, integer) IS 'Archived events (processing dead letters), newest first, optionally only those a processor failed or of one event type';

CREATE FUNCTION event.get_processing_dead_letter(event_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v jsonb;
BEGIN
    SELECT event._dead_letter_json(d, e) || pg_catalog.jsonb_build_object('event', event.get_event_json(d.event_id),
               'results', event.get_processing_results(d.event_id))
      INTO v FROM event.processing_dead_letters d JOIN event.events e ON e.event_id = d.event_id
     WHERE d.event_id = get_processing_dead_letter.event_id;
    IF v IS NULL THEN
        RAISE EXCEPTION 'processing dead letter "%" does not exist', event_id USING ERRCODE = 'P0002',
            HINT = 'List them with event.list_processing_dead_letters().';
    END IF;
    RETURN v;
END $$;
COMMENT ON FUNCTION event.get_processing_dead_letter(uuid) IS 'One processing dead letter with its event and every processing result';

CREATE FUNCTION event.retry_processing_dead_letters(event_ids uuid[] DEFAULT NULL, processor_name text DEFAULT NULL,
                                                    event_type text DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_n integer;
BEGIN
    WITH d AS (
        DELETE FROM event.processing_dead_letters d
         WHERE (retry_processing_dead_letters.event_ids IS NULL OR d.event_id = ANY (retry_processing_dead_letters.event_ids))
           AND (retry_processing_dead_letters.processor_name IS NULL OR retry_processing_dead_letters.processor_name = ANY (d.processors))
           AND (retry_processing_dead_letters.event_type IS NULL OR EXISTS (SELECT 1 FROM event.events e
                WHERE e.event_id = d.event_id AND e.event_type = retry_processing_dead_letters.event_type))
        RETURNING d.event_id),
    s AS (
        UPDATE event.event_status s SET status = 'pending', updated_at = pg_catalog.now()
          FROM d WHERE s.event_id = d.event_id AND s.status = 'archived'
        RETURNING s.event_id),
    q AS (
        INSERT INTO event.processing_retries (event_id, due_at) SELECT s.event_id, pg_catalog.now() FROM s
        ON CONFLICT (event_id) DO UPDATE SET due_at = EXCLUDED.due_at
        RETURNING 1),
    sd AS (
        INSERT INTO event.stat_deltas (dimension, key, n)
        SELECT v.k, v.s, v.n * c.n FROM (SELECT pg_catalog.count(*)::numeric AS n FROM s) c,
               (VALUES ('status', 'archived', -1), ('status', 'pending', 1)) AS v(k, s, n)
         WHERE c.n > 0
        RETURNING 1)
    SELECT (SELECT pg_catalog.count(*) FROM s)::integer + 0 * ((SELECT pg_catalog.count(*) FROM q) + (SELECT pg_catalog.count(*) FROM sd))::integer
      INTO v_n;
    RETURN v_n;
END $$;
COMMENT ON FUNCTION event.retry_processing_dead_letters(uuid[], text, text) IS 'Move archived events (all, these ids, those a processor failed or of one type) back to pending for one more attempt; returns how many';

CREATE FUNCTION event.purge_processing_dead_letters(event_ids uuid[] DEFAULT NULL, older_than interval DEFAULT NULL)
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$WITH d AS (DELETE FROM event.processing_dead_letters d
                     WHERE ($1 IS NULL OR d.event_id = ANY ($1)) AND ($2 IS NULL OR d.dead_at < pg_catalog.now() - $2)
                     RETURNING 1)
          SELECT pg_catalog.count(*)::integer FROM d$$;
COMMENT ON FUNCTION event.purge_processing_dead_letters(uuid[], interval) IS 'Forget processing dead letters (all, these ids, or dead before now() - older_than); the events stay archived; returns how many';

------------------------------------------------------------------------------
-- Replay (spec 3.3.3): the selected events run again through their processors (or one target),
-- in the background, recording new processing_results with the replay_id; the events and their
-- statuses are untouched.
------------------------------------------------------------------------------

-- Internal: the events a replay request selects (position in (after_position, max_position]),
-- in position order, that at least one enabled processor (or the target) matches.
CREATE FUNCTION event._replay_candidates(request jsonb, target uuid, target_subscription uuid, max_position bigint,
                                         after_position bigint, max_count integer)
    RETURNS TABLE (event_id uuid, "position" bigint, event_type text, stream_id text, "timestamp" timestamptz)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
    AS $$SELECT e.event_id, e.position, e.event_type, e.stream_id, e."timestamp"
            FROM event.events e
           WHERE e.position > $5 AND e.position <= $4
             AND ($1->'event_ids' IS NULL OR e.event_id = ANY (ARRAY(SELECT x::uuid
                  FROM pg_catalog.jsonb_array_elements_text($1->'event_ids') AS x)))
             AND ($1->>'stream_id' IS NULL OR e.stream_id = $1->>'stream_id')
             AND ($1->>'start_time' IS NULL OR e."timestamp" >= ($1->>'start_time')::timestamptz)
             AND ($1->>'end_time' IS NULL OR e."timestamp" <= ($1->>'end_time')::timestamptz)
             AND CASE WHEN $3 IS NULL
                      THEN EXISTS (SELECT 1 FROM event.event_processors p WHERE p.enabled AND ($2 IS NULL OR p.processor_id = $2)
                                    AND event._processor_matches(p.event_types, p.event_sources, p.event_categories,
                                                                 e.event_type, e.event_source, e.event_category))
                      -- A subscription's filters have the processors' form and meaning (exact
                      -- types, prefix.* or *; empty list = any).
                      ELSE EXISTS (SELECT 1 FROM event.event_subscriptions s WHERE s.id = $3 AND s.active
                                    AND event._processor_matches(s.event_types, s.event_sources, s.event_categories,
                                                                 e.event_type, e.event_source, e.event_category)) END
           ORDER BY e.position LIMIT $6$$;
COMMENT ON FUNCTION event._replay_candidates(jsonb, uuid, uuid, bigint, bigint, integer) IS 'Internal: the events a replay request selects (for its processors, its one processor or its subscription)';
REVOKE EXECUTE ON FUNCTION event._replay_candidates(jsonb, uuid, uuid, bigint, bigint, integer) FROM PUBLIC;

-- Internal: an event as a replay delivers it to a subscription: the members of the relay's
-- message (docs/logical-decoding.md "Event message") but those of its transaction (xid, lsn,
-- commit_time), which a replay does not have.
CREATE FUNCTION event._replay_payload(e event.events) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
    AS $$SELECT pg_catalog.jsonb_build_object('event_id', e.event_id, 'position', e.position, 'event_type', e.event_type,
              'event_source', e.event_source, 'event_category', e.event_category, 'user_id', e.user_id,
              'stream_id', e.stream_id, 'stream_version', e.stream_version, 'data', e.data, 'metadata', e.metadata,
              'context', e.context, 'idempotency_key', e.idempotency_key,
              'timestamp', pg_catalog.to_char(e."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
              'created_at', pg_catalog.to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))$$;
COMMENT ON FUNCTION event._replay_payload(event.events) IS 'Internal: the body a replay posts to a subscription (the relay message''s event members)';
REVOKE EXECUTE ON FUNCTION event._replay_payload(event.events) FROM PUBLIC;

-- A replay to a subscription: one row per event to deliver, made by event.process_replays and
-- delivered by the sidecar through the subscription's worker like a dead letter's retry
-- (event.claim_replay_deliveries, event.finish_replay_deliveries).
CREATE TABLE event.replay_deliveries (
    delivery_id     text        PRIMARY KEY,
    replay_id       uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    event_id        uuid        NOT NULL,
    "position"      bigint      NOT NULL,
    stream_id       text,
    payload         jsonb       NOT NULL,
    claimed_by      text,
    claimed_at      timestamptz
);
COMMENT ON TABLE event.replay_deliveries IS 'Deliveries of replays to a subscription waiting for the sidecar (claimed_by/claimed_at: its 30 s lease); a row goes when its outcome is recorded';
CREATE INDEX replay_deliveries_replay_idx ON event.replay_deliveries (replay_id, "position");
SELECT pg_catalog.pg_extension_config_dump('event.replay_deliveries', '');
REVOKE ALL ON TABLE event.replay_deliveries FROM PUBLIC;

CREATE FUNCTION event._replay_json(r event.processing_replays) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$SELECT pg_catalog.jsonb_build_object('replay_id', r.replay_id, 'status', r.status, 'request', r.request,
              'total', r.total, 'done', r.done, 'failed', r.failed,
              'progress', CASE WHEN r.total = 0 THEN 100 ELSE pg_catalog.round(100.0 * r.done / r.total, 1) END,
              'created_at', pg_catalog.to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
              'finished_at', pg_catalog.to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))$$;
COMMENT ON FUNCTION event._replay_json(event.processing_replays) IS 'Internal: a replay and its progress as JSON';
REVOKE EXECUTE ON FUNCTION event._replay_json(event.processing_replays) FROM PUBLIC;

CREATE FUNCTION event.replay_events(request jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_bad text;
    v_target uuid;
    v_sub uuid;
    v_name text;
    v_n integer;
    v_max bigint;
    v_total integer;
    v_req jsonb;
    v_row event.processing_replays;
    v_event uuid;
BEGIN
    IF request IS NULL OR pg_catalog.jsonb_typeof(request) <> 'object' THEN
        RAISE EXCEPTION 'the replay request must be a JSON object' USING ERRCODE = '22023';
    END IF;
    SELECT k INTO v_bad FROM pg_catalog.jsonb_object_keys(request) k
        WHERE k NOT IN ('event_ids', 'stream_id', 'start_time', 'end_time', 'target_service', 'dry_run') ORDER BY k LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'unknown field "%"', v_bad USING ERRCODE = '22023',
            HINT = 'Fields: event_ids, stream_id, start_time, end_time, target_service, dry_run.';
    END IF;
    v_req := pg_catalog.jsonb_strip_nulls(request);
    SELECT k INTO v_bad FROM (VALUES ('stream_id', 'string'), ('start_time', 'string'), ('end_time', 'string'),
                                     ('target_service', 'string'), ('dry_run', 'boolean'), ('event_ids', 'array')) AS x(k, t)
        WHERE pg_catalog.jsonb_typeof(v_req->x.k) <> x.t LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% has the wrong JSON type', v_bad USING ERRCODE = '22023';
    END IF;
    IF v_req->'event_ids' IS NOT NULL THEN
        IF pg_catalog.jsonb_array_length(v_req->'event_ids') NOT BETWEEN 1 AND 10000 THEN
            RAISE EXCEPTION 'event_ids must hold 1 to 10000 ids' USING ERRCODE = '22023';
        END IF;
        SELECT x INTO v_bad FROM pg_catalog.jsonb_array_elements(v_req->'event_ids') AS x
            WHERE pg_catalog.jsonb_typeof(x) <> 'string' OR (x #>> '{}') !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
            LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'invalid event id %', v_bad USING ERRCODE = '22P02', HINT = 'Give event_ids as UUID strings.';
        END IF;
    END IF;
    IF v_req ?| ARRAY['start_time', 'end_time'] THEN
        BEGIN
            PERFORM (v_req->>'start_time')::timestamptz, (v_req->>'end_time')::timestamptz;
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION 'invalid start_time or end_time' USING ERRCODE = '22007',
                HINT = 'Give ISO 8601 timestamps, such as 2026-01-31T12:00:00Z.';
        END;
    END IF;
    IF NOT v_req ?| ARRAY['event_ids', 'stream_id', 'start_time', 'end_time'] THEN
        RAISE EXCEPTION 'a replay needs event_ids, stream_id or a time range' USING ERRCODE = '22023',
            HINT = 'Give event_ids, stream_id, start_time and/or end_time (all given must match).';
    END IF;
    -- The target: a processor by name, else an active subscription by id or by its (then only)
    -- subscriber_name.
    IF v_req ? 'target_service' THEN
        v_name := v_req->>'target_service';
        SELECT p.processor_id INTO v_target FROM event.event_processors p WHERE p.processor_name = v_name;
        IF NOT FOUND THEN
            IF v_name ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
                SELECT s.id INTO v_sub FROM event.event_subscriptions s WHERE s.id = v_name::uuid AND s.active;
            END IF;
            IF v_sub IS NULL THEN
                SELECT (pg_catalog.array_agg(s.id))[1], pg_catalog.count(*) INTO v_sub, v_n
                  FROM event.event_subscriptions s WHERE s.subscriber_name = v_name AND s.active;
                IF v_n > 1 THEN
                    RAISE EXCEPTION 'target_service "%" names % subscriptions', v_name, v_n USING ERRCODE = '22023',
                        HINT = 'Give the subscription_id of the one to replay to (event.list_subscriptions()).';
                END IF;
            END IF;
            IF v_sub IS NULL THEN
                RAISE EXCEPTION 'target_service "%" is neither a processor nor a subscription', v_name
                    USING ERRCODE = '22023',
                    HINT = 'Give a processor_name (event.list_processors()), or a subscription_id or subscriber_name (event.list_subscriptions()).';
            END IF;
        END IF;
    END IF;
    v_max := event.safe_position();
    IF COALESCE((v_req->>'dry_run')::boolean, false) THEN
        RETURN (SELECT pg_catalog.jsonb_build_object('dry_run', true, 'total', pg_catalog.count(*),
                    'target_service', v_req->'target_service',
                    'events', COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('event_id', c.event_id,
                        'event_type', c.event_type, 'stream_id', c.stream_id, 'position', c.position,
                        'timestamp', pg_catalog.to_char(c."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                        ORDER BY c.position), '[]'))
                  FROM event._replay_candidates(v_req, v_target, v_sub, v_max, 0, 10000) c);
    END IF;
    SELECT pg_catalog.count(*) INTO v_total FROM event._replay_candidates(v_req, v_target, v_sub, v_max, 0, 2147483647) c;
    INSERT INTO event.processing_replays AS r VALUES (event.uuid_v7(), v_req - 'dry_run', v_target, v_sub, 'running',
        v_max, 0, v_total, 0, 0, pg_catalog.now(), NULL) RETURNING r.* INTO v_row;
    SELECT (event.create_event('event.replay.started', pg_catalog.jsonb_build_object('replay_id', v_row.replay_id,
               'request', v_row.request, 'total', v_total), 'system', 'system')).event_id INTO v_event;
    RETURN event._replay_json(v_row) || pg_catalog.jsonb_build_object('dry_run', false, 'event_id', v_event);
END $$;
COMMENT ON FUNCTION event.replay_events(jsonb) IS 'Replay events (event_ids, stream_id, start_time/end_time) in the background through their processors, or to one target_service (a processor, or a subscription: its webhook); dry_run lists the events instead (at most 10000, total counts all); stores event.replay.started';

CREATE FUNCTION event.get_replay(replay_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v jsonb;
BEGIN
    SELECT event._replay_json(r) INTO v FROM event.processing_replays r WHERE r.replay_id = get_replay.replay_id;
    IF v IS NULL THEN
        RAISE EXCEPTION 'replay "%" does not exist', replay_id USING ERRCODE = 'P0002';
    END IF;
    RETURN v;
END $$;
COMMENT ON FUNCTION event.get_replay(uuid) IS 'A replay''s status (running, completed) and progress';

CREATE FUNCTION event.process_replays(max_events integer DEFAULT 1000) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_row event.processing_replays;
    v_ids uuid[];
    v_last bigint;
    v_failed integer;
BEGIN
    IF max_events IS NULL OR max_events NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'invalid max_events "%"', max_events USING ERRCODE = '22023', HINT = 'Give 1 to 10000.';
    END IF;
    -- The oldest running replay with events left to hand out; one whose events are all handed
    -- out (its cursor at max_position) completes once the sidecar reported its last call or
    -- delivery, and until then holds back none of the later ones.
    FOR v_row IN SELECT r.* FROM event.processing_replays r WHERE r.status = 'running'
                  ORDER BY r.created_at, r.replay_id FOR UPDATE SKIP LOCKED LOOP
        v_ids := NULL;
        IF v_row.cursor_position < v_row.max_position THEN
            SELECT pg_catalog.array_agg(c.event_id ORDER BY c.position), pg_catalog.max(c.position) INTO v_ids, v_last
              FROM event._replay_candidates(v_row.request, v_row.target_processor, v_row.target_subscription,
                                            v_row.max_position, v_row.cursor_position, max_events) c;
        END IF;
        IF v_ids IS NULL THEN
            IF v_row.cursor_position < v_row.max_position THEN
                UPDATE event.processing_replays r SET cursor_position = r.max_position WHERE r.replay_id = v_row.replay_id;
            END IF;
            IF EXISTS (SELECT 1 FROM event.processing_tasks t WHERE t.replay_id = v_row.replay_id)
               OR EXISTS (SELECT 1 FROM event.replay_deliveries d WHERE d.replay_id = v_row.replay_id) THEN
                CONTINUE; -- the sidecar still calls webhook or nats processors, or delivers
            END IF;
            UPDATE event.processing_replays r SET status = 'completed', finished_at = pg_catalog.now()
             WHERE r.replay_id = v_row.replay_id;
            RETURN pg_catalog.jsonb_build_object('events', 0, 'replay_id', v_row.replay_id, 'status', 'completed');
        END IF;
        IF v_row.target_subscription IS NOT NULL THEN
            -- Delivered by the sidecar (event.claim_replay_deliveries), woken by the notification.
            INSERT INTO event.replay_deliveries
            SELECT e.event_id::text OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
                       pg_catalog.left(pg_catalog.replace(v_row.target_subscription::text, '-', ''), 12)
                       OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) v_row.replay_id::text,
                   v_row.replay_id, v_row.target_subscription, e.event_id, e.position, e.stream_id,
                   event._replay_payload(e), NULL, NULL
              FROM event.events e WHERE e.event_id = ANY (v_ids);
            PERFORM pg_catalog.pg_notify('event_dead_letters', 'replay');
            v_failed := 0;
        ELSE
            SELECT pg_catalog.count(*) FILTER (WHERE o.failed) INTO v_failed
              FROM event._run_processors(v_ids, pg_catalog.array_fill(1, ARRAY[pg_catalog.cardinality(v_ids)]),
                                         v_row.replay_id, v_row.target_processor) o;
        END IF;
        UPDATE event.processing_replays r SET cursor_position = v_last, done = r.done + pg_catalog.cardinality(v_ids),
               failed = r.failed + v_failed WHERE r.replay_id = v_row.replay_id;
        RETURN pg_catalog.jsonb_build_object('events', pg_catalog.cardinality(v_ids), 'failed', v_failed,
                                             'replay_id', v_row.replay_id, 'status', 'running');
    END LOOP;
    RETURN pg_catalog.jsonb_build_object('events', 0);
END $$;
COMMENT ON FUNCTION event.process_replays(integer) IS 'Advance the oldest running replay with events left by up to max_events events (processors run, or deliveries queued for the sidecar; called by the sidecar''s processing loop); completes a replay when nothing of it is left';

-- Processing functions are administrative: EXECUTE is granted per role (docs/sql-api.md).
REVOKE EXECUTE ON FUNCTION
    event.create_processor(text, text, jsonb, text[], text[], text[], integer, boolean, integer, integer, integer),
    event.create_processor_json(jsonb),
    event.list_processors(),
    event.toggle_processor(uuid, boolean),
    event.delete_processor(uuid),
    event.process_batch(integer),
    event.get_processing_results(uuid),
    event.list_processing_dead_letters(text, text, integer),
    event.get_processing_dead_letter(uuid),
    event.retry_processing_dead_letters(uuid[], text, text),
    event.purge_processing_dead_letters(uuid[], interval),
    event.replay_events(jsonb),
    event.get_replay(uuid),
    event.process_replays(integer)
FROM PUBLIC;


------------------------------------------------------------------------------
-- Projections and snapshots (0.2.0, issue 16; docs/sql-api.md "Projections", docs/architecture.md
-- "Inline projections"). event.projection_definitions holds the definitions (a reducer per
-- entity_type and name), event.event_projections the materialized state of every entity, kept by
-- the write path in the append's transaction (extension/pg/projections.cpp), and
-- event.projection_snapshots the states every snapshot_every events and on demand, from which
-- event.projection_at starts.
------------------------------------------------------------------------------

CREATE TABLE event.projection_definitions (
    id             uuid        PRIMARY KEY,
    entity_type    text COLLATE "C" NOT NULL,
    name           text COLLATE "C" NOT NULL CHECK (name <> '' AND length(name) <= 200),
    reducer        text        NOT NULL CHECK (reducer IN ('merge', 'replace', 'count', 'sum', 'function')),
    field          text[],
    function       regprocedure,
    event_types    text[]      NOT NULL,
    snapshot_every integer     CHECK (snapshot_every > 0),
    created_at     timestamptz NOT NULL,
    CONSTRAINT projection_definitions_name_key UNIQUE (entity_type, name),
    CONSTRAINT projection_definitions_field_check CHECK ((reducer = 'sum') = (field IS NOT NULL)),
    CONSTRAINT projection_definitions_function_check CHECK ((reducer = 'function') = (function IS NOT NULL))
);
COMMENT ON TABLE event.projection_definitions IS 'Projection definitions: per entity_type and name a reducer (merge, replace, count, sum of a data field, or a function (state jsonb, event jsonb) -> jsonb), the event types it folds (empty = all) and the snapshot interval';
SELECT pg_catalog.pg_extension_config_dump('event.projection_definitions', '');
REVOKE ALL ON TABLE event.projection_definitions FROM PUBLIC;
CREATE TRIGGER projection_definitions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event.projection_definitions
    FOR EACH STATEMENT EXECUTE FUNCTION event.invalidate_value_cache();

CREATE TABLE event.event_projections (
    projection_id   uuid             NOT NULL,
    entity_id       text COLLATE "C" NOT NULL,
    state           jsonb            NOT NULL,
    version         bigint           NOT NULL,
    last_event_id   uuid             NOT NULL,
    last_created_at timestamptz      NOT NULL,
    updated_at      timestamptz      NOT NULL,
    CONSTRAINT event_projections_pkey PRIMARY KEY (projection_id, entity_id)
) WITH (fillfactor = 80);
COMMENT ON TABLE event.event_projections IS 'Materialized projection state per entity: the fold of its stream up to version (= stream version), last_event_id, storage time of the latest folded event (running maximum)';
SELECT pg_catalog.pg_extension_config_dump('event.event_projections', '');
REVOKE ALL ON TABLE event.event_projections FROM PUBLIC;

CREATE TABLE event.projection_snapshots (
    projection_id   uuid             NOT NULL,
    entity_id       text COLLATE "C" NOT NULL,
    version         bigint           NOT NULL,
    state           jsonb            NOT NULL,
    last_event_id   uuid             NOT NULL,
    last_created_at timestamptz      NOT NULL,
    created_at      timestamptz      NOT NULL,
    CONSTRAINT projection_snapshots_pkey PRIMARY KEY (projection_id, entity_id, version)
);
COMMENT ON TABLE event.projection_snapshots IS 'Projection state of an entity at a version (every snapshot_every events, and on demand); event.projection_at folds forward from the nearest one';
SELECT pg_catalog.pg_extension_config_dump('event.projection_snapshots', '');
REVOKE ALL ON TABLE event.projection_snapshots FROM PUBLIC;

CREATE FUNCTION event.create_projection(
    entity_type    text,
    reducer        text         DEFAULT 'merge',
    name           text         DEFAULT 'default',
    field          text[]       DEFAULT NULL,
    function       regprocedure DEFAULT NULL,
    event_types    text[]       DEFAULT '{}',
    snapshot_every integer      DEFAULT NULL,
    build          boolean      DEFAULT true
) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_create_projection' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.create_projection(text, text, text, text[], regprocedure, text[], integer, boolean) IS 'Define a projection of an entity type (reducer merge, replace, count, sum of data field, or function (state jsonb, event jsonb) -> jsonb); build: fold the existing streams now; stores an event.projection.created event; returns the definition';
REVOKE ALL ON FUNCTION event.create_projection(text, text, text, text[], regprocedure, text[], integer, boolean) FROM PUBLIC;

CREATE FUNCTION event.list_projections() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_list_projections' LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.list_projections() IS 'Every projection definition as a jsonb array, by entity_type and name';
REVOKE ALL ON FUNCTION event.list_projections() FROM PUBLIC;

CREATE FUNCTION event.drop_projection(entity_type text, name text DEFAULT 'default') RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_drop_projection' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.drop_projection(text, text) IS 'Drop a projection with its states and snapshots; returns its definition; unknown: P0002';
REVOKE ALL ON FUNCTION event.drop_projection(text, text) FROM PUBLIC;

CREATE FUNCTION event.get_projection(entity_type text, entity_id text, name text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_get_projection' LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.get_projection(text, text, text) IS 'Projection state of an entity {entity_type, entity_id, projection, state, version, last_event_id, updated_at}; NULL for an entity without events; name NULL: the type''s only projection (or "default"), or for a type without any, its events merged at read time; no such projection: P0002';
REVOKE ALL ON FUNCTION event.get_projection(text, text, text) FROM PUBLIC;

CREATE FUNCTION event.rebuild_projection(entity_type text, entity_id text, name text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_rebuild_projection' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.rebuild_projection(text, text, text) IS 'Fold one entity''s stream from its first event again (under the stream lock) and store the state; returns it as get_projection does';
REVOKE ALL ON FUNCTION event.rebuild_projection(text, text, text) FROM PUBLIC;

CREATE FUNCTION event.rebuild_projections(entity_type text, name text DEFAULT NULL, after_entity_id text DEFAULT NULL,
                                          max_count integer DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_rebuild_projections' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.rebuild_projections(text, text, text, integer) IS 'Rebuild the entities of a type in entity_id order after after_entity_id, at most max_count (NULL: all); returns {"rebuilt": n, "last_entity_id": id}: call again from it in new transactions to rebuild online';
REVOKE ALL ON FUNCTION event.rebuild_projections(text, text, text, integer) FROM PUBLIC;

CREATE FUNCTION event.snapshot_projection(entity_type text, entity_id text, name text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_snapshot_projection' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.snapshot_projection(text, text, text) IS 'Store a snapshot of the entity''s current projection state; returns the projection (NULL for an entity without events)';
REVOKE ALL ON FUNCTION event.snapshot_projection(text, text, text) FROM PUBLIC;

CREATE FUNCTION event.projection_at(entity_type text, entity_id text, version bigint DEFAULT NULL,
                                    "at" timestamptz DEFAULT NULL, name text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_projection_at' LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.projection_at(text, text, bigint, timestamptz, text) IS 'Projection state of an entity as of a stream version and/or a time (events stored at or before it, in stream order), folded from the nearest snapshot before it';
REVOKE ALL ON FUNCTION event.projection_at(text, text, bigint, timestamptz, text) FROM PUBLIC;


------------------------------------------------------------------------------
-- Write keys of the Segment/RudderStack tracking API (0.2.0, docs/collection.md): the SDKs send
-- one as the Basic-auth user name. Stored like API keys: a 12-character prefix and the SHA-256
-- of the secret; the sidecar caches the hashes (event.write_key_hashes).
------------------------------------------------------------------------------

CREATE TABLE event.write_keys (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (name <> '' AND length(name) <= 200),
    prefix      text        NOT NULL UNIQUE,
    secret_hash bytea       NOT NULL CHECK (length(secret_hash) = 32),
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
COMMENT ON TABLE event.write_keys IS 'Write keys of the tracking API (/v1/*, /collect): lookup prefix and SHA-256 of the secret (never the secret)';
SELECT pg_catalog.pg_extension_config_dump('event.write_keys', '');
REVOKE ALL ON TABLE event.write_keys FROM PUBLIC;

CREATE FUNCTION event.create_write_key(name text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_create_write_key' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.create_write_key(text) IS 'Create a write key of the tracking API; returns {"id", "name", "prefix", "secret", "created_at"}: the secret is shown only here';
REVOKE ALL ON FUNCTION event.create_write_key(text) FROM PUBLIC;

CREATE FUNCTION event.revoke_write_key(key text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    result jsonb;
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'key must not be null',
            HINT = 'Give the write key''s id or its prefix (event.list_write_keys).';
    END IF;
    -- By id, or by the first 12 characters (a whole leaked secret can be pasted).
    UPDATE event.write_keys AS k SET revoked_at = COALESCE(k.revoked_at, pg_catalog.now())
     WHERE CASE WHEN key ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
                THEN k.id = key::uuid
                ELSE pg_catalog.length(key) >= 12 AND k.prefix = pg_catalog.left(key, 12) END
    RETURNING pg_catalog.jsonb_build_object('id', k.id::text, 'name', k.name, 'prefix', k.prefix,
        'created_at', pg_catalog.to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'revoked_at', pg_catalog.to_char(k.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    INTO result;
    IF result IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002',
            MESSAGE = pg_catalog.format('write key "%s" does not exist', pg_catalog.left(key, 36)),
            HINT = 'Give the write key''s id or its whole prefix of 12 characters (event.list_write_keys).';
    END IF;
    RETURN result;
END $$;
COMMENT ON FUNCTION event.revoke_write_key(text) IS 'Revoke a write key by id or prefix (idempotent); returns the key as event.list_write_keys shows it';
REVOKE ALL ON FUNCTION event.revoke_write_key(text) FROM PUBLIC;

CREATE FUNCTION event.list_write_keys()
    RETURNS TABLE (id uuid, name text, prefix text, created_at timestamptz, revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT k.id, k.name, k.prefix, k.created_at, k.revoked_at
          FROM event.write_keys k ORDER BY k.created_at, k.id$$;
COMMENT ON FUNCTION event.list_write_keys() IS 'Every write key, without its hash';
REVOKE ALL ON FUNCTION event.list_write_keys() FROM PUBLIC;

CREATE FUNCTION event.write_key_hashes()
    RETURNS TABLE (id uuid, prefix text, secret_hash bytea, revoked boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT k.id, k.prefix, k.secret_hash, k.revoked_at IS NOT NULL FROM event.write_keys k$$;
COMMENT ON FUNCTION event.write_key_hashes() IS 'For the sidecar''s key cache: id, prefix, SHA-256 of the secret, revoked';
REVOKE ALL ON FUNCTION event.write_key_hashes() FROM PUBLIC;

CREATE FUNCTION event.list_categories()
    RETURNS TABLE (name text, group_name text, builtin boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT c.name, c.group_name, c.builtin FROM event.event_categories c ORDER BY c.name$$;
COMMENT ON FUNCTION event.list_categories() IS 'The allowed event_category values, by name (the sidecar checks frontend events against them)';
REVOKE ALL ON FUNCTION event.list_categories() FROM PUBLIC;


------------------------------------------------------------------------------
-- Delivery dead letters: list, inspect, retry, purge (0.2.0, issue 15; docs/sql-api.md
-- "Delivery dead letters", docs/architecture.md "Retrying a dead letter"). A retry is requested
-- here (retry_requested_at, NOTIFY event_dead_letters) and carried out by the sidecar: it claims
-- requested retries under a 30 s lease it renews while it holds them (retry_claimed_by/_at),
-- delivers each through the subscription's worker with the subscription's signing, and reports
-- the outcome: delivered removes the row, failed again leaves it dead with the attempts added.
------------------------------------------------------------------------------

ALTER TABLE event.delivery_dead_letters
    ADD COLUMN retries            integer NOT NULL DEFAULT 0 CHECK (retries >= 0),
    ADD COLUMN retry_requested_at timestamptz,
    ADD COLUMN retry_claimed_by   text,
    ADD COLUMN retry_claimed_at   timestamptz;
COMMENT ON COLUMN event.delivery_dead_letters.retries IS 'Retries carried out that failed again (the attempts column counts every attempt)';
COMMENT ON COLUMN event.delivery_dead_letters.retry_requested_at IS 'Set by retry_dead_letter(s): the sidecar delivers it again; NULL when dead';
CREATE INDEX delivery_dead_letters_dead_at_idx ON event.delivery_dead_letters (dead_at, delivery_id);
CREATE INDEX delivery_dead_letters_event_idx ON event.delivery_dead_letters (event_id);
CREATE INDEX delivery_dead_letters_retry_idx ON event.delivery_dead_letters (retry_requested_at)
    WHERE retry_requested_at IS NOT NULL;

CREATE FUNCTION event.list_dead_letters(
    subscription_id uuid        DEFAULT NULL,
    event_id        uuid        DEFAULT NULL,
    start_time      timestamptz DEFAULT NULL,
    end_time        timestamptz DEFAULT NULL,
    "limit"         integer     DEFAULT 100,
    "offset"        integer     DEFAULT 0
) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_list_dead_letters' LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.list_dead_letters(uuid, uuid, timestamptz, timestamptz, integer, integer) IS 'Delivery dead letters matching the filters (NULL = any; dead_at in [start_time, end_time]), oldest first, paged: {dead_letters, total, limit, offset, has_more}';
REVOKE ALL ON FUNCTION event.list_dead_letters(uuid, uuid, timestamptz, timestamptz, integer, integer) FROM PUBLIC;

CREATE FUNCTION event.get_dead_letter(delivery_id text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_get_dead_letter' LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.get_dead_letter(text) IS 'One delivery dead letter with its payload and every attempt (event.delivery_attempts); unknown id: P0002';
REVOKE ALL ON FUNCTION event.get_dead_letter(text) FROM PUBLIC;

CREATE FUNCTION event.retry_dead_letter(delivery_id text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_retry_dead_letter' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.retry_dead_letter(text) IS 'Ask the sidecar to deliver a dead letter again (it stays listed, state retrying, until delivered or dead again); unknown id: P0002; subscription deleted: 55000';
REVOKE ALL ON FUNCTION event.retry_dead_letter(text) FROM PUBLIC;

CREATE FUNCTION event.retry_dead_letters(
    subscription_id uuid        DEFAULT NULL,
    event_id        uuid        DEFAULT NULL,
    start_time      timestamptz DEFAULT NULL,
    end_time        timestamptz DEFAULT NULL
) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_retry_dead_letters' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.retry_dead_letters(uuid, uuid, timestamptz, timestamptz) IS 'Retry every dead letter matching the filters (at least one): {retried, skipped} (skipped: the subscription was deleted)';
REVOKE ALL ON FUNCTION event.retry_dead_letters(uuid, uuid, timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION event.purge_dead_letter(delivery_id text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_purge_dead_letter' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.purge_dead_letter(text) IS 'Remove one dead letter (its attempts stay in event.delivery_attempts); returns it; unknown id: P0002';
REVOKE ALL ON FUNCTION event.purge_dead_letter(text) FROM PUBLIC;

CREATE FUNCTION event.purge_dead_letters(
    subscription_id uuid        DEFAULT NULL,
    event_id        uuid        DEFAULT NULL,
    start_time      timestamptz DEFAULT NULL,
    end_time        timestamptz DEFAULT NULL
) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'event_purge_dead_letters' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.purge_dead_letters(uuid, uuid, timestamptz, timestamptz) IS 'Remove every dead letter matching the filters (at least one): {purged}';
REVOKE ALL ON FUNCTION event.purge_dead_letters(uuid, uuid, timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION event.claim_dead_letter_retries(instance text, holding text[], max_rows integer DEFAULT 100)
    RETURNS TABLE (delivery_id text, subscription_id uuid, event_id uuid, attempts integer, payload text)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$WITH orphaned AS (
              UPDATE event.delivery_dead_letters d
              SET retry_requested_at = NULL, retry_claimed_by = NULL, retry_claimed_at = NULL,
                  last_error = 'retry dropped: the subscription was deleted'
              WHERE d.retry_requested_at IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM event.event_subscriptions s WHERE s.id = d.subscription_id AND s.active)
              RETURNING 1),
          renewed AS (
              UPDATE event.delivery_dead_letters d SET retry_claimed_at = pg_catalog.now()
              WHERE d.retry_requested_at IS NOT NULL AND d.retry_claimed_by = instance AND d.delivery_id = ANY (holding)
                AND EXISTS (SELECT 1 FROM event.event_subscriptions s WHERE s.id = d.subscription_id AND s.active)
              RETURNING 1),
          picked AS (
              SELECT d.delivery_id FROM event.delivery_dead_letters d
              WHERE d.retry_requested_at IS NOT NULL AND d.delivery_id <> ALL (holding)
                AND (d.retry_claimed_by IS NULL OR d.retry_claimed_by = instance
                     OR d.retry_claimed_at < pg_catalog.now() - interval '30 seconds')
                AND EXISTS (SELECT 1 FROM event.event_subscriptions s WHERE s.id = d.subscription_id AND s.active)
              ORDER BY d.retry_requested_at, d.delivery_id
              LIMIT max_rows
              FOR UPDATE SKIP LOCKED)
          UPDATE event.delivery_dead_letters d SET retry_claimed_by = instance, retry_claimed_at = pg_catalog.now()
          FROM picked p
          WHERE d.delivery_id = p.delivery_id
          RETURNING d.delivery_id, d.subscription_id, d.event_id, d.attempts, d.payload::text$$;
COMMENT ON FUNCTION event.claim_dead_letter_retries(text, text[], integer) IS 'For the sidecar: claims requested retries for instance (30 s lease), renews the lease of those it holds, drops requests whose subscription was deleted';
REVOKE ALL ON FUNCTION event.claim_dead_letter_retries(text, text[], integer) FROM PUBLIC;

-- Internal: the outcomes the sidecar reports for retries and replay deliveries, as rows.
CREATE FUNCTION event._delivery_outcomes(results jsonb)
    RETURNS TABLE (delivery_id text, delivered boolean, attempts integer, last_status_code integer, last_error text,
                   dead_at timestamptz)
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog
    AS $$SELECT x.delivery_id, x.delivered, x.attempts, x.last_status_code, x.last_error, x.dead_at
          FROM pg_catalog.jsonb_to_recordset(results) AS x(delivery_id text, delivered boolean, attempts integer,
               last_status_code integer, last_error text, dead_at timestamptz)$$;
COMMENT ON FUNCTION event._delivery_outcomes(jsonb) IS 'Internal: outcomes of dead-letter retries and replay deliveries (finish_dead_letter_retries, finish_replay_deliveries) as rows';
REVOKE EXECUTE ON FUNCTION event._delivery_outcomes(jsonb) FROM PUBLIC;

CREATE FUNCTION event.finish_dead_letter_retries(results jsonb) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$WITH r AS (SELECT * FROM event._delivery_outcomes(results)),
          gone AS (
              DELETE FROM event.delivery_dead_letters d USING r
              WHERE d.delivery_id = r.delivery_id AND r.delivered
              RETURNING 1),
          again AS (
              UPDATE event.delivery_dead_letters d
              SET attempts = d.attempts + r.attempts, last_status_code = r.last_status_code, last_error = r.last_error,
                  dead_at = r.dead_at, retries = d.retries + 1,
                  retry_requested_at = NULL, retry_claimed_by = NULL, retry_claimed_at = NULL
              FROM r
              WHERE d.delivery_id = r.delivery_id AND NOT r.delivered
              RETURNING 1)
          SELECT (SELECT pg_catalog.count(*) FROM gone)::integer + (SELECT pg_catalog.count(*) FROM again)::integer$$;
COMMENT ON FUNCTION event.finish_dead_letter_retries(jsonb) IS 'For the sidecar: outcomes of retries (delivered: the dead letter is removed; else it is dead again with the attempts added); returns the rows changed';
REVOKE ALL ON FUNCTION event.finish_dead_letter_retries(jsonb) FROM PUBLIC;

-- Replays to a subscription (event.replay_events with a subscription as target_service): the
-- sidecar claims their deliveries as it claims dead-letter retries (same lease, same holding
-- list) and its subscription worker posts them, one stream at a time in position order.
CREATE FUNCTION event.claim_replay_deliveries(instance text, holding text[], max_rows integer DEFAULT 100)
    RETURNS TABLE (delivery_id text, subscription_id uuid, event_id uuid, payload text, order_key text)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$WITH gone AS (
              DELETE FROM event.replay_deliveries d
              WHERE NOT EXISTS (SELECT 1 FROM event.event_subscriptions s WHERE s.id = d.subscription_id AND s.active)
              RETURNING d.replay_id)
          UPDATE event.processing_replays r SET failed = r.failed + g.n
            FROM (SELECT gone.replay_id, pg_catalog.count(*) AS n FROM gone GROUP BY gone.replay_id) g
           WHERE r.replay_id = g.replay_id;
          UPDATE event.replay_deliveries d SET claimed_at = pg_catalog.now()
           WHERE d.claimed_by = instance AND d.delivery_id = ANY (holding);
          WITH picked AS (
              SELECT d.delivery_id FROM event.replay_deliveries d
              WHERE d.delivery_id <> ALL (holding)
                AND (d.claimed_by IS NULL OR d.claimed_by = instance
                     OR d.claimed_at < pg_catalog.now() - interval '30 seconds')
              ORDER BY d.replay_id, d."position"
              LIMIT max_rows
              FOR UPDATE SKIP LOCKED),
          u AS (
              UPDATE event.replay_deliveries d SET claimed_by = instance, claimed_at = pg_catalog.now()
              FROM picked p
              WHERE d.delivery_id = p.delivery_id
              RETURNING d.*)
          SELECT u.delivery_id, u.subscription_id, u.event_id, u.payload::text,
                 'replay:' OPERATOR(pg_catalog.||) u.replay_id::text OPERATOR(pg_catalog.||) ':'
                     OPERATOR(pg_catalog.||) COALESCE('stream:' OPERATOR(pg_catalog.||) u.stream_id, u.delivery_id)
            FROM u ORDER BY u.replay_id, u."position"$$;
COMMENT ON FUNCTION event.claim_replay_deliveries(text, text[], integer) IS 'For the sidecar: claims deliveries of replays to a subscription for instance (30 s lease), renews the lease of those it holds, drops those of a deleted subscription (failed); in position order, with the key that orders them (one stream at a time)';
REVOKE ALL ON FUNCTION event.claim_replay_deliveries(text, text[], integer) FROM PUBLIC;

CREATE FUNCTION event.finish_replay_deliveries(results jsonb) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$WITH r AS (SELECT * FROM event._delivery_outcomes(results)),
          d AS (
              DELETE FROM event.replay_deliveries t USING r
              WHERE t.delivery_id = r.delivery_id
              RETURNING t.delivery_id, t.replay_id, t.subscription_id, t.event_id, t.payload, r.delivered, r.attempts,
                        r.last_status_code, r.last_error, r.dead_at),
          dead AS (
              INSERT INTO event.delivery_dead_letters (delivery_id, subscription_id, event_id, stream_sequence,
                                                       attempts, last_status_code, last_error, payload, dead_at)
              SELECT d.delivery_id, d.subscription_id, d.event_id, 0, GREATEST(d.attempts, 1), d.last_status_code,
                     d.last_error, d.payload, COALESCE(d.dead_at, pg_catalog.now())
              FROM d WHERE NOT d.delivered
              ON CONFLICT (delivery_id) DO NOTHING
              RETURNING 1),
          f AS (
              UPDATE event.processing_replays p SET failed = p.failed + n.n
              FROM (SELECT d.replay_id, pg_catalog.count(*) AS n FROM d WHERE NOT d.delivered GROUP BY d.replay_id) n
              WHERE p.replay_id = n.replay_id
              RETURNING 1)
          SELECT (SELECT pg_catalog.count(*) FROM d)::integer
                 + 0 * ((SELECT pg_catalog.count(*) FROM dead) + (SELECT pg_catalog.count(*) FROM f))::integer$$;
COMMENT ON FUNCTION event.finish_replay_deliveries(jsonb) IS 'For the sidecar: outcomes of replay deliveries (results as for finish_dead_letter_retries; other ids are ignored): each row goes, one that failed becomes a delivery dead letter (stream_sequence 0) and counts as failed in its replay; returns the rows finished';
REVOKE ALL ON FUNCTION event.finish_replay_deliveries(jsonb) FROM PUBLIC;


------------------------------------------------------------------------------
-- Schema registry and stream hierarchy (0.2.0, issue 16; docs/sql-api.md "Schema registry" and
-- "Stream hierarchy"). A JSON Schema (draft 7) per event_type, in versions; the newest active
-- version validates every append of that type (extension/pg/schemas.cpp) and the stored event
-- carries it as metadata.schema_version.
------------------------------------------------------------------------------

CREATE TABLE event.event_schemas (
    event_type    text        NOT NULL,
    version       integer     NOT NULL CHECK (version > 0),
    schema        jsonb       NOT NULL,
    active        boolean     NOT NULL DEFAULT true,
    compatibility text        NOT NULL DEFAULT 'none' CHECK (compatibility IN ('none', 'backward')),
    description   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT event_schemas_pkey PRIMARY KEY (event_type, version)
);
COMMENT ON TABLE event.event_schemas IS 'JSON Schemas (draft 7) per event_type and version; the newest active version validates appends; write with event.register_schema';
SELECT pg_catalog.pg_extension_config_dump('event.event_schemas', '');
REVOKE ALL ON TABLE event.event_schemas FROM PUBLIC;

-- Every backend drops its compiled schemas when the table changes (the same trigger as sources).
CREATE TRIGGER event_schemas_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event.event_schemas
    FOR EACH STATEMENT EXECUTE FUNCTION event.invalidate_value_cache();

CREATE FUNCTION event.register_schema(event_type text, schema jsonb, compatibility text DEFAULT 'none',
                                      description text DEFAULT NULL) RETURNS integer
    AS 'MODULE_PATHNAME', 'event_register_schema' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.register_schema(text, jsonb, text, text) IS 'Register a new version of the JSON Schema of an event_type (draft 7) and return its version; compatibility => ''backward'' refuses (EV020) a schema that could reject data the current version accepts';
REVOKE ALL ON FUNCTION event.register_schema(text, jsonb, text, text) FROM PUBLIC;

CREATE FUNCTION event.deactivate_schema(event_type text, version integer DEFAULT NULL) RETURNS integer
    AS 'MODULE_PATHNAME', 'event_deactivate_schema' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event.deactivate_schema(text, integer) IS 'Stop validating with one version (NULL: every version) of an event_type''s schema; returns how many versions were deactivated; unknown: P0002';
REVOKE ALL ON FUNCTION event.deactivate_schema(text, integer) FROM PUBLIC;

CREATE FUNCTION event.get_schema(event_type text, version integer DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT pg_catalog.jsonb_build_object('event_type', s.event_type, 'version', s.version, 'schema', s.schema,
                                              'active', s.active, 'compatibility', s.compatibility,
                                              'description', s.description, 'created_at', s.created_at)
          FROM event.event_schemas s
          WHERE s.event_type OPERATOR(pg_catalog.=) $1
            AND (($2 IS NULL AND s.active) OR s.version OPERATOR(pg_catalog.=) $2)
          ORDER BY s.version DESC LIMIT 1$$;
COMMENT ON FUNCTION event.get_schema(text, integer) IS 'One schema version of an event_type as jsonb (NULL version: the active one that validates appends), or NULL';
REVOKE ALL ON FUNCTION event.get_schema(text, integer) FROM PUBLIC;

CREATE FUNCTION event.list_schemas(event_type text DEFAULT NULL)
    RETURNS TABLE (event_type text, version integer, active boolean, validating boolean, compatibility text,
                   description text, created_at timestamptz, schema jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT s.event_type, s.version, s.active,
                s.active AND s.version OPERATOR(pg_catalog.=) (
                    SELECT pg_catalog.max(a.version) FROM event.event_schemas a
                    WHERE a.event_type OPERATOR(pg_catalog.=) s.event_type AND a.active),
                s.compatibility, s.description, s.created_at, s.schema
          FROM event.event_schemas s
          WHERE $1 IS NULL OR s.event_type OPERATOR(pg_catalog.=) $1
          ORDER BY s.event_type, s.version$$;
COMMENT ON FUNCTION event.list_schemas(text) IS 'Every schema version (of one event_type, or all), by event_type and version; validating marks the version appends are checked against';
REVOKE ALL ON FUNCTION event.list_schemas(text) FROM PUBLIC;

-- Streams of one entity_type (a Streamkit "space"), paged by entity_id (keyset on
-- event_streams_entity_type_idx). last_event_at is event_streams.updated_at: the append that
-- stored the stream's last event sets it to that event's created_at.
CREATE FUNCTION event.list_streams(entity_type text, after_entity_id text DEFAULT NULL, max_count integer DEFAULT 100)
    RETURNS TABLE (stream_id text, entity_id text, version bigint, created_at timestamptz, last_event_at timestamptz,
                   last_event_id uuid, last_position bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$SELECT s.stream_id::text, s.entity_id, s.version, s.created_at, s.updated_at, s.last_event_id, s.last_position
          FROM event.event_streams s
          WHERE s.entity_type OPERATOR(pg_catalog.=) $1
            AND ($2 IS NULL OR s.entity_id OPERATOR(pg_catalog.>) $2)
          ORDER BY s.entity_id
          LIMIT $3$$;
COMMENT ON FUNCTION event.list_streams(text, text, integer) IS 'Streams of one entity_type ordered by entity_id, after a cursor (the last entity_id of the previous page): version, created_at, last_event_at, last_event_id, last_position';
REVOKE ALL ON FUNCTION event.list_streams(text, text, integer) FROM PUBLIC;

------------------------------------------------------------------------------
-- Outbound processors: webhook and nats processors executed by the sidecar (0.2.0, issue 15;
-- docs/architecture.md "Event processing", docs/sidecar.md "Outbound processors"). A task per
-- event and processor, left by event.process_batch (or process_replays), is claimed with a
-- lease (event.claim_processing_tasks, one transaction), called by the sidecar with no
-- transaction open, and its outcome recorded (event.complete_processing_tasks, a second
-- transaction) as a processing_results row; when an event's last task of its attempt is
-- recorded, its status moves on exactly as for sql processors (processed, failed -> retry,
-- archived -> processing dead letter). A lease that expires (the sidecar died) lets the task be
-- claimed again: the call is repeated with the same message id (at least once).
------------------------------------------------------------------------------

CREATE TABLE event.processing_tasks (
    task_id      uuid        PRIMARY KEY,
    event_id     uuid        NOT NULL,
    processor_id uuid        NOT NULL,
    attempt      integer     NOT NULL CHECK (attempt > 0),
    replay_id    uuid,
    claims       integer     NOT NULL,
    lease_until  timestamptz,
    created_at   timestamptz NOT NULL
);
COMMENT ON TABLE event.processing_tasks IS 'Calls of webhook and nats processors waiting for the sidecar (lease_until: claimed until then; claims: how often claimed)';
CREATE INDEX processing_tasks_event_idx ON event.processing_tasks (event_id, attempt);
-- The tasks of one processor: claim_processing_tasks finds those of disabled or deleted processors.
CREATE INDEX processing_tasks_processor_idx ON event.processing_tasks (processor_id);
SELECT pg_catalog.pg_extension_config_dump('event.processing_tasks', '');
REVOKE ALL ON TABLE event.processing_tasks FROM PUBLIC;

-- Internal: the outcome of one attempt of each event (attempts[i]) from its processing_results,
-- in the shape of event._run_processors (pending 0).
CREATE FUNCTION event._attempt_outcomes(event_ids uuid[], attempts integer[])
    RETURNS TABLE (event_id uuid, failed boolean, duration_ms double precision, error text,
                   failed_processors text[], max_attempts integer, backoff_base_ms integer, backoff_max_ms integer,
                   internal boolean, pending integer)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
    AS $$
BEGIN
    RETURN QUERY
    SELECT g.id, COALESCE(pg_catalog.bool_or(r.status = 'failed'), false), COALESCE(pg_catalog.sum(r.duration_ms), 0),
           (pg_catalog.array_agg(r.error ORDER BY q.priority DESC, q.processor_name) FILTER (WHERE r.status = 'failed'))[1],
           COALESCE(pg_catalog.array_agg(COALESCE(q.processor_name, r.processor_id::text) ORDER BY q.priority DESC,
                    q.processor_name) FILTER (WHERE r.status = 'failed'), '{}'),
           pg_catalog.min(q.max_attempts) FILTER (WHERE r.status = 'failed'),
           pg_catalog.min(q.backoff_base_ms) FILTER (WHERE r.status = 'failed'),
           pg_catalog.min(q.backoff_max_ms) FILTER (WHERE r.status = 'failed'),
           pg_catalog.bool_and(e.event_source = 'system' AND pg_catalog.starts_with(e.event_type, 'event.')), 0
      FROM ROWS FROM (pg_catalog.unnest(event_ids), pg_catalog.unnest(attempts)) AS g(id, a)
      JOIN event.events e ON e.event_id = g.id
      LEFT JOIN event.processing_results r ON r.event_id = g.id AND r.attempt = g.a AND r.replay_id IS NULL
      LEFT JOIN event.event_processors q ON q.processor_id = r.processor_id
     GROUP BY g.id;
END $$;
COMMENT ON FUNCTION event._attempt_outcomes(uuid[], integer[]) IS 'Internal: the outcome of an attempt of events from their processing_results';
REVOKE EXECUTE ON FUNCTION event._attempt_outcomes(uuid[], integer[]) FROM PUBLIC;

-- Internal: of these events (their status rows locked by the caller), those in status processing
-- whose attempt has no task left move on (event._finish_processing with settle).
CREATE FUNCTION event._settle_processing(event_ids uuid[]) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_ids uuid[];
    v_att integer[];
BEGIN
    SELECT pg_catalog.array_agg(s.event_id ORDER BY s.event_id), pg_catalog.array_agg(s.attempts - 1 ORDER BY s.event_id)
      INTO v_ids, v_att
      FROM event.event_status s
     WHERE s.event_id = ANY (event_ids) AND s.status = 'processing'
       AND NOT EXISTS (SELECT 1 FROM event.processing_tasks t
                        WHERE t.event_id = s.event_id AND t.attempt = s.attempts AND t.replay_id IS NULL);
    IF v_ids IS NULL THEN
        RETURN pg_catalog.jsonb_build_object('events', 0);
    END IF;
    RETURN event._finish_processing(v_ids, pg_catalog.array_fill('processing'::text, ARRAY[pg_catalog.cardinality(v_ids)]),
                                    v_att, true);
END $$;
COMMENT ON FUNCTION event._settle_processing(uuid[]) IS 'Internal: move on the events in status processing whose webhook and nats calls have all reported';
REVOKE EXECUTE ON FUNCTION event._settle_processing(uuid[]) FROM PUBLIC;

CREATE FUNCTION event.claim_processing_tasks(max_tasks integer DEFAULT 100, lease_ms integer DEFAULT 120000)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_skip uuid[];
    v_seqscan text;
    v jsonb;
BEGIN
    IF max_tasks IS NULL OR max_tasks NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'invalid max_tasks "%"', max_tasks USING ERRCODE = '22023', HINT = 'Give 1 to 10000.';
    END IF;
    IF lease_ms IS NULL OR lease_ms NOT BETWEEN 100 AND 86400000 THEN
        RAISE EXCEPTION 'invalid lease_ms "%"', lease_ms USING ERRCODE = '22023', HINT = 'Give 100 to 86400000.';
    END IF;
    -- A processor disabled or deleted since its tasks were made is skipped: the tasks go, without
    -- a result, and their events move on. Found without reading the tasks of enabled processors
    -- (the hot path): the distinct processor ids of the tasks, one index probe each
    -- (processing_tasks_processor_idx, a loose index scan), then the tasks of those not enabled,
    -- through the same index: sequential scans are off for this one statement, as the planner
    -- would otherwise scan the whole table when one processor holds most of the tasks.
    v_seqscan := pg_catalog.current_setting('enable_seqscan');
    PERFORM pg_catalog.set_config('enable_seqscan', 'off', true);
    WITH RECURSIVE k(id) AS (
        (SELECT t.processor_id FROM event.processing_tasks t ORDER BY t.processor_id LIMIT 1)
        UNION ALL
        SELECT (SELECT t.processor_id FROM event.processing_tasks t WHERE t.processor_id > k.id
                 ORDER BY t.processor_id LIMIT 1)
          FROM k WHERE k.id IS NOT NULL)
    SELECT pg_catalog.array_agg(DISTINCT x.event_id) INTO v_skip
      FROM k CROSS JOIN LATERAL (SELECT t.event_id FROM event.processing_tasks t WHERE t.processor_id = k.id OFFSET 0) x
     WHERE k.id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM event.event_processors p WHERE p.processor_id = k.id AND p.enabled);
    PERFORM pg_catalog.set_config('enable_seqscan', v_seqscan, true);
    IF v_skip IS NOT NULL THEN
        PERFORM 1 FROM event.event_status s WHERE s.event_id = ANY (v_skip) ORDER BY s.event_id FOR UPDATE;
        DELETE FROM event.processing_tasks t WHERE t.event_id = ANY (v_skip)
           AND NOT EXISTS (SELECT 1 FROM event.event_processors p WHERE p.processor_id = t.processor_id AND p.enabled);
        PERFORM event._settle_processing(v_skip);
    END IF;
    -- Unclaimed tasks and those whose lease ran out, oldest first; an idle call writes nothing.
    WITH c AS (SELECT t.task_id FROM event.processing_tasks t
                WHERE t.lease_until IS NULL OR t.lease_until < pg_catalog.clock_timestamp()
                ORDER BY t.task_id LIMIT max_tasks FOR UPDATE SKIP LOCKED),
    u AS (UPDATE event.processing_tasks t
             SET lease_until = pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => lease_ms / 1000.0),
                 claims = t.claims + 1
            FROM c WHERE t.task_id = c.task_id
        RETURNING t.*)
    SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('task_id', u.task_id, 'claim', u.claims,
               'event_id', u.event_id, 'attempt', u.attempt, 'replay_id', u.replay_id,
               'processor_id', p.processor_id, 'processor_name', p.processor_name, 'processor_type', p.processor_type,
               'config', p.config,
               -- Nats-Msg-Id and X-Event-Delivery-Id: the same for every call of this processor
               -- on this event (and replay), so a repeated call is recognisable.
               'message_id', p.processor_id::text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) u.event_id::text
                   OPERATOR(pg_catalog.||) COALESCE(':' OPERATOR(pg_catalog.||) u.replay_id::text, ''),
               'event', event.get_event_json(u.event_id)) ORDER BY u.task_id), '[]')
      INTO v
      FROM u JOIN event.event_processors p ON p.processor_id = u.processor_id;
    RETURN v;
END $$;
COMMENT ON FUNCTION event.claim_processing_tasks(integer, integer) IS 'For the sidecar: claim up to max_tasks webhook/nats processor calls for lease_ms (each with its processor, config, event and message id); a task whose lease ran out is claimed again';

CREATE FUNCTION event.complete_processing_tasks(results jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog
    AS $$
DECLARE
    v_bad text;
    v_ids uuid[];
    v_n integer;
BEGIN
    IF results IS NULL OR pg_catalog.jsonb_typeof(results) <> 'array' THEN
        RAISE EXCEPTION 'results must be a JSON array' USING ERRCODE = '22023',
            HINT = 'Give [{"task_id": ..., "claim": n, "ok": true|false, "duration_ms": n, "error": "..."}].';
    END IF;
    SELECT x::text INTO v_bad FROM pg_catalog.jsonb_array_elements(results) AS x
     WHERE pg_catalog.jsonb_typeof(x) <> 'object' OR pg_catalog.jsonb_typeof(x->'task_id') IS DISTINCT FROM 'string'
        OR pg_catalog.jsonb_typeof(x->'claim') IS DISTINCT FROM 'number'
        OR pg_catalog.jsonb_typeof(x->'ok') IS DISTINCT FROM 'boolean' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invalid result %', pg_catalog.left(v_bad, 200) USING ERRCODE = '22023',
            HINT = 'Each result needs task_id (string), claim (number) and ok (boolean).';
    END IF;
    -- The events' status rows first, in a fixed order: two sidecars completing tasks of one event
    -- take turns, so the later one sees every task the earlier removed and settles the event.
    PERFORM 1 FROM event.event_status s
     WHERE s.event_id IN (SELECT t.event_id FROM event.processing_tasks t
                           WHERE t.task_id IN (SELECT (x->>'task_id')::uuid FROM pg_catalog.jsonb_array_elements(results) AS x))
     ORDER BY s.event_id FOR UPDATE;
    -- Only the current claim of a task may complete it (a lease that ran out was claimed again).
    WITH r AS (SELECT * FROM pg_catalog.jsonb_to_recordset(results)
                   AS r(task_id uuid, claim integer, ok boolean, duration_ms double precision, error text)),
    d AS (DELETE FROM event.processing_tasks t USING r WHERE t.task_id = r.task_id AND t.claims = r.claim
          RETURNING t.event_id, t.processor_id, t.attempt, t.replay_id, r.ok, r.duration_ms, r.error),
    ins AS (INSERT INTO event.processing_results (event_id, processor_id, attempt, replay_id, status, duration_ms, error,
                                                  processed_at)
            SELECT d.event_id, d.processor_id, d.attempt, d.replay_id, CASE WHEN d.ok THEN 'success' ELSE 'failed' END,
                   GREATEST(COALESCE(d.duration_ms, 0), 0),
                   CASE WHEN NOT d.ok THEN pg_catalog.format('%s: %s', COALESCE(p.processor_name, d.processor_id::text),
                                                             COALESCE(d.error, 'failed')) END,
                   pg_catalog.now()
              FROM d LEFT JOIN event.event_processors p ON p.processor_id = d.processor_id
            RETURNING event_id, replay_id, status),
    rp AS (UPDATE event.processing_replays p SET failed = p.failed + f.n
             FROM (SELECT ins.replay_id, pg_catalog.count(DISTINCT ins.event_id) AS n FROM ins
                    WHERE ins.replay_id IS NOT NULL AND ins.status = 'failed' GROUP BY ins.replay_id) f
            WHERE p.replay_id = f.replay_id
        RETURNING 1)
    SELECT pg_catalog.array_agg(DISTINCT ins.event_id) FILTER (WHERE ins.replay_id IS NULL),
           pg_catalog.count(*)::integer + 0 * (SELECT pg_catalog.count(*) FROM rp)::integer
      INTO v_ids, v_n FROM ins;
    RETURN pg_catalog.jsonb_build_object('recorded', v_n, 'stale', pg_catalog.jsonb_array_length(results) - v_n)
           OPERATOR(pg_catalog.||) (event._settle_processing(COALESCE(v_ids, '{}')) - 'events');
END $$;
COMMENT ON FUNCTION event.complete_processing_tasks(jsonb) IS 'For the sidecar: record the outcomes of claimed webhook/nats processor calls (stale claims are ignored); events whose calls have all reported move on like after sql processors; returns counts';

REVOKE EXECUTE ON FUNCTION event.claim_processing_tasks(integer, integer), event.complete_processing_tasks(jsonb) FROM PUBLIC;
