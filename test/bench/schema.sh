#!/usr/bin/env bash
# test/bench/schema.sh — cost of schema validation on the append path (docs/benchmarks.md,
# "Schema validation"): create_event of a typical 10-property event whose event_type has a
# registered schema (types, required, pattern, enum, minimum, format), beside the same append of
# the same data for an event_type without a schema, measured in the same run. Part of `make bench`.
#
# Starts its own throwaway cluster (lib.sh settings). Each round appends SCHEMA_BENCH_EVENTS
# events (default 20000) in one statement, with and without a schema, alternating; the median
# of SCHEMA_BENCH_ROUNDS rounds (default 7) is reported, per event and as a ratio. Writes
# build/bench/schema.md.
set -euo pipefail

REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HARNESS=${HARNESS:-$REPO_ROOT/test/harness}
BENCH_NAME=schema
. "$REPO_ROOT/test/bench/lib.sh"
events=${SCHEMA_BENCH_EVENTS:-20000}
rounds=${SCHEMA_BENCH_ROUNDS:-7}
bench_dir schema

log "starting cluster in $tmp"
bench_cluster "$tmp"
psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "CREATE EXTENSION event" \
	-c "SELECT event.create_partitions()" >/dev/null

data='{"order_id": "o_123456", "customer_id": "c_42", "total": 99.5, "currency": "EUR", "items": 3,
       "paid": true, "channel": "web", "coupon": null, "country": "DE", "placed_at": "2026-01-01T12:00:00Z"}'
q "SELECT event.register_schema('bench.validated', '{
  \"type\": \"object\", \"required\": [\"order_id\", \"customer_id\", \"total\", \"currency\", \"items\"],
  \"additionalProperties\": false,
  \"properties\": {
    \"order_id\": {\"type\": \"string\", \"pattern\": \"^o_[0-9]+\$\"}, \"customer_id\": {\"type\": \"string\", \"minLength\": 1},
    \"total\": {\"type\": \"number\", \"minimum\": 0}, \"currency\": {\"enum\": [\"EUR\", \"USD\", \"GBP\"]},
    \"items\": {\"type\": \"integer\", \"minimum\": 1}, \"paid\": {\"type\": \"boolean\"},
    \"channel\": {\"type\": \"string\", \"maxLength\": 20}, \"coupon\": {\"type\": [\"string\", \"null\"]},
    \"country\": {\"type\": \"string\", \"minLength\": 2, \"maxLength\": 2},
    \"placed_at\": {\"type\": \"string\", \"format\": \"date-time\"}}}')" >/dev/null

# run TYPE: seconds to append $events events of TYPE in one statement.
run() {
	q "SELECT extract(epoch FROM clock_timestamp() - t0) FROM (SELECT clock_timestamp() AS t0) s,
	   LATERAL (SELECT count(event.create_event('$1', '$data'::jsonb)) FROM generate_series(1, $events)) c"
}
run bench.validated >/dev/null # warm up both paths (plans, compiled schema, partitions)
run bench.plain >/dev/null
with=() without=()
for r in $(seq 1 "$rounds"); do
	with+=("$(run bench.validated)")
	without+=("$(run bench.plain)")
	log "round $r: with schema ${with[-1]} s, without ${without[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
w=$(median "${with[@]}")
b=$(median "${without[@]}")
[ "$(q "SELECT count(*) FROM event.events WHERE event_type = 'bench.validated' AND metadata ? 'schema_version'")" \
	= $(((rounds + 1) * events)) ] || { echo "schema: validated events are not tagged" >&2; exit 1; }
us_with=$(calc "$w * 1000000 / $events")
us_without=$(calc "$b * 1000000 / $events")
row "append, 10-property event, schema registered (µs/event)" "$(fmt %.1f "$us_with")" "$(fmt %.1f "$us_without")" \
	"$(fmt %.2f "$(calc "$w / $b")")" "report" "—"
row "validation cost per event (µs)" "$(fmt %.1f "$(calc "$us_with - $us_without")")" "—" "—" "report" "—"
{
	echo "### Schema validation ($events events per round, median of $rounds, $(date -u +%Y-%m-%dT%H:%MZ))"
	echo
	echo "| benchmark | ours | baseline | ratio | goal | met? |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Baseline: the same create_event of the same data for an event_type without a schema."
} >"$outdir/schema.md"
cat "$outdir/schema.md"
