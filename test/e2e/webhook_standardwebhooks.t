#!/usr/bin/env bash
# webhook_standardwebhooks.t — the sidecar's webhooks verified by off-the-shelf code: the
# `standardwebhooks` npm package (pinned in test/e2e/webhook-verify/package.json and
# package-lock.json, installed here with npm ci) for webhook-id/-timestamp/-signature, node's
# crypto for X-Event-Signature. Before, during and after a secret rotation: one secret, both
# secrets (each verifies on its own), only the new one (the old one no longer verifies); a
# non-whsec_ secret used as raw bytes. Rotations and a graceful restart redeliver nothing, even a
# rotation while a request is in flight (the worker waits for the answer before it restarts).
. "$(dirname "$0")/lib/sidecar.bash"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/webhooks.bash"
plan 11

VERIFY_DIR=$REPO_ROOT/test/e2e/webhook-verify
command -v npm >/dev/null || bail "npm not installed (DEB_PACKAGES has nodejs and npm: run make deps)"
# npm ci only when node_modules is missing or older than the lock file.
if [ ! -f "$VERIFY_DIR/node_modules/.package-lock.json" ] ||
	[ "$VERIFY_DIR/package-lock.json" -nt "$VERIFY_DIR/node_modules/.package-lock.json" ]; then
	(cd "$VERIFY_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$T_TMP/npm.log" 2>&1 ||
		bail "npm ci failed in $VERIFY_DIR: $(tail -n 5 "$T_TMP/npm.log")"
fi
is "$(cd "$VERIFY_DIR" && node -p 'require("standardwebhooks/package.json").version')" 1.1.1 "standardwebhooks 1.1.1 installed by npm ci"

start_receiver
api_start a
wait_until 20 is_leader a; ok $? "sidecar streams from slot $SLOT"

P=sw$RUN_ID
A=whsec_$(head -c 32 /dev/urandom | base64 -w0)
B=whsec_$(head -c 24 /dev/urandom | base64 -w0)
C=whsec_$(head -c 32 /dev/urandom | base64 -w0)
RAW=raw-secret-$RUN_ID-0123456789
ID=$(sql -c "SELECT event.create_subscription('$P', 'http://127.0.0.1:$RPORT/ok/$P', event_types => '{$P.t}',
        webhook_secret => '$A')->>'subscription_id'")
RAW_ID=$(sql -c "SELECT event.create_subscription('$P-raw', 'http://127.0.0.1:$RPORT/ok/$P-raw', event_types => '{$P.t}',
        webhook_secret => '$RAW')->>'subscription_id'")
event() { sql -c "SELECT event.create_event('$P.t', '{\"n\": $1}', 'backend', 'order', stream_id => 'sw$P:1')" >/dev/null; }
received() { grep -c "\"path\": \"/ok/$P\"" "$T_TMP/hooks.jsonl"; }
received_at_least() { [ "$(received)" -ge "$1" ]; }
verify() { (cd "$VERIFY_DIR" && node verify.js "$T_TMP/hooks.jsonl" "$@"); }

event 1
wait_until 20 received_at_least 1; ok $? "event 1 delivered (secret A)"
sql -c "SELECT event.rotate_subscription_secret('$ID', '$B')" >/dev/null
sleep 1 # the worker restarts with both secrets on the NOTIFY
event 2
event 3
wait_until 20 received_at_least 3; ok $? "events 2 and 3 delivered during the rotation (A and B)"
sql -c "SELECT event.rotate_subscription_secret('$ID', '$C', drop_previous => true)" >/dev/null
sleep 1
event 4
wait_until 20 received_at_least 4; ok $? "event 4 delivered after the rotation (C only)"

is "$(verify "/ok/$P" "$A" "$B" "$C" | tr '\n' '|')" \
	"1 sw:ok ev:ok sw:bad ev:bad sw:bad ev:bad|2 sw:ok ev:ok sw:ok ev:ok sw:bad ev:bad|3 sw:ok ev:ok sw:ok ev:ok sw:bad ev:bad|4 sw:bad ev:bad sw:bad ev:bad sw:ok ev:ok|" \
	"standardwebhooks and X-Event-Signature: A before, A and B each during, only C after the rotation"
raw_received() { [ "$(grep -c "\"path\": \"/ok/$P-raw\"" "$T_TMP/hooks.jsonl")" -ge 4 ]; }
wait_until 20 raw_received; ok $? "the raw-secret subscription got the 4 events"
is "$(verify "/ok/$P-raw" "raw:$RAW" "$A" | sort -u | tr '\n' '|')" \
	"1 sw:ok ev:ok sw:bad ev:bad|2 sw:ok ev:ok sw:bad ev:bad|3 sw:ok ev:ok sw:bad ev:bad|4 sw:ok ev:ok sw:bad ev:bad|" \
	"a non-whsec_ secret verifies as raw bytes (format: raw) in both schemes"

# A graceful restart (and the worker restarts of the rotations above) keep the consumer's ack floor.
kill_sidecar a TERM
start_sidecar a
event 5
wait_until 30 received_at_least 5; ok $? "event 5 delivered after a SIGTERM restart"
sleep 1
is "$(verify "/ok/$P" "$C" | cut -d' ' -f1 | tr '\n' ' ')" "1 2 3 4 5 " "each event once: nothing redelivered after the rotations or the restart"

# A rotation while a request is in flight (the receiver answers 1 s after it took the
# request): the old worker gets its answer and acknowledges, so the next worker does not post
# the event again (before, the request was aborted, the message given back and delivered twice).
SLOW_ID=$(sql -c "SELECT event.create_subscription('$P-slow', 'http://127.0.0.1:$RPORT/delay/1000/$P-slow',
        event_types => '{$P.slow}', webhook_secret => '$A')->>'subscription_id'")
slow_received() { grep -c "\"path\": \"/delay/1000/$P-slow\"" "$T_TMP/hooks.jsonl"; }
slow_arrived() { [ "$(slow_received)" -ge 1 ]; }
sql -c "SELECT event.create_event('$P.slow', '{}', 'backend', 'order')" >/dev/null
wait_until 20 slow_arrived
sql -c "SELECT event.rotate_subscription_secret('$SLOW_ID', '$B')" >/dev/null
sleep 3
is "$(slow_received)" 1 "a rotation while a request is in flight: the event is delivered once"

for id in $ID $RAW_ID $SLOW_ID; do sql -c "SELECT event.delete_subscription('$id')" >/dev/null; done
finish
