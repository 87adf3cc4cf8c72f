# _lib.sh — shared by the memory tests (sourced, not run): a throwaway database, the backend's
# memory as SQL, and the growth checks.
#
# Measures: sum(total_bytes) of pg_backend_memory_contexts, and RssAnon/VmRSS of the backend
# read from /proc/<pid>/status by the backend itself (pg_read_file, superuser). VmRSS also
# counts the shared buffers the backend touched (RssShmem), which grows with any write load, so
# the leak check uses RssAnon (private memory); VmRSS is printed for information.
# Env: PGHOST/PGPORT/PGUSER (the harness).

psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# mem_database NAME: creates database NAME with the event extension, dropped on exit; sets db.
mem_database() {
	db=$1
	psql -d postgres -c "CREATE DATABASE $db" || { echo "not ok 1 - create database"; exit 1; }
	trap 'command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT
	psql -d "$db" -c 'CREATE EXTENSION event' || { echo "not ok 1 - create extension"; exit 1; }
}

# SQL defining pg_temp.mem(): (contexts, anon, rss) of the session's backend, bytes / kB / kB.
MEM_FUNCTION_SQL="CREATE FUNCTION pg_temp.mem() RETURNS TABLE (contexts bigint, anon bigint, rss bigint) LANGUAGE sql AS \$\$
	SELECT (SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts),
	       substring(s FROM 'RssAnon:\s+(\d+)')::bigint, substring(s FROM 'VmRSS:\s+(\d+)')::bigint
	FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') AS s
\$\$;"

# get KEY FIELD: field FIELD of the output line (in $out) starting with KEY.
get() { echo "$out" | awk -v k="$1" -v f="$2" '$1 == k { print $f }'; }

# mem_session SETUP WARM_UP RUN FINAL: one psql session in $db running the SQL of SETUP, the
# warm-up, the run and FINAL, with the memory lines "start", "warm" and "end" before, between and
# after them. Output in $out, the run's seconds in $secs; "not ok 1" and exit if it fails.
mem_session() {
	out=$(psql -d "$db" -At -F ' ' 2>&1 <<SQL
$1
$MEM_FUNCTION_SQL
SELECT 'start', * FROM pg_temp.mem();
$2
SELECT 'warm', * FROM pg_temp.mem();
SELECT 'time0', extract(epoch FROM clock_timestamp())::bigint;
$3
SELECT 'time1', extract(epoch FROM clock_timestamp())::bigint;
SELECT 'end', * FROM pg_temp.mem();
$4
SQL
)
	# shellcheck disable=SC2181
	if [ $? != 0 ]; then
		echo "not ok 1 - the calls in one session"; echo "$out" | sed 's/^/# /'; exit 1
	fi
	secs=$(($(get time1 2) - $(get time0 2)))
}

# check N NAME BEFORE AFTER ALLOWED_GROWTH_BYTES: one TAP line.
check() {
	local growth=$(($4 - $3))
	if [ "$growth" -le "$5" ]; then echo "ok $1 - $2 grew by $growth bytes ($3 -> $4, allowed $5)"
	else echo "not ok $1 - $2 grew by $growth bytes ($3 -> $4, allowed $5)"; fi
}

# mem_checks: tests 2 to 4 on the lines of $out. Between warm-up and end: memory contexts may
# grow by 5 % or 1 MiB, RssAnon by 5 % or 4 MiB; during the warm-up the contexts by 8 MiB (the
# caches of one backend, not per-call state). VmRSS is printed for information.
mem_checks() {
	local c0 c1 a0 a1
	c0=$(get warm 2) c1=$(get end 2)
	check 2 "memory contexts" "$c0" "$c1" $((c0 / 20 > 1048576 ? c0 / 20 : 1048576))
	a0=$(($(get warm 3) * 1024)) a1=$(($(get end 3) * 1024))
	check 3 "RssAnon" "$a0" "$a1" $((a0 / 20 > 4194304 ? a0 / 20 : 4194304))
	echo "# VmRSS $(get start 4) kB at start, $(get warm 4) kB after warm-up, $(get end 4) kB at the end (includes shared buffers)"
	check 4 "memory contexts during the warm-up" "$(get start 2)" "$c0" 8388608
}
