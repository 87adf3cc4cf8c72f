#!/usr/bin/env bash
# api_bad_input.t — a corpus of malformed requests over HTTP (test/e2e/lib/bad_input.py): each
# gets a 4xx with the JSON error shape, none stores anything, the sidecar stays healthy; strings
# that look like SQL injection are stored and read back byte for byte.
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
CORPUS=$(dirname "$0")/lib/bad_input.py
P=bad$RUN_ID
plan $(($(python3 "$CORPUS" 0 x "$P" --count) + 4))

api_start a
n0=$(event_count)
while IFS=$'\t' read -r r name d; do
	ok "$r" "$name"
	[ "$r" = 0 ] || diag "$d"
done < <(python3 "$CORPUS" "$API_PORT" "$API_KEY" "$P")
is "$(sql -c "SELECT count(*) FROM event.events WHERE event_type NOT LIKE '$P.tricky'")" "$n0" \
	"the bad requests stored nothing (only the tricky-string events are new)"
is "$(sql -c "SELECT count(*) FROM event.events WHERE event_type LIKE '$P.tricky'")" 7 "tricky strings stored once each"
req GET /health
is "$STATUS" 200 "sidecar still healthy"
kill -0 "${SIDECAR_PID[a]}"; ok $? "sidecar still running"
finish
