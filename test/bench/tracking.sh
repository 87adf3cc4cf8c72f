#!/usr/bin/env bash
# test/bench/tracking.sh — the tracking API (docs/collection.md) end to end: BENCH_TRACKING_EVENTS
# track messages as POST /v1/batch of 100 (8 keep-alive connections) through JetStream and the
# ingester until all are in event.events, as events/s, beside COPY of the same rows (exported from
# event.events) into bench.base_events (setup.sql: the same columns, partitioning and indexes).
# Starts its own cluster, nats-server and sidecar; writes build/bench/tracking-results.md.
# Environment: BENCH_TRACKING_EVENTS (100000), BENCH_KEEP=1 keeps the work directory.
set -euo pipefail
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HARNESS=${HARNESS:-$REPO_ROOT/test/harness}
BENCH_NAME=tracking
. "$REPO_ROOT/test/bench/lib.sh"
here=$REPO_ROOT/test/bench
events=${BENCH_TRACKING_EVENTS:-100000}
bench_dir tracking
bench_stack --ingest-batch 1000
wk=$(q "SELECT event.create_write_key('bench')->>'secret'")
auth="Authorization: Basic $(printf '%s:' "$wk" | base64 -w0)"
for _ in $(seq 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" --data-binary '{"userId":"w"}' "http://127.0.0.1:$hport/v1/identify")" = 200 ] && break
	sleep 0.2
done
stored() { q "SELECT count(*) FROM event.events WHERE event_type = 'bench.track'"; }

log "sending $events messages"
t0=$(now)
send_s=$(python3 "$here/collect_client.py" "$hport" "$wk" "$events" 8)
# Polled every 0.5 s: at 0.05 s the psql processes took a large share of the two cores from the
# ingester being measured.
while [ "$(stored)" -lt "$events" ]; do sleep 0.5; done
t1=$(now)
total_s=$(calc "$t1 - $t0")
ours=$(calc "$events / $total_s")
log "accepted in $send_s s (all 200), stored after $total_s s"

# Baseline: COPY of the same rows.
cols="event_type, event_source, event_category, user_id, data, metadata, \"timestamp\""
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy (SELECT $cols FROM event.events WHERE event_type = 'bench.track') TO '$tmp/rows.copy'"
t0=$(now)
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy bench.base_events ($cols) FROM '$tmp/rows.copy'"
t1=$(now)
copy_s=$(calc "$t1 - $t0")
base=$(calc "$events / $copy_s")
row "/v1/batch of 100 through JetStream + ingester to PostgreSQL (events/s)" "$(fmt %.0f "$ours")" \
	"$(fmt %.0f "$base") (COPY)" "$(fmt %.2fx "$(calc "$ours / $base")")" "-" "-"
row "of which HTTP accepted (events/s, 2xx after the JetStream acks)" "$(fmt %.0f "$(calc "$events / $send_s")")" \
	"$(fmt %.0f "$base") (COPY)" "$(fmt %.2fx "$(calc "$events / $send_s / $base")")" "-" "-"

{
	echo "Tracking API benchmark ($(nproc) cores, $events messages, $(date -u +%F))"
	echo
	echo "| benchmark | ours | baseline | ratio | goal | met? |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} | tee "$outdir/tracking-results.md"
