#!/usr/bin/env bash
# _make_fixture_0.1.0.sh — regenerates test/upgrade/fixtures/event-0.1.0.sql, a pg_dump of a
# database filled by release 0.1.0 (events with old timestamps, streams, idempotency keys, statuses,
# counters, an added source and category). Only meaningful with the 0.1.0 build installed
# (commit 625ad07); the harness does not run it (leading underscore). 01_update.sh restores the
# dump into a database created with `CREATE EXTENSION event VERSION '0.1.0'`, updates it and
# checks that every row survived and still behaves.
set -euo pipefail
cd "${REPO_ROOT:-$(dirname "$0")/../..}"
db=event_fixture_$$
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "CREATE DATABASE $db"
trap 'command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT
psql -d "$db" <<'SQL'
CREATE EXTENSION event;
SELECT event.create_partitions(now() + interval '1 month');
SELECT event.add_source('legacy_crm');
SELECT event.add_category('billing', 'custom');
-- Plain events with every optional field, old timestamps included.
SELECT event.create_event('user.registered', jsonb_build_object('n', i, 'text', 'quote '' and "dq" ü'),
       event_category => 'user_lifecycle', user_id => 'user_' || (i % 7),
       metadata => '{"m": 1}', context => '{"ip": "127.0.0.1"}',
       "timestamp" => '2020-01-01 00:00:00+00'::timestamptz + i * interval '1 day')
FROM generate_series(1, 40) i;
-- Streams with versions, through create_event and append_to_stream.
SELECT event.create_event('order.placed', jsonb_build_object('total', i), event_category => 'order',
       stream_id => 'order:' || (i % 5), user_id => 'user_' || (i % 3))
FROM generate_series(1, 30) i;
SELECT event.append_to_stream('invoice:1', '[{"event_type": "invoice.issued", "event_category": "billing"},
                                             {"event_type": "invoice.paid", "event_source": "legacy_crm"}]', 0);
-- Idempotency keys (one repeated: stores nothing new).
SELECT event.create_event_json(jsonb_build_object('event_type', 'page.viewed', 'event_source', 'frontend',
       'event_category', 'page_view', 'idempotency_key', 'pv-' || i, 'data', jsonb_build_object('path', '/p' || i)))
FROM generate_series(1, 10) i;
SELECT event.create_event_json('{"event_type": "page.viewed", "event_source": "frontend", "event_category": "page_view", "idempotency_key": "pv-1"}');
-- A batch and statuses.
SELECT event.create_events('[{"event_type": "batch.a"}, {"event_type": "batch.b", "stream_id": "order:1"}]');
SELECT event.update_status(e.event_id, s, CASE WHEN s = 'failed' THEN 'boom' END, 12.5)
FROM (SELECT event_id, row_number() OVER (ORDER BY position) rn FROM event.events) e,
     LATERAL (SELECT (ARRAY['processing', 'processed', 'failed'])[1 + e.rn % 3] s) x
WHERE e.rn % 4 = 0;
SQL
out=test/upgrade/fixtures/event-0.1.0.sql
pg_dump --no-owner --no-privileges -d "$db" >"$out.tmp"
# The restore creates the extension itself, at 0.1.0.
grep -q '^CREATE EXTENSION IF NOT EXISTS event WITH SCHEMA event;$' "$out.tmp"
sed -i "s/^CREATE EXTENSION IF NOT EXISTS event WITH SCHEMA event;\$/CREATE EXTENSION event VERSION '0.1.0';/" "$out.tmp"
mv "$out.tmp" "$out"
psql -d "$db" -At -c "SELECT count(*) FROM event.events" -c "SELECT count(*) FROM event.event_streams" \
	-c "SELECT count(*) FROM event.idempotency_keys" -c "SELECT count(*) FROM event.event_status"
echo "wrote $out"
