-- test/bench/setup.sql — objects for test/bench/run.sh (run once in a fresh database).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION event;
CREATE SCHEMA bench;

-- Baseline: a plain table with the columns, partitioning and the 6 indexes of event.events
-- (no triggers, no counters, no streams, no positions protocol). Ids come from the same
-- UUIDv7 generator so both tables partition and index identically (gen_random_uuid() would
-- scatter the primary key over the whole range and fit no monthly partition).
CREATE SEQUENCE bench.base_position_seq AS bigint CACHE 1;
CREATE TABLE bench.base_events (
    event_id        uuid        NOT NULL DEFAULT event.uuid_v7(),
    position        bigint      NOT NULL DEFAULT nextval('bench.base_position_seq'),
    event_type      text        NOT NULL,
    event_source    text        NOT NULL,
    event_category  text        NOT NULL,
    user_id         text,
    stream_id       text COLLATE "C",
    stream_version  bigint,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    context         jsonb       NOT NULL DEFAULT '{}',
    idempotency_key text,
    "timestamp"     timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT base_events_pkey PRIMARY KEY (event_id),
    CONSTRAINT base_events_stream_check CHECK ((stream_id IS NULL) = (stream_version IS NULL))
) PARTITION BY RANGE (event_id);
CREATE INDEX base_events_position_idx ON bench.base_events (position);
CREATE INDEX base_events_stream_idx ON bench.base_events (stream_id, stream_version) WHERE stream_id IS NOT NULL;
CREATE INDEX base_events_category_idx ON bench.base_events (split_part(stream_id, ':', 1), position) WHERE stream_id IS NOT NULL;
CREATE INDEX base_events_user_idx ON bench.base_events (user_id, "timestamp") WHERE user_id IS NOT NULL;
CREATE INDEX base_events_type_idx ON bench.base_events (event_type, "timestamp");
CREATE INDEX base_events_timestamp_idx ON bench.base_events ("timestamp");

-- Monthly partitions like event.create_partitions(): this month and the next two.
DO $$
DECLARE m timestamptz := date_trunc('month', now());
BEGIN
  FOR k IN 0..2 LOOP
    EXECUTE format('CREATE TABLE bench.base_events_p%s PARTITION OF bench.base_events FOR VALUES FROM (%L) TO (%L)',
                   to_char(m + make_interval(months => k), 'YYYYMM'),
                   event.uuid_v7_floor(m + make_interval(months => k)),
                   event.uuid_v7_floor(m + make_interval(months => k + 1)));
  END LOOP;
END $$;
SELECT event.create_partitions(now() + interval '2 months') \g /dev/null

-- Benchmark 3: expected-version append with an application-side retry on EV001.
CREATE SEQUENCE bench.conflicts;
CREATE FUNCTION bench.append_acct(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOOP
    BEGIN
      PERFORM event.create_event('acct.tx', '{}', 'backend', 'payment', NULL, 'acct:' || n,
                                 (SELECT version FROM event.event_streams WHERE stream_id = 'acct:' || n));
      RETURN;
    EXCEPTION WHEN SQLSTATE 'EV001' THEN
      PERFORM nextval('bench.conflicts');
    END;
  END LOOP;
END $$;
SELECT count(event.create_event('acct.opened', '{}', 'backend', 'payment', NULL, 'acct:' || n, 0))
  FROM generate_series(1, 1000) n \g /dev/null

-- Benchmark 3'': the same optimistic-concurrency append done by hand on the plain table, as
-- Message DB's write_message does it: the application reads the stream's version; the write
-- takes a transaction lock on the stream, reads the version again, compares and inserts the
-- next one. Same retry loop (and so the same subtransaction) as bench.append_acct.
CREATE SEQUENCE bench.conflicts_base;
CREATE FUNCTION bench.append_acct_base(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  s text := 'acct:' || n;
  expected bigint;
  current bigint;
BEGIN
  LOOP
    BEGIN
      expected := (SELECT max(stream_version) FROM bench.base_events WHERE stream_id = s);
      PERFORM pg_advisory_xact_lock(hashtextextended(s, 0));
      current := (SELECT max(stream_version) FROM bench.base_events WHERE stream_id = s);
      IF current IS DISTINCT FROM expected THEN
        RAISE SQLSTATE 'EV001';
      END IF;
      INSERT INTO bench.base_events (event_type, event_source, event_category, stream_id, stream_version, data)
      VALUES ('acct.tx', 'backend', 'payment', s, coalesce(current, 0) + 1, '{}');
      RETURN;
    EXCEPTION WHEN SQLSTATE 'EV001' THEN
      PERFORM nextval('bench.conflicts_base');
    END;
  END LOOP;
END $$;
INSERT INTO bench.base_events (event_type, event_source, event_category, stream_id, stream_version, data)
  SELECT 'acct.opened', 'backend', 'payment', 'acct:' || n, 1, '{}' FROM generate_series(1, 1000) n;

-- Benchmark 4: bulk load through the public write path, one transaction per batch.
-- Event i: 20 types; ~10k users plus user_hot (1% of events); half the events in
-- order:<w>-<k> streams (50,000 in all), 1% in 5 account:hot<k> streams per worker. Workers
-- own disjoint streams so they never wait on each other's stream rows.
CREATE PROCEDURE bench.load(w int, jobs int, lo bigint, hi bigint, batch int) LANGUAGE plpgsql AS $$
DECLARE s bigint := lo; e bigint;
BEGIN
  WHILE s < hi LOOP
    e := least(s + batch, hi);
    PERFORM jsonb_array_length(event.create_events(
      (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
         'event_type', 'bench.type' || (i % 20),
         'event_source', (ARRAY['frontend','backend','system','iot_device'])[1 + i % 4],
         'event_category', (ARRAY['click','page_view','order','payment','telemetry'])[1 + i % 5],
         'user_id', CASE WHEN i % 100 = 0 THEN 'user_hot' ELSE 'user_' || (i % 10000) END,
         'stream_id', CASE WHEN i % 100 = 1 THEN 'account:hot' || (w * 5 + (i / 100) % 5)
                           WHEN i % 2 = 0 THEN 'order:' || w || '-' || ((i / 2) % (50000 / jobs)) END,
         'data', jsonb_build_object('amount', i % 1000, 'sku', 'sku-' || (i % 500)))) ORDER BY i)
         FROM generate_series(s, e - 1) i)));
    COMMIT;
    s := e;
  END LOOP;
END $$;

-- Copies event.events into the baseline table row by row (incremental index maintenance,
-- like the write path), one transaction per chunk of positions.
CREATE PROCEDURE bench.copy_to_base(lo bigint, hi bigint, chunk int) LANGUAGE plpgsql AS $$
DECLARE s bigint := lo;
BEGIN
  WHILE s < hi LOOP
    INSERT INTO bench.base_events SELECT * FROM event.events WHERE position >= s AND position < least(s + chunk, hi);
    COMMIT;
    s := s + chunk;
  END LOOP;
END $$;

-- Median wall time in ms of `runs` executions of q inside the server (one warm-up first).
CREATE FUNCTION bench.median_ms(q text, runs int) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; d double precision[] := '{}';
BEGIN
  EXECUTE q;
  FOR k IN 1..runs LOOP
    t0 := clock_timestamp();
    EXECUTE q;
    d := d || (extract(epoch FROM clock_timestamp() - t0) * 1000)::double precision;
  END LOOP;
  RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(d) x);
END $$;

-- Median wall times in ms of `runs` executions each of a and b, alternated (a, b, a, b, ...) so
-- that both see the same load second by second (one warm-up of each first): "ms_a ms_b".
CREATE FUNCTION bench.median_pair_ms(a text, b text, runs int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; da double precision[] := '{}'; db double precision[] := '{}';
BEGIN
  EXECUTE a;
  EXECUTE b;
  FOR k IN 1..runs LOOP
    t0 := clock_timestamp();
    EXECUTE a;
    da := da || (extract(epoch FROM clock_timestamp() - t0) * 1000)::double precision;
    t0 := clock_timestamp();
    EXECUTE b;
    db := db || (extract(epoch FROM clock_timestamp() - t0) * 1000)::double precision;
  END LOOP;
  RETURN (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 3) FROM unnest(da) x) || ' ' ||
         (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 3) FROM unnest(db) x);
END $$;

-- Bytes of every relation (with indexes and TOAST) in a partition tree.
CREATE FUNCTION bench.tree_bytes(r regclass) RETURNS bigint LANGUAGE sql AS $$
  SELECT COALESCE(sum(pg_total_relation_size(relid)), 0)::bigint FROM pg_partition_tree(r) WHERE isleaf OR level = 0
$$;
