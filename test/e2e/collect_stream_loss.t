#!/usr/bin/env bash
# collect_stream_loss.t — JetStream state lost under a running sidecar: the ingester's durable
# consumer deleted, stream EVENTS deleted, and nats-server restarted with an empty store. Each
# time the sidecar puts back what it needs by itself (the relay creates the stream again within
# its 2 s check, the ingester its consumer within its 1 s lag check), frontend events are
# accepted again and stored, and events written through the API are relayed into the new stream.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 14

P=sl$RUN_ID
POST=$(dirname "$0")/lib/frontend_post.py
NREQ=$(dirname "$0")/lib/nats_request.py
stored() { sql -c "SELECT count(*) FROM event.events WHERE event_type = '$P$1.load'"; }
# accepted TAG: one frontend batch of 50 answered 202 (status 0), its ids in $T_TMP/TAG.ids.
accepted() { python3 "$POST" "$API_PORT" "$P$1" 1 50 >"$T_TMP/$1.ids"; }

api_start a
accepted a; ok $? "frontend batch accepted"
wait_until 30 eval '[ "$(stored a)" = 50 ]'; ok $? "and stored by the ingester"

# 1. The durable consumer deleted (an operator's `nats consumer rm`).
python3 "$NREQ" "$NATS_PORT" '$JS.API.CONSUMER.DELETE.EVENTS.event-frontend-ingester' >"$T_TMP/del1"
grep -q '"success":true' "$T_TMP/del1"; ok $? "ingester consumer deleted"
accepted b; ok $? "frontend batch accepted after the consumer was deleted"
wait_until 30 eval '[ "$(stored b)" = 50 ]'; ok $? "stored: the ingester created its consumer again"
is "$(stored a)" 50 "the earlier events were not stored twice (redelivered as duplicates)"

# 2. Stream EVENTS deleted: the relay creates it again although it has nothing to publish.
python3 "$NREQ" "$NATS_PORT" '$JS.API.STREAM.DELETE.EVENTS' >"$T_TMP/del2"
grep -q '"success":true' "$T_TMP/del2"; ok $? "stream EVENTS deleted"
wait_until 20 accepted c; ok $? "frontend events accepted again (stream created anew)"
wait_until 30 eval '[ "$(stored c)" = 50 ]'; ok $? "and stored (consumer created anew)"

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
wait_until 10 eval 'health a | grep -q "\"ingester\":{\"lag_messages\":0}"'; ok $? "health: ingester lag 0 ($(health a | grep -o '"ingester":{[^}]*}'))"
finish
