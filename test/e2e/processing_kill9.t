#!/usr/bin/env bash
# processing_kill9.t — the processing loop survives kill -9 of the sidecar mid-batch: an sql
# processor's effects commit in the same transaction as the statuses and the cursor, so after a
# restart every event is processed and the processor ran exactly once per event (the at-least-once
# window of docs/architecture.md "Event processing" concerns webhook and nats effects only).
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 6

P=pk$RUN_ID
SCH=e2e_$P
N=3000
sql -c "CREATE SCHEMA $SCH; CREATE TABLE $SCH.log (event_id uuid, at timestamptz DEFAULT clock_timestamp());
  CREATE FUNCTION $SCH.slow(e jsonb) RETURNS void LANGUAGE sql AS \$\$
    INSERT INTO $SCH.log (event_id) SELECT (e->>'event_id')::uuid FROM pg_sleep(0.001)\$\$;" >/dev/null || bail "schema"
trap 'sql -c "DELETE FROM event.event_processors WHERE processor_name = '"'$P'"'" >/dev/null; sql -c "DROP SCHEMA $SCH CASCADE" >/dev/null 2>&1; cleanup' EXIT

create_events "$P" $N 20 500 >/dev/null || bail "events"
mine="FROM event.events e LEFT JOIN event.event_status s ON s.event_id = e.event_id WHERE e.stream_id LIKE '$P:%'"
done_count() { sql -c "SELECT count(*) FILTER (WHERE s.status = 'processed') $mine"; }
api_start a --processing-batch 200 --processing-poll 50ms
sql -c "SELECT event.create_processor('$P', 'sql', '{\"function\": \"$SCH.slow\"}', event_types => '{e2e.created}')" >/dev/null

# Kill -9 while batches are being processed (some done, not all).
wait_until 60 eval '[ "$(done_count)" -ge 400 ]'
kill_sidecar a KILL
# The backend of the batch in flight finishes it (commit or rollback) on its own; wait for it.
in_flight() { sql -c "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%process_batch%'"; }
wait_until 30 eval '[ "$(in_flight)" = 0 ]'
before=$(done_count)
[ "$before" -gt 0 ] && [ "$before" -lt $N ]; ok $? "killed mid-way ($before of $N processed)"
is "$(sql -c "SELECT (SELECT count(*) FROM $SCH.log) = (SELECT count(*) FILTER (WHERE s.status = 'processed') $mine)")" t \
	"nothing half-done: the log matches the committed statuses"

start_sidecar a --processing-batch 200 --processing-poll 50ms
wait_until 80 eval '[ "$(done_count)" = $N ]'
is "$(done_count)" $N "after the restart every event is processed"
is "$(sql -c "SELECT count(*) FROM (SELECT event_id FROM $SCH.log GROUP BY 1 HAVING count(*) > 1) d")" 0 \
	"the processor ran at most once per event (no duplicate across the kill)"
is "$(sql -c "SELECT count(DISTINCT l.event_id) FROM $SCH.log l JOIN event.events e ON e.event_id = l.event_id WHERE e.stream_id LIKE '$P:%'")" $N \
	"the processor ran for every event"
is "$(sql -c "SELECT count(*) FROM event.processing_results r JOIN event.events e ON e.event_id = r.event_id WHERE e.stream_id LIKE '$P:%'")" $N \
	"one processing result per event"
finish
