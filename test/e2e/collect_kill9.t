#!/usr/bin/env bash
# collect_kill9.t — kill -9 of the sidecar during a burst of tracking-API batches: the client
# retries what was not answered (as the SDKs do) against the restarted sidecar; every message is
# then stored exactly once and in JetStream exactly once, whether it had reached JetStream before
# the kill or not (the messageId makes the same event_id and Nats-Msg-Id on the retry). The same
# sidecar ingests, so the kill also interrupts the ingester mid-batch.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 6

P=ck$RUN_ID
B=40 # batches of 100
api_start a
port=$API_PORT
WK=$(new_write_key "e2e-$P")
wait_until 20 eval 'req POST /v1/identify -H "Authorization: $(basic "$WK")" --data-binary "{\"userId\":\"$P\"}"; [ "$STATUS" = 200 ]'
ok $? "write key loaded"

python3 "$REPO_ROOT/test/e2e/lib/tracking_burst.py" "$port" "$WK" "$P" "$B" 0.1 >"$T_TMP/acked" 2>"$T_TMP/burst.err" &
burst=$! # 0.1 s between a thread's batches: at least 1 s in all, while the kill follows the 5th ack
wait_until 30 eval '[ "$(wc -l <"$T_TMP/acked")" -ge 5 ]'
kill_sidecar a KILL
acked_before=$(wc -l <"$T_TMP/acked")
diag "batches acknowledged before kill -9: $acked_before"
sleep 1
start_sidecar a --http-addr "127.0.0.1:$port"
wait "$burst"; ok $? "every batch answered 200 in the end ($(wc -l <"$T_TMP/acked") of $B; $(head -c 300 "$T_TMP/burst.err"))"
[ "$acked_before" -lt "$B" ]; ok $? "the kill came during the burst ($acked_before of $B acknowledged before)"

mine() { sql -c "SELECT count(*) || ' ' || count(DISTINCT metadata->'tracking'->>'messageId') FROM event.events WHERE event_type = '$P.burst'"; }
wait_until 60 eval '[ "$(mine)" = "$((B * 100)) $((B * 100))" ]'
is "$(mine)" "$((B * 100)) $((B * 100))" "every message stored exactly once"
sleep 2
is "$(mine)" "$((B * 100)) $((B * 100))" "and nothing more later"
sql -c "SELECT event_id FROM event.events WHERE event_type = '$P.burst'" | sort >"$T_TMP/ids"
js_dump "$T_TMP/js.txt"
awk -F'\t' 'NR == FNR { want[$1] = 1; next } ($3 in want) { print $3 }' "$T_TMP/ids" "$T_TMP/js.txt" | sort >"$T_TMP/js_ids"
is "$(wc -l <"$T_TMP/js_ids") $(sort -u "$T_TMP/js_ids" | wc -l)" "$((B * 100)) $((B * 100))" "each message in JetStream exactly once"
finish
