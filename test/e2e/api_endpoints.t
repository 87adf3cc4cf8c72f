#!/usr/bin/env bash
# api_endpoints.t — the management API (spec 5.1, endpoints 2-7) over HTTP against real
# PostgreSQL: every endpoint and status, request/response models, idempotency, expected
# versions (409), traceparent, and API-key auth on each endpoint (none, wrong, revoked, a prefix
# of a valid key, wrong scope), revocation within seconds, per-key rate limits.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
plan 77

api_start a --auth-refresh 500ms
P=ep$RUN_ID
V=/api/v1/events

# ---- create
post $V/create "{\"event_type\":\"$P.created\",\"event_source\":\"backend\",\"event_category\":\"user_lifecycle\",\"user_id\":\"u1\",\"data\":{\"plan\":\"premium\"},\"metadata\":{\"m\":1},\"context\":{\"c\":2}}"
is "$STATUS" 201 "create: 201"
is "$(jget "sorted(k for k in ['event_id','event_type','event_source','event_category','user_id','data','status','timestamp','created_at'] if k in j) == sorted(['event_id','event_type','event_source','event_category','user_id','data','status','timestamp','created_at'])")" True "create: EventResponse fields"
is "$(jget "(j['event_type'], j['event_source'], j['event_category'], j['user_id'], j['data']['plan'], j['status'])")" "('$P.created', 'backend', 'user_lifecycle', 'u1', 'premium', 'pending')" "create: values echoed, status pending"
ID1=$(jget "j['event_id']")
is "$(sql -c "SELECT count(*) FROM event.events WHERE event_id = '$ID1'")" 1 "create: committed when answered"

post $V/create "{\"event_type\":\"$P.idem\",\"idempotency_key\":\"$P-k1\"}"
is "$STATUS" 201 "create with idempotency_key: 201"
IDEM=$(jget "j['event_id']")
post $V/create "{\"event_type\":\"$P.idem\",\"idempotency_key\":\"$P-k1\"}"
is "$STATUS" 200 "same idempotency_key again: 200"
is "$(jget "j['event_id']")" "$IDEM" "same idempotency_key: the original event"
is "$(sql -c "SELECT count(*) FROM event.events WHERE idempotency_key = '$P-k1'")" 1 "same idempotency_key: stored once"

post $V/create "{\"event_type\":\"$P.opened\",\"stream_id\":\"acct$P:1\",\"expected_version\":0}"
is "$STATUS" 201 "create with stream_id, expected_version 0: 201"
is "$(jget "j['stream_version']")" 1 "stream_version 1"
post $V/create "{\"event_type\":\"$P.opened\",\"stream_id\":\"acct$P:1\",\"expected_version\":0}"
is "$STATUS" 409 "stale expected_version: 409"
json_error conflict; ok $? "409: JSON error, code conflict"
is "$(jget "'actual=1' in j['error']['detail'] and j['error']['sqlstate']")" EV001 "409: current version in the detail, sqlstate EV001"
post $V/create "{\"event_type\":\"$P.moved\",\"entity_type\":\"acct$P\",\"entity_id\":\"1\",\"expected_version\":1}"
is "$STATUS" 201 "entity_type + entity_id, expected_version 1: 201"
is "$(jget "(j['stream_id'], j['stream_version'])")" "('acct$P:1', 2)" "entity_type + entity_id: stream acct:1 version 2"

TP=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
post $V/create "{\"event_type\":\"$P.traced\",\"metadata\":{\"a\":\"b\"}}" -H "traceparent: $TP"
is "$STATUS" 201 "create with traceparent: 201"
is "$(sql -c "SELECT metadata->>'traceparent' || ' ' || (metadata->>'a') FROM event.events WHERE event_id = '$(jget "j['event_id']")'")" "$TP b" "traceparent stored in metadata beside the client's keys"
post $V/create "{\"event_type\":\"$P.traced\"}" -H "traceparent: $TP"
is "$(jget "j['metadata']")" "{'traceparent': '$TP'}" "traceparent without metadata: metadata created"
n0=$(event_count)
post $V/create "{\"event_type\":\"$P.traced\"}" -H "traceparent: 00-00000000000000000000000000000000-b7ad6b7169203331-01"
is "$STATUS" 400 "invalid traceparent (zero trace id): 400"
post $V/create "{\"event_type\":\"$P.bad\",\"event_source\":\"nowhere\"}"
is "$STATUS" 400 "unknown event_source: 400"
is "$(jget "j['error']['sqlstate'] + ' ' + str('backend' in j['error']['hint'])")" "22023 True" "22023 with the allowed values in the hint"
is "$(event_count)" "$n0" "rejected creates stored nothing"

# ---- batch
post $V/batch "[{\"event_type\":\"$P.b1\"},{\"event_type\":\"$P.b2\"}]"
is "$STATUS" 201 "batch (atomic): 201"
is "$(jget "[e['event_type'] for e in j]")" "['$P.b1', '$P.b2']" "batch: EventResponses in request order"
n0=$(event_count)
post $V/batch "[{\"event_type\":\"$P.b3\"},{\"event_type\":\"\"}]"
is "$STATUS" 400 "atomic batch with a bad item: 400"
is "$(event_count)" "$n0" "atomic batch with a bad item: nothing stored"
post $V/batch "[{\"event_type\":\"$P.b4\"},{\"event_type\":\"$P.b5\",\"event_source\":\"nope\"}]"
is "$STATUS:$(jget "j['error']['detail']")" "400:Batch item 1." "atomic batch, unknown source in item 1: the detail names it"
post "$V/batch?atomic=false" "[{\"event_type\":\"$P.c1\"},{\"event_type\":\"\"},{\"event_type\":\"$P.c3\"},{\"event_type\":\"$P.idem\",\"idempotency_key\":\"$P-k1\"}]"
is "$STATUS" 200 "batch ?atomic=false: 200"
is "$(jget "[(r['index'], r['status']) for r in j]")" "[(0, 'created'), (1, 'error'), (2, 'created'), (3, 'duplicate')]" "per-item results in request order"
is "$(jget "j[1]['error']['code']")" 22023 "per-item error carries its SQLSTATE"
is "$(event_count)" "$((n0 + 2))" "non-atomic batch stored the good items only"
post "$V/batch?atomic=False" "[{\"event_type\":\"$P.c4\"},{\"event_type\":\"\"}]"
is "$STATUS:$(jget "[r['status'] for r in j]")" "200:['created', 'error']" "batch ?atomic=False (any letter case): per-item results"
post "$V/batch?atomic=maybe" "[{\"event_type\":\"$P.c1\"}]"
is "$STATUS" 400 "atomic=maybe: 400"
post $V/batch "{\"event_type\":\"$P.c1\"}"
is "$STATUS:$(jget "j['error']['message'].startswith('unknown field \"event_type\"')")" "400:True" "batch body that is an event, not an array: 400"
post $V/batch "{\"events\": [{\"event_type\":\"$P.w1\"},{\"event_type\":\"$P.w2\",\"data\":{\"events\":[1]}}]}"
is "$STATUS:$(jget "[e['event_type'] for e in j]")" "201:['$P.w1', '$P.w2']" "batch as {\"events\": [...]}: 201, EventResponses in order"
post "$V/batch?atomic=false" "{\"events\": [{\"event_type\":\"$P.w3\"},{\"event_type\":\"\"}]}"
is "$STATUS:$(jget "[r['status'] for r in j]")" "200:['created', 'error']" "batch as {\"events\": [...]}, ?atomic=false: per-item results"
post $V/batch "{\"events\": {\"event_type\":\"$P.w4\"}}"
is "$STATUS:$(jget "j['error']['message']")" "400:events must be a JSON array" "batch {\"events\": object}: 400"

# ---- get by id
get "$V/$ID1"
is "$STATUS" 200 "get by id: 200"
is "$(jget "(j['event_id'], j['data'])")" "('$ID1', {'plan': 'premium'})" "get by id: the event"
get "$V/01a2338c-4007-7285-ae10-000000000000"
is "$STATUS" 404 "unknown id: 404"
json_error not_found; ok $? "404: JSON error"
get "$V/not-a-uuid"
is "$STATUS" 400 "malformed id: 400"
json_error; ok $? "400: JSON error"

# ---- query
post $V/query "{\"event_type\":\"$P.b1\"}"
is "$STATUS" 200 "query: 200"
is "$(jget "([e['event_type'] for e in j['events']], j['total'], j['has_more'])")" "(['$P.b1'], 1, False)" "query: filtered events, total, has_more"
post $V/query "{\"event_type\":\"$P.c1\",\"limit\":1}"
post $V/query "{\"user_id\":\"u1\",\"event_source\":\"backend\",\"limit\":1,\"offset\":0}"
is "$(jget "(len(j['events']), j['limit'])")" "(1, 1)" "query: limit honoured"
for l in 0 1001 -1; do
	post $V/query "{\"limit\":$l}"
	is "$STATUS" 400 "query limit $l: 400"
done
post $V/query "{\"offset\":-1}"
is "$STATUS" 400 "query offset -1: 400"
post $V/query "{\"start_time\":\"yesterday-ish\"}"
is "$STATUS" 400 "query with an invalid timestamp: 400"
post $V/query "{\"status\":\"sleeping\"}"
is "$STATUS" 400 "query with an invalid status: 400"

# ---- statistics
get $V/statistics
is "$STATUS" 200 "statistics: 200"
is "$(jget "all(k in j for k in ['total_events','pending_events','processed_events','failed_events','events_by_source','events_by_category','events_by_type','events_today','events_this_week','events_this_month','average_processing_time','processing_rate','error_rate']) and j['total_events'] >= 9")" True "statistics: EventStatistics fields"

# ---- stream
get "$V/stream/acct$P:1"
is "$STATUS" 200 "stream: 200"
is "$(jget "(j['stream_id'], j['version'], [e['stream_version'] for e in j['events']])")" "('acct$P:1', 2, [1, 2])" "stream: metadata, version, events"
get "$V/stream/acct$P:1?from_version=2"
is "$(jget "[e['stream_version'] for e in j['events']]")" "[2]" "stream ?from_version=2"
get "$V/stream/acct$P:404"
is "$STATUS" 404 "unknown stream: 404"
get "$V/stream/acct$P:1?from_version=abc"
is "$STATUS" 400 "from_version=abc: 400"

# ---- auth on every endpoint
R=$(new_key "$P-read" '{read}')
W=$(new_key "$P-write" '{write}')
X=$(new_key "$P-revoked")
sql -c "SELECT event.revoke_api_key('${X:0:12}')" >/dev/null
sleep 1.5 # > --auth-refresh
WRONG="evk_$(printf '%064d' 0)"
n0=$(event_count)
check_auth() { # METHOD PATH SCOPE_KEY_THAT_FAILS [BODY]
	local m=$1 path=$2 other=$3 body=${4:-}
	local args=(); [ -n "$body" ] && args=(-H 'Content-Type: application/json' --data-binary "$body")
	req "$m" "$path" "${args[@]}"; local s1=$STATUS; json_error unauthorized; local j1=$?
	req "$m" "$path" -H "Authorization: Bearer $WRONG" "${args[@]}"; local s2=$STATUS
	req "$m" "$path" -H "Authorization: Bearer $X" "${args[@]}"; local s3=$STATUS
	req "$m" "$path" -H "Authorization: Bearer ${API_KEY:0:40}" "${args[@]}"; local s4=$STATUS
	req "$m" "$path" -H "Authorization: Basic $API_KEY" "${args[@]}"; local s5=$STATUS
	req "$m" "$path" -H "Authorization: Bearer $other" "${args[@]}"; local s6=$STATUS; json_error forbidden; local j6=$?
	is "$s1 $j1 $s2 $s3 $s4 $s5 $s6 $j6" "401 0 401 401 401 401 403 0" "$m $path: none/wrong/revoked/prefix/not-bearer 401, wrong scope 403"
}
check_auth POST $V/create "$R" "{\"event_type\":\"$P.auth\"}"
check_auth POST $V/batch "$R" "[{\"event_type\":\"$P.auth\"}]"
check_auth GET "$V/$ID1" "$W"
check_auth POST $V/query "$W" '{}'
check_auth GET $V/statistics "$W"
check_auth GET "$V/stream/acct$P:1" "$W"
is "$(event_count)" "$n0" "refused requests stored nothing"
req POST $V/create -H "Authorization: Bearer $W" -H 'Content-Type: application/json' --data-binary "{\"event_type\":\"$P.w\"}"
is "$STATUS" 201 "write-only key creates"
req GET $V/statistics -H "Authorization: Bearer $R"
is "$STATUS" 200 "read-only key reads"

# Revocation takes effect within seconds, without a restart.
Y=$(new_key "$P-soon-revoked")
wait_until 5 eval 'req GET $V/statistics -H "Authorization: Bearer $Y" && [ "$STATUS" = 200 ]'; ok $? "a new key works within seconds"
sql -c "SELECT event.revoke_api_key('${Y:0:12}')" >/dev/null
t0=$(date +%s%N)
wait_until 5 eval 'req GET $V/statistics -H "Authorization: Bearer $Y" && [ "$STATUS" = 401 ]'; ok $? "revoked key refused within seconds"
diag "revocation effective after $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# Per-key rate limit (token bucket, 2/s): a burst of 10 gets 429 with Retry-After.
L=$(new_key "$P-limited" '{read}' 2)
wait_until 5 eval 'req GET $V/statistics -H "Authorization: Bearer $L" && [ "$STATUS" = 200 ]'
codes="" retry="" shape=1
for i in $(seq 10); do
	req GET $V/statistics -H "Authorization: Bearer $L"; codes+="$STATUS "
	if [ "$STATUS" = 429 ] && [ -z "$retry" ]; then retry=$(header Retry-After); json_error rate_limited; shape=$?; fi
done
case "$codes" in *429*) ok 0 "rate limit: 429 in a burst ($codes)";; *) ok 1 "rate limit: 429 in a burst ($codes)";; esac
is "$retry" 1 "429 carries Retry-After"
ok $shape "429: JSON error"
sleep 1.2
req GET $V/statistics -H "Authorization: Bearer $L"
is "$STATUS" 200 "rate limit: allowed again after a second"

# ---- metrics and health
req GET /metrics
grep -q '^event_api_events_created_total{route="/api/v1/events/create"} [1-9]' "$BODY"; ok $? "metrics: events created"
grep -q '^event_api_pg_available 1' "$BODY"; ok $? "metrics: pool available"
req GET /health
is "$STATUS" 200 "health: 200"
finish
