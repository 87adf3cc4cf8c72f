#!/usr/bin/env bash
# http_server.t — the sidecar's HTTP server (sidecar/http/, Boost.Beast) against what real clients
# send: keep-alive, pipelining, chunked bodies, Expect: 100-continue, large headers, gzip bodies
# and bombs, slowloris, 1,000 idle keep-alive connections, the connection cap, JSON errors with
# request ids, CORS, the one log line per request, SSE and WebSocket streams with back-pressure. Bodies go to the test-only routes of
# sidecar/http-test-server (the real server and router library, not shipped); /health, /metrics
# and the error paths are then checked on event-sidecar itself.
. "$(dirname "$0")/lib/sidecar.bash"
PROBE="python3 $(dirname "$0")/lib/http_probe.py"
TEST_SERVER=${HTTP_TEST_SERVER:-$REPO_ROOT/sidecar/http-test-server}
[ -x "$TEST_SERVER" ] || bail "$TEST_SERVER not built (make -C sidecar)"
plan 34
ulimit -n 4096 2>/dev/null

# start_test_server NAME FLAGS...: http-test-server on a free port; port in TS_PORT[NAME].
declare -A TS_PORT=()
start_test_server() {
	local name=$1; shift
	local port; port=$("$FREE_PORT")
	"$TEST_SERVER" --addr "127.0.0.1:$port" "$@" >>"$T_TMP/$name.log" 2>&1 &
	BG_PIDS+=($!)
	TS_PORT[$name]=$port
	wait_until 10 port_open "$port" || bail "http-test-server $name did not start (see $T_TMP/$name.log)"
}
probe() { local name=$1; shift; $PROBE "${TS_PORT[$name]}" "$@" 2>&1 | sed 's/^/# /'; return "${PIPESTATUS[0]}"; }

start_test_server main --threads 2 --max-body 100000 --head-timeout-ms 1500 --body-timeout-ms 1000
probe main keepalive; ok $? "keep-alive: five requests on one connection"
probe main pipeline 2; ok $? "pipelining: two requests in one write, answered in order"
probe main pipeline 10; ok $? "pipelining: ten requests in one write (a slow one first), answered in order"
probe main chunked; ok $? "chunked request body, de-chunked for the handler"
probe main expect_continue; ok $? "Expect: 100-continue: 100 before the body, then the answer"
probe main expect_rejected; ok $? "Expect: 100-continue with a wrong type / too large / unknown route: the final error at once"
probe main big_headers 8192 200; ok $? "8 KB header"
probe main big_headers 40960 200; ok $? "40 KB header"
probe main big_headers 70000 431; ok $? "70 KB header: 431 JSON"
probe main gzip_body; ok $? "gzip request body inflated"
probe main gzip_bomb; ok $? "gzip bomb (64 MB of zeros): 413 with the route's limit applied to the inflated size"
probe main gzip_bad; ok $? "corrupt gzip: 400; unknown Content-Encoding: 415"
probe main slowloris 1.5; ok $? "slowloris: a client dribbling its head is cut; other clients are served meanwhile"
probe main body_stall; ok $? "a stalled body: 408 JSON after the body deadline"
probe main errors; ok $? "404/405/415/401/500/413 as JSON with the request id in header and body"
probe main request_ids; ok $? "X-Request-Id: sane ids echoed, others replaced by a generated one"
probe main cors; ok $? "CORS preflight and headers on a CORS route only"
probe main sse; ok $? "SSE: text/event-stream with ids, a final close event, request id header"
probe main ws; ok $? "WebSocket: 101 with the right accept key, text messages, close 1000 \"done\""
probe main ws_slow_reader; ok $? "WebSocket back-pressure: a reader that stops is dropped with close 1008 \"slow reader\""
probe main sse_slow_reader; ok $? "SSE back-pressure: a reader that stops gets a final \"slow reader\" close event"
probe main idle_many 1000; ok $? "1,000 idle keep-alive connections while other requests are served"

probe main logged m1
log="$T_TMP/main.log"
n1=$(grep -c '"request_id":"log-m1-1"' "$log"); n2=$(grep -c '"request_id":"log-m1-2"' "$log")
n3=$(grep -c '"request_id":"log-m1-3"' "$log")
is "$n1/$n2/$n3" "1/1/1" "one log line per request"
line=$(grep '"request_id":"log-m1-2"' "$log")
for f in '"msg":"http request"' '"method":"POST"' '"route":"/test/echo"' '"status":200' '"duration_ms":' '"remote":"127.0.0.1"'; do
	case $line in *"$f"*) ;; *) diag "missing $f in $line"; line="" ;; esac
done
[ -n "$line" ]; ok $? "the log line names method, route, status, duration, request id, remote"
grep -q '"request_id":"log-m1-3".*"route":"unmatched"\|"route":"unmatched".*"request_id":"log-m1-3"' "$log"
ok $? "an unmatched request is logged with route \"unmatched\""
! grep -q 'SECRET-' "$log"; ok $? "no payload or Authorization value in the log"

start_test_server idle --idle-timeout-ms 300
probe idle idle_timeout 0.3; ok $? "an idle keep-alive connection is closed after the idle timeout"
start_test_server capped --max-connections 5
probe capped max_connections 5; ok $? "over --max-connections: 503 JSON and close"

# event-sidecar itself: /health, /metrics and the error layer on the same server.
start_nats
start_sidecar s
wait_until 20 is_leader s || diag "sidecar not leader: $(tail -n 3 "$T_TMP/s.log")"
port=${SIDECAR_HTTP[s]}
$PROBE "$port" keepalive >/dev/null 2>&1 # /test routes do not exist here: fills the 404 counter
out=$(printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\nPOST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-Request-Id: h405\r\n\r\n{}GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	python3 -c 'import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])));s.sendall(sys.stdin.buffer.read());b=b""
while True:
	d=s.recv(65536)
	if not d: break
	b+=d
sys.stdout.write(b.decode())' "$port")
[ "$(grep -o 'HTTP/1.1 [0-9]* ' <<<"$out" | wc -l)" = 3 ]; ok $? "event-sidecar: three pipelined requests on one connection, three answers"
grep -q '"status":"ok"' <<<"$out"; ok $? "event-sidecar: /health ok on the new server"
grep -q '{"error":{"code":"method_not_allowed","message":"POST is not allowed on /health","request_id":"h405"}}' <<<"$out"
ok $? "event-sidecar: POST /health is 405 JSON with the request id"
grep -q '^http_requests_total{route="/health",status="200"} [1-9]' <<<"$out"
ok $? "event-sidecar: /metrics counts http_requests_total by route and status"
grep -q '^http_request_duration_seconds_bucket{route="/health",le="+Inf"} [1-9]' <<<"$out" &&
	grep -q '^event_relay_events_received_total{slot="'"$SLOT"'"} ' <<<"$out"
ok $? "event-sidecar: request-duration histogram beside the relay metrics under their names"
grep -q '"msg":"http request".*"route":"/health"' "$T_TMP/s.log"; ok $? "event-sidecar: request log line"
finish
