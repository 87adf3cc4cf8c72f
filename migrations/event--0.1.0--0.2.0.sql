-- event 0.1.0 -> 0.2.0: upgrade script (ALTER EXTENSION event UPDATE TO '0.2.0').
-- Every change of the 0.2.0 cycle to sql/event--0.2.0.sql is made here too, so that an updated
-- database has exactly the catalog of a fresh 0.2.0 install (test/upgrade/01_update.sh).

\echo Use "ALTER EXTENSION event UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Statistics (issue 14, storea): derived from the committed log, off the write path.
-- The 0.1.0 write-path counters are dropped; the rollup starts empty at watermark 0
-- (readers count the whole log as the tail until the first fold, so the figures are
-- exact from the first call), and the status counts are recomputed from event_status.
------------------------------------------------------------------------------

DROP TABLE event.stat_counters;

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

-- Status counts: every status row moved its event out of pending; timed completions are the
-- rows that kept a processing time.
INSERT INTO event.stat_deltas (dimension, key, n)
SELECT 'status', s.status, pg_catalog.count(*) FROM event.event_status s WHERE s.status <> 'pending' GROUP BY s.status
UNION ALL
SELECT 'status', 'pending', -pg_catalog.count(*) FROM event.event_status s WHERE s.status <> 'pending'
UNION ALL
SELECT 'processing', 'count', pg_catalog.count(*) FROM event.event_status s WHERE s.processing_ms IS NOT NULL
UNION ALL
SELECT 'processing', 'ms_sum', COALESCE(pg_catalog.sum(s.processing_ms::numeric), 0) FROM event.event_status s
WHERE s.processing_ms IS NOT NULL;

SELECT pg_catalog.pg_extension_config_dump('event.stat_rollup', '');
SELECT pg_catalog.pg_extension_config_dump('event.stat_watermark', '');
SELECT pg_catalog.pg_extension_config_dump('event.stat_deltas', '');

COMMENT ON FUNCTION event.get_statistics() IS 'EventStatistics (spec 3.2.3): the statistics rollup plus the events above its watermark';
COMMENT ON FUNCTION event.compact_statistics() IS 'Fold the committed events up to the catch-up horizon and the status deltas into the statistics rollup; returns the events folded';
