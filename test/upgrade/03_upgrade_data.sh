#!/usr/bin/env bash
# 03_upgrade_data.sh — a database filled by release 0.1.0 (test/upgrade/fixtures/event-0.1.0.sql,
# made by _make_fixture_0.1.0.sh with the 0.1.0 build) is restored with the extension at 0.1.0,
# updated with ALTER EXTENSION event UPDATE, and then: every stored row is unchanged, and the
# 0.1.0 signatures still work on the old data (streams continue, idempotency keys still dedupe,
# catch-up reads see old and new events, statistics count both). TAP. Own database event_upgrade_data_*.
set -uo pipefail
cd "${REPO_ROOT:-$(dirname "$0")/../..}"
psql() { command psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
is() { [ "$1" = "$2" ]; local r=$?; ok $r "$3"; [ $r = 0 ] || printf '# got:  %s\n# want: %s\n' "$1" "$2"; }
db=event_upgrade_data_$$
trap 'command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" event.control)
echo "1..14"

psql -d postgres -c "CREATE DATABASE $db"
# The dump's own statements for partition indexes meet the ones ATTACH already created (the
# known, harmless restore errors of docs/sql-api.md "Backups" and 02_dump_restore.sh); any other
# error fails the test.
errors=$(command psql -X -q -d "$db" -f test/upgrade/fixtures/event-0.1.0.sql 2>&1 >/dev/null |
	grep 'ERROR:' | grep -v -e 'multiple primary keys for table "event_status_p[0-9]*"' \
		-e 'multiple primary keys for table "events_p[0-9]*"' \
		-e 'relation "event_status_p[0-9]*_[a-z_]*" already exists' -e 'relation "events_p[0-9]*_[a-z_]*" already exists' \
		-e 'is already attached' -e 'already has a partition index')
is "$errors" "" "the 0.1.0 dump restores into CREATE EXTENSION event VERSION '0.1.0' without errors"
is "$(psql -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'event'")" "0.1.0" "restored at 0.1.0"

snapshot() { # every stored row, in a stable order
	psql -d "$1" <<'SQL'
SELECT md5(string_agg(e::text, '|' ORDER BY position)) FROM event.events e;
SELECT md5(string_agg(s::text, '|' ORDER BY event_id)) FROM event.event_status s;
SELECT md5(string_agg(s::text, '|' ORDER BY stream_id)) FROM event.event_streams s;
SELECT md5(string_agg(k::text, '|' ORDER BY idempotency_key)) FROM event.idempotency_keys k;
SELECT string_agg(name, ',' ORDER BY name) FROM event.event_sources WHERE NOT builtin;
SELECT string_agg(name || '/' || group_name, ',' ORDER BY name) FROM event.event_categories WHERE NOT builtin;
SQL
}
before=$(snapshot "$db")
# Only catalog-level reads before the update: the 0.1.0 functions run on the new library here, and
# the new library may expect the 0.2.0 layout.
is "$(psql -d "$db" -c "SELECT count(*) FROM event.events")" "84" "the 84 fixture events are restored"

out=$(psql -d "$db" -c "ALTER EXTENSION event UPDATE" 2>&1)
ok $? "ALTER EXTENSION event UPDATE"
[ $? = 0 ] || echo "$out" | sed 's/^/# /'
is "$(psql -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'event'")" "$current" "updated to $current"
is "$(snapshot "$db")" "$before" "events, statuses, streams, idempotency keys, added sources and categories unchanged"
is "$(psql -d "$db" -c "SELECT event.get_statistics()->>'total_events'")" "84" "statistics still count 84 events"

# The 0.1.0 signatures on the old data.
is "$(psql -d "$db" -c "SELECT stream_version FROM event.create_event('order.shipped', event_category => 'order', stream_id => 'order:1', expected_version => 7)")" \
	"8" "create_event continues stream order:1 at version 8"
is "$(psql -d "$db" -c "SELECT count(*) FROM event.append_to_stream('invoice:1', '[{\"event_type\": \"invoice.void\", \"event_category\": \"billing\"}]', 2)")" \
	"1" "append_to_stream with the old expected version"
orig=$(psql -d "$db" -c "SELECT event_id FROM event.events WHERE idempotency_key = 'pv-1'")
is "$(psql -d "$db" -c "SELECT event.create_event_json('{\"event_type\": \"page.viewed\", \"event_source\": \"frontend\", \"event_category\": \"page_view\", \"idempotency_key\": \"pv-1\"}')->>'event_id'")" \
	"$orig" "an old idempotency key still returns the original event"
is "$(psql -d "$db" -c "SELECT count(*), min(position), max(position) FROM event.read_all(0, 1000)")" \
	"86|1|86" "read_all sees the old events and the new ones, without gaps"
is "$(psql -d "$db" -c "SELECT string_agg(stream_version::text, ',' ORDER BY stream_version) FROM event.read_stream('order:1')")" \
	"1,2,3,4,5,6,7,8" "read_stream of an old stream"
is "$(psql -d "$db" -c "SELECT event.update_status(event_id, 'processed')->>'status' FROM event.events WHERE position = 1")" \
	"processed" "update_status on an old event"
is "$(psql -d "$db" -c "SELECT event.get_statistics()->>'total_events'")" "86" "statistics count old and new events"
exit $failed
