#!/usr/bin/env bash
# test/bench/big_txn.sh — one transaction whose decoded output is larger than 1 GB, through
# event_decoder and, as the baseline, wal2json format-version 1 (which builds the whole
# transaction as one JSON document and is known to fail beyond 1 GB). Part of `make bench`
# (docs/benchmarks.md, "One transaction larger than 1 GB").
#
# Starts its own throwaway cluster (lib.sh: the settings of the other benchmarks), writes
# BIG_TXN_EVENTS events (default 270000) of ~4 kB of
# data each in ONE transaction (the data compresses well, so the WAL stays small while the
# decoded text is over 1 GB), then decodes it with pg_logical_slot_peek_changes and reports the
# rows, bytes, seconds and the decoding backend's peak memory (VmHWM) for each plugin.
#
# Environment: BIG_TXN_EVENTS, BIG_TXN_PAD (bytes of padding per event, default 4000),
# BENCH_KEEP=1 keeps the cluster directory. Appends its rows to build/bench/big_txn.md.
set -euo pipefail

REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HARNESS=${HARNESS:-$REPO_ROOT/test/harness}
BENCH_NAME=big_txn
. "$REPO_ROOT/test/bench/lib.sh"
events=${BIG_TXN_EVENTS:-270000}
pad=${BIG_TXN_PAD:-4000}
bench_dir bigtxn


log "starting cluster in $tmp"
bench_cluster "$tmp"
psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "CREATE EXTENSION event"

q "SELECT 1 FROM pg_create_logical_replication_slot('big_ours', 'event_decoder')" >/dev/null
q "SELECT 1 FROM pg_create_logical_replication_slot('big_w2j', 'wal2json')" >/dev/null

log "writing $events events of ~$pad bytes in one transaction"
t0=$(date +%s.%N)
q "SELECT count(event.create_event('big.txn', jsonb_build_object('i', i, 'pad', repeat('x', $pad))))
   FROM generate_series(1, $events) i" >/dev/null
t1=$(date +%s.%N)
log "written in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# decode SLOT OPTIONS...: one session that decodes everything (count, bytes) and then reads
# its own peak memory from /proc/self/status (pg_read_file, as superuser). Prints "rows bytes seconds vmhwm_kB status".
decode() {
	local slot=$1; shift
	local opts=""
	for o in "$@"; do opts="$opts, '$o'"; done
	local out
	out=$(psql -X -q -At -F ' ' 2>&1 <<-SQL || true
		SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
		SELECT count(*), coalesce(sum(octet_length(data)), 0) FROM pg_logical_slot_peek_changes('$slot', NULL, NULL $opts);
		SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 2);
		SELECT substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\s*(\d+)');
	SQL
	)
	if grep -q ERROR <<<"$out"; then
		echo "- - - - $(grep -m1 ERROR <<<"$out" | sed 's/.*ERROR: *//')"
	else
		echo "$out" | tr '\n' ' '
		echo "ok"
	fi
}

log "decoding with event_decoder"
read -r o_rows o_bytes o_secs o_hwm o_status < <(decode big_ours)
log "event_decoder: $o_rows rows, $o_bytes bytes, $o_secs s, VmHWM $o_hwm kB ($o_status)"
log "decoding with wal2json format-version 1"
w_line=$(decode big_w2j format-version 1)
read -r w_rows w_bytes w_secs w_hwm w_status <<<"$w_line"
[ "$w_rows" = - ] && w_status=${w_line#- - - - }
log "wal2json v1: $w_line"

mb() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.0f", v / 1024 }'; }
gb() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.2f", v / 1e9 }'; }
{
	echo "# one transaction, $events events of ~$pad bytes ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	echo "| plugin | messages | output GB | seconds | backend peak RSS (MB) | result |"
	echo "|---|---|---|---|---|---|"
	echo "| event_decoder | $o_rows | $(gb "$o_bytes") | $o_secs | $(mb "$o_hwm") | $o_status |"
	echo "| wal2json format-version 1 (baseline) | $w_rows | $(gb "$w_bytes") | $w_secs | $(mb "$w_hwm") | $w_status |"
} >"$outdir/big_txn.md"
echo
cat "$outdir/big_txn.md"
[ "$o_status" = ok ] && [ "$o_rows" = "$events" ] || { echo "big_txn: event_decoder did not decode every event" >&2; exit 1; }
