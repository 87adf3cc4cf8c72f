#!/usr/bin/env bash
# test/bench/delivery.sh — webhook delivery benchmarks on loopback (docs/benchmarks.md
# "Webhook delivery"), each beside a baseline of the same run:
#   1. deliveries/s to 1, 10 and 100 subscriptions (BENCH_DELIVERIES deliveries each: 20000 events
#      for 1, 2000 for 10, 200 for 100), on the receiver sidecar/webhook-bench receive, beside the
#      same receiver hit directly by the same libcurl client code (webhook-bench post, as many
#      connections as subscriptions). The events are committed while the sidecar is stopped;
#      the rate is the receiver's count over first..last arrival after the start (the relay's
#      publishing of the backlog overlaps the deliveries);
#   2. commit -> webhook received latency at 500 events/s (one commit per event, 10 s, one
#      subscription; the receiver compares its clock with the event's commit_time), p50/p99,
#      beside the p99 of the direct POST on one connection; the relay's share (commit -> JetStream
#      ack, p99 bucket bound of event_relay_commit_to_ack_seconds) is printed beside it.
# Starts its own cluster, nats-server, sidecar and receiver; writes build/bench/delivery-results.md.
# Environment: BENCH_DELIVERIES (20000), BENCH_SUBS ("1 10 100"), BENCH_RATE (500),
# BENCH_RATE_SECONDS (10), BENCH_KEEP=1, BENCH_PROFILE=perf or strace (perf record -g, or strace -c
# -f, on the sidecar during each deliveries/s run: build/bench/delivery-perf-K.data or
# delivery-strace-K.txt; and the CPU seconds of the sidecar, receiver and nats-server in the log).
set -euo pipefail
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HARNESS=${HARNESS:-$REPO_ROOT/test/harness}
BENCH_NAME=delivery
. "$REPO_ROOT/test/bench/lib.sh"
deliveries=${BENCH_DELIVERIES:-20000}
rate=${BENCH_RATE:-500}
rate_secs=${BENCH_RATE_SECONDS:-10}
wb=$REPO_ROOT/sidecar/webhook-bench

bench_dir delivery
bench_cluster "$tmp/pg" --api
bench_nats "$tmp"
rport=$("$HARNESS/free_port.sh")
"$wb" receive --addr "127.0.0.1:$rport" >"$tmp/receiver.log" 2>&1 &
receiver_pid=$!
bench_track "$receiver_pid"
R=http://127.0.0.1:$rport
for _ in $(seq 50); do curl -sf "$R/stats" >/dev/null && break; sleep 0.1; done

start_sidecar() { bench_sidecar "$tmp/sidecar.log"; }
stop_sidecar() { bench_stop "$sidecar_pid"; }
stat() { curl -s "$R/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
# profile_start K / profile_stop: with BENCH_PROFILE=perf or strace, that tool attached to the sidecar.
prof_pids=()
cpu_s() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; } # user + system CPU seconds (100 Hz ticks)
profile_start() {
	prof_cpu="$(cpu_s "$receiver_pid") $(cpu_s "$nats_pid")"
	case ${BENCH_PROFILE:-} in
	perf) perf record -q -g -p "$sidecar_pid" -o "$outdir/delivery-perf-$1.data" >/dev/null 2>&1 & prof_pids=($!) ;;
	strace) strace -c -f -p "$sidecar_pid" -o "$outdir/delivery-strace-$1.txt" 2>/dev/null & prof_pids=($!) ;;
	esac
}
profile_stop() {
	local p
	[ -n "${BENCH_PROFILE:-}" ] || return 0
	log "CPU s during the run: sidecar $(cpu_s "$sidecar_pid") (since its start), receiver" \
		"$(calc "$(cpu_s "$receiver_pid") - ${prof_cpu% *}"), nats-server $(calc "$(cpu_s "$nats_pid") - ${prof_cpu#* }")"
	for p in "${prof_pids[@]}"; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
	prof_pids=()
}

# A first start creates the replication slot and the stream (events committed before the slot
# exists are never relayed).
start_sidecar
for _ in $(seq 100); do [ "$(q "SELECT count(*) FROM pg_replication_slots")" -ge 1 ] && break; sleep 0.2; done
sleep 2
stop_sidecar

# Warm-up: the receiver and the client.
"$wb" post "$R/hook/warm" 2000 4 >/dev/null

for k in ${BENCH_SUBS:-1 10 100}; do
	n=$((deliveries / k))
	q "SELECT count(event.delete_subscription(s.id)) FROM event.subscriptions_for_delivery() s" >/dev/null
	q "SELECT count(event.create_subscription('bench-$k-' || i, '$R/hook/$k/' || i, event_types => '{bench.d$k}'))
	   FROM generate_series(1, $k) i" >/dev/null
	q "SELECT count(*) FROM generate_series(1, $(((n + 999) / 1000))) g, LATERAL (SELECT event.create_events((SELECT
	   jsonb_agg(jsonb_build_object('event_type', 'bench.d$k', 'event_source', 'backend', 'event_category', 'order',
	   'stream_id', 'bench:' || (i % 50), 'data', jsonb_build_object('i', i, 'amount', 42)))
	   FROM generate_series(1, LEAST(1000, $n - (g - 1) * 1000)) i))) x" >/dev/null
	curl -s -X POST "$R/reset" >/dev/null
	start_sidecar
	profile_start "$k"
	want=$((n * k)) t0=$(now)
	while [ "$(stat count)" -lt "$want" ]; do
		sleep 0.2
		[ "$(calc "($(now) - $t0 > 300)")" = 1.000000 ] && { log "timeout: $(stat count) of $want"; break; }
	done
	got=$(stat count)
	ours=$(calc "$got / (($(stat last_us) - $(stat first_us)) / 1000000)")
	[ -n "${BENCH_PROFILE:-}" ] && log "arrivals per 100 ms: $(stat per_100ms)"
	profile_stop
	stop_sidecar
	base=$("$wb" post "$R/hook/base" "$deliveries" "$k" | awk '{ print $6 }')
	row "deliveries/s to $k subscription(s) ($got deliveries)" "$(fmt %.0f "$ours")" "$(fmt %.0f "$base") (direct POST, $k conn.)" \
		"$(fmt %.2fx "$(calc "$ours / $base")")" ">= 10000" "$(met "$ours" '>=' 10000)"
done

# Latency at $rate events/s: one subscription, one commit per event.
q "SELECT count(event.delete_subscription(s.id)) FROM event.subscriptions_for_delivery() s" >/dev/null
q "SELECT event.create_subscription('bench-latency', '$R/hook/latency', event_types => '{bench.latency}')" >/dev/null
start_sidecar
sleep 2
curl -s -X POST "$R/reset" >/dev/null
total=$((rate * rate_secs))
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE PROCEDURE pg_temp.paced(n integer, per_second integer) LANGUAGE plpgsql AS \$\$
	DECLARE t0 double precision := extract(epoch FROM clock_timestamp()); BEGIN
	FOR i IN 1..n LOOP
		PERFORM event.create_event('bench.latency', jsonb_build_object('i', i), 'backend', 'order', stream_id => 'lat:1');
		COMMIT;
		PERFORM pg_sleep(GREATEST(0, t0 + i::double precision / per_second - extract(epoch FROM clock_timestamp())));
	END LOOP; END \$\$;
CALL pg_temp.paced($total, $rate);
SQL
for _ in $(seq 100); do [ "$(stat count)" -ge "$total" ] && break; sleep 0.1; done
lat_n=$(stat latency_count) p50=$(stat p50_ms) p99=$(stat p99_ms) mx=$(stat max_ms)
# Where the time goes: the relay's part (commit -> JetStream ack, its histogram's p99 bucket bound).
relay_p99=$(curl -s "$sidecar_url/metrics" | awk '
	/^event_relay_commit_to_ack_seconds_bucket/ { split($0, a, "le=\""); split(a[2], b, "\""); le[n] = b[1]; c[n++] = $2 }
	END { for (i = 0; i < n; i++) if (c[i] >= 0.99 * c[n - 1]) { printf "%g", le[i] * 1000; exit } }')
stop_sidecar
base_p99=$("$wb" post "$R/hook/base" 5000 1 | awk '{ print $10 }')
row "commit -> webhook p99 at $rate events/s ($lat_n events; p50 $p50 ms, max $mx ms; relay commit -> JetStream p99 <= ${relay_p99:-?} ms)" "$p99" "$base_p99 (direct POST p99)" \
	"$(fmt %.1fx "$(calc "$p99 / $base_p99")")" "< 50" "$(met "$p99" '<' 50)"

{
	echo "Webhook delivery benchmarks ($(nproc) cores, loopback receiver, $(date -u +%F))"
	echo
	echo "| benchmark | ours | baseline | ratio | goal | met? |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} | tee "$outdir/delivery-results.md"
