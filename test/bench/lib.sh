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
# met_floor VALUE GOAL FLOOR: "yes" at or above the goal, "floor only" between floor and goal.
met_floor() { awk -v v="$1" -v g="$2" -v f="$3" 'BEGIN { print ((v >= g) ? "yes" : (v >= f) ? "floor only" : "**NO**") }'; }

# ------------------------------------------------------------------ set-up and tear-down
# One way for every script: bench_dir creates the work directory and installs the one EXIT trap;
# bench_cluster, bench_nats, bench_sidecar and bench_track register what they start, and the trap
# stops all of it (newest first), tails the logs if the script failed, and removes the directory
# unless BENCH_KEEP=1 or the script failed.
bench_pids=() bench_clusters=()

# bench_dir NAME: sets tmp to a new directory /tmp/event-bench-NAME.XXXXXX (and work=$tmp/work,
# outdir=build/bench, both created) and installs the EXIT/INT/TERM traps.
bench_dir() {
	tmp=$(mktemp -d "/tmp/event-bench-$1.XXXXXX")
	chmod 755 "$tmp"
	work=$tmp/work outdir=$REPO_ROOT/build/bench
	mkdir -p "$work" "$outdir"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

# bench_track PID: PID is stopped (bench_stop) when the script exits.
bench_track() { bench_pids+=("$1"); }

# bench_stop PID: SIGTERM, up to 15 s to exit, then SIGKILL; only processes this script started.
bench_stop() {
	local pid=$1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then log "pid $pid did not stop, killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
	wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
	local rc=$? i f
	trap - EXIT INT TERM
	set +e
	for ((i = ${#bench_pids[@]} - 1; i >= 0; i--)); do bench_stop "${bench_pids[i]}"; done
	for ((i = ${#bench_clusters[@]} - 1; i >= 0; i--)); do "$HARNESS/pg_stop.sh" "${bench_clusters[i]}" >/dev/null 2>&1; done
	if [ "$rc" != 0 ] && [ -n "${tmp:-}" ]; then
		echo "${BENCH_NAME:-bench}: FAILED (exit $rc); logs:" >&2
		for f in "$tmp"/*.log "$tmp"/pg/log/postgresql.log "$tmp"/log/postgresql.log; do
			[ -f "$f" ] && { echo "--- tail $f" >&2; tail -n 15 "$f" >&2; }
		done
	fi
	if [ -n "${tmp:-}" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then echo "${BENCH_NAME:-bench}: kept $tmp" >&2; else rm -rf "$tmp"; fi
	fi
	exit "$rc"
}

# bench_cluster DIR [--api]: starts a throwaway cluster in DIR with the benchmark settings
# (shared_buffers 256MB, synchronous_commit on, max_wal_size 4GB, checkpoint_timeout 15min:
# the last two keep bulk loads from being dominated by forced checkpoints), exports its
# connection variables and PGDATABASE=bench, and creates that database. --api: also
# test/bench/setup.sql (the extension and the baseline schema) and next month's partitions.
#
# WAL as on a server that has run for a while: BENCH_WARM_WAL MB (default 2048; 0: none) of
# segments are written and recycled by a checkpoint before anything is measured (min_wal_size
# keeps them). A fresh cluster creates every 16 MB segment when it first needs it, zero-filled
# and fsynced while writers wait: at 20,000 appends/s that is a 30-40 ms stall every second or
# so, for ours and the baselines alike, and it made the p99 of most runs (docs/benchmarks.md).
bench_cluster() {
	local dir=$1 warm=${BENCH_WARM_WAL:-2048}
	bench_clusters+=("$dir")
	"$HARNESS/pg_start.sh" "$dir" >/dev/null
	set -a; . "$dir/env"; set +a
	psql -X -q -d postgres -c "ALTER SYSTEM SET shared_buffers = '256MB'" \
		-c "ALTER SYSTEM SET synchronous_commit = on" -c "ALTER SYSTEM SET max_wal_size = '4GB'" \
		-c "ALTER SYSTEM SET checkpoint_timeout = '15min'" \
		-c "ALTER SYSTEM SET min_wal_size = '$((warm > 80 ? warm : 80))MB'"
	"$HARNESS/pg_stop.sh" "$dir" >/dev/null
	"$HARNESS/pg_start.sh" "$dir" >/dev/null
	set -a; . "$dir/env"; set +a
	if [ "$warm" -gt 0 ]; then
		# One segment per switch (a switch needs a record since the last one); the checkpoint
		# then renames the used segments to future names instead of deleting them.
		for _ in $(seq $((warm / 16))); do
			echo "SELECT pg_logical_emit_message(false, 'bench', 'warm-up'); SELECT pg_switch_wal();"
		done | psql -X -q -At -d postgres -v ON_ERROR_STOP=1 >/dev/null
		psql -X -q -d postgres -c "CHECKPOINT"
	fi
	export PGDATABASE=bench
	psql -X -q -d postgres -c "CREATE DATABASE bench"
	if [ "${2:-}" = --api ]; then
		psql -X -q -v ON_ERROR_STOP=1 -f "$REPO_ROOT/test/bench/setup.sql" >/dev/null
		q "SELECT event.create_partitions(now() + interval '1 month')" >/dev/null
	fi
}

# bench_nats DIR: nats-server -js on a free loopback port, store in DIR/nats, log DIR/nats.log;
# waits until it accepts connections; sets nats_pid, nport and nats_url.
bench_nats() {
	nport=$("$HARNESS/free_port.sh")
	nats-server -js -a 127.0.0.1 -p "$nport" -sd "$1/nats" >>"$1/nats.log" 2>&1 &
	nats_pid=$!
	bench_track "$nats_pid"
	nats_url=nats://127.0.0.1:$nport
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$nport") 2>/dev/null && return 0; sleep 0.1; done
	echo "${BENCH_NAME:-bench}: nats-server did not start (see $1/nats.log)" >&2; return 1
}

# bench_sidecar LOG [FLAGS...]: the sidecar (SIDECAR_BIN, default sidecar/event-sidecar) on a
# new free loopback port, against database bench and $nats_url, --log-level warn unless FLAGS
# say otherwise, output appended to LOG; sets sidecar_pid, hport and sidecar_url. Does not
# wait: each script waits for what it needs (a route, a metric).
bench_sidecar() {
	local log_file=$1; shift
	hport=$("$HARNESS/free_port.sh")
	sidecar_url=http://127.0.0.1:$hport
	EVENT_DATABASE_URL="postgresql://$PGUSER@$PGHOST:$PGPORT/bench" "${SIDECAR_BIN:-$REPO_ROOT/sidecar/event-sidecar}" \
		--nats-url "$nats_url" --http-addr "127.0.0.1:$hport" --log-level warn "$@" >>"$log_file" 2>&1 &
	sidecar_pid=$!
	bench_track "$sidecar_pid"
}

# bench_stack [FLAGS...]: in $tmp (bench_dir first), a cluster with --api (bench_cluster
# $tmp/pg --api), a nats-server and a sidecar with FLAGS (log $tmp/sidecar.log).
bench_stack() {
	bench_cluster "$tmp/pg" --api
	bench_nats "$tmp"
	bench_sidecar "$tmp/sidecar.log" "$@"
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
