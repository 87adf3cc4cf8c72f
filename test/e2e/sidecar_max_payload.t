#!/usr/bin/env bash
# sidecar_max_payload.t — an event NATS can never accept (over the server's max_payload) is a
# terminal, alarmed condition that blocks nothing (issue 14, defect 2): against a nats-server
# with max_payload 4 KB, a stored 8 KB event is counted (event_relay_unpublishable_events_total),
# logged as an error, /health turns "degraded" (never "ok"), and the events after it are
# published and the slot's confirmed_flush_lsn passes all of them.
. "$(dirname "$0")/lib/sidecar.bash"
plan 7

NATS_PORT=$("$FREE_PORT")
cat >"$T_TMP/nats-small.conf" <<EOC
listen: 127.0.0.1:$NATS_PORT
max_payload: 4096
jetstream { store_dir: "$T_TMP/nats" }
EOC
nats-server -c "$T_TMP/nats-small.conf" >>"$T_TMP/nats.log" 2>&1 &
NATS_PID=$!
wait_until 10 port_open "$NATS_PORT" || bail "nats-server did not start (see $T_TMP/nats.log)"
NATS_URL=nats://127.0.0.1:$NATS_PORT

start_sidecar a
wait_until 20 is_leader a; ok $? "sidecar streams from slot $SLOT"

P=maxp$RUN_ID
sql -c "SELECT count(*) FROM event.create_event('e2e.big', jsonb_build_object('s', repeat('x', 8000)),
        event_category => 'order', stream_id => '$P:big')" >/dev/null
create_events "$P" 20 2 10
commit_lsn=$(sql -c "SELECT pg_current_wal_lsn()")

wait_until 20 js_has_at_least "$P:" 20; ok $? "the 20 events after the oversized one reach JetStream"
is "$(js_count "$P:big")" 0 "the oversized event is not in JetStream"
unpublishable() { [ "$(metric a event_relay_unpublishable_events_total)" = 1 ]; }
wait_until 10 unpublishable; ok $? "event_relay_unpublishable_events_total is 1"
grep -q '"msg":"nats: event can never be published' "$T_TMP/a.log"; ok $? "the skip is logged as an error"
health a | grep -q '"status":"degraded"'; ok $? "/health says degraded, not ok ($(health a))"
wait_until 20 slot_passed "$commit_lsn"; ok $? "confirmed_flush_lsn passes every event ($commit_lsn, now $(slot_confirmed))"
finish
