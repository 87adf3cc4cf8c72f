#!/usr/bin/env bash
# 01_append_memory.sh — the write path does not leak: one session calls event.create_event
# (with some create_event_json, some batches of create_events and some failing calls caught in a
# subtransaction) many times and its memory must not grow between a warm-up and the end.
# Measures and checks: test/memory/_lib.sh.
# Env: PGHOST/PGPORT/PGUSER (the harness). EVENT_MEMORY_CALLS overrides the number of calls.
# COMMIT every 1,000 calls: N events in one transaction cost O(N^2) (repeated upserts of the same
# event_streams rows in one transaction), so larger transactions are much slower.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"
calls=${EVENT_MEMORY_CALLS:-200000}
warmup=50000

echo "1..4"
echo "# $calls calls after a warm-up of $warmup"
mem_database event_memory_$$

setup=$(cat <<'SQL'
CREATE PROCEDURE pg_temp.load(n integer, tag text) LANGUAGE plpgsql AS $$
DECLARE
	i integer;
BEGIN
	FOR i IN 1..n LOOP
		IF i % 10 = 0 THEN
			PERFORM event.create_event_json(jsonb_build_object('event_type', 'mem.json', 'data',
				jsonb_build_object('i', i), 'user_id', 'u' || (i % 97)));
		ELSIF i % 1000 = 1 THEN
			BEGIN
				PERFORM event.create_event('mem.bad', event_source => 'no_such_source');
			EXCEPTION WHEN invalid_parameter_value THEN
				NULL;
			END;
			BEGIN
				PERFORM event.create_event_json('{"event_type": "mem.bad", "data": []}');
			EXCEPTION WHEN invalid_parameter_value THEN
				NULL;
			END;
		ELSIF i % 100 = 55 THEN
			-- A batch of 5 as the frontend ingester sends it (caller-given ids, their
			-- "jetstream:" keys; one multi-row insert).
			PERFORM event.create_events((SELECT jsonb_agg(jsonb_build_object('event_id', id, 'event_type', 'mem.ing',
				'event_source', 'frontend', 'idempotency_key', 'jetstream:' || id, 'data', jsonb_build_object('i', i)))
				FROM (SELECT event.uuid_v7()::text AS id FROM generate_series(1, 5)) g), false);
		ELSE
			PERFORM event.create_event('mem.test', jsonb_build_object('i', i, 'pad', repeat('x', 64)),
				user_id => 'u' || (i % 97), stream_id => 'mem:' || (i % 13),
				idempotency_key => CASE WHEN i % 100 = 7 THEN tag || i END);
		END IF;
		IF i % 1000 = 0 THEN
			COMMIT;
		END IF;
	END LOOP;
END
$$;
SQL
)
mem_session "$setup" "CALL pg_temp.load($warmup, 'warm-');" "CALL pg_temp.load($calls, 'run-');" \
	"SELECT 'count', count(*) FROM event.events;"
expected=$((warmup + calls - (warmup + 999) / 1000 - (calls + 999) / 1000 + 4 * (warmup / 100 + calls / 100)))
if [ "$(get count 2)" = "$expected" ]; then echo "ok 1 - $calls calls stored $expected events in ${secs}s"
else echo "not ok 1 - stored $(get count 2) events, expected $expected"; fi
mem_checks
