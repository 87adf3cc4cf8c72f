#!/usr/bin/env bash
# webhook_delivery.t — subscriptions delivered by the sidecar from their durable JetStream
# consumers to a real receiver on loopback (test/e2e/lib/webhook_receiver.py): delivery in stream
# order, both signature schemes with both secrets during a rotation (recomputed in python),
# isolation from a hanging subscriber, Retry-After on 429, retries then a dead letter, attempts
# recorded in PostgreSQL, and a deleted subscription receiving nothing more.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/webhooks.bash"
plan 19

start_receiver
api_start a --delivery-poll-interval 60s
wait_until 20 is_leader a; ok $? "sidecar streams from slot $SLOT"

P=wh$RUN_ID
SECRET_A=whsec_$(head -c 32 /dev/urandom | base64 -w0)
SECRET_B=whsec_$(head -c 32 /dev/urandom | base64 -w0)
subscribe() { # subscribe NAME URL TYPES [MAX_ATTEMPTS BASE_MS MAX_MS]: prints the id
	sql -c "SELECT event.create_subscription('$P-$1', '$2', event_types => '$3', webhook_secret => '$SECRET_A',
	        max_attempts => ${4:-5}, backoff_base_ms => ${5:-1000}, backoff_max_ms => ${6:-60000})->>'subscription_id'"
}
OK_ID=$(subscribe ok "$R/ok/$P" "{$P.order.*}")
sql -c "SELECT event.rotate_subscription_secret('$OK_ID', '$SECRET_B')" >/dev/null
HANG_ID=$(subscribe hang "$R/hang/$P" "{$P.order.*}")
FAIL_ID=$(subscribe fail "$R/fail/$P" "{$P.fail}" 3 100 200)
LIM_ID=$(subscribe limited "$R/429/2/$P" "{$P.limited}" 5 100 200)
OTHER_ID=$(subscribe other "$R/ok/other$P" "{$P.other}")

# Five events of one stream, one to fail, one to be rate limited.
sql -c "DO \$\$ BEGIN FOR i IN 1..5 LOOP
	PERFORM event.create_event('$P.order.created', jsonb_build_object('i', i), 'backend', 'order', stream_id => 'ord$P:1');
	END LOOP; END \$\$" -c "SELECT event.create_event('$P.fail', '{}', 'backend', 'order')" \
	-c "SELECT event.create_event('$P.limited', '{}', 'backend', 'order')" >/dev/null

sql_at_least() { [ "$(sql -c "$1")" -ge "$2" ]; }
wait_until 30 received_at_least "/ok/$P" 5; ok $? "5 events delivered to the healthy subscriber while another one hangs"
is "$(python3 -c "
import json
print([json.loads(json.loads(l)['body'])['stream_version'] for l in open('$T_TMP/hooks.jsonl') if json.loads(l)['path'] == '/ok/$P'])")" \
	"[1, 2, 3, 4, 5]" "in stream order, each once"
is "$(python3 "$REPO_ROOT/test/e2e/lib/verify_webhooks.py" "$T_TMP/hooks.jsonl" "/ok/$P" "$SECRET_B" "$SECRET_A")" "ok 5" \
	"X-Event-Signature and webhook-signature verify with both secrets (rotation)"
is "$(received "/ok/other$P")" 0 "a subscriber whose filters match nothing receives nothing"
# (Its first request times out after 10 s and is retried: on a slow machine a second one may be in.)
is "$(python3 -c "
import json
print(sorted({json.loads(json.loads(l)['body'])['stream_version'] for l in open('$T_TMP/hooks.jsonl') if json.loads(l)['path'] == '/hang/$P'}))")" \
	"[1]" "the hanging subscriber got only its first event and holds the rest back for itself only"

# 429 with Retry-After: 1 twice, then 200.
wait_until 20 received_at_least "/429/2/$P" 3; ok $? "rate-limited subscriber: 2 x 429, then delivered"
is "$(python3 -c "
import json
t = [json.loads(l)['t'] for l in open('$T_TMP/hooks.jsonl') if json.loads(l)['path'] == '/429/2/$P']
print(all(b - a >= 0.9 for a, b in zip(t, t[1:])))")" True "Retry-After: 1 honoured (backoff base is 100 ms)"
wait_until 10 sql_at_least "SELECT count(*) FROM event.delivery_attempts WHERE subscription_id = '$LIM_ID'" 3
is "$(sql -c "SELECT string_agg(status_code::text, ',' ORDER BY attempt) FROM event.delivery_attempts WHERE subscription_id = '$LIM_ID'")" \
	"429,429,200" "every attempt recorded with its status code"

# Failing subscriber: 3 attempts, then a dead letter.
wait_until 20 sql_at_least "SELECT count(*) FROM event.delivery_dead_letters WHERE subscription_id = '$FAIL_ID'" 1
ok $? "failing subscriber: dead letter after max_attempts"
is "$(received "/fail/$P")" 3 "exactly max_attempts (3) requests"
is "$(sql -c "SELECT attempts || ' ' || last_status_code || ' ' || (payload->>'event_type') FROM event.delivery_dead_letters WHERE subscription_id = '$FAIL_ID'")" \
	"3 500 $P.fail" "dead letter: attempts, last status, the event"
is "$(sql -c "SELECT count(*) || ' ' || bool_and(latency_ms >= 0) || ' ' || min(error) FROM event.delivery_attempts WHERE subscription_id = '$FAIL_ID'")" \
	"3 true HTTP 500" "failed attempts recorded with latency and error"

# Delete: deliveries stop at once (the sidecar polls only every 60 s here: the NOTIFY does it).
req DELETE "/api/v1/events/subscriptions/$OK_ID" -H "Authorization: Bearer $API_KEY"
is "$STATUS" 200 "delete the healthy subscription over HTTP"
stopped() { grep -q "\"subscription removed: deliveries stopped\".*$OK_ID" "$T_TMP/a.log"; }
wait_until 2 stopped; ok $? "its worker stopped within 2 s (the poll interval is 60 s)"
sql -c "SELECT event.create_event('$P.order.created', '{}', 'backend', 'order', stream_id => 'ord$P:1')" >/dev/null
sql -c "SELECT event.create_event('$P.other', '{}', 'backend', 'order')" >/dev/null
wait_until 20 received_at_least "/ok/other$P" 1; ok $? "a later event reaches a remaining subscriber"
is "$(received "/ok/$P")" 5 "the deleted subscription received nothing more"
is "$(sql -c "SELECT count(*) FROM event.event_subscriptions WHERE id = '$OK_ID'")" 0 "deleted in PostgreSQL"

# A lost LISTEN connection is reopened, and a subscription created meanwhile is picked up by the
# reload that follows (without waiting for the 60 s poll).
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'event-sidecar-delivery'" >/dev/null
LATE_ID=$(subscribe late "$R/ok/late$P" "{$P.late}")
sql -c "SELECT event.create_event('$P.late', '{}', 'backend', 'order')" >/dev/null
wait_until 20 received_at_least "/ok/late$P" 1; ok $? "after the listening connection was killed: reconnected, new subscription delivered"

for id in $LATE_ID $HANG_ID $FAIL_ID $LIM_ID $OTHER_ID; do sql -c "SELECT event.delete_subscription('$id')" >/dev/null; done
finish
