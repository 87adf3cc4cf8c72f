#!/usr/bin/env bash
# sidecar_failover.t — SIGTERM drains in-flight publishes, confirms them and exits 0; a second
# sidecar on the same slot waits as standby ("standby: slot busy") and takes over when the
# first exits; no event is lost across the handover.
. "$(dirname "$0")/lib/sidecar.bash"
plan 10

start_nats
start_sidecar a
wait_until 20 is_leader a; ok $? "first sidecar leads"
start_sidecar b
wait_until 20 is_standby b; ok $? "second sidecar on the same slot is standby"
grep -q '"msg":"standby: slot busy"' "$T_TMP/b.log"; ok $? "standby logs 'standby: slot busy'"
health b | grep -q '"status":"ok"'; ok $? "standby's /health is ok"

P=fo$RUN_ID
create_events "${P}x" 3000 10 100 &
BG_PIDS+=($!)
wait_until 20 js_has_at_least "${P}x:" 200; ok $? "burst under way"
kill_sidecar a TERM
is "$KILL_RC" 0 "SIGTERM: first sidecar exits 0"
drained=$(grep '"msg":"shutdown: drained"' "$T_TMP/a.log" | sed 's/.*"confirmed_lsn":"\([^"]*\)".*/\1/')
# The walsender applies the last status update when it reads it, shortly after our exit.
[ -n "$drained" ] && wait_until 5 slot_passed "$drained"
ok $? "drained and sent its final confirmation (${drained:-no drained line})" || diag "slot confirmed_flush_lsn: $(slot_confirmed)"

wait_until 20 is_leader b; ok $? "standby took over"
wait "${BG_PIDS[0]}"; BG_PIDS=()
create_events "${P}y" 100 5 10
end_lsn=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 60 slot_passed "$end_lsn"; ok $? "new leader confirmed past all writes"

js_dump "$T_TMP/js.txt"
awk -F'\t' -v p="$P" 'index($4, p) == 1' "$T_TMP/js.txt" >"$T_TMP/mine.txt"
cmp -s <(cut -f3 "$T_TMP/mine.txt" | sort) <({ table_ids "${P}x"; table_ids "${P}y"; } | sort)
ok $? "JetStream holds all 3,100 events exactly once"
finish
