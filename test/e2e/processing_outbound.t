#!/usr/bin/env bash
# processing_outbound.t — webhook and nats processors run by the sidecar (docs/architecture.md
# "Event processing", docs/sidecar.md "Outbound processors"): events reach a local HTTP receiver
# (signed, with the event as body and the deterministic delivery id) and a JetStream stream (one
# message per event, Nats-Msg-Id processor:event); a failing endpoint is retried and dead-lettered
# after max_attempts, and a retry from the dead letter succeeds; kill -9 of the sidecar while calls
# are in flight loses nothing: after the lease runs out the calls are made again (the receiver may
# see a repeat, with the same delivery id; JetStream drops the repeated publish), and each event
# ends processed with one success result per processor.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/webhooks.bash"
plan 18

P=po$RUN_ID
trap 'sql -c "DELETE FROM event.event_processors WHERE processor_name LIKE '"'$P%'"'" >/dev/null; cleanup' EXIT
start_nats
# A JetStream stream for the nats processors' subjects (JetStream API request over the NATS protocol).
python3 - "$NATS_PORT" "$P" <<'PY' >"$T_TMP/stream.json" || bail "stream PROC not created"
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
f.readline()
cfg = json.dumps({"name": "PROC", "subjects": ["proc.>"], "storage": "file"}).encode()
s.sendall(b'CONNECT {"verbose":false}\r\nSUB _INBOX.proc 1\r\nPUB $JS.API.STREAM.CREATE.PROC _INBOX.proc %d\r\n%s\r\n' % (len(cfg), cfg))
while True:
    line = f.readline()
    if line.startswith(b"PING"):
        s.sendall(b"PONG\r\n")
    elif line.startswith(b"MSG"):
        reply = json.loads(f.read(int(line.split()[-1]) + 2))
        print(json.dumps(reply))
        sys.exit(0 if "error" not in reply else 1)
PY
start_receiver
FLAGS=(--processing-poll 50ms --processing-lease 3s --processing-concurrency 4 --processing-outbound-batch 8)
api_start a "${FLAGS[@]}"

# Processors over HTTP: a webhook and a nats processor on $P.ok, a failing webhook on $P.fail, and
# a slow webhook plus a nats processor on $P.slow for the kill -9.
post /api/v1/events/processors "{\"processor_name\": \"$P-hook\", \"processor_type\": \"webhook\",
  \"config\": {\"url\": \"$R/ok/$P\"}, \"filters\": {\"event_type\": \"$P.ok\"}, \"priority\": 2}"
is "$STATUS" 201 "POST a webhook processor: 201"
SECRET=$(jget "j['config']['secret']")
HOOK_ID=$(jget "j['processor_id']")
post /api/v1/events/processors "{\"processor_name\": \"$P-bus\", \"processor_type\": \"nats\",
  \"config\": {\"subject\": \"proc.$P.ok\"}, \"filters\": {\"event_type\": \"$P.ok\"}, \"priority\": 1}"
is "$STATUS" 201 "POST a nats processor: 201"
BUS_ID=$(jget "j['processor_id']")
post /api/v1/events/processors "{\"processor_name\": \"$P-fail\", \"processor_type\": \"webhook\",
  \"config\": {\"url\": \"$R/failn/2/$P-f\"}, \"filters\": {\"event_type\": \"$P.fail\"},
  \"retry_policy\": {\"max_attempts\": 2, \"backoff_base_ms\": 100, \"backoff_max_ms\": 100}}"
FAIL_SECRET=$(jget "j['config']['secret']")
sql -c "SELECT event.create_processor('$P-slow', 'webhook', '{\"url\": \"$R/delay/300/$P-s\"}', event_types => '{$P.slow}');
  SELECT event.create_processor('$P-sbus', 'nats', '{\"subject\": \"proc.$P.slow\"}', event_types => '{$P.slow}')" >/dev/null

events() { # events TYPE N: N events of TYPE in one transaction
	sql -c "SELECT count(event.create_event('$1', jsonb_build_object('i', i), 'backend', 'order')) FROM generate_series(1, $2) i" >/dev/null
}
status_of() { # status_of TYPE: "status count" lines
	sql -c "SELECT coalesce(s.status, 'pending') || ' ' || count(*) FROM event.events e LEFT JOIN event.event_status s
	  ON s.event_id = e.event_id WHERE e.event_type = '$1' GROUP BY coalesce(s.status, 'pending') ORDER BY 1" | paste -sd,
}

# 1. Events reach both, exactly as configured.
events "$P.ok" 10
wait_until 30 eval '[ "$(status_of "$P.ok")" = "processed 10" ]'
is "$(status_of "$P.ok")" "processed 10" "the 10 events processed"
is "$(python3 "$REPO_ROOT/test/e2e/lib/verify_webhooks.py" "$T_TMP/hooks.jsonl" "/ok/$P" "$SECRET")" "ok 10" \
	"10 webhooks, signed with the processor's secret (both schemes), the event as body"
is "$(python3 - "$T_TMP/hooks.jsonl" "/ok/$P" "$HOOK_ID" <<'PY'
import json, sys
ids = [json.loads(l) for l in open(sys.argv[1])]
ok = [r for r in ids if r["path"] == sys.argv[2]]
print(all(r["headers"]["x-event-delivery-id"] == sys.argv[3] + ":" + json.loads(r["body"])["event_id"] for r in ok))
PY
)" True "X-Event-Delivery-Id is processor_id:event_id"
JS_CHECK_PAYLOAD=1 "$JS_CHECK" "$NATS_URL" PROC >"$T_TMP/proc.tsv" 2>"$T_TMP/js-check.err"
is "$(awk -F'\t' -v s="proc.$P.ok" '$2 == s' "$T_TMP/proc.tsv" | wc -l)" 10 "10 messages on the nats processor's subject"
is "$(sql -c "SELECT string_agg('$BUS_ID:' || event_id, ' ' ORDER BY event_id) FROM event.events WHERE event_type = '$P.ok'")" \
	"$(awk -F'\t' -v s="proc.$P.ok" '$2 == s { print $3 }' "$T_TMP/proc.tsv" | sort | paste -sd' ')" \
	"their Nats-Msg-Id: processor_id:event_id, one per event"
is "$(sql -c "SELECT count(*) FILTER (WHERE r.status = 'success') || '/' || count(*) FROM event.processing_results r
  JOIN event.events e ON e.event_id = r.event_id WHERE e.event_type = '$P.ok'")" "20/20" "two success results per event"

# 2. A failing endpoint: retried, dead-lettered after max_attempts 2; the retry from the dead letter succeeds.
events "$P.fail" 1
FAIL_EV=$(sql -c "SELECT event_id FROM event.events WHERE event_type = '$P.fail'")
wait_until 30 eval '[ "$(status_of "$P.fail")" = "archived 1" ]'
is "$(status_of "$P.fail") $(received "/failn/2/$P-f")" "archived 1 2" "two failed calls, then archived"
get "/api/v1/events/dead-letters/processing?processor=$P-fail"
is "$STATUS $(jget "[d['event_id'] for d in j] == ['$FAIL_EV'] and j[0]['last_error']")" "200 $P-fail: HTTP 500" \
	"listed as a processing dead letter with the last error"
post /api/v1/events/dead-letters/processing/retry "{\"event_ids\": [\"$FAIL_EV\"]}"
is "$STATUS $(jget "j['retried']")" "200 1" "retry from the dead letter"
wait_until 30 eval '[ "$(status_of "$P.fail")" = "processed 1" ]'
is "$(status_of "$P.fail") $(received "/failn/2/$P-f")" "processed 1 3" "the third call succeeded: processed"
is "$(python3 "$REPO_ROOT/test/e2e/lib/verify_webhooks.py" "$T_TMP/hooks.jsonl" "/failn/2/$P-f" "$FAIL_SECRET")" "ok 3" \
	"every attempt signed"

# 3. kill -9 while calls are in flight: nothing lost.
N=24
events "$P.slow" $N
wait_until 30 received_at_least "/delay/300/$P-s" 3
kill_sidecar a KILL
before=$(received "/delay/300/$P-s")
[ "$before" -lt $N ]; ok $? "killed mid-batch ($before of $N calls made)"
start_sidecar a "${FLAGS[@]}"
API_PORT=${SIDECAR_HTTP[a]}
wait_until 50 eval '[ "$(status_of "$P.slow")" = "processed '$N'" ]'
is "$(status_of "$P.slow")" "processed $N" "after the restart (and the lease) every event processed"
is "$(python3 - "$T_TMP/hooks.jsonl" "/delay/300/$P-s" <<'PY'
import json, sys
seen = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] == sys.argv[2]:
        seen.setdefault(json.loads(r["body"])["event_id"], set()).add(r["headers"]["x-event-delivery-id"])
print(len(seen), all(len(v) == 1 for v in seen.values()))
PY
)" "$N True" "the receiver got every event (a repeat carries the same delivery id)"
"$JS_CHECK" "$NATS_URL" PROC >"$T_TMP/proc2.tsv" 2>"$T_TMP/js-check.err"
is "$(awk -F'\t' -v s="proc.$P.slow" '$2 == s { print $3 }' "$T_TMP/proc2.tsv" | sort | uniq | wc -l) $(awk -F'\t' -v s="proc.$P.slow" '$2 == s' "$T_TMP/proc2.tsv" | wc -l)" \
	"$N $N" "JetStream: one message per event, the repeated publish dropped"
is "$(sql -c "SELECT count(*) FILTER (WHERE r.status = 'success') || '/' || count(DISTINCT (r.event_id, r.processor_id))
  FROM event.processing_results r JOIN event.events e ON e.event_id = r.event_id WHERE e.event_type = '$P.slow'")" \
	"$((2 * N))/$((2 * N))" "one success result per event and processor"
finish
