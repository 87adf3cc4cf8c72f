#!/usr/bin/env bash
# sidecar_ack_timeout.t — nats-server frozen (SIGSTOP) for 3 s while writes continue: the
# connection survives but no acknowledgement arrives, so the sidecar's --ack-timeout (500 ms)
# fires, it takes its publishes back and republishes every unacknowledged event in order, more
# than once. After SIGCONT JetStream holds every committed event exactly once, per stream in
# version order, and the slot is confirmed past all writes. Also checks that the commit → ack
# latency histogram counted every acknowledged event.
. "$(dirname "$0")/lib/sidecar.bash"
plan 9

start_nats
start_sidecar a --ack-timeout 500ms
wait_until 20 is_leader a; ok $? "sidecar streams"

P=acktmo$RUN_ID
writer "$P" 10 &
BG_PIDS+=($!)
wait_until 20 js_has_at_least "$P:" 100; ok $? "events flowing before the freeze"

kill -STOP "$NATS_PID"
sleep 3
inflight=$(metric a event_relay_inflight)
kill -CONT "$NATS_PID"
[ "${inflight:-0}" -gt 0 ]; ok $? "events waited for their ack during the freeze ($inflight in flight)"

wait "${BG_PIDS[0]}"; BG_PIDS=()
end_lsn=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 60 slot_passed "$end_lsn"; ok $? "slot confirmed past all writes after the freeze"
republished=$(metric a event_relay_republished_total)
[ "${republished:-0}" -gt 0 ]; ok $? "unacknowledged events were republished ($republished)"

js_dump "$T_TMP/js.txt"
awk -F'\t' -v p="$P:" 'index($4, p) == 1' "$T_TMP/js.txt" >"$T_TMP/mine.txt"
want=$(table_ids "$P" | wc -l)
is "$(wc -l <"$T_TMP/mine.txt")" "$want" "JetStream holds all $want committed events, no duplicates"
cmp -s <(cut -f3 "$T_TMP/mine.txt" | sort) <(table_ids "$P"); ok $? "set of Nats-Msg-Ids equals the table's event_ids"
out=$(check_stream_order "$T_TMP/mine.txt"); ok $? "each stream in version order"; [ -n "$out" ] && diag "$(echo "$out" | head -5)"

acked=$(metric a event_relay_events_acked_total)
hist_count=$(metric a event_relay_commit_to_ack_seconds_count)
is "$hist_count" "$acked" "commit → ack histogram counts every acknowledged event"
diag "republished: $republished, duplicates: $(metric a event_relay_events_duplicate_total), publish errors: $(metric a event_relay_publish_errors_total), acked: $acked"
finish
