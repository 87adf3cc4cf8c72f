#!/usr/bin/env bash
# test/bench/processing.sh — `sql` processor throughput (docs/benchmarks.md "Processing"), beside a
# baseline of the same run. Run by `make bench`, or alone: `bash test/bench/processing.sh` (needs
# `make` and `make install` done). Starts its own throwaway cluster (bench settings, lib.sh) in
# /tmp/event-bench-processing.* and stops it on exit.
#   ours:     event.process_batch(PROC_BENCH_BATCH) in a loop until the N pending events are all
#             processed (statuses, processing_results, statistics deltas, notifications, cursor);
#   baseline: the same processor function called directly over the same N events, each given its
#             EventResponse JSON (event.get_event_json), in one statement: the work of the
#             processor alone, without any of the bookkeeping.
# Writes build/bench/processing-results.md and prints it.
#
# Environment:
#   PROC_BENCH_EVENTS  events (default 200000; 50000 with BENCH_QUICK=1)
#   PROC_BENCH_BATCH   events per process_batch call (default 1000)
set -euo pipefail

REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HARNESS=${HARNESS:-$REPO_ROOT/test/harness}
BENCH_NAME=processing
. "$REPO_ROOT/test/bench/lib.sh"
if [ "${BENCH_QUICK:-0}" = 1 ]; then events=${PROC_BENCH_EVENTS:-50000}; else events=${PROC_BENCH_EVENTS:-200000}; fi
batch=${PROC_BENCH_BATCH:-1000}
bench_dir processing

log "starting cluster in $tmp"
bench_cluster "$tmp"
psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "CREATE EXTENSION event" \
	-c "CREATE SCHEMA bench" -c "CREATE TABLE bench.sink (event_id uuid, amount numeric)" \
	-c "CREATE FUNCTION bench.proc(e jsonb) RETURNS void LANGUAGE sql AS
	    \$\$INSERT INTO bench.sink VALUES ((e->>'event_id')::uuid, (e->'data'->>'amount')::numeric)\$\$" >/dev/null
log "loading $events events"
psql -X -q -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN FOR b IN 0..($events - 1) / 1000 LOOP
	PERFORM event.create_events((SELECT jsonb_agg(jsonb_build_object('event_type', 'order.created', 'event_source', 'backend',
	    'event_category', 'order', 'stream_id', 'order:' || i, 'data', jsonb_build_object('amount', i, 'sku', 'x-' || i)))
	    FROM generate_series(b * 1000 + 1, LEAST((b + 1) * 1000, $events)) i));
	COMMIT; END LOOP; END \$\$" >/dev/null
q "VACUUM ANALYZE" >/dev/null

# Baseline: the function over the same events, directly.
t0=$(now)
q "SELECT count((bench.proc(event.get_event_json(e.event_id))) IS NULL) FROM event.events e" >/dev/null
t1=$(now)
base_rate=$(calc "$events / ($t1 - $t0)")
q "TRUNCATE bench.sink" >/dev/null

# Ours: the processing loop's calls, one transaction each.
q "SELECT event.create_processor('sink', 'sql', '{\"function\": \"bench.proc\"}', event_types => '{order.*}')" >/dev/null
t0=$(now)
# One session committing after each call, as the sidecar's loop does (without its round trips).
q "DO \$\$ BEGIN LOOP EXIT WHEN (event.process_batch($batch)->>'events')::int = 0; COMMIT; END LOOP; END \$\$" >/dev/null
t1=$(now)
ours_rate=$(calc "$events / ($t1 - $t0)")
processed=$(q "SELECT count(*) FROM event.event_status WHERE status = 'processed'")
sunk=$(q "SELECT count(DISTINCT event_id) FROM bench.sink")
[ "$sunk" = "$events" ] || { echo "processing bench: the processor ran for $sunk of $events events" >&2; exit 1; }
log "processed $processed events (the loaded ones and the notifications)"

ratio=$(calc "$ours_rate / $base_rate")
row "sql processor throughput ($events events, batch $batch)" "$(fmt '%.0f' "$ours_rate") events/s" \
	"$(fmt '%.0f' "$base_rate") events/s (function called directly)" "$(fmt '%.2f' "$ratio")" ">= 20000 events/s" \
	"$(met "$ours_rate" '>=' 20000)"
{
	echo "## Processing ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, shared with other work)"
	echo
	echo "| benchmark | ours | baseline | ratio | goal | met? |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} >"$outdir/processing-results.md"
cat "$outdir/processing-results.md"
