#!/usr/bin/env bash
# test/bench/collect.sh — frontend collection benchmarks (issue 13, docs/benchmarks.md), each
# beside a baseline of the same run:
#   1. POST /api/v1/events/frontend, one event per request, 64 connections, each answered after
#      its JetStream ack (wrk), beside sidecar/js-bench publishing the same number of messages of
#      the same size with the same window (64 unacknowledged) to a fresh stream of the sidecar's
#      configuration: raw nats.c JetStream publishing from this machine, no HTTP;
#   2. the ingester draining a JetStream backlog of BENCH_COLLECT_EVENTS frontend events
#      (1,000,000; 100,000 with BENCH_QUICK=1) into PostgreSQL, from sidecar start until every
#      message is stored, beside COPY of the same rows (exported from event.events) into the
#      plain table bench.base_events (test/bench/setup.sql).
# Starts its own cluster, nats-server and sidecar; writes build/bench/collect-results.md.
# Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (64), BENCH_COLLECT_EVENTS, BENCH_QUICK,
# BENCH_KEEP=1 keeps the work directory.
set -euo pipefail
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HARNESS=${HARNESS:-$REPO_ROOT/test/harness}
BENCH_NAME=collect
. "$REPO_ROOT/test/bench/lib.sh"
here=$REPO_ROOT/test/bench
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-64}
if [ "${BENCH_QUICK:-0}" = 1 ]; then backlog=${BENCH_COLLECT_EVENTS:-100000}; else backlog=${BENCH_COLLECT_EVENTS:-1000000}; fi
js_bench=${JS_BENCH:-$REPO_ROOT/sidecar/js-bench}
command -v wrk >/dev/null || { echo "collect.sh: wrk not installed (make deps)" >&2; exit 1; }

bench_dir collect
bench_cluster "$tmp/pg" --api
bench_nats "$tmp"
stop_sidecar() { bench_stop "$sidecar_pid"; }
# start_sidecar ARGS...: a sidecar (base = its URL), waits for the frontend health (NATS connected).
start_sidecar() {
	bench_sidecar "$tmp/sidecar.log" "$@"
	base=$sidecar_url
	for _ in $(seq 200); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/events/frontend/health")" = 200 ] && return 0
		sleep 0.1
	done
	echo "collect.sh: sidecar not ready" >&2; tail -20 "$tmp/sidecar.log" >&2; return 1
}
stream_msgs() { "$js_bench" info "$nats_url" EVENTS | awk '{ print $1 }'; }

# 1. Frontend single events, ingester off (the backlog of part 2 starts with these).
start_sidecar --ingester off
printf '{"event_type":"page.viewed","event_category":"page_view","user_id":"u1","data":{"path":"/pricing","ms":42}}' >"$tmp/one.json"
log "warm-up"
BENCH_BODY_FILE=$tmp/one.json BENCH_KEY=none wrk -t2 -c"$conns" -d2s -s "$here/http_post.lua" \
	"$base/api/v1/events/frontend" >/dev/null 2>&1 || true
m0=$(stream_msgs); b0=$("$js_bench" info "$nats_url" EVENTS | awk '{ print $2 }')
BENCH_BODY_FILE=$tmp/one.json BENCH_KEY=none wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$here/http_post.lua" \
	"$base/api/v1/events/frontend" >"$tmp/wrk.frontend.txt" 2>&1
wrk_stats "$tmp/wrk.frontend.txt"; f_rps=$RPS f_p99=$P99_MS f_bad=$BAD
m1=$(stream_msgs); b1=$("$js_bench" info "$nats_url" EVENTS | awk '{ print $2 }')
n_front=$((m1 - m0))
# Payload size for the baseline: stored bytes per message minus its subject and Nats-Msg-Id header
# (events.frontend.page_view.page.viewed = 37 bytes, header block ~64 bytes) and the store's
# per-message framing (~22 bytes).
size=$(((b1 - b0) / (n_front > 0 ? n_front : 1) - 123))
log "frontend: $f_rps req/s, p99 $f_p99 ms, $n_front messages stored (~$size-byte payloads), non-2xx/errors $f_bad"
raw=$("$js_bench" publish "$nats_url" BENCH_RAW rawbench "$n_front" "$size" "$conns")
"$js_bench" delete "$nats_url" BENCH_RAW
r_rps=$(sed -n 's/.*events_per_s=\([0-9.]*\).*/\1/p' <<<"$raw")
log "js-bench: $raw"
row "frontend single event → JetStream ack, $conns connections (req/s)" "$f_rps" "$r_rps (js-bench, window $conns)" \
	"$(fmt %.2fx "$(calc "$f_rps / $r_rps")")" ">= 50000" "$(met "$f_rps" '>=' 50000)"
row "frontend single event p99 latency (ms)" "$f_p99" "—" "—" "< 5" "$(met "$f_p99" '<' 5)"

# 2. A backlog of frontend events (batches of 1,000 through the frontend batch endpoint).
python3 -c "
import json
print(json.dumps({'events': [{'event_type': 'page.viewed', 'event_category': 'page_view', 'user_id': 'u%d' % (i % 100),
                  'data': {'path': '/p/%d' % i, 'ms': i}} for i in range(1000)], 'client_info': {'app': 'bench'}}))" >"$tmp/batch.json"
have=$(stream_msgs)
need=$(((backlog - have + 999) / 1000)); [ "$need" -gt 0 ] || need=0
log "publishing $((need * 1000)) more frontend events as $need batches of 1000"
: >"$tmp/batch.codes"
[ "$need" = 0 ] || seq "$need" | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
	--data-binary @"$tmp/batch.json" "$base/api/v1/events/frontend/batch" >"$tmp/batch.codes"
[ "$(grep -vc '^202$' "$tmp/batch.codes")" = 0 ] || { echo "collect.sh: a batch was refused" >&2; sort "$tmp/batch.codes" | uniq -c >&2; exit 1; }
stop_sidecar
total=$(stream_msgs)
log "backlog: $total frontend messages in JetStream; starting the sidecar with the ingester"
t0=$(now)
start_sidecar --ingester on
stored() { curl -s "$base/metrics" | awk '/^event_ingester_messages_total/ && /outcome="(stored|duplicate)"/ { n += $2 } END { print n + 0 }'; }
# Polled every 0.5 s (±0.25 s on a drain of 10 s and more): at 0.1 s the curl and awk processes
# took about a sixth of the two cores from the ingester being measured.
for _ in $(seq 7200); do
	[ "$(stored)" -ge "$total" ] && break
	sleep 0.5
done
t1=$(now)
i_secs=$(calc "$t1 - $t0")
rows_pg=$(q "SELECT count(*) FROM event.events WHERE event_source = 'frontend'")
[ "$rows_pg" = "$total" ] || { echo "collect.sh: $rows_pg frontend rows in PostgreSQL, want $total" >&2; exit 1; }
i_rate=$(calc "$total / $i_secs")
stop_sidecar
cols='event_id, event_type, event_source, event_category, user_id, data, metadata, idempotency_key, "timestamp"'
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy (SELECT $cols FROM event.events WHERE event_source = 'frontend') TO '$tmp/rows.copy'"
psql -X -q -c "CHECKPOINT" >/dev/null
c0=$(now)
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy bench.base_events ($cols) FROM '$tmp/rows.copy'"
c1=$(now)
c_secs=$(calc "$c1 - $c0")
c_rate=$(calc "$total / $c_secs")
row "ingester: backlog of $total frontend events → PostgreSQL, sidecar start → all stored (events/s; $(fmt %.1f "$i_secs") s)" \
	"$(fmt %.0f "$i_rate")" "$(fmt %.0f "$c_rate") (COPY of the same rows; $(fmt %.1f "$c_secs") s)" \
	"$(fmt %.2fx "$(calc "$i_rate / $c_rate")")" "—" "—"
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$nats_pid/status" 2>/dev/null || echo "?")

{
	echo "Frontend collection benchmarks ($(nproc) cores, wrk -t2, ${secs}s, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F))"
	echo
	echo "| benchmark | ours | baseline | ratio | goal | met? |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "non-2xx or socket errors: frontend $f_bad; nats-server peak RSS $rss kB"
} | tee "$outdir/collect-results.md"
