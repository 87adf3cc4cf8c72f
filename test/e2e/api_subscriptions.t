#!/usr/bin/env bash
# api_subscriptions.t — webhook subscriptions over HTTP (spec 3.4, endpoints 10-12) against real
# PostgreSQL: create (201, secret shown once, event.subscription.created stored), list (secrets
# masked), delete (200, then 404), scopes (read lists, admin creates and deletes), bad input
# (400 JSON naming the field or the invalid value), malformed and unknown ids.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 32

api_start a
P=sub$RUN_ID
S=/api/v1/events/subscriptions
READ=$(new_key "$P-read" '{read}')
WRITE=$(new_key "$P-write" '{read,write}')
wait_key "$READ" && wait_key "$WRITE" || bail "the new keys never reached the sidecar's key cache"

# ---- create
post $S "{\"subscriber_name\":\"$P-billing\",\"callback_url\":\"http://127.0.0.1:9/hook\",\"event_types\":[\"order.*\",\"payment.captured\"],\"event_sources\":[\"backend\"],\"event_categories\":[\"order\"],\"retry_policy\":{\"max_attempts\":3,\"backoff_base_ms\":100,\"backoff_max_ms\":2000}}"
is "$STATUS" 201 "create: 201"
ID=$(jget "j['subscription_id']")
SECRET=$(jget "j['webhook_secret']")
[[ $SECRET =~ ^whsec_[A-Za-z0-9+/]{43}=$ ]]; ok $? "create: a generated whsec_ secret, shown once"
is "$(jget "(j['subscriber_name'], j['subscriber_type'], j['event_types'], j['event_sources'], j['event_categories'])")" \
	"('$P-billing', 'webhook', ['order.*', 'payment.captured'], ['backend'], ['order'])" "create: fields echoed"
is "$(jget "j['retry_policy'] == {'max_attempts': 3, 'backoff_base_ms': 100, 'backoff_max_ms': 2000}")" True "create: retry_policy"
is "$(sql -c "SELECT count(*) FROM event.events WHERE event_type = 'event.subscription.created' AND event_source = 'system' AND data->>'subscription_id' = '$ID'")" 1 \
	"create: event.subscription.created stored"
post $S "{\"subscriber_name\":\"$P-defaults\",\"callback_url\":\"https://example.com/x\",\"webhook_secret\":\"0123456789abcdef\"}"
is "$STATUS" 201 "create with defaults: 201"
is "$(jget "(j['event_types'], j['retry_policy']['max_attempts'], j['webhook_secret'])")" "([], 5, '0123456789abcdef')" \
	"create: empty filters, default retry policy, the given secret"
ID2=$(jget "j['subscription_id']")

# ---- list
get $S -H "Authorization: Bearer $READ"
is "$STATUS" 200 "list with a read key: 200"
is "$(jget "sorted(s['subscriber_name'] for s in j if s['subscriber_name'].startswith('$P-'))")" "['$P-billing', '$P-defaults']" \
	"list: both subscriptions"
is "$(jget "[s['webhook_secret'] for s in j if s['subscription_id'] == '$ID'] == ['${SECRET:0:8}...']")" True "list: secret masked"
! grep -qF -- "${SECRET:8}" "$BODY"; ok $? "list: the secret is nowhere in the body"

# ---- auth
req GET $S
is "$STATUS" 401 "list without a key: 401"
json_error; ok $? "401: JSON error"
req POST $S -H "Authorization: Bearer $READ" -H 'Content-Type: application/json' --data-binary '{"subscriber_name":"x","callback_url":"http://h/"}'
is "$STATUS" 403 "create with a read key: 403"
req POST $S -H "Authorization: Bearer $WRITE" -H 'Content-Type: application/json' --data-binary '{"subscriber_name":"x","callback_url":"http://h/"}'
is "$STATUS" 403 "create with a write key: 403 (admin scope)"
req DELETE $S/$ID -H "Authorization: Bearer $WRITE"
is "$STATUS" 403 "delete with a write key: 403"

# ---- bad input
n0=$(sql -c "SELECT count(*) FROM event.event_subscriptions")
bad() { # bad BODY EXPECTED-MESSAGE-PART NAME
	post $S "$1"
	if [ "$STATUS" = 400 ] && json_error && grep -q -- "$2" "$BODY"; then ok 0 "$3"; else ok 1 "$3 (got $STATUS $(cat "$BODY"))"; fi
}
bad '{"subscriber_name":"x","callback_url":"ftp://h/"}' 'invalid callback_url' "callback_url ftp: 400"
bad '{"subscriber_name":"x","callback_url":"http://h/","event_types":"order.*"}' 'event_types must be an array of strings' "event_types a string: 400"
bad '{"subscriber_name":"x","callback_url":"http://h/","event_types":[1]}' 'event_types must be an array of strings' "event_types [1]: 400"
bad '{"subscriber_name":"x","callback_url":"http://h/","event_sources":["mars"]}' 'invalid event_source' "unknown source: 400"
bad '{"subscriber_name":"x","callback_url":"http://h/","subscriber_type":"pigeon"}' 'Allowed values: webhook, service' "unknown subscriber_type: 400 with the allowed values"
bad '{"subscriber_name":"x","callback_url":"http://h/","retry_policy":{"max_attempts":0}}' 'invalid max_attempts' "max_attempts 0: 400"
bad '{"subscriber_name":"x","callback_url":"http://h/","retry_policy":{"max_attempts":"3"}}' 'retry_policy.max_attempts must be a number' "max_attempts a string: 400"
bad '{"subscriber_name":"x","callback_url":"http://h/","retry_policy":{"tries":3}}' 'unknown field in retry_policy' "unknown retry_policy field: 400"
bad '{"subscriber_name":"x","callback_url":"http://h/","colour":"red"}' 'unknown field \\"colour\\"' "unknown field: 400"
bad '{"callback_url":"http://h/"}' 'subscriber_name must not be null' "no subscriber_name: 400"
bad '[1]' 'JSON object' "an array body: 400"
is "$(sql -c "SELECT count(*) FROM event.event_subscriptions")" "$n0" "bad input created nothing"

# ---- delete
req DELETE $S/not-a-uuid -H "Authorization: Bearer $API_KEY"
is "$STATUS" 400 "delete a malformed id: 400"
req DELETE $S/$ID -H "Authorization: Bearer $API_KEY"
is "$(jget "(j['deleted'], j['subscription']['subscription_id'])")" "(True, '$ID')" "delete: 200 with the subscription"
req DELETE $S/$ID -H "Authorization: Bearer $API_KEY"
is "$STATUS" 404 "delete again: 404"
json_error; ok $? "404: JSON error"
req DELETE $S/$ID2 -H "Authorization: Bearer $API_KEY"

finish
