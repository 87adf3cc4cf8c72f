-- 40_decoder.sql — the event_decoder output plugin through pg_logical_slot_get_changes.
--
-- Not wrapped in BEGIN … ROLLBACK like the other pgTAP files, on purpose: logical decoding only
-- sees COMMITTED transactions, a logical slot cannot be created in a transaction that has written,
-- and the commit-order case needs two other sessions (dblink). Committed events cannot be removed
-- again (event.events is immutable), so the file works in its own throwaway database
-- event_decoder_test: created here, dropped at the end together with the slot. A run that died
-- half-way leaves both behind; the next run drops them first.
--
-- Volatile values (event_id, timestamps, xid, lsn) are compared with the stored row, the
-- transaction's own xid and the WAL positions around the commit, never with literals.
--
-- EVENT_DECODER_TEST_EXTENSION (environment) names the extension that provides schema event;
-- default "event" (a developer's scratch cluster may use a private copy under another name).
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;

\getenv event_ext EVENT_DECODER_TEST_EXTENSION
\if :{?event_ext}
\else
\set event_ext event
\endif

\o /dev/null
SELECT current_database() AS orig_db \gset
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'event_decoder_test';
DROP DATABASE IF EXISTS event_decoder_test WITH (FORCE);
CREATE DATABASE event_decoder_test;
\c event_decoder_test
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION dblink;
CREATE EXTENSION :"event_ext";
SELECT event.create_partitions();

-- Decoded messages of the slot (consumed), in output order.
CREATE FUNCTION public.take(VARIADIC opts text[] DEFAULT '{}')
RETURNS TABLE (ord bigint, change_lsn pg_lsn, xid bigint, raw text, j jsonb) LANGUAGE sql AS $$
    SELECT c.ord, c.lsn, c.xid::text::bigint, c.data, c.data::jsonb
    FROM pg_logical_slot_get_changes('event_decoder_test', NULL, NULL, VARIADIC opts)
         WITH ORDINALITY AS c(lsn, xid, data, ord)
$$;
-- The same without consuming.
CREATE FUNCTION public.peek(VARIADIC opts text[] DEFAULT '{}')
RETURNS TABLE (ord bigint, raw text, j jsonb) LANGUAGE sql AS $$
    SELECT c.ord, c.data, c.data::jsonb
    FROM pg_logical_slot_peek_changes('event_decoder_test', NULL, NULL, VARIADIC opts)
         WITH ORDINALITY AS c(lsn, xid, data, ord)
$$;
-- Event types of the peeked messages under the given options, in output order.
CREATE FUNCTION public.peek_types(VARIADIC opts text[] DEFAULT '{}') RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(j->>'event_type' ORDER BY ord), '{}') FROM public.peek(VARIADIC opts)
$$;
-- ISO-8601 UTC with microseconds, as the plugin writes timestamps.
CREATE FUNCTION public.iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
-- The message fields an event row must produce (without xid, lsn, commit_time).
CREATE FUNCTION public.expected(e event.events) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'event_id', e.event_id, 'position', e.position, 'event_type', e.event_type,
        'event_source', e.event_source, 'event_category', e.event_category, 'user_id', e.user_id,
        'stream_id', e.stream_id, 'stream_version', e.stream_version, 'data', e.data,
        'metadata', e.metadata, 'context', e.context, 'idempotency_key', e.idempotency_key,
        'timestamp', public.iso(e."timestamp"), 'created_at', public.iso(e.created_at))
$$;
-- The exact compact text of an event's message, given its transaction fields.
CREATE FUNCTION public.exact(e event.events, xid bigint, lsn text, commit_time text) RETURNS text LANGUAGE sql AS $$
    SELECT '{"event_id":' || to_json(e.event_id::text) || ',"position":' || e.position
        || ',"event_type":' || to_json(e.event_type) || ',"event_source":' || to_json(e.event_source)
        || ',"event_category":' || to_json(e.event_category)
        || ',"user_id":' || coalesce(to_json(e.user_id)::text, 'null')
        || ',"stream_id":' || coalesce(to_json(e.stream_id)::text, 'null')
        || ',"stream_version":' || coalesce(e.stream_version::text, 'null')
        || ',"data":' || e.data::text || ',"metadata":' || e.metadata::text || ',"context":' || e.context::text
        || ',"idempotency_key":' || coalesce(to_json(e.idempotency_key)::text, 'null')
        || ',"timestamp":"' || public.iso(e."timestamp") || '","created_at":"' || public.iso(e.created_at)
        || '","xid":' || xid || ',"lsn":"' || lsn || '","commit_time":"' || commit_time || '"}'
$$;
CREATE TABLE public.decoder_other (a int PRIMARY KEY, b text);

SELECT 'init' FROM pg_create_logical_replication_slot('event_decoder_test', 'event_decoder');
\o

SELECT plan(75);

------------------------------------------------------------------------------
-- One event: every field, the exact text and the transaction fields.
------------------------------------------------------------------------------
\o /dev/null
SELECT clock_timestamp() AS t_before \gset
BEGIN;
SELECT event.create_event('decoder.single', '{"n": 1, "s": "a\"b\\c\n", "u": "é"}', 'backend', 'order',
                          user_id => 'u-1', metadata => '{"m": true}', context => '{"ip": "127.0.0.1"}',
                          idempotency_key => 'decoder-single-1');
SELECT pg_current_xact_id()::text::bigint % 4294967296 AS t_xid \gset
COMMIT;
SELECT pg_current_wal_lsn() AS t_after_lsn, clock_timestamp() AS t_after \gset
CREATE TEMP TABLE m1 AS SELECT * FROM public.take();
\o

SELECT is((SELECT count(*) FROM m1), 1::bigint, 'single event: exactly one message');
SELECT is((SELECT j - 'xid' - 'lsn' - 'commit_time' FROM m1),
          (SELECT public.expected(e) FROM event.events e WHERE e.event_type = 'decoder.single'),
          'single event: fields equal the stored row');
SELECT is((SELECT raw FROM m1),
          (SELECT public.exact(e, :t_xid, m1.j->>'lsn', m1.j->>'commit_time')
           FROM event.events e, m1 WHERE e.event_type = 'decoder.single'),
          'single event: exact compact text in the documented field order');
SELECT is((SELECT (j->>'xid')::bigint FROM m1), :t_xid::bigint, 'single event: xid is the writing transaction');
SELECT is((SELECT xid FROM m1), :t_xid::bigint, 'single event: slot reports the same xid');
SELECT ok((SELECT (j->>'lsn')::pg_lsn > change_lsn AND (j->>'lsn')::pg_lsn < :'t_after_lsn'::pg_lsn FROM m1),
          'single event: lsn is the commit LSN (after the insert, before the next WAL position)');
SELECT ok((SELECT (j->>'commit_time')::timestamptz BETWEEN :'t_before'::timestamptz AND :'t_after'::timestamptz FROM m1),
          'single event: commit_time lies within the commit');
SELECT matches((SELECT j->>'commit_time' FROM m1), '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$',
               'single event: commit_time is ISO-8601 UTC with microseconds');

------------------------------------------------------------------------------
-- A transaction of several events arrives together, in insertion order.
------------------------------------------------------------------------------
\o /dev/null
BEGIN;
SELECT event.create_event('decoder.multi.1', stream_id => 'decoder:multi');
SELECT event.create_event('decoder.multi.2', stream_id => 'decoder:multi');
SELECT event.create_event('decoder.multi.3', stream_id => 'decoder:multi');
COMMIT;
CREATE TEMP TABLE m2 AS SELECT * FROM public.take();
\o

SELECT is((SELECT array_agg(j->>'event_type' ORDER BY ord) FROM m2),
          ARRAY['decoder.multi.1', 'decoder.multi.2', 'decoder.multi.3'], 'multi-event transaction: all three, in order');
SELECT is((SELECT array_agg((j->>'stream_version')::int ORDER BY ord) FROM m2), ARRAY[1, 2, 3],
          'multi-event transaction: stream_version 1, 2, 3');
SELECT is((SELECT count(DISTINCT (j->>'xid', j->>'lsn', j->>'commit_time')) FROM m2), 1::bigint,
          'multi-event transaction: one xid, commit lsn and commit time');
SELECT is((SELECT count(*) FROM m2 a JOIN event.events e ON e.event_id = (a.j->>'event_id')::uuid
           WHERE a.j - 'xid' - 'lsn' - 'commit_time' = public.expected(e)), 3::bigint,
          'multi-event transaction: each message equals its row');

------------------------------------------------------------------------------
-- Rolled back transactions and transactions without events produce nothing.
------------------------------------------------------------------------------
\o /dev/null
BEGIN;
SELECT event.create_event('decoder.rolled_back');
ROLLBACK;
INSERT INTO public.decoder_other VALUES (1, 'only another table');
\o
SELECT is((SELECT count(*) FROM public.take()), 0::bigint,
          'rolled back event and a transaction on another table: no message at all');

------------------------------------------------------------------------------
-- Other tables, and UPDATE / DELETE of events, are skipped.
------------------------------------------------------------------------------
\o /dev/null
BEGIN;
INSERT INTO public.decoder_other VALUES (2, 'before');
SELECT event.create_event('decoder.with_other');
UPDATE public.decoder_other SET b = 'after';
DELETE FROM public.decoder_other WHERE a = 1;
COMMIT;
TRUNCATE public.decoder_other;
-- The immutability trigger forbids changing events; replica mode bypasses it, as a restore might.
SET session_replication_role = replica;
UPDATE event.events SET user_id = 'changed' WHERE event_type = 'decoder.with_other';
DELETE FROM event.events WHERE event_type = 'decoder.with_other';
RESET session_replication_role;
CREATE TEMP TABLE m3 AS SELECT * FROM public.take();
\o
SELECT is((SELECT array_agg(j->>'event_type' ORDER BY ord) FROM m3), ARRAY['decoder.with_other'],
          'other tables, UPDATE and DELETE of events, TRUNCATE: only the inserted event is emitted');

------------------------------------------------------------------------------
-- Two sessions commit in the opposite order of their inserts: output is in commit order.
------------------------------------------------------------------------------
\o /dev/null
SELECT format('host=127.0.0.1 port=%s dbname=%s user=%s', current_setting('port'), current_database(), current_user)
    AS conninfo \gset
SELECT dblink_connect('a', :'conninfo'), dblink_connect('b', :'conninfo');
SELECT dblink_exec('a', 'SET statement_timeout = ''10s'''), dblink_exec('b', 'SET statement_timeout = ''10s''');
SELECT dblink_exec('a', 'BEGIN');
SELECT p AS pos_a FROM dblink('a', $$SELECT (event.create_event('decoder.order.a')).position$$) AS t(p bigint) \gset
SELECT dblink_exec('b', 'BEGIN');
SELECT p AS pos_b FROM dblink('b', $$SELECT (event.create_event('decoder.order.b')).position$$) AS t(p bigint) \gset
SELECT dblink_exec('b', 'COMMIT');
SELECT dblink_exec('a', 'COMMIT');
SELECT dblink_disconnect('a'), dblink_disconnect('b');
CREATE TEMP TABLE m4 AS SELECT * FROM public.take();
\o
SELECT ok(:pos_a < :pos_b, 'two sessions: session a inserted first (smaller position)');
SELECT is((SELECT array_agg(j->>'event_type' ORDER BY ord) FROM m4), ARRAY['decoder.order.b', 'decoder.order.a'],
          'two sessions: messages in commit order, not insert order');
SELECT ok((SELECT (b.j->>'lsn')::pg_lsn < (a.j->>'lsn')::pg_lsn FROM m4 a, m4 b
           WHERE a.j->>'event_type' = 'decoder.order.a' AND b.j->>'event_type' = 'decoder.order.b'),
          'two sessions: commit lsn increases along the output');

------------------------------------------------------------------------------
-- Filters (prefixes of event_type / event_source / event_category), fields, include_*, format.
------------------------------------------------------------------------------
\o /dev/null
BEGIN;
SELECT event.create_event('decoder.f.order.created', event_source => 'backend', event_category => 'order');
SELECT event.create_event('decoder.f.order.paid', event_source => 'backend', event_category => 'payment');
SELECT event.create_event('decoder.f.user.signup', event_source => 'frontend', event_category => 'user_lifecycle');
SELECT event.create_event('decoder.f.user.login', event_source => 'system', event_category => 'security');
COMMIT;
SELECT e AS f_first FROM event.events e WHERE e.event_type = 'decoder.f.order.created' \gset
\o

SELECT is(public.peek_types(), ARRAY['decoder.f.order.created', 'decoder.f.order.paid', 'decoder.f.user.signup',
                                     'decoder.f.user.login'], 'filters: no filter, all four');
SELECT is(public.peek_types('event_types', 'decoder.f.order.'), ARRAY['decoder.f.order.created', 'decoder.f.order.paid'],
          'filters: event_types prefix');
SELECT is(public.peek_types('event_types', 'decoder.f.order.p, decoder.f.user.s'),
          ARRAY['decoder.f.order.paid', 'decoder.f.user.signup'], 'filters: event_types list of prefixes');
SELECT is(public.peek_types('sources', 'front,sys'), ARRAY['decoder.f.user.signup', 'decoder.f.user.login'],
          'filters: sources prefixes');
SELECT is(public.peek_types('categories', 'pay'), ARRAY['decoder.f.order.paid'], 'filters: categories prefix');
SELECT is(public.peek_types('event_types', 'decoder.f.', 'sources', 'backend', 'categories', 'order'),
          ARRAY['decoder.f.order.created'], 'filters: an event must match every given filter');
SELECT is(public.peek_types('event_types', 'nothing.'), '{}'::text[], 'filters: nothing matches, nothing emitted');

SELECT is((SELECT raw FROM public.peek('fields', 'event_type,data', 'include_xid', 'false', 'include_lsn', 'off',
                                       'include_commit_time', '0') WHERE ord = 1),
          format('{"event_id":"%s","position":%s,"event_type":"decoder.f.order.created","data":{}}',
                 (:'f_first'::event.events).event_id, (:'f_first'::event.events).position),
          'fields: the chosen subset plus event_id and position, in the fixed order; include_* off');
SELECT is((SELECT raw FROM public.peek('fields', 'event_id', 'include_xid', 'no', 'include_lsn', 'n',
                                       'include_commit_time', 'f') WHERE ord = 1),
          format('{"event_id":"%s","position":%s}', (:'f_first'::event.events).event_id, (:'f_first'::event.events).position),
          'fields: event_id and position are always there');
SELECT is((SELECT array_agg(k ORDER BY k) FROM public.peek('fields', 'created_at,stream_id', 'include_lsn', 'false') p,
           jsonb_object_keys(p.j) k WHERE p.ord = 1),
          ARRAY['commit_time', 'created_at', 'event_id', 'position', 'stream_id', 'xid'],
          'fields: include_xid and include_commit_time default to true');
SELECT is((SELECT raw FROM public.peek('format', 'json-pretty', 'fields', 'event_type', 'include_xid', 'off',
                                       'include_lsn', 'off', 'include_commit_time', 'off') WHERE ord = 1),
          format(E'{\n  "event_id": "%s",\n  "position": %s,\n  "event_type": "decoder.f.order.created"\n}',
                 (:'f_first'::event.events).event_id, (:'f_first'::event.events).position),
          'format json-pretty: one member per line');
SELECT is((SELECT raw FROM public.peek('format', 'json') WHERE ord = 1),
          (SELECT raw FROM public.peek() WHERE ord = 1), 'format json is the default');
SELECT is((SELECT count(*) FROM public.peek('include_xid', 'true', 'heartbeat', 'on', 'include_lsn', 'yes',
                                            'include_commit_time', '1')), 4::bigint,
          'boolean options accept true/on/yes/1');
SELECT is((SELECT count(*) FROM public.take()), 4::bigint, 'filters: consumed');

------------------------------------------------------------------------------
-- skip_ingested (the relay sets it): the rows the frontend ingester stored (source frontend,
-- idempotency key "jetstream:<event_id>", core/ingested.hpp) are left out; nothing else is. A
-- transaction of only such rows produces no message, and the slot still moves past it. The
-- write path accepts that key only in that form (19_event_id.sql), so no other row carries it.
------------------------------------------------------------------------------
\o /dev/null
SELECT event.uuid_v7() AS ing_id \gset
BEGIN;
SELECT event.create_events(jsonb_build_array(jsonb_build_object(
  'event_id', :'ing_id', 'event_type', 'decoder.ing.stored', 'event_source', 'frontend',
  'event_category', 'user_action', 'idempotency_key', 'jetstream:' || :'ing_id')), false);
SELECT event.create_event('decoder.ing.backend', event_source => 'backend', event_category => 'user_action',
                          idempotency_key => 'decoder-ing-2');
SELECT event.create_event('decoder.ing.other_key', event_source => 'frontend', event_category => 'user_action',
                          idempotency_key => 'decoder-ing-jetstream:3');
SELECT event.create_event('decoder.ing.no_key', event_source => 'frontend', event_category => 'user_action');
COMMIT;
\o
SELECT is(public.peek_types(), ARRAY['decoder.ing.stored', 'decoder.ing.backend',
                                     'decoder.ing.other_key', 'decoder.ing.no_key'],
          'skip_ingested: off by default, every row emitted');
SELECT is(public.peek_types('skip_ingested', 'on'), ARRAY['decoder.ing.backend',
                                                         'decoder.ing.other_key', 'decoder.ing.no_key'],
          'skip_ingested: only the ingested row (frontend, "jetstream:<id>") is left out');
SELECT is(public.peek_types('skip_ingested', 'on', 'sources', 'frontend'),
          ARRAY['decoder.ing.other_key', 'decoder.ing.no_key'],
          'skip_ingested: combined with the filters');
SELECT is((SELECT count(*) FROM public.take()), 4::bigint, 'skip_ingested: consumed');
\o /dev/null
BEGIN;
SELECT event.create_events((SELECT jsonb_agg(jsonb_build_object(
  'event_id', id, 'event_type', 'decoder.ing.only.' || n, 'event_source', 'frontend',
  'event_category', 'user_action', 'idempotency_key', 'jetstream:' || id))
  FROM (SELECT n, event.uuid_v7()::text AS id FROM generate_series(1, 3) n) g), false);
COMMIT;
SELECT pg_current_wal_lsn() AS ing_after_lsn \gset
\o
SELECT is((SELECT count(*) FROM public.take('skip_ingested', 'true')), 0::bigint,
          'skip_ingested: a transaction of ingested rows only produces no message');
SELECT ok((SELECT confirmed_flush_lsn >= :'ing_after_lsn'::pg_lsn FROM pg_replication_slots
           WHERE slot_name = 'event_decoder_test'),
          'skip_ingested: the slot confirmed past that transaction');
SELECT is((SELECT count(*) FROM public.take()), 0::bigint, 'skip_ingested: nothing of it is decoded again');

------------------------------------------------------------------------------
-- Bad options: SQLSTATE 22023 with the allowed names / values in the hint.
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM public.peek('bogus', '1')$$, '22023',
                 'unrecognized event_decoder option "bogus"', 'bad option: unknown name');
SELECT throws_ok($$SELECT * FROM public.peek('Format', 'json')$$, '22023',
                 'unrecognized event_decoder option "Format"', 'bad option: names are case-sensitive');
SELECT throws_ok($$SELECT * FROM public.peek('format', 'xml')$$, '22023',
                 'invalid value "xml" for option "format"', 'bad option: format');
SELECT throws_ok($$SELECT * FROM public.peek('format', '')$$, '22023',
                 'invalid value "" for option "format"', 'bad option: empty format');
SELECT throws_ok($$SELECT * FROM public.peek('include_xid', 'maybe')$$, '22023',
                 'invalid value "maybe" for option "include_xid"', 'bad option: include_xid');
SELECT throws_ok($$SELECT * FROM public.peek('include_lsn', '')$$, '22023',
                 'invalid value "" for option "include_lsn"', 'bad option: include_lsn');
SELECT throws_ok($$SELECT * FROM public.peek('include_commit_time', '2')$$, '22023',
                 'invalid value "2" for option "include_commit_time"', 'bad option: include_commit_time');
SELECT throws_ok($$SELECT * FROM public.peek('heartbeat', 'sometimes')$$, '22023',
                 'invalid value "sometimes" for option "heartbeat"', 'bad option: heartbeat');
SELECT throws_ok($$SELECT * FROM public.peek('skip_ingested', 'maybe')$$, '22023',
                 'invalid value "maybe" for option "skip_ingested"', 'bad option: skip_ingested');
SELECT throws_ok($$SELECT * FROM public.peek('fields', 'event_type,nope')$$, '22023',
                 'unknown field "nope" in option "fields"', 'bad option: unknown field');
SELECT throws_ok($$SELECT * FROM public.peek('fields', 'xid')$$, '22023',
                 'unknown field "xid" in option "fields"', 'bad option: xid is not a field (use include_xid)');
SELECT throws_ok($$SELECT * FROM public.peek('fields', '')$$, '22023',
                 'invalid value "" for option "fields"', 'bad option: empty fields');
SELECT throws_ok($$SELECT * FROM public.peek('event_types', 'a,,b')$$, '22023',
                 'invalid value "a,,b" for option "event_types"', 'bad option: empty item in event_types');
SELECT throws_ok($$SELECT * FROM public.peek('sources', '')$$, '22023',
                 'invalid value "" for option "sources"', 'bad option: empty sources');
SELECT throws_ok($$SELECT * FROM public.peek('categories', ' , ')$$, '22023',
                 'invalid value " , " for option "categories"', 'bad option: blank categories');
SELECT throws_ok($$SELECT * FROM public.peek('format', 'json', 'format', 'json')$$, '22023',
                 'option "format" given more than once', 'bad option: repeated');

-- The hints name what is allowed.
CREATE FUNCTION pg_temp.hint_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN invalid_parameter_value THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $$;
SELECT is(pg_temp.hint_of($$SELECT * FROM public.peek('bogus', '1')$$),
          'Valid options are "format", "event_types", "sources", "categories", "fields", "include_xid", "include_lsn", "include_commit_time", "heartbeat" and "skip_ingested".',
          'bad option hint: lists the options');
SELECT is(pg_temp.hint_of($$SELECT * FROM public.peek('format', 'xml')$$),
          'Valid values are "json" and "json-pretty".', 'bad option hint: lists the formats');
SELECT matches(pg_temp.hint_of($$SELECT * FROM public.peek('fields', 'nope')$$),
               '"event_id", "position", "event_type", "event_source", "event_category", "user_id", "stream_id", "stream_version", "data", "metadata", "context", "idempotency_key", "timestamp", "created_at"',
               'bad option hint: lists the fields');
SELECT is((SELECT count(*) FROM public.peek()), 0::bigint, 'bad options leave the slot usable');

------------------------------------------------------------------------------
-- Heartbeats: non-transactional logical messages with prefix "event.heartbeat".
------------------------------------------------------------------------------
\o /dev/null
SELECT pg_logical_emit_message(false, 'event.heartbeat', 'tick "1"') AS hb_lsn \gset
SELECT pg_logical_emit_message(false, 'event.other', 'ignored');
SELECT pg_logical_emit_message(false, 'event.heartbeat.x', 'ignored');
-- PostgreSQL 15 does not flush WAL for a non-transactional message (the WAL writer does, soon);
-- a committed write flushes it now.
INSERT INTO public.decoder_other VALUES (3, 'flush');
\o
SELECT is((SELECT array_agg(raw) FROM public.peek('event_types', 'nothing.')),
          ARRAY[format('{"heartbeat":true,"lsn":"%s","content":"tick \"1\""}', :'hb_lsn')],
          'heartbeat: exact message, other prefixes ignored, event filters do not apply');
SELECT is((SELECT array_agg(raw) FROM public.peek('format', 'json-pretty')),
          ARRAY[format(E'{\n  "heartbeat": true,\n  "lsn": "%s",\n  "content": "tick \\"1\\""\n}', :'hb_lsn')],
          'heartbeat: json-pretty');
SELECT is((SELECT count(*) FROM public.peek('heartbeat', 'false')), 0::bigint, 'heartbeat: option heartbeat=false drops them');
SELECT is((SELECT count(*) FROM public.take()), 1::bigint, 'heartbeat: consumed');

------------------------------------------------------------------------------
-- A partition with other attribute numbers, in another schema; ATTACH / DETACH during decoding.
------------------------------------------------------------------------------
\o /dev/null
CREATE TABLE public.decoder_part (junk1 int, junk2 text, LIKE event.events INCLUDING CONSTRAINTS);
ALTER TABLE public.decoder_part DROP COLUMN junk1;
ALTER TABLE public.decoder_part DROP COLUMN junk2;
-- Before ATTACH: a plain table, its rows are not events.
INSERT INTO public.decoder_part (event_id, position, event_type, event_source, event_category, data, metadata, context,
                                 "timestamp", created_at)
VALUES ('f0000000-0000-7000-8000-000000000001', 0, 'decoder.part.before', 'backend', 'order', '{}', '{}', '{}', now(), now());
ALTER TABLE event.events ATTACH PARTITION public.decoder_part
    FOR VALUES FROM ('f0000000-0000-0000-0000-000000000000') TO ('f1000000-0000-0000-0000-000000000000');
-- A row written straight into that partition (the write path picks its own event_id, and a
-- plain INSERT into event.events is refused with EV004).
INSERT INTO public.decoder_part (event_id, position, event_type, event_source, event_category, user_id, data, metadata,
                          context, "timestamp", created_at)
VALUES ('f0000000-0000-7000-8000-000000000002', nextval('event.events_position_seq'), 'decoder.part.attached',
        'backend', 'order', 'u-part', '{"p": [1, 2]}', '{}', '{"c": null}', now(), now());
ALTER TABLE event.events DETACH PARTITION public.decoder_part;
INSERT INTO public.decoder_part (event_id, position, event_type, event_source, event_category, data, metadata, context,
                                 "timestamp", created_at)
VALUES ('f0000000-0000-7000-8000-000000000003', 0, 'decoder.part.detached', 'backend', 'order', '{}', '{}', '{}', now(), now());
CREATE TEMP TABLE m5 AS SELECT * FROM public.take();
\o
SELECT is((SELECT array_agg(j->>'event_type' ORDER BY ord) FROM m5), ARRAY['decoder.part.attached'],
          'partitions: only rows inserted while the table is a partition of event.events');
SELECT is((SELECT j - 'xid' - 'lsn' - 'commit_time' FROM m5),
          (SELECT public.expected(jsonb_populate_record(NULL::event.events, to_jsonb(e))) FROM public.decoder_part e WHERE e.event_type = 'decoder.part.attached'),
          'partitions: columns found by name despite other attribute numbers');

------------------------------------------------------------------------------
-- event.max_message_size against this plugin's real message (issue 14, defect 2): with a limit of
-- 8192, 1150 control characters (6900 bytes once escaped) are stored and the message fits; 1400
-- (8400 bytes escaped) are refused at append.
------------------------------------------------------------------------------
SET event.max_message_size = 8192;
SELECT lives_ok($$SELECT event.create_event('decoder.ctl', jsonb_build_object('s', repeat(chr(1), 1150)),
                                             user_id => repeat('"', 40))$$,
                'max_message_size 8192: an event with 6900 bytes of escapes is stored');
SELECT cmp_ok((SELECT max(octet_length(raw)) FROM public.take()), '<=', 8192,
              'max_message_size 8192: its message is within the limit');
SELECT throws_ok($$SELECT event.create_event('decoder.ctl', jsonb_build_object('s', repeat(chr(1), 1400)))$$,
                 '54000', 'event is too large to publish', 'max_message_size 8192: 8400 bytes of escapes are refused');
RESET event.max_message_size;

------------------------------------------------------------------------------
-- 10 000 events in one transaction: one message each, in order.
------------------------------------------------------------------------------
\o /dev/null
BEGIN;
SELECT count(event.create_event('decoder.bulk', jsonb_build_object('i', i))) FROM generate_series(1, 10000) i;
COMMIT;
CREATE TEMP TABLE m6 AS SELECT * FROM public.take();
\o
SELECT is((SELECT count(*) FROM m6), 10000::bigint, 'bulk: 10000 messages, one per event');
SELECT is((SELECT array_agg((j->'data'->>'i')::int ORDER BY ord) FROM m6), (SELECT array_agg(i) FROM generate_series(1, 10000) i),
          'bulk: in insertion order');
SELECT is((SELECT count(DISTINCT j->>'lsn') FROM m6), 1::bigint, 'bulk: one commit lsn');
SELECT is((SELECT count(*) FROM (SELECT (j->>'position')::bigint - lag((j->>'position')::bigint) OVER (ORDER BY ord) AS step
                                  FROM m6) s WHERE step <= 0),
          0::bigint, 'bulk: positions strictly increasing');

------------------------------------------------------------------------------
-- Awkward text and timestamps: quotes, backslashes and non-ASCII in text columns (control
-- characters are refused by the write path, they can only occur inside jsonb), times before
-- 2000 and in the 1900s, microseconds with leading zeros.
------------------------------------------------------------------------------
\o /dev/null
BEGIN;
SELECT event.create_event('decoder.awkward', jsonb_build_object('s', E'tab\tnl\nctl\u0001"q"\\'),
                          user_id => E'q"b\\s /ü€ 😀', idempotency_key => E'k"\\/é',
                          "timestamp" => '1999-12-31 23:59:59.999999+00');
SELECT event.create_event('decoder.awkward', stream_id => E'odd:"\\ü', "timestamp" => '1900-02-28 23:00:00.000001+00');
COMMIT;
CREATE TEMP TABLE m7 AS SELECT * FROM public.take();
\o
SELECT is((SELECT count(*) FROM m7), 2::bigint, 'awkward: two messages');
SELECT is((SELECT array_agg(m.raw ORDER BY m.ord) FROM m7 m),
          (SELECT array_agg(public.exact(e, m.xid, m.j->>'lsn', m.j->>'commit_time') ORDER BY m.ord)
             FROM m7 m JOIN event.events e ON e.event_id = (m.j->>'event_id')::uuid),
          'awkward: exact text (escaping as to_json, ISO timestamps before 2000)');
SELECT is((SELECT array_agg((j->>'timestamp')::timestamptz ORDER BY ord) FROM m7),
          ARRAY['1999-12-31 23:59:59.999999+00', '1900-02-28 23:00:00.000001+00']::timestamptz[],
          'awkward: timestamps read back as the same instants');

------------------------------------------------------------------------------
-- Idle: nothing more to read.
------------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM public.take()), 0::bigint, 'idle slot: nothing left');

SELECT * FROM finish();

\o /dev/null
SELECT pg_drop_replication_slot('event_decoder_test');
\c :orig_db
DROP DATABASE event_decoder_test WITH (FORCE);
\o
