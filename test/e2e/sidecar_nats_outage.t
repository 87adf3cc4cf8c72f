#!/usr/bin/env bash
# sidecar_nats_outage.t — nats-server stopped for 20 s while writes continue, then restarted on
# the same port and store dir: every committed event reaches JetStream exactly once, in order.
. "$(dirname "$0")/lib/sidecar.bash"
plan 8

start_nats
start_sidecar a --ack-timeout 2s
wait_until 20 is_leader a; ok $? "sidecar streams"

P=natsout$RUN_ID
writer "$P" 30 &
BG_PIDS+=($!)
wait_until 20 js_has_at_least "$P:" 100; ok $? "events flowing before the outage"

stop_nats
sleep 2
health a | grep -q '"status":"down"'; ok $? "/health reports down while NATS is away"
confirmed_at_stop=$(slot_confirmed)
sleep 18
start_nats "$NATS_PORT"

wait "${BG_PIDS[0]}"; BG_PIDS=()
end_lsn=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 60 slot_passed "$end_lsn"; ok $? "slot confirmed past all writes after NATS came back"
[ "$(sql -c "SELECT '$confirmed_at_stop'::pg_lsn < '$end_lsn'::pg_lsn")" = t ]; ok $? "confirmation held back during the outage ($confirmed_at_stop < $end_lsn)"

js_dump "$T_TMP/js.txt"
awk -F'\t' -v p="$P:" 'index($4, p) == 1' "$T_TMP/js.txt" >"$T_TMP/mine.txt"
want=$(table_ids "$P" | wc -l)
is "$(wc -l <"$T_TMP/mine.txt")" "$want" "JetStream holds all $want committed events, no duplicates"
cmp -s <(cut -f3 "$T_TMP/mine.txt" | sort) <(table_ids "$P"); ok $? "set of Nats-Msg-Ids equals the table's event_ids"
out=$(check_stream_order "$T_TMP/mine.txt"); ok $? "each stream in version order"; [ -n "$out" ] && diag "$(echo "$out" | head -5)"
diag "republished: $(metric a event_relay_republished_total), nats reconnects: $(metric a event_relay_reconnects_total 'target="nats"')"
finish
