#!/usr/bin/env bash
# api_kill9.t — kill -9 of the sidecar during a burst of HTTP batches sent with idempotency keys
# and re-sent until answered: afterwards exactly the sent events are stored, each once, and each
# is once in JetStream (the relay of the restarted sidecar resumes from the slot).
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 7
P=k9$RUN_ID
THREADS=4 BATCHES=40 SIZE=20
N=$((THREADS * BATCHES * SIZE))

api_start a
wait_until 20 is_leader a; ok $? "sidecar a streams"
python3 "$(dirname "$0")/lib/batch_resend.py" "$API_PORT" "$API_KEY" "$P" $THREADS $BATCHES $SIZE >"$T_TMP/load.json" &
LOAD=$!
BG_PIDS+=($LOAD)
wait_until 20 eval '[ "$(sql -c "SELECT count(*) FROM event.events WHERE event_type = '"'$P.k9'"'")" -ge 400 ]'
kill_sidecar a KILL
is "$KILL_RC" 137 "sidecar killed with SIGKILL mid-burst"
stored_at_kill=$(sql -c "SELECT count(*) FROM event.events WHERE event_type = '$P.k9'")
start_sidecar b --http-addr "127.0.0.1:$API_PORT"
wait "$LOAD"; BG_PIDS=()
R=$T_TMP/load.json
res() { python3 -c "import json; j=json.load(open('$R')); print($1)"; }
diag "stored at the kill: $stored_at_kill of $N; resends $(res "j['resends']")"
is "$(res "(j['answered'], j['failed'])")" "($((THREADS * BATCHES)), 0)" "every batch answered 201 in the end"
is "$(sql -c "SELECT count(*), count(DISTINCT idempotency_key) FROM event.events WHERE event_type = '$P.k9'")" "$N|$N" \
	"exactly the sent events stored, each once"
is "$(sql -c "SELECT count(*) FROM event.events e WHERE event_type = '$P.k9' AND (e.data->>'i')::int >= $SIZE")" 0 \
	"nothing else stored"
wait_until 60 js_has_at_least "$P:" $N; ok $? "all $N events reached JetStream"
js_dump "$T_TMP/js.txt"
awk -F'\t' -v p="$P:" 'index($4, p) == 1' "$T_TMP/js.txt" >"$T_TMP/mine.txt"
cmp -s <(cut -f3 "$T_TMP/mine.txt" | sort) <(table_ids "$P"); ok $? "JetStream holds each stored event exactly once"
finish
