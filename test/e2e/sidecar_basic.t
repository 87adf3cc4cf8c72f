#!/usr/bin/env bash
# sidecar_basic.t — 100 events reach JetStream once each: subject events.{source}.{category}.{type},
# Nats-Msg-Id = event_id, per stream in version order; then the slot's confirmed_flush_lsn
# passes their commit.
. "$(dirname "$0")/lib/sidecar.bash"
plan 7

start_nats
start_sidecar a
wait_until 20 is_leader a; ok $? "sidecar streams from slot $SLOT"

P=basic$RUN_ID
create_events "$P" 100 5 10
commit_lsn=$(sql -c "SELECT pg_current_wal_lsn()")

wait_until 20 js_has_at_least "$P:" 100; ok $? "100 messages in JetStream"
js_dump "$T_TMP/js.txt"
awk -F'\t' -v p="$P:" 'index($4, p) == 1' "$T_TMP/js.txt" >"$T_TMP/mine.txt"
is "$(wc -l <"$T_TMP/mine.txt")" 100 "exactly 100 messages for this run"
is "$(cut -f3 "$T_TMP/mine.txt" | sort)" "$(table_ids "$P")" "Nats-Msg-Id values are the table's event_ids"
is "$(cut -f2 "$T_TMP/mine.txt" | sort -u)" "events.backend.order.e2e.created" "subject events.{source}.{category}.{event_type}"
out=$(check_stream_order "$T_TMP/mine.txt"); ok $? "each stream in version order"; [ -n "$out" ] && diag "$out"
wait_until 20 slot_passed "$commit_lsn"; ok $? "confirmed_flush_lsn passes the commit ($commit_lsn, now $(slot_confirmed))"
finish
