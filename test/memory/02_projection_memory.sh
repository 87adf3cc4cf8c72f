#!/usr/bin/env bash
# 02_projection_memory.sh — the projection path does not leak: one session appends to entities
# with inline projections (merge with snapshots, sum, count, a user function; folded in the
# append's transaction), reads them (get_projection), travels in time (projection_at from a
# snapshot and from zero), rebuilds one entity and a page of entities, and hits a reducer error
# caught in a subtransaction, many times; its memory must not grow between a warm-up and the end.
# Measures and checks: test/memory/_lib.sh.
# Env: PGHOST/PGPORT/PGUSER (the harness). EVENT_MEMORY_CALLS overrides the number of rounds.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"
calls=${EVENT_MEMORY_CALLS:-20000}
warmup=5000

echo "1..4"
echo "# $calls rounds after a warm-up of $warmup"
mem_database event_projection_memory_$$

setup=$(cat <<'SQL'
SELECT event.create_partitions(now() + interval '1 month');
CREATE FUNCTION public.mem_reducer(state jsonb, event jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('n', COALESCE((state ->> 'n')::int, 0) + 1, 'last', event -> 'data' -> 'o')
$$;
SELECT event.create_projection('memp', 'merge', 'm', snapshot_every => 100),
       event.create_projection('memp', 'sum', 's', field => '{n}'),
       event.create_projection('memp', 'count', 'c'),
       event.create_projection('memp', 'function', 'f', function => 'public.mem_reducer(jsonb,jsonb)');
-- Round i appends to entity i % 50; its stream has at least i / 100 + 1 events by then.
CREATE PROCEDURE pg_temp.load(first integer, n integer) LANGUAGE plpgsql AS $$
DECLARE
	i integer;
	e text;
BEGIN
	FOR i IN first..first + n - 1 LOOP
		e := (i % 50)::text;
		PERFORM event.create_event('mem.set', jsonb_build_object('k' || (i % 20), i, 'n', i % 7,
			'o', jsonb_build_object('x' || (i % 7), i, 'y', CASE WHEN i % 3 = 0 THEN NULL ELSE i END)),
			stream_id => 'memp:' || e);
		PERFORM event.get_projection('memp', e, 'm');
		IF i % 10 = 0 THEN
			PERFORM event.projection_at('memp', e, version => i / 100 + 1, name => 'm');
			PERFORM event.projection_at('memp', e, version => i / 100 + 1, name => 's');
		END IF;
		IF i % 100 = 0 THEN
			PERFORM event.rebuild_projection('memp', e, 'm');
		END IF;
		IF i % 1000 = 1 THEN
			BEGIN
				PERFORM event.create_event('mem.bad', '{"n": "not a number"}', stream_id => 'memp:' || e);
			EXCEPTION WHEN invalid_parameter_value THEN
				NULL;
			END;
		END IF;
		IF i % 1000 = 0 THEN
			PERFORM event.rebuild_projections('memp', 'c', max_count => 10);
			COMMIT;
		END IF;
	END LOOP;
END
$$;
SQL
)
final=$(cat <<'SQL'
SELECT 'count', count(*) FROM event.events WHERE event_type = 'mem.set';
SELECT 'folded', count(*) FROM event.event_projections p JOIN event.event_streams s ON s.stream_id = 'memp:' || p.entity_id
	WHERE p.version = s.version;
SQL
)
mem_session "$setup" "CALL pg_temp.load(1, $warmup);" "CALL pg_temp.load($warmup + 1, $calls);" "$final"
total=$((warmup + calls))
if [ "$(get count 2)" = "$total" ] && [ "$(get folded 2)" = 200 ]; then
	echo "ok 1 - $calls rounds stored $total events, 4 projections of 50 entities at their stream's version, in ${secs}s"
else echo "not ok 1 - stored $(get count 2) events (expected $total), $(get folded 2) states current (expected 200)"; fi
mem_checks
