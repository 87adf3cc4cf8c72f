#!/usr/bin/env bash
# collect_sdk.t — the official @segment/analytics-node and @rudderstack/rudder-sdk-node SDKs,
# unmodified (npm, pinned in test/e2e/sdk/package-lock.json), send thousands of mixed
# track/identify/page/screen/group/alias messages (userId only, anonymousId only, both; explicit
# messageIds, past timestamps, client retries) to the tracking API: each message is stored exactly
# once with the mapping of docs/collection.md and is in JetStream exactly once. Write keys:
# missing 401, wrong or revoked 403, nothing stored.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 14

P=cs$RUN_ID
N=1500 # per SDK
sdk_install
api_start a --ingest-batch 500
WK=$(new_write_key "e2e-$P")
wk_id=$(sql -c "SELECT id FROM event.write_keys WHERE name = 'e2e-$P'")
ready() {
	req POST /v1/track -H "Authorization: $(basic "$WK")" --data-binary "{\"userId\":\"u\",\"event\":\"$P.ready\"}"
	[ "$STATUS" = 200 ]
}
wait_until 20 ready; ok $? "write key accepted once loaded ($STATUS)"
is "$(cat "$BODY")" '{"success":true}' "Segment's success body"

node "$REPO_ROOT/test/e2e/sdk/drive.js" "$API_PORT" "$WK" "$P" "$N" "$T_TMP/expected.jsonl" 2>"$T_TMP/drive.err"
ok $? "both SDKs delivered every message without an error"
[ -s "$T_TMP/drive.err" ] && diag "$(head -5 "$T_TMP/drive.err")"
is "$(wc -l <"$T_TMP/expected.jsonl")" $((2 * N)) "$((2 * N)) distinct messages sent (plus retries)"

mine() { sql -c "SELECT count(*) FROM event.events WHERE metadata->'tracking'->>'messageId' LIKE '$P-%'"; }
wait_until 90 eval '[ "$(mine)" -ge $((2 * N)) ]'; ok $? "all stored by the ingester ($(mine))"
sleep 1
tracking_rows "$P" >"$T_TMP/rows.jsonl"
out=$(python3 "$REPO_ROOT/test/e2e/lib/verify_tracking.py" "$T_TMP/expected.jsonl" "$T_TMP/rows.jsonl")
ok $? "each message stored exactly once with the right fields"
diag "$out"
is "$(sql -c "SELECT count(*) FROM event.events WHERE metadata->'tracking'->>'messageId' LIKE '$P-%'
	AND metadata->>'write_key_id' <> '$wk_id'")" 0 "the write key's id in metadata"

# JetStream: each stored event once on events.frontend.<category of the type>.<event_type> under its event_id.
sql -c "SELECT event_id FROM event.events WHERE metadata->'tracking'->>'messageId' LIKE '$P-%' ORDER BY 1" >"$T_TMP/ids"
js_dump "$T_TMP/js.txt"
awk -F'\t' 'NR == FNR { want[$1] = 1; next } ($3 in want) { print $3 "\t" $2 }' "$T_TMP/ids" "$T_TMP/js.txt" | sort >"$T_TMP/js_ids"
is "$(wc -l <"$T_TMP/js_ids") $(cut -f1 "$T_TMP/js_ids" | sort -u | wc -l)" "$((2 * N)) $((2 * N))" \
	"JetStream holds each message exactly once"
is "$(awk -F'\t' '$2 !~ /^events\.frontend\.(user_action|page_view|user_lifecycle)\./' "$T_TMP/js_ids" | wc -l)" 0 \
	"published on events.frontend.<category of the type>.<event_type>"

# Write keys: missing 401, wrong 403, revoked 403; nothing stored from them.
refused() { sql -c "SELECT count(*) FROM event.events WHERE event_type LIKE '$P.refused%'"; }
req POST /v1/track --data-binary "{\"userId\":\"u\",\"event\":\"$P.refused1\"}"
{ [ "$STATUS" = 401 ] && json_error unauthorized; }; ok $? "no write key: 401 JSON ($STATUS)"
req POST /v1/batch -H "Authorization: $(basic "ewk_${WK:4:8}0000000000000000000000000000000000000000000000000000000")" \
	--data-binary "{\"batch\":[{\"type\":\"track\",\"userId\":\"u\",\"event\":\"$P.refused2\"}]}"
{ [ "$STATUS" = 403 ] && json_error forbidden; }; ok $? "wrong write key (known prefix): 403 JSON ($STATUS)"
req POST /v1/track -H "Authorization: Bearer $API_KEY" --data-binary "{\"userId\":\"u\",\"event\":\"$P.refused3\"}"
[ "$STATUS" = 401 ] && json_error unauthorized; ok $? "an API key as Bearer is no write key: 401 ($STATUS)"
sql -c "SELECT event.revoke_write_key('$WK')" >/dev/null
wait_until 10 eval 'req POST /v1/track -H "Authorization: $(basic "$WK")" --data-binary "{\"userId\":\"u\",\"event\":\"$P.probe\"}"; [ "$STATUS" = 403 ]'
req POST /v1/track -H "Authorization: $(basic "$WK")" --data-binary "{\"userId\":\"u\",\"event\":\"$P.refused4\"}"
{ [ "$STATUS" = 403 ] && json_error forbidden; }; ok $? "revoked write key: 403 JSON within the refresh ($STATUS)"
sleep 2
is "$(refused)" 0 "nothing stored from refused requests"
finish
