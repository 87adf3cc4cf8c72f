#!/usr/bin/env bash
# test/bench/http.sh — HTTP API benchmarks with wrk on loopback (docs/benchmarks.md), each
# beside a baseline of the same run:
#   1. POST /api/v1/events/create, 64 connections (group commit; each answered after commit)
#      beside POST /bench/insert on the same server (--bench-baseline on): one plain INSERT into
#      bench.base_events per request, same HTTP stack, auth and pool, no group commit;
#   2. POST /api/v1/events/batch with 100 events per request, as events/s, beside the same
#      events through /bench/insert one per request;
#   3. POST /api/v1/events/query returning 1000 events, p99 latency with 8 connections (the
#      cores saturated) and with 1, each beside GET /health with as many connections (the HTTP
#      round trip without the database).
# Starts its own cluster, nats-server and sidecar; writes build/bench/http-results.md.
# Environment: BENCH_SECONDS (10), BENCH_EVENTS events loaded before the query test (200000; the
# goal's figure is at 10000000, ~10 min), BENCH_LOAD_JOBS loader sessions (2),
# BENCH_CONNECTIONS (64), BENCH_KEEP=1 keeps the work directory, SIDECAR_BIN (the sidecar to
# measure, default sidecar/event-sidecar: a before/after comparison runs the script twice).
set -euo pipefail
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HARNESS=${HARNESS:-$REPO_ROOT/test/harness}
BENCH_NAME=http
. "$REPO_ROOT/test/bench/lib.sh"
here=$REPO_ROOT/test/bench
secs=${BENCH_SECONDS:-10}
events=${BENCH_EVENTS:-200000}
conns=${BENCH_CONNECTIONS:-64}
command -v wrk >/dev/null || { echo "http.sh: wrk not installed (make deps)" >&2; exit 1; }

bench_dir http
bench_cluster "$tmp/pg" --api
key=$(q "SELECT event.create_api_key('bench')->>'secret'")
bench_nats "$tmp"
bench_sidecar "$tmp/sidecar.log" --bench-baseline on
base=$sidecar_url
for _ in $(seq 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$base/api/v1/events/statistics")" = 200 ] && break
	sleep 0.2
done

# run_wrk NAME PATH BODY_FILE CONNECTIONS: wrk for $secs s; sets RPS, P99_MS, BAD (non-2xx + errors).
run_wrk() {
	local name=$1 path=$2 body=$3 c=$4 out=$tmp/wrk.$1.txt
	BENCH_BODY_FILE=$body BENCH_KEY=$key wrk -t"$((c < 2 ? c : 2))" -c"$c" -d"${secs}s" --latency -s "$here/http_post.lua" \
		"$base$path" >"$out" 2>&1
	wrk_stats "$out"
	log "$name: $RPS req/s, p99 $P99_MS ms, non-2xx/errors $BAD"
}

printf '{"event_type":"bench.http","event_source":"backend","event_category":"order","user_id":"u1","data":{"order":42,"total":99.5}}' >"$tmp/one.json"
python3 -c "
import json
print(json.dumps([{'event_type': 'bench.http', 'event_source': 'backend', 'event_category': 'order', 'user_id': 'u1', 'data': {'order': i, 'total': 99.5}} for i in range(100)]))" >"$tmp/hundred.json"

log "warm-up"
run_wrk warmup /api/v1/events/create "$tmp/one.json" "$conns" >/dev/null 2>&1 || true

run_wrk create /api/v1/events/create "$tmp/one.json" "$conns"; c_rps=$RPS c_p99=$P99_MS c_bad=$BAD
run_wrk baseline /bench/insert "$tmp/one.json" "$conns"; b_rps=$RPS b_p99=$P99_MS b_bad=$BAD
row "create, $conns connections (req/s)" "$c_rps" "$b_rps" "$(fmt %.2fx "$(calc "$c_rps / $b_rps")")" ">= 20000" "$(met "$c_rps" '>=' 20000)"
row "create p99 latency (ms)" "$c_p99" "$b_p99" "$(fmt %.2fx "$(calc "$c_p99 / $b_p99")")" "< 10" "$(met "$c_p99" '<' 10)"

run_wrk batch /api/v1/events/batch "$tmp/hundred.json" 16; e_rps=$(calc "$RPS * 100") e_bad=$BAD
row "batch of 100, 16 connections (events/s)" "$(fmt %.0f "$e_rps")" "$b_rps" "$(fmt %.2fx "$(calc "$e_rps / $b_rps")")" ">= 150000" "$(met "$e_rps" '>=' 150000)"

have=$(q "SELECT count(*) FROM event.events")
if [ "$have" -lt "$events" ]; then
	# Through the write path in transactions of 1,000 (bench.load, as run.sh loads), then until the
	# relay has published them all: the queries are measured on a store at rest, not beside the
	# relay catching up (at 10M events that is minutes of decoding and publishing).
	log "loading $((events - have)) events for the query test"
	bench_load "$((events - have))" "${BENCH_LOAD_JOBS:-2}" 1000 "$tmp" || exit 1
	end_lsn=$(q "SELECT pg_current_wal_lsn()")
	log "loaded; waiting for the relay to confirm $end_lsn"
	caught_up() { [ "$(q "SELECT coalesce(bool_or(confirmed_flush_lsn >= '$end_lsn'), false) FROM pg_replication_slots WHERE slot_name = 'event_relay'")" = t ]; }
	for _ in $(seq 3600); do caught_up && break; sleep 1; done
	caught_up || { echo "http.sh: the relay did not confirm $end_lsn within an hour" >&2; exit 1; }
	log "relay caught up"
fi
# Settle the store as run.sh does before its reads: fold the loaded backlog into the statistics
# rollup (otherwise the first query folds it: 1.3 s for 250,000 events) and VACUUM ANALYZE.
q "SELECT event.compact_statistics()" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE" >/dev/null
printf '{"limit":1000}' >"$tmp/query.json"
# p99 twice: with 8 connections the two cores are saturated (each query waits behind the others:
# latency under full load), with 1 the latency of a query on its own. The baseline of each is
# GET /health with as many connections.
health_p99() {
	BENCH_KEY=$key wrk -t"$(($1 < 2 ? $1 : 2))" -c"$1" -d"${secs}s" --latency "$base/health" >"$tmp/wrk.health$1.txt" 2>&1
	awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else sub(/ms$/, "", v); print v }' "$tmp/wrk.health$1.txt"
}
n_query=$(q "SELECT count(*) FROM event.events")
run_wrk query /api/v1/events/query "$tmp/query.json" 8; q_rps=$RPS q_p99=$P99_MS q_bad=$BAD
h_p99=$(health_p99 8)
row "query of 1000 results at $n_query events, 8 connections ($(fmt %.0f "$q_rps") req/s), p99 (ms)" "$q_p99" "$h_p99 (GET /health)" "$(fmt %.1fx "$(calc "$q_p99 / $h_p99")")" "< 30" "$(met "$q_p99" '<' 30)"
run_wrk query1 /api/v1/events/query "$tmp/query.json" 1; q1_rps=$RPS q1_p99=$P99_MS q_bad=$((q_bad + BAD))
h1_p99=$(health_p99 1)
row "query of 1000 results at $n_query events, 1 connection ($(fmt %.0f "$q1_rps") req/s), p99 (ms)" "$q1_p99" "$h1_p99 (GET /health, 1 conn.)" "$(fmt %.1fx "$(calc "$q1_p99 / $h1_p99")")" "< 30" "$(met "$q1_p99" '<' 30)"
# Sidecar memory with 1,000 idle keep-alive connections (each opened with one GET /health and left
# open), beside its RSS just before they were opened.
rss_before=$(awk '/VmRSS/ { print $2 }' "/proc/$sidecar_pid/status")
python3 - "$hport" 1000 "/proc/$sidecar_pid/status" >"$tmp/idle.txt" <<'PY'
import socket, sys, time
port, n, status = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n")
    conns.append(s)
answered = 0
for s in conns:  # each answer, then the connection stays open (keep-alive)
    s.settimeout(10)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    answered += buf.startswith(b"HTTP/1.1 ")
time.sleep(1)
rss = next(l.split()[1] for l in open(status) if l.startswith("VmRSS"))
still_open = 0
for s in conns:  # an idle connection the server closed reads as EOF
    s.setblocking(False)
    try:
        still_open += s.recv(65536) != b""
    except BlockingIOError:
        still_open += 1
print(rss, answered, still_open)
PY
read -r rss_idle idle_answered idle_open <"$tmp/idle.txt"
row "sidecar RSS with 1000 idle keep-alive connections ($idle_answered answered, $idle_open still open; kB)" \
	"$rss_idle" "$rss_before (before they were opened)" "$(fmt %.2fx "$(calc "$rss_idle / $rss_before")")" \
	"$(fmt %.1f "$(calc "($rss_idle - $rss_before) / 1000")") kB per connection" "—"
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$sidecar_pid/status")
log "sidecar RSS after the runs: $rss kB; non-2xx/errors: create $c_bad, baseline $b_bad, batch $e_bad, query $q_bad"

{
	echo "HTTP API benchmarks ($(nproc) cores, wrk -t2, ${secs}s each, $(date -u +%F))"
	echo
	echo "| benchmark | ours | baseline | ratio | goal | met? |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "non-2xx or socket errors: create $c_bad, baseline $b_bad, batch $e_bad, query $q_bad; sidecar RSS $rss kB"
} | tee "$outdir/http-results.md"
