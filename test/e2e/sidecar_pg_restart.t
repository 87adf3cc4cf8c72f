#!/usr/bin/env bash
# sidecar_pg_restart.t — PostgreSQL restarted (pg_ctl restart -m fast) while events are written:
# the sidecar reconnects, resumes from the slot, and JetStream holds every committed event once.
. "$(dirname "$0")/lib/sidecar.bash"
plan 7

[ -n "${PGDATA:-}" ] || bail "PGDATA not set"
pg_ctl_as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$(pg_config --bindir)/pg_ctl" "$@"
	else "$(pg_config --bindir)/pg_ctl" "$@"; fi
}

start_nats
start_sidecar a
wait_until 20 is_leader a; ok $? "sidecar streams"

P=pgrst$RUN_ID
writer "$P" 12 &
BG_PIDS+=($!)
wait_until 20 js_has_at_least "$P:" 100; ok $? "events flowing before the restart"

pg_ctl_as_owner -D "$PGDATA" -m fast -w -t 60 restart >"$T_TMP/pg_ctl.log" 2>&1
ok $? "pg_ctl restart -m fast"
wait_until 30 is_leader a; ok $? "sidecar reconnected and streams again"

wait "${BG_PIDS[0]}"; BG_PIDS=()
end_lsn=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 60 slot_passed "$end_lsn"; ok $? "slot confirmed past all writes"

js_dump "$T_TMP/js.txt"
awk -F'\t' -v p="$P:" 'index($4, p) == 1' "$T_TMP/js.txt" >"$T_TMP/mine.txt"
cmp -s <(cut -f3 "$T_TMP/mine.txt" | sort -u) <(table_ids "$P"); ok $? "nothing lost: set of Nats-Msg-Ids equals the table's event_ids"
out=$(check_stream_order "$T_TMP/mine.txt"); ok $? "each stream in version order, no duplicates"; [ -n "$out" ] && diag "$(echo "$out" | head -5)"
diag "events: $(wc -l <"$T_TMP/mine.txt"), postgres reconnects: $(metric a event_relay_reconnects_total 'target="postgres"')"
finish
