#!/usr/bin/env bash
# test/bench/projections.sh — `make bench`: inline projections (docs/benchmarks.md "Projections").
#
#   P1. append cost with 0, 1 and 3 merge projections of the entity type: single create_event
#       calls on 10,000 entities (pgbench), time per append as a ratio to 0 projections;
#       goal: one projection adds <= 25 %. P1': the same appends with and without one projection
#       interleaved in one pgbench run (two scripts, weight 1:1), so both see the same load;
#       ratio of their average latencies.
#   P2. projection read: event.get_projection of a random entity, median of BENCH_RUNS timed calls
#       inside the server, beside the same index lookup as plain SQL; goal <= 0.2 ms.
#   P3. state at version 10,000 (and at a random version 10,000..10,999) of a 100,000-event entity
#       with snapshots every 1,000 events (event.projection_at), beside the replay from zero (a
#       projection without snapshots); goal <= 5 ms. P3c: rebuild_projection of that entity
#       (one fold of 100,000 events), beside reading the same events' data in SQL.
# Starts its own throwaway cluster; writes build/bench/projections.md.
# Environment: BENCH_SECONDS (pgbench run, default 10; 5 with BENCH_QUICK=1), BENCH_CLIENTS
# (default 4), BENCH_RUNS (default 200), BENCH_ROUNDS (P1 rounds, default 3; 2 quick), BENCH_KEEP=1.
set -euo pipefail

REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HARNESS=${HARNESS:-$REPO_ROOT/test/harness}
BENCH_NAME=projections
. "$REPO_ROOT/test/bench/lib.sh"
quick=${BENCH_QUICK:-0}
secs=${BENCH_SECONDS:-$([ "$quick" = 1 ] && echo 5 || echo 10)}
clients=${BENCH_CLIENTS:-4}
runs=${BENCH_RUNS:-200}
rounds=${BENCH_ROUNDS:-$([ "$quick" = 1 ] && echo 2 || echo 3)}
bench_dir proj

log "starting cluster in $tmp"
bench_cluster "$tmp" --api # the extension, partitions and setup.sql's bench.median_ms
psql -X -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SELECT event.create_projection('bp1');
SELECT event.create_projection('bp3', name => 'a'), event.create_projection('bp3', name => 'b'),
       event.create_projection('bp3', name => 'c');
-- The baseline of P2: the same primary-key lookup as a plain statement with a cached plan.
CREATE FUNCTION public.plain_lookup(entity text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT p.state FROM event.event_projections p JOIN event.projection_definitions d ON d.id = p.projection_id
	        WHERE d.entity_type = 'bp1' AND p.entity_id = entity);
END $$;
SQL

# ---------------------------------------------------------------- P1. append cost
log "P1. append cost with 0, 1 and 3 merge projections, $clients clients, ${secs}s per run, $rounds rounds (best of each)"
append_script() { # append_script ENTITY_TYPE: writes the pgbench script of one append, prints its path
	local script=$tmp/append_$1.sql
	cat >"$script" <<EOS
\\set id random(1, 10000)
SELECT event.create_event('bench.set', jsonb_build_object('v', :id::int, 'name', 'n' || :id::text, 'o', jsonb_build_object('k', :id::int)), stream_id => '$1:' || :id::text);
EOS
	echo "$script"
}
tps() { # tps ENTITY_TYPE
	local script out=$tmp/append_$1.log
	script=$(append_script "$1")
	pgbench -n -c "$clients" -j 2 -M prepared -T "$secs" -f "$script" >"$out" 2>&1 || { tail -20 "$out" >&2; exit 1; }
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out"
}
mix() { # mix OURS BASE (entity types): one pgbench run picking either append 1:1 per transaction;
	# prints the ratio of their average latencies ours / base, then both (ms)
	local out=$tmp/mix_$1_$2.log
	pgbench -n -c "$clients" -j 2 -M prepared -T "$secs" -f "$(append_script "$1")@1" -f "$(append_script "$2")@1" \
		>"$out" 2>&1 || { tail -20 "$out" >&2; exit 1; }
	awk '/^SQL script [0-9]+:/ { s++ } /^ - latency average = / && s { l[s] = $5 }
	     END { if (l[1] > 0 && l[2] > 0) printf "%.6f %.3f %.3f\n", l[1] / l[2], l[1], l[2]; else exit 1 }' "$out"
}
declare -A best=([bp0]=0 [bp1]=0 [bp3]=0)
for round in $(seq 1 "$rounds"); do
	for t in bp0 bp1 bp3; do
		v=$(tps $t)
		log "round $round $t: $v tps"
		best[$t]=$(awk -v a="${best[$t]}" -v b="$v" 'BEGIN { print (b > a) ? b : a }')
	done
done
r1=$(calc "${best[bp0]} / ${best[bp1]}")
r3=$(calc "${best[bp0]} / ${best[bp3]}")
row "P1a. append with 1 merge projection (tps, best of $rounds)" "$(fmt %.0f "${best[bp1]}")" "$(fmt %.0f "${best[bp0]}") (no projection)" \
	"$(fmt %.2f "$r1")" "<= 1.25" "$(met "$r1" '<=' 1.25)"
row "P1b. append with 3 merge projections (tps, best of $rounds)" "$(fmt %.0f "${best[bp3]}")" "$(fmt %.0f "${best[bp0]}") (no projection)" \
	"$(fmt %.2f "$r3")" "—" "—"
log "P1'. the same appends to bp1 and bp0 interleaved in one run, ${secs}s"
read -r rm l1 l0 < <(mix bp1 bp0)
row "P1'. append with 1 merge projection vs none, interleaved in one pgbench run (avg latency ms)" "$l1" "$l0 (no projection)" \
	"$(fmt %.2f "$rm")" "<= 1.25" "$(met "$rm" '<=' 1.25)"
check=$(q "SELECT count(*) FROM event.event_projections p JOIN event.projection_definitions d ON d.id = p.projection_id
           AND d.entity_type = 'bp1' JOIN event.event_streams s ON s.stream_id = 'bp1:' || p.entity_id WHERE p.version <> s.version")
[ "$check" = 0 ] || { echo "bench: $check bp1 projections differ from their stream version" >&2; exit 1; }

# ---------------------------------------------------------------- P2. read
log "P2. projection read, $runs runs"
read_ms=$(q "SELECT bench.median_ms('SELECT event.get_projection(''bp1'', (1 + floor(random() * 10000))::int::text)', $runs)")
plain_ms=$(q "SELECT bench.median_ms('SELECT public.plain_lookup((1 + floor(random() * 10000))::int::text)', $runs)")
row "P2. get_projection (median ms, in the server)" "$(fmt %.3f "$read_ms")" "$(fmt %.3f "$plain_ms") (plain SQL lookup, cached plan)" \
	"$(fmt %.2f "$(calc "$read_ms / $plain_ms")")" "<= 0.2 ms" "$(met "$read_ms" '<=' 0.2)"

# ---------------------------------------------------------------- P3. time travel
log "P3. loading 100,000 events into one entity (two merge projections: snapshots every 1000, none)"
q "SELECT event.create_projection('bt', name => 'snap', snapshot_every => 1000), event.create_projection('bt', name => 'plain')" >/dev/null
for b in $(seq 0 99); do
	q "SELECT count(*) FROM event.append_to_stream('bt:1', (SELECT jsonb_agg(jsonb_build_object('event_type', 'bench.set',
	   'data', jsonb_build_object('k' || (i % 50), i, 'o', jsonb_build_object('x' || (i % 7), i)))) FROM generate_series($b * 1000 + 1, $b * 1000 + 1000) i))" >/dev/null
done
q "VACUUM ANALYZE" >/dev/null
p3_runs=$((runs / 10)); [ "$p3_runs" -lt 10 ] && p3_runs=10
exact_ms=$(q "SELECT bench.median_ms('SELECT event.projection_at(''bt'', ''1'', version => 10000, name => ''snap'')', $p3_runs)")
at_ms=$(q "SELECT bench.median_ms('SELECT event.projection_at(''bt'', ''1'', version => 10000 + floor(random() * 1000)::bigint, name => ''snap'')', $p3_runs)")
zero_ms=$(q "SELECT bench.median_ms('SELECT event.projection_at(''bt'', ''1'', version => 10000 + floor(random() * 1000)::bigint, name => ''plain'')', 5)")
same=$(q "SELECT count(*) FROM (SELECT 10000 + floor(random() * 1000)::bigint AS v FROM generate_series(1, 5)) x
          WHERE event.projection_at('bt', '1', version => v, name => 'snap')->'state' = event.projection_at('bt', '1', version => v, name => 'plain')->'state'")
[ "$same" = 5 ] || { echo "bench: time travel from a snapshot differs from the replay" >&2; exit 1; }
row "P3a. projection_at version 10,000 of 100,000, snapshots every 1,000 (median ms)" "$(fmt %.2f "$exact_ms")" \
	"$(fmt %.2f "$zero_ms") (replay from zero)" "$(fmt %.3f "$(calc "$exact_ms / $zero_ms")")" "<= 5 ms" "$(met "$exact_ms" '<=' 5)"
row "P3b. projection_at a random version 10,000-10,999 (up to 999 events folded after the snapshot; median ms)" \
	"$(fmt %.2f "$at_ms")" "$(fmt %.2f "$zero_ms") (replay from zero)" "$(fmt %.3f "$(calc "$at_ms / $zero_ms")")" "<= 5 ms" \
	"$(met "$at_ms" '<=' 5)"
rebuild_ms=$(q "SELECT bench.median_ms('SELECT event.rebuild_projection(''bt'', ''1'', ''plain'')', 3)")
scan_ms=$(q "SELECT bench.median_ms('SELECT count(data) FROM event.events WHERE stream_id = ''bt:1''', 3)")
same=$(q "SELECT event.rebuild_projection('bt', '1', 'plain')->'state' = event.get_projection('bt', '1', 'snap')->'state'")
[ "$same" = t ] || { echo "bench: the rebuilt state differs from the incremental one" >&2; exit 1; }
row "P3c. rebuild_projection of the 100,000-event entity (median ms of 3)" "$(fmt %.1f "$rebuild_ms")" \
	"$(fmt %.1f "$scan_ms") (reading its events' data)" "$(fmt %.2f "$(calc "$rebuild_ms / $scan_ms")")" "—" "—"

mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
{
	echo "# event projection benchmark results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); \`BENCH_QUICK=$quick BENCH_SECONDS=$secs make bench\` (test/bench/projections.sh);" \
		"$(nproc) CPUs, $mem RAM, shared with other work (numbers are noisy; the ratios compare runs of the same minute);" \
		"$clients clients (pgbench -j 2 -M prepared). Total run time $(($(date +%s) - t_start)) s."
	echo
	echo "| benchmark | ours | baseline | ratio | goal | met? |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} >"$outdir/projections.md"
echo
cat "$outdir/projections.md"
