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
