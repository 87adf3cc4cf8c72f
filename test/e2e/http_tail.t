#!/usr/bin/env bash
# http_tail.t — the live tail GET /api/v1/events/tail (sidecar/tail/): events committed in
# PostgreSQL reach JetStream through event-sidecar's relay and a tail reads them as SSE or
# WebSocket, filtered, resumable from a tail_position, live. Until API keys exist on this branch,
# the tail is read through sidecar/http-test-server, which mounts the same tail module behind a
# test authenticator ("Bearer good"); on event-sidecar itself (no authenticator configured yet)
# the route must refuse, never stream.
. "$(dirname "$0")/lib/sidecar.bash"
PROBE="python3 $(dirname "$0")/lib/http_probe.py"
TEST_SERVER=${HTTP_TEST_SERVER:-$REPO_ROOT/sidecar/http-test-server}
[ -x "$TEST_SERVER" ] || bail "$TEST_SERVER not built (make -C sidecar)"
plan 15

start_nats
start_sidecar s
wait_until 20 is_leader s || bail "sidecar not leader: $(tail -n 3 "$T_TMP/s.log")"
tport=$("$FREE_PORT")
"$TEST_SERVER" --addr "127.0.0.1:$tport" --nats-url "$NATS_URL" >>"$T_TMP/tail-server.log" 2>&1 &
BG_PIDS+=($!)
wait_until 10 port_open "$tport" || bail "http-test-server did not start"
tail_read() { $PROBE "$tport" tail_read "$@" 2>"$T_TMP/probe.err"; }
# tail_bg NAME DEADLINE_S PATH COUNT EXTRA_WAIT: a tail_read in the background (output in
# $T_TMP/NAME.out, errors in $T_TMP/NAME.err, pid in $reader), given a second to subscribe.
tail_bg() {
	TAIL_READ_DEADLINE=$2 $PROBE "$tport" tail_read "$3" "$4" "$5" >"$T_TMP/$1.out" 2>"$T_TMP/$1.err" &
	reader=$!
	sleep 1
}
# emit_seen TYPE STREAM: one event committed, and waited for in JetStream.
emit_seen() {
	sql -c "SELECT event.create_event(event_type => '$1', data => '{}', stream_id => '$2')" >/dev/null
	wait_until 20 js_has_at_least "$2" 1 || diag "$1 not in JetStream"
}
# closed_types NAME: the event types a background tail read, its close reason shortened.
closed_types() { cut -f2 "$T_TMP/$1.out" | tr '\n' '|' | sed 's/stream EVENTS was .*|$/stream EVENTS was ...|/'; }

P=tail$RUN_ID
sql -c "SELECT event.create_event(event_type => 'order.created', data => '{\"n\":1}', event_source => 'backend',
			event_category => 'order', stream_id => '$P:1');
		SELECT event.create_event(event_type => 'payment.done', data => '{\"n\":2}', event_source => 'backend',
			event_category => 'payment', stream_id => '$P:2');
		SELECT event.create_event(event_type => 'order.shipped', data => '{\"n\":3}', event_source => 'backend',
			event_category => 'order', stream_id => '$P:1');
		SELECT event.create_event(event_type => 'order.created', data => '{\"n\":4}', event_source => 'frontend',
			event_category => 'order', stream_id => '$P:3');" >/dev/null
wait_until 20 js_has_at_least "$P:" 4; ok $? "four events in JetStream"

out=$(tail_read "/api/v1/events/tail?from_position=0&event_type=order." 3 1)
is "$(printf '%s\n' "$out" | cut -f2,3 | tr '\t\n' ' |')" "order.created $P:1|order.shipped $P:1|order.created $P:3|" \
	"SSE tail from the start, event_type prefix order.: exactly the three order events in commit order"
[ -s "$T_TMP/probe.err" ] && diag "$(cat "$T_TMP/probe.err")"
second=$(printf '%s\n' "$out" | sed -n 2p | cut -f1)
out2=$(tail_read "/api/v1/events/tail?from_position=$second&event_type=order." 1 1)
is "$(printf '%s\n' "$out2" | cut -f2,3 | tr '\t\n' ' |')" "order.created $P:3|" \
	"resumed after the second event's tail_position: only the third"
out3=$(tail_read "/api/v1/events/tail?from_position=0&source=backend&category=order&stream_id=$P:1" 2 1 ws)
is "$(printf '%s\n' "$out3" | cut -f2,3 | tr '\t\n' ' |')" "order.created $P:1|order.shipped $P:1|" \
	"WebSocket tail filtered by source, category and stream_id"
[ -s "$T_TMP/probe.err" ] && diag "$(cat "$T_TMP/probe.err")"

# Live: a tail from the current end receives an event committed after it opened.
last=$(printf '%s\n' "$out" | tail -n1 | cut -f1)
tail_read "/api/v1/events/tail?from_position=$last&event_type=live." 1 0.5 >"$T_TMP/live.out" &
reader=$!
sleep 1
sql -c "SELECT event.create_event(event_type => 'live.now', data => '{}', event_source => 'backend',
			event_category => 'order', stream_id => '$P:9')" >/dev/null
wait "$reader"
is "$(cut -f2,3 "$T_TMP/live.out" | tr '\t\n' ' |')" "live.now $P:9|" "an open tail receives an event committed later"

# nats-server restarted under an open tail (same port and store): the tail goes on with the events
# committed after the restart, nothing skipped or repeated.
tail_bg outage 90 "/api/v1/events/tail?from_position=$last&event_type=outage." 3 1
emit_seen outage.before "$P:10"
sleep 1
stop_nats
sleep 3
start_nats "$NATS_PORT"
sql -c "SELECT event.create_event(event_type => 'outage.after', data => '{}', stream_id => '$P:10');
		SELECT event.create_event(event_type => 'outage.later', data => '{}', stream_id => '$P:10')" >/dev/null
wait "$reader"
is "$(cut -f2,3 "$T_TMP/outage.out" | tr '\t\n' ' |')" "outage.before $P:10|outage.after $P:10|outage.later $P:10|" \
	"a tail open across a nats-server restart receives the events before and after it, once each"
[ -s "$T_TMP/outage.err" ] && diag "$(cat "$T_TMP/outage.err")"

# Stream EVENTS deleted under an open tail (the relay creates it again, its sequences start again
# at 1): the tail is closed with a reason instead of waiting for ever for the next old sequence,
# and a new tail receives the events of the new stream.
tail_bg loss 30 "/api/v1/events/tail?event_type=loss." 5 1
emit_seen loss.before "$P:11"
python3 "$(dirname "$0")/lib/nats_request.py" "$NATS_PORT" '$JS.API.STREAM.DELETE.EVENTS' >/dev/null
wait "$reader"
is "$(closed_types loss)" "loss.before|stream EVENTS was ...|" \
	"a tail open when stream EVENTS is deleted is closed with the reason"
diag "$(cut -f2 "$T_TMP/loss.out" | tail -n 1)"
wait_until 20 eval 'js_dump "$T_TMP/js.loss" 2>/dev/null'; ok $? "stream EVENTS is back (the relay created it again)"
tail_bg loss2 30 "/api/v1/events/tail?event_type=loss." 1 0
sql -c "SELECT event.create_event(event_type => 'loss.after', data => '{}', stream_id => '$P:11')" >/dev/null
wait "$reader"
is "$(cut -f1,2 "$T_TMP/loss2.out" | tr '\t\n' ' |')" "1 loss.after|" "a new tail reads the new stream from its sequence 1"

# nats-server restarted with an empty store (no volume) under an open tail: the stream is gone
# and the relay creates it again, perhaps between two of the tail's checks; the new stream's
# creation time tells the tail apart from the old one, so it is closed with the reason too.
tail_bg wipe 60 "/api/v1/events/tail?event_type=wipe." 5 1
emit_seen wipe.before "$P:12"
sleep 1
stop_nats
rm -rf "$T_TMP/nats"
start_nats "$NATS_PORT"
sql -c "SELECT event.create_event(event_type => 'wipe.after', data => '{}', stream_id => '$P:12')" >/dev/null
wait "$reader"
is "$(closed_types wipe)" "wipe.before|stream EVENTS was ...|" \
	"a tail open when nats-server restarts with an empty store is closed with the reason"
[ -s "$T_TMP/wipe.err" ] && diag "$(cat "$T_TMP/wipe.err")"
tail_bg wipe2 30 "/api/v1/events/tail?from_position=0&event_type=wipe." 1 1
wait "$reader"
is "$(cut -f2 "$T_TMP/wipe2.out" | tr '\n' '|')" "wipe.after|" "a new tail reads the new store: the event after the restart only"

out=$(tail_read "/api/v1/events/tail?from_position=abc" 1 0)
is "$out" "status 400" "malformed from_position: 400"
out=$(tail_read "/api/v1/events/tail?colour=red" 1 0)
is "$out" "status 400" "unknown filter parameter: 400"
# raw_get PORT PATH: the whole response of one GET (Connection: close).
raw_get() {
	python3 -c 'import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % sys.argv[2]).encode())
b=b""
while True:
	d=s.recv(65536)
	if not d: break
	b+=d
sys.stdout.write(b.decode())' "$1" "$2"
}
resp=$(raw_get "$tport" /api/v1/events/tail)
case $resp in "HTTP/1.1 401 "*'"code":"unauthorized"'*) ok 0 "tail without a key: 401 JSON";; *) ok 1 "tail without a key: 401 JSON"; diag "$resp";; esac
# No authenticator on this branch yet: 503; with API keys (api branch) 401. Never a stream.
resp=$(raw_get "${SIDECAR_HTTP[s]}" /api/v1/events/tail)
case $resp in "HTTP/1.1 401 "*|"HTTP/1.1 403 "*|"HTTP/1.1 503 "*) ok 0 "event-sidecar: the tail refuses a request without an API key";;
	*) ok 1 "event-sidecar: the tail refuses a request without an API key"; diag "$resp";; esac
finish
