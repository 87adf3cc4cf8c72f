#!/usr/bin/env bash
# 02_dump_restore.sh — a backup taken with pg_dump restores every event and the state around it
# (streams, positions, idempotency keys, status, counters, custom sources), and the restored
# database keeps working: appends continue the streams and positions, duplicates are still
# recognised. Plain-format dump restored with psql, custom-format dump with pg_restore.
#
# Known and harmless: event.events is a member of the extension, so CREATE EXTENSION in the
# restore creates its indexes, and ATTACH PARTITION then creates each partition's indexes; the
# dump's own statements for those partition indexes then fail ("multiple primary keys", "already
# exists", "already attached"). The test allows exactly those errors and checks that every
# partition ends up with the same indexes, attached to the same parent indexes, as the source.
# Uses its own databases event_dump_*. TAP output.
set -uo pipefail
cd "${REPO_ROOT:-$(dirname "$0")/../..}"
psql() { command psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
is() { # is GOT WANT NAME
	n=$((n + 1))
	if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   got:  '$1'"; echo "#   want: '$2'"; failed=1; fi
}
src=event_dump_src_$$ plain=event_dump_plain_$$ custom=event_dump_custom_$$
work=$(mktemp -d /tmp/event-dump.XXXXXX)
chmod 755 "$work"
trap 'for d in $src $plain $custom; do command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1; done; rm -rf "$work"' EXIT
echo "1..21"

# Everything that must survive, as one text per database. Statistics are folded first, so the
# rollup rows compare whatever reads did before.
state() {
	psql -d "$1" <<'SQL'
SELECT 'folded ' || (event.compact_statistics() >= 0);
SELECT 'events ' || count(*) || ' ' || md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s',
       event_id, position, event_type, event_source, event_category, user_id, stream_id, stream_version,
       data, metadata, context, idempotency_key, "timestamp", created_at), E'\n' ORDER BY position), ''))
FROM event.events;
SELECT 'streams ' || md5(coalesce(string_agg(format('%s|%s|%s|%s', stream_id, version, last_event_id, last_position), E'\n'
       ORDER BY stream_id), '')) FROM event.event_streams;
SELECT 'keys ' || md5(coalesce(string_agg(idempotency_key || '|' || event_id, E'\n' ORDER BY idempotency_key), ''))
FROM event.idempotency_keys;
SELECT 'status ' || md5(coalesce(string_agg(format('%s|%s|%s', event_id, status, attempts), E'\n' ORDER BY event_id), ''))
FROM event.event_status;
SELECT 'counters ' || md5(coalesce(string_agg(format('%s|%s|%s', dimension, key, n), E'\n' ORDER BY dimension, key), ''))
FROM (SELECT dimension, key, sum(n) AS n FROM (SELECT dimension, key, n FROM event.stat_rollup
      UNION ALL SELECT dimension, key, n FROM event.stat_deltas) u GROUP BY 1, 2 HAVING sum(n) <> 0) c;
SELECT 'sources ' || string_agg(name, ',' ORDER BY name) FROM event.event_sources WHERE NOT builtin;
SELECT 'statistics ' || (event.get_statistics() - 'generated_at' - 'period')::text;
SQL
}

psql -d postgres -c "CREATE DATABASE $src" && psql -d "$src" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION event'
ok $? "source database with the extension"

# Events in the partition of this month (created by the append path, no create_partitions call
# first), streams, idempotency keys, a custom source, status rows, then the next months.
psql -d "$src" >/dev/null <<'SQL'
SELECT event.add_source('billing');
SELECT count(event.create_event('dump.item', jsonb_build_object('i', i, 's', repeat('x', i % 7)),
                                'billing', 'payment', 'user_' || (i % 5), 'acct:' || (i % 4), NULL,
                                idempotency_key => 'key-' || i))
FROM generate_series(1, 200) i;
SELECT count(event.create_event('dump.loose', jsonb_build_object('i', i))) FROM generate_series(1, 50) i;
SELECT event.update_status(event_id, 'processed') FROM event.events WHERE position % 10 = 0;
SELECT event.create_partitions(now() + interval '2 months');
SQL
ok $? "250 events, 4 streams, 200 idempotency keys, 25 status rows, a custom source"
before=$(state "$src")
is "$(psql -d "$src" -c "SELECT count(*) FROM event.events")" 250 "source holds 250 events"

pg_dump -d "$src" -f "$work/plain.sql"
ok $? "pg_dump (plain)"
pg_dump -d "$src" -Fc -f "$work/custom.dump"
ok $? "pg_dump (custom format)"

# Error lines other than the known partition-index ones (see the header).
unexpected() {
	grep 'ERROR:' "$1" | grep -v -e 'multiple primary keys for table "event_status_p[0-9]*"' \
		-e 'multiple primary keys for table "events_p[0-9]*"' \
		-e 'relation "event_status_p[0-9]*_[a-z_]*" already exists' -e 'relation "events_p[0-9]*_[a-z_]*" already exists' \
		-e 'is already attached' -e 'already has a partition index' | head -n 3
}
psql -d postgres -c "CREATE DATABASE $plain" &&
	command psql -X -q -d "$plain" -f "$work/plain.sql" >/dev/null 2>"$work/plain.err"
is "$(unexpected "$work/plain.err")" "" "plain dump restores with psql: no error but the known partition-index ones"
psql -d postgres -c "CREATE DATABASE $custom" && pg_restore -d "$custom" "$work/custom.dump" 2>"$work/custom.err"
is "$(unexpected "$work/custom.err")" "" "custom dump restores with pg_restore: no error but the known partition-index ones"
# Partition indexes: name, definition and the parent index each is attached to.
partition_indexes() {
	psql -d "$1" -c "SELECT string_agg(format('%s %s %s', i.indexrelid::regclass, pg_get_indexdef(i.indexrelid),
	                        (SELECT h.inhparent::regclass FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)), E'\n' ORDER BY i.indexrelid::regclass::text)
	                 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
	                 WHERE c.relnamespace = 'event'::regnamespace AND c.relispartition"
}

for db in $plain $custom; do
	kind=${db#event_dump_}; kind=${kind%_*}
	is "$(state "$db")" "$before" "$kind restore: events, streams, keys, status, counters, sources and statistics equal"
	is "$(psql -d "$db" -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'event.events'::regclass")" \
		"$(psql -d "$src" -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'event.events'::regclass")" \
		"$kind restore: the same partitions attached"
	is "$(partition_indexes "$db")" "$(partition_indexes "$src")" "$kind restore: the same partition indexes, attached to the same parents"
	# Positions continue after the restored ones.
	is "$(psql -d "$db" -c "SELECT (event.create_event('dump.after')).position > (SELECT max(position) FROM event.events WHERE event_type <> 'dump.after')")" \
		t "$kind restore: a new event gets a position after every restored one"
	# Streams continue: acct:1 holds 50 events, so expected version 50 succeeds and 49 fails.
	is "$(psql -d "$db" -c "SELECT stream_version FROM event.create_event('dump.next', stream_id => 'acct:1', expected_version => 50)")" \
		51 "$kind restore: acct:1 continues at version 51"
	is "$(psql -v VERBOSITY=verbose -d "$db" -c "SELECT event.create_event('dump.stale', stream_id => 'acct:1', expected_version => 49)" 2>&1 |
		grep -c 'ERROR:  EV001')" 1 \
		"$kind restore: a stale expected version is still refused"
	# Idempotency keys still deduplicate.
	is "$(psql -d "$db" -c "SELECT event_id FROM event.create_event('dump.item', '{}', idempotency_key => 'key-7')")" \
		"$(psql -d "$src" -c "SELECT event_id FROM event.idempotency_keys WHERE idempotency_key = 'key-7'")" \
		"$kind restore: a known idempotency key returns the original event"
done

exit $failed
