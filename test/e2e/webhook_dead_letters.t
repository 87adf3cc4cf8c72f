#!/usr/bin/env bash
# webhook_dead_letters.t — delivery dead letters over HTTP (/api/v1/events/dead-letters, admin)
# against a real receiver: list (filters, paging), inspect (payload, attempts history), retry one
# (delivered again with the same delivery id and valid signatures, then gone from the list), retry
# by filter (fails again: dead again with the attempts added), a retry requested while the sidecar
# is down (delivered after the restart), purge one and by filter, auth (401/403) and bad input
# (4xx JSON).
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/webhooks.bash"
plan 43

start_receiver
api_start a
wait_until 20 is_leader a; ok $? "sidecar streams from slot $SLOT"
D=/api/v1/events/dead-letters
AUTH=(-H "Authorization: Bearer $API_KEY")
READ=$(new_key "dl$RUN_ID-read" '{read,write}')
wait_key "$READ" || bail "the new key never reached the sidecar's key cache"

P=dl$RUN_ID
SECRET=whsec_$(head -c 32 /dev/urandom | base64 -w0)
subscribe() { # subscribe NAME URL TYPE MAX_ATTEMPTS: prints the id
	sql -c "SELECT event.create_subscription('$P-$1', '$2', event_types => '{$3}', webhook_secret => '$SECRET',
	        max_attempts => $4, backoff_base_ms => 50, backoff_max_ms => 100)->>'subscription_id'"
}
A_ID=$(subscribe a "$R/failn/2/$P-a" "$P.a" 2)  # 2 x 500 (dead), then 200
B_ID=$(subscribe b "$R/fail/$P-b" "$P.b" 1)      # always 500
C_ID=$(subscribe c "$R/failn/1/$P-c" "$P.c" 1)   # 500 (dead), then 200
sql -c "SELECT event.create_event('$P.a', '{\"n\": 1}', 'backend', 'order', stream_id => 'dl$P:1')" \
	-c "SELECT event.create_event('$P.b', '{\"n\": 2}', 'backend', 'order')" \
	-c "SELECT event.create_event('$P.c', '{\"n\": 3}', 'backend', 'order')" >/dev/null
dead_count() { sql -c "SELECT count(*) FROM event.delivery_dead_letters WHERE subscription_id IN ('$A_ID', '$B_ID', '$C_ID') AND retry_requested_at IS NULL"; }
dead_at_least() { [ "$(dead_count)" -ge "$1" ]; }
wait_until 30 dead_at_least 3; ok $? "three deliveries dead-lettered"

# ---- list
req GET "$D?subscription_id=$A_ID" "${AUTH[@]}"
is "$STATUS" 200 "list by subscription: 200"
is "$(jget "(j['total'], j['has_more'], [(d['subscriber_name'], d['event_type'], d['attempts'], d['last_status_code'], d['state']) for d in j['dead_letters']])")" \
	"(1, False, [('$P-a', '$P.a', 2, 500, 'dead')])" "list: the dead letter of subscription a"
DL_A=$(jget "j['dead_letters'][0]['delivery_id']")
DL_B=$(sql -c "SELECT delivery_id FROM event.delivery_dead_letters WHERE subscription_id = '$B_ID'")
DL_C=$(sql -c "SELECT delivery_id FROM event.delivery_dead_letters WHERE subscription_id = '$C_ID'")
EV_B=$(sql -c "SELECT event_id FROM event.delivery_dead_letters WHERE subscription_id = '$B_ID'")
req GET "$D?event_id=$EV_B" "${AUTH[@]}"
is "$(jget "[d['delivery_id'] for d in j['dead_letters']]")" "['$DL_B']" "list by event"
req GET "$D?start_time=2000-01-01T00:00:00Z&end_time=2100-01-01T00:00:00Z&limit=1&offset=0" "${AUTH[@]}"
is "$(jget "(len(j['dead_letters']), j['limit'], j['has_more'], j['total'] >= 3)")" "(1, 1, True, True)" "list by time range, paged"
req GET "$D?end_time=2000-01-01T00:00:00Z" "${AUTH[@]}"
is "$(jget "(j['total'], j['dead_letters'])")" "(0, [])" "list: a range with nothing"

# ---- inspect
req GET "$D/$DL_A" "${AUTH[@]}"
is "$STATUS" 200 "inspect: 200"
is "$(jget "(j['payload']['event_type'], j['payload']['data'], [(a['attempt'], a['status_code'], a['error']) for a in j['attempts_history']])")" \
	"('$P.a', {'n': 1}, [(1, 500, 'HTTP 500'), (2, 500, 'HTTP 500')])" "inspect: payload and attempts history"

# ---- auth and bad input
req GET $D
is "$STATUS" 401 "list without a key: 401"
json_error; ok $? "401: JSON error"
req GET $D -H "Authorization: Bearer $READ"
is "$STATUS" 403 "list with a read/write key: 403 (admin scope)"
req POST "$D/$DL_A/retry" -H "Authorization: Bearer $READ"
is "$STATUS" 403 "retry with a read/write key: 403"
bad_get() { # bad_get QUERY MESSAGE-PART NAME
	req GET "$D$1" "${AUTH[@]}"
	if [ "$STATUS" = 400 ] && json_error && grep -q -- "$2" "$BODY"; then ok 0 "$3"; else ok 1 "$3 (got $STATUS $(cat "$BODY"))"; fi
}
bad_get "?subscription_id=nope" "uuid" "list: malformed subscription_id: 400"
bad_get "?start_time=yesterday-ish" "time" "list: malformed start_time: 400"
bad_get "?limit=0" 'invalid limit' "list: limit 0: 400"
bad_get "?limit=x" 'integer' "list: limit not a number: 400"
bad_get "?colour=red" 'unknown query parameter' "list: unknown parameter: 400"
bad_get "?start_time=2030-01-01T00:00:00Z&end_time=2020-01-01T00:00:00Z" 'start_time is after end_time' "list: inverted range: 400"
req GET "$D/no-such-delivery" "${AUTH[@]}"
is "$STATUS" 404 "inspect an unknown id: 404"
json_error not_found; ok $? "404: JSON error"
bad_post() { # bad_post PATH BODY STATUS NAME
	req POST "$D/$1" "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary "$2"
	if [ "$STATUS" = "$3" ] && json_error; then ok 0 "$4"; else ok 1 "$4 (got $STATUS $(cat "$BODY"))"; fi
}
bad_post retry '{}' 400 "retry by filter without a filter: 400"
bad_post retry '{"subscription_id": 7}' 400 "retry: subscription_id a number: 400"
bad_post purge '{"subscriber": "x"}' 400 "purge: unknown field: 400"
bad_post purge '[1]' 400 "purge: not an object: 400"
bad_post purge '{"event_id": "x"}' 400 "purge: malformed event_id: 400"
req POST "$D/purge" "${AUTH[@]}" -H 'Content-Type: text/plain' --data-binary '{"event_id": null}'
is "$STATUS" 415 "purge with a text/plain body: 415"
is "$(dead_count)" 3 "bad requests changed nothing"

# ---- retry one: delivered again, then gone
req POST "$D/$DL_A/retry" "${AUTH[@]}"
is "$STATUS" 202 "retry one: 202"
is "$(jget "(j['retry_requested'], j['dead_letter']['state'])")" "(True, 'retrying')" "retry: state retrying"
wait_until 20 received_at_least "/failn/2/$P-a" 3; ok $? "the subscriber receives the dead letter again"
is "$(python3 -c "
import json
r = [json.loads(l) for l in open('$T_TMP/hooks.jsonl') if json.loads(l)['path'] == '/failn/2/$P-a']
print(len({x['headers']['x-event-delivery-id'] for x in r}), r[-1]['headers']['x-event-delivery-id'] == '$DL_A',
      json.loads(r[-1]['body'])['data'])")" "1 True {'n': 1}" "same delivery id and event as the original attempts"
is "$(python3 "$REPO_ROOT/test/e2e/lib/verify_webhooks.py" "$T_TMP/hooks.jsonl" "/failn/2/$P-a" "$SECRET")" "ok 3" \
	"the retry is signed like the originals (both schemes)"
gone() { req GET "$D/$1" "${AUTH[@]}"; [ "$STATUS" = 404 ]; }
wait_until 10 gone "$DL_A"; ok $? "delivered: no longer a dead letter"
is "$(sql -c "SELECT string_agg(attempt || ':' || status_code, ',' ORDER BY attempt) FROM event.delivery_attempts WHERE delivery_id = '$DL_A'")" \
	"1:500,2:500,3:200" "the retry's attempt recorded after the earlier ones"

# ---- retry by filter: fails again, dead again
post "$D/retry" "{\"subscription_id\": \"$B_ID\"}"
is "$STATUS $(cat "$BODY")" '202 {"retried": 1, "skipped": 0}' "retry by filter: 202 with the count"
dead_again() { [ "$(sql -c "SELECT retries || ' ' || attempts || ' ' || (retry_requested_at IS NULL) FROM event.delivery_dead_letters WHERE delivery_id = '$DL_B'")" = "1 2 true" ]; }
wait_until 20 dead_again; ok $? "failed again: dead again with retries 1, attempts 2"

# ---- a retry requested while the sidecar is down
kill_sidecar a KILL
sql -c "SELECT event.retry_dead_letter('$DL_C')" >/dev/null
start_sidecar a
API_PORT=${SIDECAR_HTTP[a]}
wait_until 30 received_at_least "/failn/1/$P-c" 2; ok $? "retry requested while the sidecar was down: delivered after its restart"
wait_until 20 api_ready
wait_until 10 gone "$DL_C"; ok $? "... and gone from the dead letters"

# ---- purge
req DELETE "$D/$DL_B" "${AUTH[@]}"
is "$STATUS $(jget "(j['purged'], j['dead_letter']['delivery_id'])")" "200 (True, '$DL_B')" "purge one: 200"
req DELETE "$D/$DL_B" "${AUTH[@]}"
is "$STATUS" 404 "purge it again: 404"
sql -c "SELECT event.create_event('$P.b', '{\"n\": 4}', 'backend', 'order')" >/dev/null
wait_until 20 dead_at_least 1; ok $? "another dead letter for b"
post "$D/purge" "{\"subscription_id\": \"$B_ID\"}"
is "$STATUS $(cat "$BODY")" '200 {"purged": 1}' "purge by filter: 200 with the count"

for id in $A_ID $B_ID $C_ID; do sql -c "SELECT event.delete_subscription('$id')" >/dev/null; done
finish
