#!/usr/bin/env bash
# collect_stream_loss.t — JetStream state lost under a running sidecar: the ingester's and a
# webhook subscription's durable consumers deleted, stream EVENTS deleted, and nats-server
# restarted with an empty store. Each time the sidecar puts back what it needs by itself (the
# relay creates the stream again within its 2 s check, the ingester its consumer within its 1 s
# lag check, an idle delivery worker its consumer within its 2 s check), frontend events are
# accepted again and stored, events written in SQL are relayed into the new stream and delivered.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/webhooks.bash"
plan 19

P=sl$RUN_ID
POST=$(dirname "$0")/lib/frontend_post.py
NREQ=$(dirname "$0")/lib/nats_request.py
stored() { sql -c "SELECT count(*) FROM event.events WHERE event_type = '$P$1.load'"; }
# accepted TAG: one frontend batch of 50 answered 202 (status 0), its ids in $T_TMP/TAG.ids.
accepted() { python3 "$POST" "$API_PORT" "$P$1" 1 50 >"$T_TMP/$1.ids"; }

start_receiver
api_start a
accepted a; ok $? "frontend batch accepted"
wait_until 30 eval '[ "$(stored a)" = 50 ]'; ok $? "and stored by the ingester"
SUB_ID=$(sql -c "SELECT event.create_subscription('$P-hook', '$R/ok/$P', event_types => '{$P.hook}',
	webhook_secret => 'whsec_$(head -c 24 /dev/urandom | base64 -w0)')->>'subscription_id'")
DURABLE_NAME=whsub_${SUB_ID//-/}
# hook N: one SQL event for the subscription, with data.n = N.
hook() { sql -c "SELECT event.create_event('$P.hook', jsonb_build_object('n', $1), 'backend', 'order')" >/dev/null; }
delivered() { # delivered N: the receiver got the event with data.n = N
	python3 - "$T_TMP/hooks.jsonl" "$P" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] == "/ok/" + sys.argv[2] and json.loads(r["body"])["data"]["n"] == int(sys.argv[3]):
        sys.exit(0)
sys.exit(1)
PY
}
hook 1
wait_until 30 delivered 1; ok $? "webhook delivered"

# 1. The durable consumer deleted (an operator's `nats consumer rm`).
python3 "$NREQ" "$NATS_PORT" '$JS.API.CONSUMER.DELETE.EVENTS.event-frontend-ingester' >"$T_TMP/del1"
grep -q '"success":true' "$T_TMP/del1"; ok $? "ingester consumer deleted"
accepted b; ok $? "frontend batch accepted after the consumer was deleted"
wait_until 30 eval '[ "$(stored b)" = 50 ]'; ok $? "stored: the ingester created its consumer again"
is "$(stored a)" 50 "the earlier events were not stored twice (redelivered as duplicates)"
python3 "$NREQ" "$NATS_PORT" "\$JS.API.CONSUMER.DELETE.EVENTS.$DURABLE_NAME" >"$T_TMP/del1w"
grep -q '"success":true' "$T_TMP/del1w"; ok $? "webhook consumer deleted ($DURABLE_NAME)"
sleep 3
hook 2
wait_until 30 delivered 2; ok $? "and the next event delivered (consumer created anew)"

# 2. Stream EVENTS deleted: the relay creates it again although it has nothing to publish.
python3 "$NREQ" "$NATS_PORT" '$JS.API.STREAM.DELETE.EVENTS' >"$T_TMP/del2"
grep -q '"success":true' "$T_TMP/del2"; ok $? "stream EVENTS deleted"
wait_until 20 accepted c; ok $? "frontend events accepted again (stream created anew)"
wait_until 30 eval '[ "$(stored c)" = 50 ]'; ok $? "and stored (consumer created anew)"
sleep 3
hook 3
wait_until 30 delivered 3; ok $? "a webhook delivered from the new stream"

# 3. nats-server restarted with an empty store (no volume): the same, after a reconnect.
stop_nats
rm -rf "$T_TMP/nats"
start_nats "$NATS_PORT"
wait_until 30 accepted d; ok $? "frontend events accepted after nats-server lost its store"
wait_until 30 eval '[ "$(stored d)" = 50 ]'; ok $? "and stored"
post /api/v1/events/create "{\"event_type\":\"$P.api\",\"event_source\":\"backend\"}"
is "$STATUS" 201 "an API event created"
api_id=$(jget 'j["event_id"]')
wait_until 30 eval "js_dump '$T_TMP/js.txt' && grep -q '$api_id' '$T_TMP/js.txt'"; ok $? "and relayed into the new stream"
sleep 3
hook 4
wait_until 30 delivered 4; ok $? "a webhook delivered after nats-server lost its store"
wait_until 10 eval 'health a | grep -q "\"ingester\":{\"lag_messages\":0}"'; ok $? "health: ingester lag 0 ($(health a | grep -o '"ingester":{[^}]*}'))"
finish
