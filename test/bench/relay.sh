#!/usr/bin/env bash
# test/bench/relay.sh — output plugin and relay benchmarks (docs/benchmarks.md, "Relay and output
# plugin"), each beside a baseline measured in the same run. Run by `make bench` after run.sh,
# or alone: `bash test/bench/relay.sh` (needs `make`, `make install` and `make -C sidecar` done).
#
# Starts its own throwaway PostgreSQL cluster (test/harness/pg_start.sh, same ALTER SYSTEM settings
# as run.sh) and its own nats-server -js on a free loopback port, both in /tmp/event-bench-relay.*,
# and stops them (and the sidecar) on exit, also on failure or Ctrl-C.
#   a. decode rate of event_decoder vs wal2json vs test_decoding over the same N events;
#   b. relay throughput with an N-event backlog vs raw JetStream async publishing (sidecar/js-bench),
#      and the sidecar's peak memory beside its in-flight window;
#   c. commit -> JetStream-ack latency at a steady rate (histogram event_relay_commit_to_ack_seconds).
# Writes build/bench/relay-results.md and prints it.
#
# Environment:
#   RELAY_BENCH_EVENTS    events loaded for a and b (default 1000000; 100000 with RELAY_BENCH_QUICK=1)
#   RELAY_BENCH_QUICK=1   smoke run (~1 min): 100k events, 2 decode runs, 10 s of latency
#                         (defaults to BENCH_QUICK, so `BENCH_QUICK=1 make bench` is quick throughout)
#   RELAY_BENCH_RUNS      timed decode runs per plugin, best reported (default 3; 2 quick)
#   RELAY_BENCH_RATE      events/s of the latency run (default 1000)
#   RELAY_BENCH_LATENCY_SECONDS  duration of the latency run (default 20; 10 quick)
#   RELAY_BENCH_CLIENTS   pgbench clients of the latency run (default 4)
#   RELAY_BENCH_INFLIGHT  sidecar --max-inflight and js-bench window (default 10000 = sidecar default)
#   RELAY_BENCH_PERF=1    perf record -g the sidecar during the backlog run (build/bench/relay-perf.data)
#   RELAY_BENCH_KEEP=1    keep the temp directory (cluster, nats store, logs)
#   SIDECAR_BIN, JS_BENCH binaries (default sidecar/event-sidecar, sidecar/js-bench)
set -euo pipefail

REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HARNESS=${HARNESS:-$REPO_ROOT/test/harness}
BENCH_NAME=relay
. "$REPO_ROOT/test/bench/lib.sh"
here=$REPO_ROOT/test/bench
quick=${RELAY_BENCH_QUICK:-${BENCH_QUICK:-0}}
if [ "$quick" = 1 ]; then
	events=${RELAY_BENCH_EVENTS:-100000}
	runs=${RELAY_BENCH_RUNS:-2}
	lat_secs=${RELAY_BENCH_LATENCY_SECONDS:-10}
else
	events=${RELAY_BENCH_EVENTS:-1000000}
	runs=${RELAY_BENCH_RUNS:-3}
	lat_secs=${RELAY_BENCH_LATENCY_SECONDS:-20}
fi
rate=${RELAY_BENCH_RATE:-1000}
lat_clients=${RELAY_BENCH_CLIENTS:-4}
window=${RELAY_BENCH_INFLIGHT:-10000}
perf=${RELAY_BENCH_PERF:-0}
load_jobs=2
load_batch=1000
sidecar_bin=${SIDECAR_BIN:-$REPO_ROOT/sidecar/event-sidecar}
SIDECAR_BIN=$sidecar_bin
js_bench=${JS_BENCH:-$REPO_ROOT/sidecar/js-bench}
die() { echo "relay bench: $*" >&2; exit 1; }
for b in "$sidecar_bin" "$js_bench"; do [ -x "$b" ] || die "$b not built (make -C sidecar)"; done
for c in nats-server pgbench psql curl; do command -v "$c" >/dev/null || die "$c not found"; done

[ "${RELAY_BENCH_KEEP:-0}" = 1 ] && BENCH_KEEP=1
bench_dir relay
PERF_PID=""
set -E
trap 'echo "relay bench: line $LINENO failed: $BASH_COMMAND" >&2' ERR

group() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }  # 1000000 -> 1,000,000

# ------------------------------------------------------------------ cluster
log "starting cluster in $tmp"
bench_cluster "$tmp"
psql -X -q -f "$here/setup.sql" >/dev/null
pgversion=$(q "SHOW server_version")

# Slots first, so that each of them decodes exactly the N events loaded next.
relay_slot=bench_relay
for s in "bench_ours event_decoder" "bench_wal2json wal2json" "bench_testdec test_decoding" "$relay_slot event_decoder"; do
	set -- $s
	q "SELECT pg_create_logical_replication_slot('$1', '$2')" >/dev/null
done

log "loading $events events ($load_jobs jobs, $load_batch per event.create_events call)"
t0=$(now)
bench_load "$events" "$load_jobs" "$load_batch" "$work" || die "loader failed"
log "loaded in $(fmt %.0f "$(calc "$(now) - $t0")") s"
q "CHECKPOINT" >/dev/null

# ------------------------------------------------------------------ a. decode rate
leaves=$(q "SELECT string_agg(format('%s.%s', n.nspname, c.relname), ',' ORDER BY c.relname)
            FROM pg_partition_tree('event.events') t JOIN pg_class c ON c.oid = t.relid
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.isleaf")
# peek SLOT OPTIONS_SQL -> "seconds rows bytes" of the best of $runs runs (wall time of psql).
peek() {
	local best="" out t0 t1 s
	for _ in $(seq "$runs"); do
		t0=$(now)
		out=$(q "SELECT count(*), COALESCE(sum(octet_length(data)), 0) FROM pg_logical_slot_peek_changes('$1', NULL, NULL$2)")
		t1=$(now)
		s=$(calc "$t1 - $t0")
		if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
	done
	echo "$best ${out/|/ }"
}
log "a. decode: $runs peeks per plugin over $events events"
read -r ours_s ours_n ours_b <<<"$(peek bench_ours "")"
read -r w2j_s w2j_n w2j_b <<<"$(peek bench_wal2json ", 'format-version', '2', 'include-transaction', 'false', 'add-tables', '$leaves'")"
read -r td_s td_n td_b <<<"$(peek bench_testdec ", 'skip-empty-xacts', '1'")"
[ "$ours_n" = "$events" ] || die "event_decoder emitted $ours_n rows for $events events"
[ "$w2j_n" = "$events" ] || die "wal2json emitted $w2j_n rows for $events events"
ours_eps=$(calc "$events / $ours_s"); w2j_eps=$(calc "$events / $w2j_s"); td_eps=$(calc "$events / $td_s")
ours_bpe=$(calc "$ours_b / $events"); w2j_bpe=$(calc "$w2j_b / $events"); td_bpe=$(calc "$td_b / $events")
r=$(calc "$ours_eps / $w2j_eps")
row "a1. decode $(group "$events") events, event_decoder (defaults) vs wal2json (format-version 2, include-transaction false, add-tables = the event.events partitions) (events/s; best of $runs: $(fmt %.2f "$ours_s") s vs $(fmt %.2f "$w2j_s") s)" \
	"$(fmt %.0f "$ours_eps")" "$(fmt %.0f "$w2j_eps") (wal2json)" "$(fmt %.2f "$r")" "≥ 2.0" "$(met "$r" ">=" 2)"
r=$(calc "$ours_bpe / $w2j_bpe")
row "a2. bytes per event, event_decoder vs wal2json (same events)" "$(fmt %.0f "$ours_bpe")" "$(fmt %.0f "$w2j_bpe") (wal2json)" \
	"$(fmt %.2f "$r")" "< 1.0" "$(met "$r" "<" 1)"
r=$(calc "$ours_eps / $td_eps")
row "a3. decode vs test_decoding (skip-empty-xacts; cannot filter tables: its $(group "$td_n") rows also hold BEGIN/COMMIT and the event_streams/stat_counters changes) (events/s; $(fmt %.2f "$td_s") s)" \
	"$(fmt %.0f "$ours_eps")" "$(fmt %.0f "$td_eps") (test_decoding)" "$(fmt %.2f "$r")" "—" "—"
r=$(calc "$ours_bpe / $td_bpe")
row "a4. bytes per event vs test_decoding (all of its output / $(group "$events") events)" "$(fmt %.0f "$ours_bpe")" \
	"$(fmt %.0f "$td_bpe") (test_decoding)" "$(fmt %.2f "$r")" "—" "—"
payload=$(fmt %.0f "$ours_bpe")

# ------------------------------------------------------------------ NATS
bench_nats "$tmp" || exit 1

# ------------------------------------------------------------------ b. baseline: raw JetStream async publish
log "b. baseline: js-bench, $events messages of $payload bytes, window $window"
base_line=$("$js_bench" publish "$nats_url" BENCH bench "$events" "$payload" "$window") || die "js-bench failed: $base_line"
base_eps=$(sed -n 's/.*events_per_s=\([0-9.]*\).*/\1/p' <<<"$base_line")
base_s=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$base_line")
"$js_bench" delete "$nats_url" BENCH
log "baseline: $base_line"

# ------------------------------------------------------------------ sidecar helpers
# start_sidecar NAME SLOT: starts event-sidecar (log $tmp/NAME.log), sets SIDECAR_PID.
start_sidecar() {
	bench_sidecar "$tmp/$1.log" --slot "$2" --max-inflight "$window"
	SIDECAR_PID=$sidecar_pid
}
metrics() { curl -s --max-time 5 "$sidecar_url/metrics"; }
# metric NAME: value of the first sample line of NAME (no labels other than slot).
metric() { metrics | awk -v n="$1" 'index($1, n "{") == 1 && !done { print $2; done = 1 }'; }
rss_kb() { awk -v k="$2" '$1 == k ":" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
mb() { fmt %.1f "$(calc "$1 / 1024")"; }
wait_leader() {
	for _ in $(seq 200); do
		kill -0 "$SIDECAR_PID" 2>/dev/null || die "sidecar exited at startup"
		[ "$(metric event_relay_replication_streaming)" = 1 ] && [ "$(metric event_relay_nats_up)" = 1 ] && return 0
		sleep 0.1
	done
	die "sidecar did not start streaming within 20 s"
}
stop_sidecar() {
	local pid=$SIDECAR_PID rc=0
	SIDECAR_PID=""
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || die "sidecar exited with status $rc after SIGTERM"
}

# Idle footprint: a sidecar on an empty slot, connected to both sides (the base of the memory budget).
log "b. idle sidecar footprint"
start_sidecar sidecar-idle bench_idle
wait_leader
sleep 1
idle_kb=$(rss_kb "$SIDECAR_PID" VmRSS)
stop_sidecar
for _ in $(seq 50); do
	q "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'bench_idle' AND NOT active" >/dev/null
	[ "$(q "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'bench_idle'")" = 0 ] && break
	sleep 0.2
done

# ------------------------------------------------------------------ b. relay throughput with a backlog
log "b. relay: sidecar starts with a backlog of $events events (window $window)"
t0=$(now)
start_sidecar sidecar "$relay_slot"
if [ "$perf" = 1 ]; then
	perf record -g -o "$outdir/relay-perf.data" -p "$SIDECAR_PID" >"$tmp/perf.log" 2>&1 &
	PERF_PID=$!
	bench_track "$PERF_PID"
fi
deadline=$(($(date +%s) + 120 + events / 5000))
acked=0 rss_marks=()
next_mark=25
while :; do
	kill -0 "$SIDECAR_PID" 2>/dev/null || die "sidecar exited during the backlog run"
	acked=$(metric event_relay_events_acked_total || true)
	acked=${acked:-0}
	[ "$acked" -ge "$events" ] && break
	if [ "$next_mark" -le 75 ] && [ "$acked" -ge $((events * next_mark / 100)) ]; then
		rss_marks+=("$next_mark %: $(mb "$(rss_kb "$SIDECAR_PID" VmRSS)")")
		next_mark=$((next_mark + 25))
	fi
	[ "$(date +%s)" -lt "$deadline" ] || die "backlog not relayed within $((120 + events / 5000)) s ($acked of $events acknowledged)"
	sleep 0.1
done
t1=$(now)
relay_s=$(calc "$t1 - $t0")
hwm_kb=$(rss_kb "$SIDECAR_PID" VmHWM)
end_kb=$(rss_kb "$SIDECAR_PID" VmRSS)
rss_marks+=("100 %: $(mb "$end_kb")")
if [ -n "$PERF_PID" ]; then
	kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=""
	log "perf data: $outdir/relay-perf.data (perf report -i $outdir/relay-perf.data --no-children)"
fi
read -r js_msgs _ <<<"$("$js_bench" info "$nats_url" EVENTS)"
[ "$js_msgs" = "$events" ] || die "stream EVENTS holds $js_msgs messages, expected $events"
dups=$(metric event_relay_events_duplicate_total)
relay_eps=$(calc "$events / $relay_s")
r=$(calc "$relay_eps / $base_eps")
row "b1. relay throughput, backlog of $(group "$events") events, sidecar start → all acked by JetStream (events/s; $(fmt %.1f "$relay_s") s, $dups duplicates)" \
	"$(fmt %.0f "$relay_eps")" "$(fmt %.0f "$base_eps") (js-bench: raw js_PublishMsgAsync of $(group "$events") × $payload B, window $window; $(fmt %.1f "$base_s") s)" \
	"$(fmt %.2f "$r")" "≥ 50000 events/s" "$(met "$relay_eps" ">=" 50000)"
budget_kb=$((idle_kb + window * 4))
r=$(calc "$hwm_kb / $budget_kb")
row "b2. sidecar peak memory (VmHWM) during the backlog run, --max-inflight $window (MB; RSS at $(IFS=,; echo "${rss_marks[*]}" | sed 's/,/, /g') of the backlog)" \
	"$(mb "$hwm_kb")" "$(mb "$budget_kb") (budget: idle RSS $(mb "$idle_kb") MB + $window × 4 KiB)" "$(fmt %.2f "$r")" "≤ budget" "$(met "$r" "<=" 1)"

# ------------------------------------------------------------------ c. latency at a steady rate
log "c. latency: $rate events/s for $lat_secs s ($lat_clients clients), sidecar caught up"
for _ in $(seq 100); do [ "$(metric event_relay_inflight)" = 0 ] && break; sleep 0.1; done
cat >"$work/latency.sql" <<'EOF'
SELECT event.create_event('bench.latency', '{"x":1}'::jsonb, 'backend', 'order', 'user_' || (random()*10000)::int);
EOF
hist() { metrics | awk '/^event_relay_commit_to_ack_seconds_(bucket|count|sum)/'; }
hist >"$work/hist.before"
acked0=$(metric event_relay_events_acked_total)
pgbench -n -M prepared -c "$lat_clients" -j 2 -R "$rate" -T "$lat_secs" -f "$work/latency.sql" >"$work/latency.pgbench.log" 2>&1 ||
	{ cat "$work/latency.pgbench.log" >&2; die "pgbench failed"; }
lat_n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/latency.pgbench.log")
lat_tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$work/latency.pgbench.log")
for _ in $(seq 100); do
	[ "$(metric event_relay_events_acked_total)" -ge $((acked0 + lat_n)) ] && break; sleep 0.1
done
hist >"$work/hist.after"
# quantile Q: from the difference of the two scrapes, linear interpolation inside the bucket
# (as PromQL histogram_quantile); prints milliseconds, or ">5000" if it falls in +Inf.
quantile() {
	awk -v q="$1" '
		function le(line) { match(line, /le="[^"]*"/); return substr(line, RSTART + 4, RLENGTH - 5) }
		FNR == NR { if ($1 ~ /_bucket/) before[le($1)] = $2; next }
		$1 ~ /_bucket/ { k = le($1); n++; bound[n] = k; cum[n] = $2 - before[k] }
		END {
			total = cum[n]; if (total == 0) { print "nan"; exit }
			rank = q * total; prev_b = 0; prev_c = 0
			for (i = 1; i <= n; i++) {
				if (cum[i] >= rank) {
					if (bound[i] == "+Inf") { print ">5000"; exit }
					printf "%.2f\n", 1000 * (prev_b + (bound[i] - prev_b) * (cum[i] > prev_c ? (rank - prev_c) / (cum[i] - prev_c) : 1)); exit
				}
				prev_b = bound[i]; prev_c = cum[i]
			}
		}' "$work/hist.before" "$work/hist.after"
}
lat_count=$(awk 'FNR == NR { if ($1 ~ /_count/) c0 = $2; next } $1 ~ /_count/ { print $2 - c0 }' "$work/hist.before" "$work/hist.after")
lat_sum=$(awk 'FNR == NR { if ($1 ~ /_sum/) s0 = $2; next } $1 ~ /_sum/ { print $2 - s0 }' "$work/hist.before" "$work/hist.after")
p50=$(quantile 0.5)
p99=$(quantile 0.99)
mean=$(calc "1000 * $lat_sum / ($lat_count > 0 ? $lat_count : 1)")
row "c1. latency commit → JetStream ack, p50, at $(fmt %.0f "$lat_tps") events/s for $lat_secs s ($lat_count events, $lat_clients clients, one event per transaction) (ms, interpolated within histogram buckets; mean $(fmt %.2f "$mean") ms)" \
	"$p50" "—" "—" "—" "—"
if [ "$p99" = ">5000" ] || [ "$p99" = nan ]; then p99_met="**NO**"; r="—"; else p99_met=$(met "$p99" "<" 20); r=$(fmt %.2f "$(calc "$p99 / 20")"); fi
row "c2. latency commit → JetStream ack, p99, same run (ms, interpolated within histogram buckets)" \
	"$p99" "20 (goal)" "$r" "< 20 ms" "$p99_met"
stop_sidecar

# ------------------------------------------------------------------ report
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
{
	echo "# event relay and output plugin benchmark results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); \`RELAY_BENCH_QUICK=$quick RELAY_BENCH_EVENTS=$events bash test/bench/relay.sh\`;" \
		"$(nproc) CPUs, $mem RAM, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; PostgreSQL $pgversion;" \
		"$(nats-server --version); sidecar --max-inflight $window. Total run time $(($(date +%s) - t_start)) s."
	echo
	echo "| benchmark | ours | baseline | ratio | goal | met? |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} >"$outdir/relay-results.md"
echo
cat "$outdir/relay-results.md"
echo
echo "written to build/bench/relay-results.md"
