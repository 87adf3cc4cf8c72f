#!/usr/bin/env bash
# collect_tracking.t — the RudderStack webhook (single event and array; X-Signature checked both
# ways: a right signature accepted, a missing, wrong, truncated or other-algorithm one refused with
# nothing stored), the tracking API's wire details (gzip bodies, text/plain and no content type,
# /collect/{stream}, messageId dedup, the 4 MB limit), and the bad-input corpus of
# lib/tracking_bad_input.py on every collection endpoint: 4xx JSON, nothing stored or published.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
CORPUS=$(dirname "$0")/lib/tracking_bad_input.py
P=ct$RUN_ID
SECRET=hook-secret-$RUN_ID
plan $(($(python3 "$CORPUS" 0 k s "$P" --count) + 26))

api_start a --rudderstack-secret "$SECRET"
WK=$(new_write_key "e2e-$P")
AUTH="Authorization: $(basic "$WK")"
wait_until 20 eval 'req POST /v1/identify -H "$AUTH" --data-binary "{\"userId\":\"$P-ready\"}"; [ "$STATUS" = 200 ]'
ok $? "write key loaded"
sign() { python3 -c 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), getattr(hashlib, sys.argv[3])).hexdigest())' "$SECRET" "$1" "${2:-sha256}"; }
hook() { req POST /webhooks/rudderstack -H 'Content-Type: application/json' --data-binary "$@"; }
stored() { sql -c "SELECT count(*) FROM event.events WHERE event_type LIKE '$1'"; }
row() { sql -c "SELECT $2 FROM event.events WHERE event_type = '$1'"; }

# --- RudderStack webhook
one="{\"type\":\"track\",\"event\":\"$P.hook\",\"userId\":\"hu\",\"anonymousId\":\"ha\",\"messageId\":\"$P-h1\",\"properties\":{\"k\":1},\"originalTimestamp\":\"2026-01-02T03:04:05.000Z\",\"sentAt\":\"2026-01-02T03:04:06.000Z\",\"timestamp\":\"2026-01-02T03:04:05.500Z\"}"
hook "$one" -H "X-Signature: sha256=$(sign "$one")"
{ [ "$STATUS" = 202 ] && [ "$(jget 'j["count"]')" = 1 ]; }; ok $? "webhook: a signed event accepted at once (202, $(cat "$BODY"))"
many="[{\"type\":\"page\",\"name\":\"Home\",\"anonymousId\":\"a1\",\"messageId\":\"$P-h2\",\"properties\":{\"path\":\"/\"},\"event\":\"$P.hookpage\"},{\"type\":\"identify\",\"userId\":\"u2\",\"messageId\":\"$P-h3\",\"event\":\"$P.hookid\",\"traits\":{\"plan\":\"pro\"}},{\"type\":\"track\",\"event\":\"$P.hooktrack\",\"userId\":\"u3\",\"messageId\":\"$P-h4\"}]"
hook "$many" -H "X-Signature: sha256=$(sign "$many" | tr a-f A-F)"
{ [ "$STATUS" = 202 ] && [ "$(jget 'j["count"]')" = 3 ]; }; ok $? "webhook: a signed array of 3 accepted (upper-case hex too; $STATUS)"
bad="{\"type\":\"track\",\"event\":\"$P.hookbad\",\"userId\":\"x\"}"
hook "$bad"
{ [ "$STATUS" = 401 ] && json_error unauthorized; }; ok $? "webhook: no X-Signature 401 JSON ($STATUS)"
hook "$bad" -H "X-Signature: sha256=$(sign "$bad$bad")"
{ [ "$STATUS" = 403 ] && json_error forbidden; }; ok $? "webhook: signature of another body 403 JSON ($STATUS)"
s=$(sign "$bad")
hook "$bad" -H "X-Signature: sha256=${s:0:40}"
{ [ "$STATUS" = 403 ] && json_error forbidden; }; ok $? "webhook: truncated signature 403 ($STATUS)"
hook "$bad" -H "X-Signature: sha1=$(sign "$bad" sha1)"
{ [ "$STATUS" = 403 ] && json_error forbidden; }; ok $? "webhook: sha1= (another algorithm) 403 ($STATUS)"
hook "$bad" -H "X-Signature: $s"
{ [ "$STATUS" = 403 ] && json_error forbidden; }; ok $? "webhook: hex without sha256= 403 ($STATUS)"
wait_until 30 eval '[ "$(stored "$P.hook%")" = 4 ]'; ok $? "webhook: the 4 accepted events stored by the ingester"
is "$(row "$P.hook" "event_source || ' ' || event_category || ' ' || user_id || ' ' || (data->>'k') || ' ' || (data->>'anonymousId') || ' ' || (metadata->'tracking'->>'messageId') || ' ' || (metadata->'tracking'->>'originalTimestamp')")" \
	"frontend user_action hu 1 ha $P-h1 2026-01-02T03:04:05.000Z" "webhook: event -> event_type, source frontend, category from type, userId, properties, ids and original timestamp kept"
is "$(row "$P.hook" "to_char(\"timestamp\" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')")" "2026-01-02 03:04:05.500" \
	"webhook: RudderStack's corrected timestamp is the event's time"
is "$(sql -c "SELECT string_agg(event_category || ':' || coalesce(user_id, '-') || ':' || data::text, ' ' ORDER BY event_type) FROM event.events WHERE event_type IN ('$P.hookpage', '$P.hookid', '$P.hooktrack')")" \
	'user_lifecycle:u2:{"plan": "pro"} page_view:a1:{"path": "/", "anonymousId": "a1"} user_action:u3:{}' \
	"webhook array: categories page_view/user_lifecycle/user_action, traits and properties in data"
is "$(stored "$P.hookbad%")" 0 "webhook: nothing stored from refused requests"

# --- Tracking API wire details
python3 -c 'import gzip,json,sys; sys.stdout.buffer.write(gzip.compress(json.dumps({"batch":[{"type":"track","event":sys.argv[1]+".gz","userId":"g%d" % i,"messageId":sys.argv[1]+"-gz%d" % i} for i in range(50)],"sentAt":"2026-01-01T00:00:00Z"}).encode()))' "$P" >"$T_TMP/gz"
req POST /v1/batch -H "$AUTH" -H 'Content-Encoding: gzip' -H 'Content-Type: text/plain' --data-binary @"$T_TMP/gz"
is "$STATUS" 200 "gzip body with Content-Type text/plain accepted"
req POST /v1/page -H "$AUTH" -H 'Content-Type:' --data-binary "{\"userId\":\"p1\",\"name\":\"$P.nocontenttype\",\"messageId\":\"$P-ct\"}"
is "$STATUS" 200 "no Content-Type accepted"
req POST "/collect/orders" -H "$AUTH" --data-binary "{\"type\":\"track\",\"event\":\"$P.collected\",\"anonymousId\":\"c1\"}"
is "$STATUS" 200 "/collect/{stream} accepted"
req POST /collect -H "$AUTH" -H 'Content-Type: application/json' --data-binary "[{\"type\":\"track\",\"event\":\"$P.collected2\",\"userId\":\"c2\"},{\"type\":\"alias\",\"userId\":\"$P-c3\",\"previousId\":\"c2\",\"event\":\"$P.x\"}]"
is "$STATUS" 200 "/collect with an array accepted"
for i in 1 2; do
	req POST /v1/track -H "$AUTH" --data-binary "{\"userId\":\"d\",\"event\":\"$P.dup\",\"messageId\":\"$P-dup\",\"timestamp\":\"2026-01-01T10:00:00Z\",\"properties\":{\"try\":$i}}"
done
is "$STATUS" 200 "the same messageId sent twice: both answered 200"
wait_until 30 eval '[ "$(stored "$P.gz")" = 50 ] && [ "$(stored "$P.collected2")" = 1 ] && [ "$(stored "$P.dup")" -ge 1 ]'
ok $? "gzip batch, /collect and duplicate messages stored"
sleep 1
is "$(stored "$P.dup") $(row "$P.dup" "data->>'try'")" "1 1" "the same messageId stored once (the first)"
is "$(row "$P.collected" "(metadata->'tracking'->>'stream') || ' ' || user_id || ' ' || event_category")" "orders c1 user_action" \
	"/collect/{stream}: stream in metadata.tracking, anonymousId as user_id"
is "$(sql -c "SELECT count(*) FROM event.events WHERE user_id = '$P-c3' AND event_type = 'alias' AND metadata->'tracking'->>'previousId' = 'c2'")" 1 \
	"alias: fixed event_type, previousId kept"
python3 -c 'import gzip,json,sys; sys.stdout.buffer.write(gzip.compress(json.dumps({"batch":[{"type":"track","event":sys.argv[1]+".huge","userId":"h","properties":{"s":"x"*30000}} for i in range(150)]}).encode()))' "$P" >"$T_TMP/huge"
req POST /v1/batch -H "$AUTH" -H 'Content-Encoding: gzip' --data-binary @"$T_TMP/huge"
{ [ "$STATUS" = 413 ] && json_error; }; ok $? "a 4.5 MB batch (gzip-compressed to $(stat -c %s "$T_TMP/huge") bytes) 413 JSON ($STATUS)"

# --- Bad input on every collection endpoint: nothing stored, nothing published.
sleep 1
js_dump "$T_TMP/js0.txt"
n0=$(event_count)
while IFS=$'\t' read -r r name d; do
	ok "$r" "$name"
	[ "$r" = 0 ] || diag "$d"
done < <(python3 "$CORPUS" "$API_PORT" "$WK" "$SECRET" "$P")
sleep 2
is "$(event_count)" "$n0" "the bad requests stored nothing"
js_dump "$T_TMP/js1.txt"
is "$(wc -l <"$T_TMP/js1.txt")" "$(wc -l <"$T_TMP/js0.txt")" "the bad requests published nothing to JetStream"
req GET /health
is "$STATUS" 200 "sidecar still healthy"
finish
