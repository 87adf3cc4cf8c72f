#!/usr/bin/env bash
# processing_api.t — processors, the processing loop, processing dead letters and replay over
# HTTP (spec 3.3, endpoints 8 and 13-15) with a real sidecar and PostgreSQL: register (201, 409 on
# a duplicate name), list in priority order, toggle (without enabled: flips; 404 unknown, 400 bad input), events processed
# by sql processors in priority order with one failing (retry, then archived), the dead letter
# listed, inspected and retried once the fault is fixed, replay dry run (exactly the events) and
# a background replay polled to completion (new results, no new event but event.replay.started,
# statuses untouched), auth scopes and bad input (4xx JSON) on every endpoint.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 54

P=pr$RUN_ID
SCH=e2e_$P
sql -c "CREATE SCHEMA $SCH; CREATE TABLE $SCH.log (n bigserial, processor text, event_id uuid); CREATE TABLE $SCH.fixed (ok boolean);
  CREATE FUNCTION $SCH.rec(e jsonb) RETURNS void LANGUAGE sql AS \$\$INSERT INTO $SCH.log (processor, event_id) VALUES (e->>'p', (e->>'event_id')::uuid)\$\$;
  CREATE FUNCTION $SCH.first(e jsonb) RETURNS void LANGUAGE sql AS \$\$SELECT $SCH.rec(e || '{\"p\": \"first\"}')\$\$;
  CREATE FUNCTION $SCH.third(e jsonb) RETURNS void LANGUAGE sql AS \$\$SELECT $SCH.rec(e || '{\"p\": \"third\"}')\$\$;
  CREATE FUNCTION $SCH.second(e jsonb) RETURNS void LANGUAGE plpgsql AS \$\$BEGIN
    PERFORM $SCH.rec(e || '{\"p\": \"second\"}');
    IF (e->'data'->>'fail')::boolean AND NOT EXISTS (SELECT 1 FROM $SCH.fixed) THEN RAISE EXCEPTION 'second refuses %', e->>'event_id'; END IF;
  END\$\$;" >/dev/null || bail "schema"
drop_all() {
	sql -c "DELETE FROM event.event_processors WHERE processor_name LIKE '$P-%'" >/dev/null
	sql -c "DROP SCHEMA $SCH CASCADE" >/dev/null 2>&1
}
trap 'drop_all; cleanup' EXIT

api_start a --processing-poll 100ms
R=/api/v1/events/processors
READ=$(new_key "$P-read" '{read}')
WRITE=$(new_key "$P-write" '{read,write}')
# New keys reach the sidecar's key cache within its refresh (2 s); the scope checks below need them.
wait_key "$READ" && wait_key "$WRITE" || bail "the new keys never reached the sidecar's key cache"
proc() { # proc NAME FUNCTION PRIORITY [EXTRA JSON FIELDS]
	post $R "{\"processor_name\":\"$P-$1\",\"processor_type\":\"sql\",\"priority\":$3,\"filters\":{\"event_type\":\"$P.*\",\"category\":\"order\"},\"config\":{\"function\":\"$SCH.$2\"}${4:-}}"
}

# ---- register, list, toggle
proc first first 10
is "$STATUS" 201 "register: 201"
FIRST=$(jget "j['processor_id']")
is "$(jget "(j['processor_type'], j['enabled'], j['priority'], j['filters'])")" "('sql', True, 10, {'category': 'order', 'event_type': '$P.*'})" "register: fields echoed (filters as given)"
proc second second 5 ',"retry_policy":{"max_attempts":2,"backoff_base_ms":300,"backoff_max_ms":300}'
is "$STATUS" 201 "register second (max_attempts 2)"
proc third third 1
THIRD=$(jget "j['processor_id']")
proc never first 100 ',"enabled":false'
is "$STATUS" 201 "register a disabled one"
proc first first 10
is "$STATUS" 409 "duplicate name: 409"
json_error conflict; ok $? "409: JSON error"
get $R -H "Authorization: Bearer $READ"
is "$STATUS" 200 "list with a read key: 200"
is "$(jget "[p['processor_name'][len('$P-'):] for p in j if p['processor_name'].startswith('$P-')]")" "['never', 'first', 'second', 'third']" \
	"list: higher priority first"
req PUT "$R/$THIRD/toggle?enabled=false" -H "Authorization: Bearer $API_KEY"
is "$STATUS:$(jget "j['enabled']")" "200:False" "toggle off: 200"
req PUT "$R/$THIRD/toggle?enabled=true" -H "Authorization: Bearer $API_KEY"
is "$STATUS:$(jget "j['enabled']")" "200:True" "toggle on: 200"
req PUT "$R/$THIRD/toggle?enabled=False" -H "Authorization: Bearer $API_KEY"
is "$STATUS:$(jget "j['enabled']")" "200:False" "toggle enabled=False (as Python's requests sends it): 200"
req PUT "$R/$THIRD/toggle?enabled=1" -H "Authorization: Bearer $API_KEY"
is "$STATUS:$(jget "j['enabled']")" "200:True" "toggle enabled=1: 200"
req PUT "$R/$THIRD/toggle?enabled=maybe" -H "Authorization: Bearer $API_KEY"
is "$STATUS" 400 "toggle enabled=maybe: 400"
req PUT "$R/$THIRD/toggle" -H "Authorization: Bearer $API_KEY"
is "$STATUS:$(jget "j['enabled']")" "200:False" "toggle without enabled flips it: 200, off"
req PUT "$R/$THIRD/toggle" -H "Authorization: Bearer $API_KEY"
is "$STATUS:$(jget "j['enabled']")" "200:True" "toggle without enabled again: 200, on"
req PUT "$R/01890000-0000-7000-8000-000000000000/toggle?enabled=true" -H "Authorization: Bearer $API_KEY"
is "$STATUS" 404 "toggle an unknown id: 404"
json_error not_found; ok $? "404: JSON error"
req PUT "$R/not-a-uuid/toggle?enabled=true" -H "Authorization: Bearer $API_KEY"
is "$STATUS" 400 "toggle a malformed id: 400"

# ---- auth and bad input
req GET $R
is "$STATUS" 401 "list without a key: 401"
req POST $R -H "Authorization: Bearer $WRITE" -H 'Content-Type: application/json' --data-binary '{}'
is "$STATUS" 403 "register with a write key: 403 (admin scope)"
req PUT "$R/$THIRD/toggle?enabled=true" -H "Authorization: Bearer $READ"
is "$STATUS" 403 "toggle with a read key: 403"
bad() { # bad PATH BODY EXPECTED-MESSAGE-PART NAME
	post "$1" "$2"
	if [ "$STATUS" = 400 ] && json_error && grep -q -- "$3" "$BODY"; then ok 0 "$4"; else ok 1 "$4 (got $STATUS $(cat "$BODY"))"; fi
}
bad $R '{"processor_name":"x","processor_type":"lambda"}' 'invalid processor_type' "unknown type: 400"
bad $R "{\"processor_name\":\"x\",\"processor_type\":\"sql\",\"config\":{\"function\":\"$SCH.nope\"}}" 'invalid config.function' "missing function: 400"
bad $R "{\"processor_name\":\"x\",\"processor_type\":\"sql\",\"config\":{\"function\":\"$SCH.first\"},\"filters\":{\"event_type\":\"a.**\"}}" 'invalid event type filter' "bad filter: 400"
bad $R '{"processor_name":"x","processor_type":"sql","colour":1}' 'unknown field' "unknown field: 400"
bad $R '[1]' '' "array body: 400"

# ---- processing: priority order, one failing, retry, archive
ev() { post /api/v1/events/create "{\"event_type\":\"$P.order\",\"event_source\":\"backend\",\"event_category\":\"order\",\"stream_id\":\"$1\",\"data\":$2}"; jget "j['event_id']"; }
A=$(ev "$P:1" '{"n":1}'); B=$(ev "$P:1" '{"n":2,"fail":true}'); C=$(ev "$P:2" '{"n":3}')
status_of() { sql -c "SELECT COALESCE((SELECT status FROM event.event_status WHERE event_id = '$1'), 'pending')"; }
wait_until 30 eval '[ "$(status_of $A)" = processed ] && [ "$(status_of $C)" = processed ] && [ "$(status_of $B)" = archived ]'
is "$(status_of $A) $(status_of $B) $(status_of $C)" "processed archived processed" "statuses: processed, archived (after the retry), processed"
is "$(sql -c "SELECT string_agg(processor, ',' ORDER BY n) FROM $SCH.log WHERE event_id = '$A'")" "first,second,third" \
	"processors in priority order, the disabled one skipped"
is "$(sql -c "SELECT string_agg(processor, ',' ORDER BY n) FROM $SCH.log WHERE event_id = '$B'")" "first,third" \
	"failing processor: rolled back, the others ran; not run again after succeeding"
get /api/v1/events/processing/$B
is "$(jget "sorted((r['processor_name'][len('$P-'):], r['attempt'], r['status']) for r in j)")" \
	"[('first', 1, 'success'), ('second', 1, 'failed'), ('second', 2, 'failed'), ('third', 1, 'success')]" \
	"results: one per processor and attempt (retry ran only the failed one)"
is "$(sql -c "SELECT attempts FROM event.event_status WHERE event_id = '$B'")" 2 "archived after max_attempts 2"

# ---- processing dead letters
D=/api/v1/events/dead-letters/processing
get "$D?event_type=$P.order"
is "$(jget "[(d['event_id'], d['processors']) for d in j]")" "[('$B', ['$P-second'])]" "dead letters: the archived event, naming the processor"
get "$D/$B"
is "$STATUS:$(jget "(j['event']['event_id'], len(j['results']))")" "200:('$B', 4)" "dead letter: inspect with its results"
get "$D/$A"
is "$STATUS" 404 "dead letter: a processed event is none (404)"
req GET "$D" -H "Authorization: Bearer $READ"
is "$STATUS" 403 "dead letters with a read key: 403 (admin)"
bad "$D/retry" '{"ids":[]}' 'unknown field' "retry: unknown field 400"
sql -c "INSERT INTO $SCH.fixed VALUES (true)" >/dev/null
post "$D/retry" "{\"event_ids\":[\"$B\"]}"
is "$STATUS:$(jget "j['retried']")" "200:1" "retry one: 200"
wait_until 20 eval '[ "$(status_of $B)" = processed ]'
is "$(status_of $B)" processed "retried dead letter processed"

# ---- replay
events0=$(event_count)
post /api/v1/events/replay "{\"stream_id\":\"$P:1\",\"dry_run\":true}"
is "$STATUS:$(jget "(j['total'], [e['event_id'] for e in j['events']])")" "200:(2, ['$A', '$B'])" "dry run: exactly the events of the stream"
post /api/v1/events/replay "{\"stream_id\":\"$P:1\",\"target_service\":\"$P-first\"}"
is "$STATUS:$(jget "(j['status'], j['total'])")" "202:('running', 2)" "replay: 202, running"
RP=$(jget "j['replay_id']")
wait_until 20 eval 'get /api/v1/events/replay/$RP; [ "$(jget "j[\"status\"]")" = completed ]'
is "$(jget "(j['status'], j['done'], j['failed'], float(j['progress']))")" "('completed', 2, 0, 100.0)" "replay: polled to completion"
is "$(sql -c "SELECT count(*) FROM event.processing_results WHERE replay_id = '$RP'")" 2 "replay: new results (target only)"
is "$(sql -c "SELECT count(*) FROM $SCH.log WHERE processor = 'first' AND event_id IN ('$A', '$B')")" 4 "replay: the target ran again"
is "$(( $(event_count) - events0 ))" 1 "replay: no event added but event.replay.started"
is "$(sql -c "SELECT count(*) FROM event.events WHERE event_type = 'event.replay.started' AND data->>'replay_id' = '$RP'")" 1 "event.replay.started stored"
is "$(status_of $A)" processed "replay: statuses untouched"
bad /api/v1/events/replay '{}' 'needs event_ids, stream_id or a time range' "replay: no selection 400"
bad /api/v1/events/replay '{"event_ids":["nope"]}' 'invalid event id' "replay: bad id 400"
bad /api/v1/events/replay "{\"stream_id\":\"$P:1\",\"target_service\":\"nobody\"}" 'is neither a processor nor a subscription' "replay: unknown target 400"
bad /api/v1/events/replay '{"start_time":"yesterday-ish"}' 'invalid start_time' "replay: bad time 400"
get /api/v1/events/replay/01890000-0000-7000-8000-000000000000
is "$STATUS" 404 "replay status: unknown id 404"

# ---- an internal processor (spec 3.3.1 names the type): registered without a config, it records
# each matching event as processed by it, in the database.
post $R "{\"processor_name\":\"$P-ack\",\"processor_type\":\"internal\",\"filters\":{\"event_type\":\"$P.ack\"}}"
is "$STATUS:$(jget "(j['processor_type'], j['config'])")" "201:('internal', {})" "internal processor without a config: 201"
post /api/v1/events/create "{\"event_type\":\"$P.ack\",\"event_source\":\"backend\",\"event_category\":\"system\",\"data\":{}}"
K=$(jget "j['event_id']")
wait_until 20 eval '[ "$(status_of $K)" = processed ]'
is "$(status_of $K)" processed "internal processor: the event processed"
get /api/v1/events/processing/$K
is "$(jget "[(r['processor_name'], r['status']) for r in j]")" "[('$P-ack', 'success')]" "internal processor: its one result"

finish
