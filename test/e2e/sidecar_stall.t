#!/usr/bin/env bash
# sidecar_stall.t — /health must never say "ok" while the relay is not advancing. nats-server is
# frozen (SIGSTOP): every connection still looks up, but no acknowledgement arrives, so the slot's
# confirmed position stops while WAL waits behind it. After --stall-timeout (2 s here) /health is
# "degraded" with "stalled": true and event_relay_stalled is 1; after SIGCONT the relay catches up,
# /health is "ok" again and JetStream holds every event once.
. "$(dirname "$0")/lib/sidecar.bash"
plan 8

start_nats
start_sidecar a --stall-timeout 2s --ack-timeout 30s
wait_until 20 is_leader a; ok $? "sidecar streams"

P=stall$RUN_ID
create_events "$P" 50
end_lsn=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 20 slot_passed "$end_lsn"; ok $? "events relayed before the freeze"
healthy() { health a | grep -q '"status":"ok".*"stalled":false'; }
wait_until 10 healthy; ok $? "/health ok and not stalled while the relay advances"

kill -STOP "$NATS_PID"
create_events "$P" 50
stalled() { health a | grep -q '"status":"degraded".*"stalled":true'; }
wait_until 15 stalled; ok $? "/health degraded with stalled=true while NATS is frozen"
[ $? = 0 ] || diag "$(health a)"
is "$(metric a event_relay_stalled)" "1" "event_relay_stalled is 1"
grep -q '"relay stalled' "$T_TMP/a.log"; ok $? "the stall is logged as an error"
kill -CONT "$NATS_PID"

wait_until 30 healthy; ok $? "/health ok again after NATS resumes"
wait_until 20 js_has_at_least "$P:" 100
is "$(js_count "$P:")" "100" "JetStream holds all 100 events once"
finish
