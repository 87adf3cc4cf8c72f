# test/bench/lib.sh — shared by the benchmark scripts (sourced, not run). A script sets
# BENCH_NAME (log prefix) before sourcing it.

t_start=$(date +%s)
log() { printf '[%s %4ds] %s\n' "${BENCH_NAME:-bench}" $(($(date +%s) - t_start)) "$*" >&2; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }" </dev/null; }     # calc EXPR
fmt() { awk -v v="$2" "BEGIN { printf \"$1\", v }" </dev/null; }  # fmt FORMAT VALUE

# Result rows of the table `| benchmark | ours | baseline | ratio | goal | met? |`.
rows=()
# row NAME OURS BASELINE RATIO GOAL MET
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); log "$1: ours $2, baseline $3, ratio $4 (goal $5: $6)"; }
# met VALUE OP LIMIT -> yes/**NO** (OP: >=, <= or <)
met() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
	ok = (op == ">=") ? (v >= l) : (op == "<") ? (v < l) : (v <= l); print ok ? "yes" : "**NO**" }'; }

# bench_cluster DIR: starts a throwaway cluster in DIR with the benchmark settings
# (shared_buffers 256MB, synchronous_commit on, max_wal_size 4GB, checkpoint_timeout 15min:
# the last two keep bulk loads from being dominated by forced checkpoints), exports its
# connection variables and PGDATABASE=bench, and creates that database.
bench_cluster() {
	local dir=$1
	"$HARNESS/pg_start.sh" "$dir" >/dev/null
	set -a; . "$dir/env"; set +a
	psql -X -q -d postgres -c "ALTER SYSTEM SET shared_buffers = '256MB'" \
		-c "ALTER SYSTEM SET synchronous_commit = on" -c "ALTER SYSTEM SET max_wal_size = '4GB'" \
		-c "ALTER SYSTEM SET checkpoint_timeout = '15min'"
	"$HARNESS/pg_stop.sh" "$dir" >/dev/null
	"$HARNESS/pg_start.sh" "$dir" >/dev/null
	set -a; . "$dir/env"; set +a
	export PGDATABASE=bench
	psql -X -q -d postgres -c "CREATE DATABASE bench"
}

# q SQL: runs one statement in $PGDATABASE, unaligned tuples only, stops on error.
q() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

# bench_load EVENTS JOBS BATCH WORKDIR: loads EVENTS events through bench.load (setup.sql) in
# JOBS parallel sessions, BATCH events per event.create_events call; logs in WORKDIR/load.*.log.
bench_load() {
	local events=$1 jobs=$2 batch=$3 work=$4 per lo hi w p pids=()
	per=$(((events + jobs - 1) / jobs))
	for w in $(seq 0 $((jobs - 1))); do
		lo=$((w * per)); hi=$(((w + 1) * per)); [ "$hi" -gt "$events" ] && hi=$events
		psql -X -q -v ON_ERROR_STOP=1 -c "CALL bench.load($w, $jobs, $lo, $hi, $batch)" >"$work/load.$w.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || { echo "bench: loader failed" >&2; cat "$work"/load.*.log >&2; return 1; }; done
}

# wrk_stats FILE: from wrk --latency output sets RPS, P99_MS (in ms) and BAD (non-2xx + socket errors).
wrk_stats() {
	RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$1")
	P99_MS=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) sub(/ms$/, "", v);
		else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } print v }' "$1")
	BAD=$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$1")
}

# bench_api_db DIR: bench_cluster DIR, then test/bench/setup.sql and next month's partitions
# (the sidecar benchmarks' database).
bench_api_db() {
	bench_cluster "$1"
	psql -X -q -f "$REPO_ROOT/test/bench/setup.sql" >/dev/null
	q "SELECT event.create_partitions(now() + interval '1 month')" >/dev/null
}

# bench_teardown NATS_PID DIR: stops nats-server NATS_PID (if set) and the cluster of DIR/pg,
# then deletes DIR unless BENCH_KEEP=1 (EXIT traps of the sidecar benchmarks).
bench_teardown() {
	[ -n "$1" ] && { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
	"$HARNESS/pg_stop.sh" "$2/pg" >/dev/null 2>&1 || true
	[ "${BENCH_KEEP:-0}" = 1 ] && echo "kept $2" >&2 || rm -rf "$2"
}

# bench_tmp_dir PREFIX: sets tmp to a new directory PREFIX.XXXXXX, stops its cluster and removes
# it on exit (kept with BENCH_KEEP=1).
bench_tmp_dir() {
	tmp=$(mktemp -d "$1.XXXXXX")
	chmod 755 "$tmp"
	trap '"$HARNESS/pg_stop.sh" "$tmp" >/dev/null 2>&1 || true
		if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $tmp"; else rm -rf "$tmp"; fi' EXIT
	trap 'exit 130' INT TERM
}

# bench_stack DIR [SIDECAR FLAGS...]: a benchmark cluster (bench_cluster DIR/pg) with
# test/bench/setup.sql and a month of partitions, a nats-server and a sidecar on free ports
# (sets nats_pid, sidecar_pid, hport; logs in DIR); stopped, with DIR removed unless BENCH_KEEP=1,
# when the script exits.
bench_stack() {
	local dir=$1 nport; shift
	nats_pid="" sidecar_pid=""
	trap bench_stack_stop EXIT
	bench_cluster "$dir/pg"
	psql -X -q -f "$REPO_ROOT/test/bench/setup.sql" >/dev/null
	q "SELECT event.create_partitions(now() + interval '1 month')" >/dev/null
	nport=$("$HARNESS/free_port.sh"); hport=$("$HARNESS/free_port.sh")
	nats-server -js -a 127.0.0.1 -p "$nport" -sd "$dir/nats" >"$dir/nats.log" 2>&1 &
	nats_pid=$!
	EVENT_DATABASE_URL="postgresql://$PGUSER@$PGHOST:$PGPORT/bench" "$REPO_ROOT/sidecar/event-sidecar" \
		--nats-url "nats://127.0.0.1:$nport" --http-addr "127.0.0.1:$hport" --log-level warn "$@" \
		>"$dir/sidecar.log" 2>&1 &
	sidecar_pid=$!
	bench_stack_dir=$dir
}
bench_stack_stop() {
	set +e
	[ -n "$sidecar_pid" ] && { kill "$sidecar_pid" 2>/dev/null; wait "$sidecar_pid" 2>/dev/null; }
	[ -n "$nats_pid" ] && { kill "$nats_pid" 2>/dev/null; wait "$nats_pid" 2>/dev/null; }
	"$HARNESS/pg_stop.sh" "$bench_stack_dir/pg" >/dev/null 2>&1 || true
	[ "${BENCH_KEEP:-0}" = 1 ] && echo "kept $bench_stack_dir" >&2 || rm -rf "$bench_stack_dir"
}
