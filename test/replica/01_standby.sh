#!/usr/bin/env bash
# 01_standby.sh — catch-up reads on a hot standby (issue 14, defect 1). Builds a real streaming
# standby of the test cluster with pg_basebackup in a throwaway directory, and checks that
# read_all, read_category and safe_position refuse to run there with EV005 and the hint "read
# from the primary", while plain reads (get_event) work. TAP. Needs the harness cluster
# (PGHOST/PGPORT/PGUSER) with replication allowed (trust, max_wal_senders > 0).
set -uo pipefail
cd "${REPO_ROOT:-$(dirname "$0")/../..}"
HARNESS=${HARNESS:-$PWD/test/harness}
psql() { command psql -X -q -At "$@"; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bindir=$(pg_config --bindir)
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }

db=event_standby_$$
tmp=$(mktemp -d /tmp/event-standby.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres: "$tmp" && chmod 755 "$tmp"
cleanup() {
	as_owner "$bindir/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$tmp"
	psql -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
}
trap cleanup EXIT
echo "1..7"

psql -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db" &&
	psql -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION event' \
		-c "SELECT count(*) FROM event.create_event('standby.seed', stream_id => 'standby:1')" >/dev/null
ok $? "primary: database with one event"
id=$(psql -d "$db" -c "SELECT event_id FROM event.events LIMIT 1")

port=$("$HARNESS/free_port.sh")
as_owner "$bindir/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -D "$tmp/data" -R -X stream -c fast &&
	as_owner sh -c "printf '%s\n' \"port = $port\" \"unix_socket_directories = '$tmp'\" 'hot_standby = on' \
		\"shared_preload_libraries = ''\" >> '$tmp/data/postgresql.auto.conf'" &&
	as_owner "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/standby.log" -w -t 60 start >/dev/null
ok $? "standby built with pg_basebackup and started"
standby() { psql -h 127.0.0.1 -p "$port" -d "$db" "$@"; }

# The standby has replayed the primary's event once get_event finds it.
for _ in $(seq 1 100); do
	[ "$(standby -c "SELECT pg_is_in_recovery() AND event.get_event('$id') IS NOT NULL" 2>/dev/null)" = t ] && break
	sleep 0.2
done
[ "$(standby -c "SELECT (event.get_event('$id')).event_type")" = standby.seed ]
ok $? "standby: in recovery, get_event works"

# Each catch-up read refuses with EV005, the message and the hint.
for call in "event.read_all()" "event.read_category('standby')" "event.safe_position()"; do
	out=$(standby -v VERBOSITY=verbose -c "\\set VERBOSITY verbose" -c "SELECT * FROM $call" 2>&1)
	echo "$out" | grep -q 'ERROR:  EV005: catch-up reads cannot run on a server in recovery' &&
		echo "$out" | grep -q 'HINT:  Read from the primary'
	ok $? "standby: $call refused with EV005 and \"read from the primary\""
	[ "$failed" = 0 ] || echo "$out" | sed 's/^/# /'
done

# The primary still serves them.
[ "$(psql -d "$db" -c "SELECT count(*) FROM event.read_all()")" = 1 ]
ok $? "primary: read_all returns the event"
exit $failed
