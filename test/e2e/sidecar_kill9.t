#!/usr/bin/env bash
# sidecar_kill9.t — kill -9 of the sidecar during a 50,000-event burst from 4 sessions, then a
# restart: JetStream holds every event exactly once (its Nats-Msg-Ids equal the table's
# event_ids) and every stream in version order.
. "$(dirname "$0")/lib/sidecar.bash"
plan 8

start_nats
start_sidecar a
wait_until 20 is_leader a; ok $? "first sidecar streams"

P=kill$RUN_ID
for w in 1 2 3 4; do
	create_events "${P}w$w" 12500 20 50 &
	BG_PIDS+=($!)
done
# Kill mid-burst, once some events have been published.
wait_until 30 js_has_at_least "${P}w1:" 500; ok $? "burst under way"
kill_sidecar a KILL
is "$KILL_RC" 137 "sidecar killed with SIGKILL"
published_before=$(js_count "${P}w")

start_sidecar b
wfail=0
for pid in "${BG_PIDS[@]}"; do wait "$pid" || wfail=1; done
BG_PIDS=()
ok $wfail "4 writers committed 50,000 events"
end_lsn=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 120 slot_passed "$end_lsn"; ok $? "restarted sidecar confirmed past the burst"

js_dump "$T_TMP/js.txt"
awk -F'\t' -v p="${P}w" 'index($4, p) == 1' "$T_TMP/js.txt" >"$T_TMP/mine.txt"
is "$(wc -l <"$T_TMP/mine.txt")" 50000 "50,000 messages: none lost, none duplicated"
cut -f3 "$T_TMP/mine.txt" | sort >"$T_TMP/js_ids"
for w in 1 2 3 4; do table_ids "${P}w$w"; done | sort >"$T_TMP/table_ids"
cmp -s "$T_TMP/js_ids" "$T_TMP/table_ids"; ok $? "set of Nats-Msg-Ids equals the table's event_ids"
[ $? = 0 ] || diag "$(diff "$T_TMP/js_ids" "$T_TMP/table_ids" | head -5)"
out=$(check_stream_order "$T_TMP/mine.txt"); ok $? "each stream in version order"; [ -n "$out" ] && diag "$(echo "$out" | head -5)"
diag "duplicates dropped by JetStream after the restart: $(metric b event_relay_events_duplicate_total) (published before kill: $published_before)"
finish
