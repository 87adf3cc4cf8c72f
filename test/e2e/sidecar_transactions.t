#!/usr/bin/env bash
# sidecar_transactions.t — rolled-back work never reaches JetStream (whole transactions and
# savepoints); the events of one transaction arrive together (no other transaction's events in
# between, even when transactions interleave) and in their insertion order, in commit order.
. "$(dirname "$0")/lib/sidecar.bash"
plan 9

start_nats
start_sidecar a
wait_until 20 is_leader a; ok $? "sidecar streams"

P=tx$RUN_ID
ev() { # ev STREAM TYPE: SQL creating one event, returning its id
	echo "SELECT event_id FROM event.create_event(event_type => '$2', data => '{}'::jsonb, event_source => 'backend', event_category => 'order', stream_id => '$P$1')"
}
evdo() { # evdo STREAM TYPE N: a DO block creating N events (for dblink_exec, which refuses SELECT)
	printf '%s' 'DO $d$ BEGIN FOR i IN 1..'"$3"' LOOP PERFORM event.create_event(event_type => '"'$2'"', data => '"'{}'"'::jsonb, event_source => '"'backend'"', event_category => '"'order'"', stream_id => '"'$P$1'"'); END LOOP; END $d$'
}
conn="host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432} user=$PGUSER dbname=$EVENT_TEST_DB"

# 1. A rolled-back transaction and a rolled-back savepoint.
rolled_back=$(sql <<SQL
BEGIN;
$(ev rb:1 rolled.back);
$(ev rb:2 rolled.back);
ROLLBACK;
BEGIN;
$(ev sp:1 kept);
SAVEPOINT s;
$(ev sp:1 rolled.back);
ROLLBACK TO SAVEPOINT s;
$(ev sp:1 kept);
COMMIT;
SQL
)
# 2. Interleaved transactions: A opens first (over dblink), B commits in between, then A commits.
sql >/dev/null <<SQL
SELECT dblink_connect('a', '$conn');
SELECT dblink_exec('a', 'BEGIN');
SELECT dblink_exec('a', \$q\$$(evdo a:1 txa 3)\$q\$);
BEGIN;
$(ev b:1 txb); $(ev b:1 txb); $(ev b:1 txb);
COMMIT;
SELECT dblink_exec('a', \$q\$$(evdo a:1 txa 3)\$q\$);
SELECT dblink_exec('a', \$q\$$(evdo a:2 txa 2)\$q\$);
SELECT dblink_exec('a', 'COMMIT');
SELECT dblink_disconnect('a');
SQL
ok $? "interleaved transactions committed"
# 3. One transaction alternating between streams.
sql >/dev/null <<SQL
BEGIN;
$(ev c:1 txc); $(ev c:2 txc); $(ev c:1 txc); $(ev c:3 txc); $(ev c:2 txc); $(ev c:1 txc);
COMMIT;
SQL
sql -c "$(ev end:1 sentinel)" >/dev/null
wait_until 20 js_has_at_least "${P}end:" 1; ok $? "sentinel arrived"

js_dump "$T_TMP/js.txt"
awk -F'\t' -v p="$P" 'index($4, p) == 1' "$T_TMP/js.txt" >"$T_TMP/mine.txt"
is "$(grep -c rolled "$T_TMP/mine.txt")" 0 "no rolled-back event was published"
all_ids=$(cut -f3 "$T_TMP/mine.txt")
leaked=0
for id in $rolled_back; do grep -qx "$id" <<<"$all_ids" && [ "$(sql -c "SELECT count(*) FROM event.events WHERE event_id = '$id'")" = 0 ] && leaked=1; done
ok $leaked "no event id of rolled-back work appears in JetStream"
is "$(grep -c "${P}sp:1" "$T_TMP/mine.txt")" 2 "savepoint: the two kept events arrive"

# Order of transactions as seen in JetStream (one letter per message).
seen=$(awk -F'\t' '{split($2, a, "."); print a[length(a)]}' "$T_TMP/mine.txt" | grep -E '^tx[abc]$' | tr -d '\n')
is "$seen" "txbtxbtxbtxatxatxatxatxatxatxatxatxctxctxctxctxctxc" "transactions arrive whole, in commit order (B before A)"
# Positions are taken in insertion order; commit order puts B first, so compare per transaction.
for t in txa txb txc; do
	w=$(sql -c "SELECT event_id FROM event.events WHERE stream_id LIKE '$P%' AND event_type = '$t' ORDER BY position" | tr '\n' ' ')
	g=$(awk -F'\t' -v t="$t" '$2 ~ ("\\." t "$") {print $3}' "$T_TMP/mine.txt" | tr '\n' ' ')
	[ "$w" = "$g" ] || { diag "$t: got $g want $w"; ok 1 "insertion order within transaction $t"; continue 2; }
done
ok 0 "events of each transaction in insertion order"
out=$(check_stream_order "$T_TMP/mine.txt"); ok $? "each stream in version order"; [ -n "$out" ] && diag "$out"
finish
