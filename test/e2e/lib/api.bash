# test/e2e/lib/api.bash — helpers for the HTTP API e2e tests (sourced after lib/sidecar.bash).
#
#   api_start NAME [FLAGS...]  nats-server (if not running) + a sidecar; waits until the API answers
#   new_key NAME [SCOPES] [RATE_LIMIT]   creates an API key in SQL, prints its secret
#   req METHOD PATH [CURL ARGS...]       sets STATUS and BODY (file $T_TMP/body), headers in $T_TMP/headers
#   json_error [CODE]                    status 0 if BODY is the JSON error shape (code CODE if given)
#   jget EXPR                            python3 expression on the parsed BODY `j`, printed

API_PORT=""

api_start() {
	local name=$1; shift
	[ -n "$NATS_PID" ] || start_nats
	start_sidecar "$name" "$@"
	API_PORT=${SIDECAR_HTTP[$name]}
	API_KEY=$(new_key "e2e-$name")
	# Ready when an authenticated read is answered (keys loaded, pool connected).
	wait_until 20 api_ready || bail "sidecar API not ready (see $T_TMP/$name.log)"
}

api_ready() { req GET /api/v1/events/statistics -H "Authorization: Bearer $API_KEY" && [ "$STATUS" = 200 ]; }

new_key() {
	local scopes=${2:-'{read,write,admin}'} rate=${3:-NULL}
	sql -c "SELECT event.create_api_key('$1', '$scopes', $rate)->>'secret'"
}

# wait_key KEY: until the sidecar's key cache (refreshed every --auth-refresh) knows KEY, at most
# 15 s (a freshly created key answers 401 until the next refresh).
wait_key() {
	local i code
	for i in $(seq 150); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $1" \
			"http://127.0.0.1:$API_PORT/api/v1/events/statistics")
		[ "$code" != 401 ] && return 0
		sleep 0.1
	done
	return 1
}

req() {
	local method=$1 path=$2; shift 2
	STATUS=$(curl -s -o "$T_TMP/body" -D "$T_TMP/headers" -w '%{http_code}' --max-time 30 -X "$method" "$@" \
		"http://127.0.0.1:$API_PORT$path")
	BODY=$T_TMP/body
}

# POST JSON with the default key: post PATH JSON [CURL ARGS...]
post() {
	local path=$1 data=$2; shift 2
	req POST "$path" -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' --data-binary "$data" "$@"
}
get() { local path=$1; shift; req GET "$path" -H "Authorization: Bearer $API_KEY" "$@"; }

json_error() {
	python3 - "$BODY" "${1:-}" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1], 'rb'))
    e = j["error"]
    ok = isinstance(e["code"], str) and isinstance(e["message"], str) and isinstance(e["request_id"], str) and e["request_id"]
    if sys.argv[2]:
        ok = ok and e["code"] == sys.argv[2]
    sys.exit(0 if ok else 1)
except Exception:
    sys.exit(1)
PY
}

jget() { python3 -c "import json,sys; j=json.load(open('$BODY','rb')); print($1)"; }

header() { tr -d '\r' <"$T_TMP/headers" | awk -v h="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1) == h { print $2; exit }'; }

# plain_metric NAME: value of the unlabelled sample NAME of the API's /metrics.
plain_metric() { curl -s "http://127.0.0.1:$API_PORT/metrics" | awk -v m="$1" '$1 == m { print $2; exit }'; }

# stored_count FILE: how many of the event ids in FILE (one per line) are in event.events.
stored_count() {
	sql -c "CREATE TEMP TABLE wanted (id uuid)" -c "\\copy wanted FROM '$1'" \
		-c "SELECT count(DISTINCT e.event_id) FROM event.events e JOIN wanted w ON w.id = e.event_id"
}

event_count() { sql -c "SELECT count(*) FROM event.events"; }

# sdk_install: the official analytics SDKs of test/e2e/sdk (versions pinned in its package-lock),
# installed with `npm ci` when node_modules is missing or older than the lock file.
sdk_install() {
	local dir=$REPO_ROOT/test/e2e/sdk
	[ -d "$dir/node_modules" ] && [ "$dir/node_modules" -nt "$dir/package-lock.json" ] && return 0
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >"$T_TMP/npm.log" 2>&1 && touch node_modules) ||
		bail "npm ci in test/e2e/sdk failed (see $T_TMP/npm.log)"
}

# new_write_key NAME: creates a write key of the tracking API in SQL, prints its secret.
new_write_key() { sql -c "SELECT event.create_write_key('$1')->>'secret'"; }

# basic KEY: the Authorization header value the tracking SDKs send for write key KEY.
basic() { printf 'Basic %s' "$(printf '%s:' "$1" | base64 -w0)"; }

# tracking_rows PREFIX: stored events whose metadata.tracking.messageId starts with PREFIX-, one
# JSON object per line (for lib/verify_tracking.py).
tracking_rows() {
	sql -c "SELECT json_build_object('id', event_id, 'type', event_type, 'cat', event_category, 'user', user_id,
		'src', event_source, 'data', data, 'meta', metadata,
		'ts', (extract(epoch FROM \"timestamp\") * 1000)::bigint)
		FROM event.events WHERE metadata->'tracking'->>'messageId' LIKE '$1-%'"
}
