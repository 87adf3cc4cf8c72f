#!/usr/bin/env bash
# webhook_replay.t — replay to a webhook subscription (POST /api/v1/events/replay with the
# subscription as target_service) against a real receiver: events stored before the subscription
# existed (so never delivered live) are replayed by time range; the dry run lists exactly them;
# the replay runs in the background to completion; each event reaches the subscriber once, signed
# with both schemes, the events of a stream in stream order, with a delivery id of its own per
# replay and every attempt recorded; a failing subscriber's replay ends with the failures counted
# and dead-lettered (listed by the dead-letter API); the replay adds no event but
# event.replay.started; a name of no processor or subscription is 400.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/webhooks.bash"
plan 18

start_receiver
api_start a --processing-poll 100ms
wait_until 20 is_leader a; ok $? "sidecar streams from slot $SLOT"

P=rp$RUN_ID
SECRET=whsec_$(head -c 32 /dev/urandom | base64 -w0)
T0=$(sql -c "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC' - interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
# Stream $P:1 gets versions 1-6, $P:2 versions 1-2, one event has no stream, one is of a type the
# subscription does not take.
for i in 1 2 3; do
	sql -c "SELECT event.create_event('$P.step', '{\"i\": $i}', 'backend', 'order', stream_id => '$P:1')" \
		-c "SELECT event.create_event('$P.step', '{\"i\": $i}', 'backend', 'order', stream_id => '$P:1')" >/dev/null
done
sql -c "SELECT event.create_event('$P.step', '{\"i\": 7}', 'backend', 'order', stream_id => '$P:2')" \
	-c "SELECT event.create_event('$P.step', '{\"i\": 8}', 'backend', 'order', stream_id => '$P:2')" \
	-c "SELECT event.create_event('$P.step', '{\"i\": 9}', 'backend', 'order')" \
	-c "SELECT event.create_event('$P.other', '{\"i\": 10}', 'backend', 'order')" >/dev/null
sleep 1
SUB=$(sql -c "SELECT event.create_subscription('$P-crm', '$R/delay/60/$P', event_types => '{$P.step}',
        webhook_secret => '$SECRET')->>'subscription_id'")
BAD=$(sql -c "SELECT event.create_subscription('$P-down', '$R/fail/$P', event_types => '{$P.step}',
        max_attempts => 2, backoff_base_ms => 50, backoff_max_ms => 100)->>'subscription_id'")
events0=$(event_count)

# ---- dry run: exactly the events the subscription's filters take
post /api/v1/events/replay "{\"start_time\":\"$T0\",\"target_service\":\"$P-crm\",\"dry_run\":true}"
is "$STATUS:$(jget "(j['total'], sorted(set(e['event_type'] for e in j['events'])))")" "200:(9, ['$P.step'])" \
	"dry run: 200, the 9 events of the subscription's type"

# ---- the replay
post /api/v1/events/replay "{\"start_time\":\"$T0\",\"target_service\":\"$P-crm\"}"
is "$STATUS:$(jget "(j['status'], j['total'])")" "202:('running', 9)" "replay: 202, running, 9 events"
RP=$(jget "j['replay_id']")
completed() { get "/api/v1/events/replay/$1"; [ "$(jget "j['status']")" = completed ]; }
wait_until 30 completed "$RP"; ok $? "replay: polled to completion"
is "$(jget "(j['done'], j['failed'])")" "(9, 0)" "replay: 9 done, none failed"
is "$(received "/delay/60/$P")" 9 "the subscriber received each event once (none of them live: they predate it)"
is "$(python3 "$REPO_ROOT/test/e2e/lib/verify_webhooks.py" "$T_TMP/hooks.jsonl" "/delay/60/$P" "$SECRET")" "ok 9" \
	"replayed deliveries are signed (X-Event-Signature and Standard Webhooks)"
is "$(python3 -c "
import json
r = [json.loads(l) for l in open('$T_TMP/hooks.jsonl') if json.loads(l)['path'] == '/delay/60/$P']
b = [json.loads(x['body']) for x in r]
print([e['stream_version'] for e in b if e['stream_id'] == '$P:1'], [e['stream_version'] for e in b if e['stream_id'] == '$P:2'])")" \
	"[1, 2, 3, 4, 5, 6] [1, 2]" "the events of each stream arrive in stream order"
is "$(python3 -c "
import json
r = [json.loads(l) for l in open('$T_TMP/hooks.jsonl') if json.loads(l)['path'] == '/delay/60/$P']
t1 = [x['t'] for x in r if json.loads(x['body'])['stream_id'] == '$P:1']
t2 = [x['t'] for x in r if json.loads(x['body'])['stream_id'] == '$P:2']
print(min(b - a for a, b in zip(t1, t1[1:])) >= 0.055, t2[0] < t1[-1])")" "True True" \
	"one stream's events one at a time (each posted after the previous was answered), streams in parallel"
SUB12=$(echo "$SUB" | tr -d - | cut -c1-12)
is "$(python3 -c "
import json
r = [json.loads(l) for l in open('$T_TMP/hooks.jsonl') if json.loads(l)['path'] == '/delay/60/$P']
print(all(x['headers']['x-event-delivery-id'] == json.loads(x['body'])['event_id'] + '.$SUB12.$RP' for x in r))")" \
	True "delivery id: <event_id>.<subscription>.<replay_id>"
is "$(sql -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE status_code = 200) FROM event.delivery_attempts WHERE subscription_id = '$SUB'")" \
	"9 9" "every attempt recorded"
is "$(( $(event_count) - events0 ))" 1 "no event added but event.replay.started"

# ---- again: a second replay delivers again, with new delivery ids
post /api/v1/events/replay "{\"stream_id\":\"$P:2\",\"target_service\":\"$SUB\"}"
RP2=$(jget "j['replay_id']")
wait_until 30 completed "$RP2"; ok $? "a replay by subscription id and stream completes"
is "$(received "/delay/60/$P")" 11 "... and delivers that stream's 2 events again"

# ---- a failing subscriber: failures counted and dead-lettered
post /api/v1/events/replay "{\"stream_id\":\"$P:2\",\"target_service\":\"$P-down\"}"
RP3=$(jget "j['replay_id']")
wait_until 30 completed "$RP3"; ok $? "a replay to a failing subscriber completes"
is "$(jget "(j['done'], j['failed'])")" "(2, 2)" "... with both deliveries failed"
req GET "/api/v1/events/dead-letters?subscription_id=$BAD" -H "Authorization: Bearer $API_KEY"
is "$(jget "sorted((d['attempts'], d['last_status_code'], d['stream_sequence']) for d in j['dead_letters'])")" \
	"[(2, 500, 0), (2, 500, 0)]" "... dead-lettered after max_attempts (stream_sequence 0: from a replay)"

# ---- bad target
post /api/v1/events/replay "{\"stream_id\":\"$P:2\",\"target_service\":\"$P-nobody\"}"
if [ "$STATUS" = 400 ] && json_error && grep -q 'neither a processor nor a subscription' "$BODY"; then ok 0 "unknown target: 400"; else ok 1 "unknown target: 400 (got $STATUS $(cat "$BODY"))"; fi

for id in $SUB $BAD; do sql -c "SELECT event.delete_subscription('$id')" >/dev/null; done
finish
