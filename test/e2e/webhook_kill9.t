#!/usr/bin/env bash
# webhook_kill9.t — kill -9 of the sidecar while a webhook is in flight: after a restart every
# event reaches the subscriber, in stream order; the only duplicate is the delivery that was in
# flight, with the same delivery id (the at-least-once window of docs/sidecar.md).
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/webhooks.bash"
plan 6

start_receiver
api_start a
wait_until 20 is_leader a; ok $? "sidecar streams from slot $SLOT"

P=wk$RUN_ID
PATH_=/delay/1500/$P
ID=$(sql -c "SELECT event.create_subscription('$P', 'http://127.0.0.1:$RPORT$PATH_', event_types => '{$P.k}')->>'subscription_id'")
sql -c "DO \$\$ BEGIN FOR i IN 1..4 LOOP
	PERFORM event.create_event('$P.k', jsonb_build_object('i', i), 'backend', 'order', stream_id => 'k$P:1');
	END LOOP; END \$\$" >/dev/null

received() { grep -c "\"path\": \"$PATH_\"" "$T_TMP/hooks.jsonl"; }
received_at_least() { [ "$(received)" -ge "$1" ]; }
distinct_at_least() {
	[ "$(python3 -c "
import json
print(len({json.loads(l)['headers']['x-event-id'] for l in open('$T_TMP/hooks.jsonl') if json.loads(l)['path'] == '$PATH_'}))")" -ge "$1" ]
}
wait_until 30 received_at_least 1; ok $? "first delivery in flight (the receiver takes 1.5 s)"
kill_sidecar a KILL
start_sidecar a
wait_until 60 distinct_at_least 4; ok $? "after kill -9 and a restart every event is delivered"
is "$(python3 -c "
import json
seen = []
for l in open('$T_TMP/hooks.jsonl'):
    r = json.loads(l)
    if r['path'] == '$PATH_':
        v = json.loads(r['body'])['stream_version']
        if v not in seen:
            seen.append(v)
print(seen)")" "[1, 2, 3, 4]" "first arrivals in stream order"
n=$(received)
ok $([ "$n" -le 5 ] && echo 0 || echo 1) "at most the in-flight delivery repeated ($n requests for 4 events)"
is "$(python3 -c "
import json, collections
c = collections.Counter((json.loads(l)['headers']['x-event-id'], json.loads(l)['headers']['x-event-delivery-id'])
                        for l in open('$T_TMP/hooks.jsonl') if json.loads(l)['path'] == '$PATH_')
print(len(c))")" 4 "a repeated delivery keeps its delivery id"
sql -c "SELECT event.delete_subscription('$ID')" >/dev/null
finish
