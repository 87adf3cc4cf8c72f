#!/usr/bin/env bash
# 01_append_memory.sh — the write path does not leak: one session calls event.create_event
# (with some create_event_json and some failing calls caught in a subtransaction) many times and
# its memory must not grow between a warm-up and the end.
# Measures: sum(total_bytes) of pg_backend_memory_contexts, and RssAnon/VmRSS of the backend
# read from /proc/<pid>/status by the backend itself (pg_read_file, superuser). VmRSS also
# counts the shared buffers the backend touched (RssShmem), which grows with any write load, so
# the leak check uses RssAnon (private memory); VmRSS is printed for information.
# Env: PGHOST/PGPORT/PGUSER (the harness). EVENT_MEMORY_CALLS overrides the number of calls.
# COMMIT every 1,000 calls: N events in one transaction cost O(N^2) (repeated upserts of the same
# event_streams rows in one transaction), so larger transactions are much slower.
set -uo pipefail
calls=${EVENT_MEMORY_CALLS:-200000}
warmup=50000
db=event_memory_$$
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "1..4"
echo "# $calls calls after a warm-up of $warmup"
psql -d postgres -c "CREATE DATABASE $db" || { echo "not ok 1 - create database"; exit 1; }
trap 'command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT
psql -d "$db" -c 'CREATE EXTENSION event' || { echo "not ok 1 - create extension"; exit 1; }

out=$(psql -d "$db" -At -F ' ' <<SQL 2>&1
CREATE PROCEDURE pg_temp.load(n integer, tag text) LANGUAGE plpgsql AS \$\$
DECLARE
	i integer;
BEGIN
	FOR i IN 1..n LOOP
		IF i % 10 = 0 THEN
			PERFORM event.create_event_json(jsonb_build_object('event_type', 'mem.json', 'data',
				jsonb_build_object('i', i), 'user_id', 'u' || (i % 97)));
		ELSIF i % 1000 = 1 THEN
			BEGIN
				PERFORM event.create_event('mem.bad', event_source => 'no_such_source');
			EXCEPTION WHEN invalid_parameter_value THEN
				NULL;
			END;
			BEGIN
				PERFORM event.create_event_json('{"event_type": "mem.bad", "data": []}');
			EXCEPTION WHEN invalid_parameter_value THEN
				NULL;
			END;
		ELSE
			PERFORM event.create_event('mem.test', jsonb_build_object('i', i, 'pad', repeat('x', 64)),
				user_id => 'u' || (i % 97), stream_id => 'mem:' || (i % 13),
				idempotency_key => CASE WHEN i % 100 = 7 THEN tag || i END);
		END IF;
		IF i % 1000 = 0 THEN
			COMMIT;
		END IF;
	END LOOP;
END
\$\$;
CREATE FUNCTION pg_temp.mem() RETURNS TABLE (contexts bigint, anon bigint, rss bigint) LANGUAGE sql AS \$\$
	SELECT (SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts),
	       substring(s FROM 'RssAnon:\s+(\d+)')::bigint, substring(s FROM 'VmRSS:\s+(\d+)')::bigint
	FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') AS s
\$\$;
SELECT 'start', * FROM pg_temp.mem();
CALL pg_temp.load($warmup, 'warm-');
SELECT 'warm', * FROM pg_temp.mem();
SELECT 'time0', extract(epoch FROM clock_timestamp())::bigint;
CALL pg_temp.load($calls, 'run-');
SELECT 'time1', extract(epoch FROM clock_timestamp())::bigint;
SELECT 'end', * FROM pg_temp.mem();
SELECT 'count', count(*) FROM event.events;
SQL
)
rc=$?
if [ $rc != 0 ]; then
	echo "not ok 1 - $calls calls in one session"; echo "$out" | sed 's/^/# /'; exit 1
fi
get() { echo "$out" | awk -v k="$1" -v f="$2" '$1 == k { print $f }'; }
expected=$((warmup + calls - (warmup + 999) / 1000 - (calls + 999) / 1000))
secs=$(($(get time1 2) - $(get time0 2)))
if [ "$(get count 2)" = "$expected" ]; then echo "ok 1 - $calls calls stored $expected events in ${secs}s"
else echo "not ok 1 - stored $(get count 2) events, expected $expected"; fi

check() { # check N name before after allowed_growth_bytes
	local growth=$(($4 - $3))
	if [ "$growth" -le "$5" ]; then echo "ok $1 - $2 grew by $growth bytes ($3 -> $4, allowed $5)"
	else echo "not ok $1 - $2 grew by $growth bytes ($3 -> $4, allowed $5)"; fi
}
c0=$(get warm 2) c1=$(get end 2)
check 2 "memory contexts" "$c0" "$c1" $((c0 / 20 > 1048576 ? c0 / 20 : 1048576))
a0=$(($(get warm 3) * 1024)) a1=$(($(get end 3) * 1024))
check 3 "RssAnon" "$a0" "$a1" $((a0 / 20 > 4194304 ? a0 / 20 : 4194304))
echo "# VmRSS $(get start 4) kB at start, $(get warm 4) kB after warm-up, $(get end 4) kB at the end (includes shared buffers)"
# The warm-up itself must stay modest: the caches of one backend, not per-call state.
s0=$(get start 2)
check 4 "memory contexts during the warm-up" "$s0" "$c0" 8388608
