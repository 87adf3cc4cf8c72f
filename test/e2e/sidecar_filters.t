#!/usr/bin/env bash
# sidecar_filters.t — --event-types/--sources/--categories reach event_decoder as START_REPLICATION
# options (values quoted as string literals, one contains a quote): only matching events reach
# JetStream, and the slot's confirmed_flush_lsn still moves past the filtered-out ones (heartbeats).
. "$(dirname "$0")/lib/sidecar.bash"
plan 13

# mk PREFIX N TYPE SOURCE CATEGORY: N events in one transaction over 3 streams PREFIX:0..2.
mk() {
	sql -c "DO \$\$ BEGIN FOR i IN 1..$2 LOOP
		PERFORM event.create_event(event_type => '$3', data => jsonb_build_object('i', i),
			event_source => '$4', event_category => '$5', stream_id => '$1:' || (i % 3));
		END LOOP; END \$\$"
}

start_nats
# "it's" is a prefix no event has: it only checks that a quote inside a value is passed safely.
start_sidecar a --event-types "e2e.keep, it's" --sources "backend,frontend" --categories ord
wait_until 20 is_leader a; ok $? "sidecar streams with the filters (START_REPLICATION accepted the options)"
grep -qF "\"plugin_options\":\" (skip_ingested 'on', event_types 'e2e.keep,it''s', sources 'backend,frontend', categories 'ord')\"" "$T_TMP/a.log"
ok $? "the options as sent are logged at start (skip_ingested always first)"

R=$RUN_ID
mk "pass1$R" 10 e2e.keep.created backend order
mk "pass2$R" 5 e2e.keeper frontend order
mk "dropt$R" 10 e2e.drop.created backend order
mk "drops$R" 10 e2e.keep.created system order
mk "dropc$R" 10 e2e.keep.created backend payment
mk "pass3$R" 3 e2e.keep.created backend order

wait_until 20 js_has_at_least "pass3$R:" 3; ok $? "matching events written last arrived"
js_dump "$T_TMP/js.txt"
count() { awk -F'\t' -v p="$1:" 'index($4, p) == 1' "$T_TMP/js.txt" | wc -l; }
is "$(count "pass1$R")" 10 "event_type prefix, source and category prefix match: all 10 relayed"
is "$(count "pass2$R")" 5 "second source and a longer event_type with the prefix: all 5 relayed"
is "$(count "dropt$R")" 0 "other event_type: none relayed"
is "$(count "drops$R")" 0 "other source: none relayed"
is "$(count "dropc$R")" 0 "other category: none relayed"
is "$(awk -F'\t' -v p="pass2$R:" 'index($4, p) == 1 {print $2}' "$T_TMP/js.txt" | sort -u)" \
	"events.frontend.order.e2e.keeper" "subject of a relayed event"

# Only filtered-out events from here on: the slot must still be confirmed past them.
for _ in 1 2 3; do mk "dropt$R" 50 e2e.drop.created backend order; done
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 20 slot_passed "$lsn"; ok $? "confirmed_flush_lsn passes filtered-out events ($lsn, now $(slot_confirmed))"
js_dump "$T_TMP/js2.txt"
is "$(awk -F'\t' -v p="dropt$R:" 'index($4, p) == 1' "$T_TMP/js2.txt" | wc -l)" 0 "still none of them in JetStream"

# A bad filter is a configuration error: exit 2 with one clear line.
out=$("$SIDECAR_BIN" --database-url "$DB_URL" --categories "order,,user" 2>&1); rc=$?
is "$rc" 2 "--categories with an empty item: exit status 2"
[[ $out == *"--categories: expected comma-separated prefixes without empty items"* ]]; ok $? "… with a clear message"; diag "$out"
finish
