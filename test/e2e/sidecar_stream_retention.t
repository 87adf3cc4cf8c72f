#!/usr/bin/env bash
# sidecar_stream_retention.t — --stream-retention: the stream is created with the configured policy
# (workqueue here); a sidecar configured differently finds the existing stream, tries to update it
# like the other limits, is refused by nats-server (retention cannot change), says so in its log
# and relays/confirms nothing until it is configured to match.
# Workqueue streams reject js-check's ordered consumer, so message counts come from stream info.
. "$(dirname "$0")/lib/sidecar.bash"
plan 8

# js_info: js-check's stream summary line ("stream EVENTS holds N messages (…, retention R)").
# (js-check then fails to subscribe to a workqueue stream: its exit status is ignored.)
js_info() { { "$JS_CHECK" "$NATS_URL" EVENTS 2>&1 >/dev/null || true; } | grep -m1 'holds'; }
js_holds() { js_info | grep -q "holds $1 messages"; }
logged() { grep -qF -- "$2" "$T_TMP/$1.log"; }

start_nats
start_sidecar wq --stream-retention workqueue
wait_until 20 is_leader wq; ok $? "sidecar streams"
create_events "ret$RUN_ID" 20 2 10
wait_until 20 js_holds 20; ok $? "20 events stored"
[[ $(js_info) == *"retention workqueue"* ]]; ok $? "stream created with retention workqueue"; diag "$(js_info)"
logged wq '"msg":"nats: stream created"' && logged wq '"retention":"workqueue"'; ok $? "creation logged with the policy"
kill_sidecar wq

start_sidecar limits --stream-retention limits
create_events "ret2$RUN_ID" 10 2 10
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 15 logged limits "the stream has retention workqueue, configured limits (--stream-retention)"
ok $? "mismatch: the log names both policies"
sleep 2
js_holds 20 && ! slot_passed "$lsn"; ok $? "mismatch: nothing relayed or confirmed ($(slot_confirmed) < $lsn)"
kill_sidecar limits

start_sidecar wq2 --stream-retention workqueue
wait_until 20 js_holds 30; ok $? "configured to match again: the 10 waiting events arrive"
wait_until 15 slot_passed "$lsn"; ok $? "… and are confirmed"
finish
