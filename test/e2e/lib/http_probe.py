#!/usr/bin/env python3
"""http_probe.py — raw-socket HTTP/1.1 client behaviours for test/e2e/http_server.t.

Usage: http_probe.py PORT SCENARIO [ARGS...]
Each scenario talks to a server on 127.0.0.1:PORT exactly as the bytes say (no HTTP library that
could paper over server bugs), exits 0 when the server behaved, 1 with a reason on stderr.
"""
import gzip
import json
import os
import resource
import socket
import sys
import time

PORT = 0


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def connect(timeout=5.0):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    """Parses responses (Content-Length bodies; 1xx and 204 without body) from one socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed by the server")
        self.buf += data

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        length = 0 if status < 200 or status in (204, 304) else int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def closed(self, timeout=3.0):
        """True if the server closes the connection (EOF or reset) within timeout, nothing else sent."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def get(path, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (path, extra)).encode()


def post(path, body, headers=""):
    return ("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n%s\r\n" % (path, len(body), headers)).encode() + body


def error_of(body):
    doc = json.loads(body)
    check(isinstance(doc.get("error"), dict), "no error object in %r" % body)
    return doc["error"]


# ---------------------------------------------------------------- scenarios

def keepalive():
    s = connect()
    r = Reader(s)
    for i in range(5):
        s.sendall(get("/test/items/k%d" % i))
        status, h, body = r.response()
        check(status == 200, "request %d: status %d" % (i, status))
        check(json.loads(body)["id"] == "k%d" % i, "request %d: body %r" % (i, body))
        check(h.get("connection", "").lower() != "close", "server closed a keep-alive connection")


def pipeline(n):
    n = int(n)
    s = connect()
    # The first request is slow (answered from another thread after 300 ms): the fast ones
    # behind it must still come back after it, in request order.
    data = get("/test/slow?ms=300", "X-Request-Id: p0\r\n")
    for i in range(1, n):
        if i % 3 == 2:
            data += post("/test/echo", b"body-%d" % i, "X-Request-Id: p%d\r\n" % i)
        else:
            data += get("/test/items/i%d" % i, "X-Request-Id: p%d\r\n" % i)
    s.sendall(data)  # one write
    r = Reader(s)
    for i in range(n):
        status, h, body = r.response()
        check(status == 200, "response %d: status %d %r" % (i, status, body))
        check(h.get("x-request-id") == "p%d" % i, "response %d carries request id %r" % (i, h.get("x-request-id")))
        if i % 3 == 2:
            check(body == b"body-%d" % i, "response %d: body %r" % (i, body))


def chunked():
    s = connect()
    chunks = [b"hello ", b"chunked", b" world" * 1000]
    data = b"POST /test/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    s.sendall(data)
    for c in chunks:
        s.sendall(b"%x\r\n" % len(c) + c + b"\r\n")
        time.sleep(0.05)
    s.sendall(b"0\r\n\r\n")
    status, h, body = Reader(s).response()
    check(status == 200, "status %d" % status)
    check(body == b"".join(chunks), "echoed %d bytes, sent %d" % (len(body), len(b"".join(chunks))))


def expect_continue():
    s = connect()
    body = b'{"a": 1}'
    s.sendall(("POST /test/json HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(body)).encode())
    r = Reader(s)
    status, _, _ = r.response()
    check(status == 100, "first answer %d, want 100 Continue before the body" % status)
    s.sendall(body)
    status, _, got = r.response()
    check(status == 200 and got == body, "final %d %r" % (status, got))


def expect_rejected():
    # Wrong content type and a too large declared length: the final error comes at once, never 100.
    for headers, want in (("Content-Type: text/plain\r\nContent-Length: 10\r\n", 415),
                          ("Content-Type: application/json\r\nContent-Length: 999999999\r\n", 413),
                          ("Content-Type: application/json\r\nContent-Length: 10\r\n", 0)):
        path = "/test/json" if want else "/test/nothing-here"
        want = want or 404
        s = connect()
        s.sendall(("POST %s HTTP/1.1\r\nHost: t\r\n%sExpect: 100-continue\r\nX-Request-Id: e%d\r\n\r\n"
                   % (path, headers, want)).encode())
        status, h, body = Reader(s).response()
        check(status == want, "got %d, want %d without 100 Continue" % (status, want))
        check(error_of(body)["request_id"] == "e%d" % want, "request_id in %r" % body)


def big_headers(size, want):
    size, want = int(size), int(want)
    s = connect()
    s.sendall(get("/test/items/h", "X-Filler: %s\r\nX-Request-Id: big\r\n" % ("f" * size)))
    status, h, body = Reader(s).response()
    check(status == want, "%d-byte header: status %d, want %d" % (size, status, want))
    if want != 200:
        check(error_of(body)["code"] == "header_too_large", "body %r" % body)


def gzip_body():
    doc = json.dumps({"text": "x" * 5000, "n": list(range(100))}).encode()
    s = connect()
    s.sendall(post("/test/json", gzip.compress(doc), "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"))
    status, _, body = Reader(s).response()
    check(status == 200 and body == doc, "status %d, %d bytes back for %d" % (status, len(body), len(doc)))


def gzip_bomb():
    bomb = gzip.compress(b"\0" * (64 << 20), 9)  # 64 MB in about 64 KB
    s = connect()
    s.sendall(post("/test/echo", bomb, "Content-Encoding: gzip\r\nX-Request-Id: bomb\r\n"))
    status, _, body = Reader(s).response()
    check(status == 413, "gzip bomb: status %d" % status)
    e = error_of(body)
    check(e["code"] == "payload_too_large" and e["request_id"] == "bomb", "body %r" % body)


def gzip_bad():
    s = connect()
    r = Reader(s)
    s.sendall(post("/test/echo", b"this is not gzip", "Content-Encoding: gzip\r\n"))
    status, _, body = r.response()
    check(status == 400, "bad gzip: status %d" % status)
    s.sendall(post("/test/echo", b"x", "Content-Encoding: br\r\n"))
    status, _, body = r.response()
    check(status == 415, "unknown encoding: status %d %r" % (status, body))


def slowloris(head_timeout_s):
    head_timeout_s = float(head_timeout_s)
    slow = connect(timeout=30)
    head = get("/test/items/slow")
    slow.sendall(head[:5])
    t0 = time.monotonic()
    # While the slow client dribbles its head, other clients are served.
    served = 0
    cut = False
    sent = 5
    while time.monotonic() - t0 < head_timeout_s * 4:
        try:
            slow.sendall(head[sent:sent + 1])
            sent += 1
        except (BrokenPipeError, ConnectionResetError):
            cut = True
            break
        if sent >= len(head) - 2:
            sent = len(head) - 4  # never finish the head: keep re-sending the same bytes
            slow.sendall(b"X-A: b\r\n")
        s = connect()
        s.sendall(get("/test/items/fast", "Connection: close\r\n"))
        status, _, _ = Reader(s).response()
        check(status == 200, "fast client got %d" % status)
        served += 1
        # Has the server cut the slow one?
        slow.setblocking(False)
        try:
            data = slow.recv(4096)
            if data == b"":
                cut = True
        except BlockingIOError:
            pass
        except ConnectionResetError:
            cut = True
        slow.setblocking(True)
        if cut:
            break
        time.sleep(0.2)
    check(cut, "the slow client was not cut within %.1f s" % (head_timeout_s * 4))
    check(served >= 3, "only %d other requests served while the slow client dribbled" % served)


def idle_many(n):
    n = int(n)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 200)), hard))
    idle = [connect() for _ in range(n)]
    # Half of them start a request (partial head is not sent: they are idle keep-alive clients
    # that already made one request).
    for i in range(0, n, 10):
        idle[i].sendall(get("/test/items/warm%d" % i))
        status, _, _ = Reader(idle[i]).response()
        check(status == 200, "warm-up on idle connection %d: %d" % (i, status))
    for i in range(50):
        s = connect()
        s.sendall(get("/test/items/busy%d" % i, "Connection: close\r\n"))
        status, _, body = Reader(s).response()
        check(status == 200, "request %d beside %d idle connections: %d" % (i, n, status))
        s.close()
    # The idle ones are still open and usable.
    for i in range(5, n, 97):
        idle[i].sendall(get("/test/items/late%d" % i))
        status, _, _ = Reader(idle[i]).response()
        check(status == 200, "idle connection %d afterwards: %d" % (i, status))
    for s in idle:
        s.close()


def idle_timeout(timeout_s):
    s = connect()
    r = Reader(s)
    s.sendall(get("/test/items/x"))
    r.response()
    check(r.closed(float(timeout_s) * 4), "idle keep-alive connection not closed")


def body_stall():
    s = connect()
    s.sendall(b"POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\nX-Request-Id: stall\r\n\r\n0123")
    status, _, body = Reader(s).response()
    check(status == 408, "stalled body: status %d" % status)
    check(error_of(body)["request_id"] == "stall", "body %r" % body)


def max_connections(cap):
    cap = int(cap)
    held = [connect() for _ in range(cap)]
    for s in held:  # make sure each is accepted (answered) before the one over the cap
        s.sendall(get("/test/items/held"))
        Reader(s).response()
    extra = connect()
    status, h, body = Reader(extra).response()
    check(status == 503, "connection over the cap: status %d" % status)
    check(error_of(body)["code"] == "unavailable", "body %r" % body)
    for s in held:
        s.close()


def errors():
    s = connect()
    r = Reader(s)
    cases = [
        (get("/no/such/route", "X-Request-Id: r404\r\n"), 404, "not_found"),
        (post("/test/items/all", b"{}", "X-Request-Id: r405\r\nContent-Type: application/json\r\n"), 405,
         "method_not_allowed"),
        (post("/test/json", b"{}", "X-Request-Id: r415\r\nContent-Type: text/plain\r\n"), 415,
         "unsupported_media_type"),
        (get("/test/private", "X-Request-Id: r401\r\n"), 401, "unauthorized"),
        (get("/test/throw", "X-Request-Id: r500\r\n"), 500, "internal_error"),
        # Last: a declared length over the limit is refused before the body is read, and the
        # connection is closed after the answer.
        (post("/test/echo", b"x" * 150000, "X-Request-Id: r413\r\n"), 413, "payload_too_large"),
    ]
    for data, want, code in cases:
        s.sendall(data)
        status, h, body = r.response()
        check(status == want, "want %d, got %d %r" % (want, status, body))
        check(h.get("content-type") == "application/json", "%d content type %r" % (want, h.get("content-type")))
        e = error_of(body)
        check(e["code"] == code, "%d: code %r" % (want, e["code"]))
        check(e["request_id"] == "r%d" % want and h.get("x-request-id") == "r%d" % want,
              "%d: request id %r / %r" % (want, e["request_id"], h.get("x-request-id")))
        if want == 405:
            check(h.get("allow") == "GET", "Allow %r" % h.get("allow"))


def request_ids():
    s = connect()
    r = Reader(s)
    s.sendall(get("/test/items/a", "X-Request-Id: my-id.1_~\r\n"))
    _, h, _ = r.response()
    check(h.get("x-request-id") == "my-id.1_~", "sane id not echoed: %r" % h.get("x-request-id"))
    for bad in ("two words", "x" * 129, ""):
        s.sendall(get("/no/route", "X-Request-Id: %s\r\n" % bad))
        _, h, body = r.response()
        rid = h.get("x-request-id", "")
        check(rid != bad and len(rid) == 32 and all(c in "0123456789abcdef" for c in rid),
              "insane id %r replaced by %r" % (bad, rid))
        check(error_of(body)["request_id"] == rid, "body id differs from header")
    s.sendall(get("/test/items/a"))
    _, h, _ = r.response()
    check(len(h.get("x-request-id", "")) == 32, "no generated id")


def cors():
    s = connect()
    r = Reader(s)
    s.sendall(b"OPTIONS /test/json HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n"
              b"Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")
    status, h, _ = r.response()
    check(status == 204, "preflight status %d" % status)
    check(h.get("access-control-allow-origin") in ("*", "https://app.example"), "allow-origin %r" % h)
    check("POST" in h.get("access-control-allow-methods", ""), "allow-methods %r" % h)
    check(h.get("access-control-allow-headers") == "content-type", "allow-headers %r" % h)
    s.sendall(post("/test/json", b"{}", "Origin: https://app.example\r\nContent-Type: application/json\r\n"))
    status, h, _ = r.response()
    check(status == 200 and "access-control-allow-origin" in h, "CORS headers on the POST: %r" % h)
    s.sendall(b"OPTIONS /test/echo HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\r\n")
    status, _, _ = r.response()
    check(status == 405, "preflight on a non-CORS route: %d" % status)


def logged(marker):
    """Sends three requests with ids log-<marker>-N, one with a secret-looking payload."""
    s = connect()
    r = Reader(s)
    s.sendall(get("/test/items/l", "X-Request-Id: log-%s-1\r\n" % marker))
    r.response()
    s.sendall(post("/test/echo", b"SECRET-PAYLOAD-" + marker.encode(),
                   "X-Request-Id: log-%s-2\r\nAuthorization: Bearer SECRET-TOKEN-%s\r\n" % (marker, marker)))
    r.response()
    s.sendall(get("/no/route", "X-Request-Id: log-%s-3\r\n" % marker))
    r.response()


def read_until_eof(s, timeout=10.0):
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except ConnectionResetError:
        pass
    return out


def sse():
    s = connect()
    s.sendall(get("/test/stream?n=5&interval_ms=20", "Accept: text/event-stream\r\nX-Request-Id: sse1\r\n"))
    data = read_until_eof(s).decode()
    head, _, body = data.partition("\r\n\r\n")
    check(head.startswith("HTTP/1.1 200"), "head %r" % head[:80])
    check("content-type: text/event-stream" in head.lower(), "no event-stream content type: %r" % head)
    check("x-request-id: sse1" in head.lower(), "no request id: %r" % head)
    events = [e for e in body.split("\n\n") if e]
    check(len(events) == 6, "want 5 events and a close event, got %r" % events)
    for i in range(5):
        check(events[i] == "id: %d\ndata: %d:" % (i, i), "event %d: %r" % (i, events[i]))
    check(events[5] == "event: close\ndata: done", "last event %r" % events[5])


def ws_connect(path, rid):
    import base64
    import hashlib
    key = base64.b64encode(b"0123456789abcdef").decode()
    s = connect(timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nX-Request-Id: %s\r\n\r\n"
               % (path, key, rid)).encode())
    r = Reader(s)
    status, h, _ = r.response()
    check(status == 101, "upgrade answered %d" % status)
    want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    check(h.get("sec-websocket-accept") == want, "bad Sec-WebSocket-Accept %r" % h.get("sec-websocket-accept"))
    return s, r


def ws_frames(s, r, limit=100000, timeout=15):
    """Reads server frames until a close frame, EOF or limit frames: [(opcode, payload)]. Bytes of
    an incomplete frame stay in r.buf (also on a timeout)."""
    frames = []
    s.settimeout(timeout)

    def need(n):
        while len(r.buf) < n:
            d = s.recv(65536)
            if not d:
                raise EOFError("EOF inside a frame")
            r.buf += d

    while len(frames) < limit:
        try:
            need(2)
        except EOFError:
            break
        b = r.buf
        op, ln = b[0] & 0x0F, b[1] & 0x7F
        check(not b[1] & 0x80, "server frames must not be masked")
        off = 2
        if ln == 126:
            need(4)
            ln, off = int.from_bytes(r.buf[2:4], "big"), 4
        elif ln == 127:
            need(10)
            ln, off = int.from_bytes(r.buf[2:10], "big"), 10
        need(off + ln)
        frames.append((op, r.buf[off:off + ln]))
        r.buf = r.buf[off + ln:]
        if op == 8:
            break
    return frames


def ws():
    s, r = ws_connect("/test/stream?n=5&interval_ms=20", "ws1")
    frames = ws_frames(s, r)
    texts = [p.decode() for op, p in frames if op == 1]
    check(texts == ["%d:" % i for i in range(5)], "messages %r" % texts)
    check(frames[-1][0] == 8, "no close frame: %r" % frames[-1:])
    code = int.from_bytes(frames[-1][1][:2], "big")
    check(code == 1000 and frames[-1][1][2:] == b"done", "close %r" % frames[-1][1])


def ws_slow_reader():
    # 20,000 messages of 1 KB against a 64 KB stream buffer, and a client that does not read for
    # 2 s: the server drops the stream with close code 1008 "slow reader" instead of buffering.
    s, r = ws_connect("/test/stream?n=20000&size=1024&buffer=65536", "wsslow")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    time.sleep(2)
    frames = ws_frames(s, r)
    texts = [p for op, p in frames if op == 1]
    check(len(texts) < 20000, "all %d messages arrived: no back-pressure" % len(texts))
    check(frames and frames[-1][0] == 8, "no close frame after %d messages" % len(texts))
    code = int.from_bytes(frames[-1][1][:2], "big")
    check(code == 1008 and b"slow reader" in frames[-1][1], "close %r" % frames[-1][1][:80])


def sse_slow_reader():
    s = connect(timeout=15)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(get("/test/stream?n=20000&size=1024&buffer=65536", "X-Request-Id: sseslow\r\n"))
    time.sleep(2)
    data = read_until_eof(s, 15).decode()
    n = data.count("\ndata: ")
    check(n < 20000, "all events arrived: no back-pressure")
    check(data.rstrip("\n").endswith("event: close\ndata: slow reader: more than 65536 bytes unsent"),
          "no slow-reader close event at the end: %r" % data[-120:])


def tail_read(path, count, extra_wait, mode="sse"):
    """Reads COUNT tail events from PATH (with the test key), then EXTRA_WAIT seconds more; prints
    "tail_position<TAB>event_type<TAB>stream_id" per event (and the status if it is not 101/200);
    an SSE close event ends the read and prints "close<TAB>reason<TAB>-" last.
    Gives up after $TAIL_READ_DEADLINE seconds (default 15)."""
    count, extra_wait = int(count), float(extra_wait)
    limit = float(os.environ.get("TAIL_READ_DEADLINE", "15"))
    events = []
    if mode == "ws":
        s, r = ws_connect_auth(path)
        docs = []
        deadline = time.monotonic() + limit
        stop_at = None
        while time.monotonic() < deadline and (stop_at is None or time.monotonic() < stop_at):
            try:
                frames = ws_frames(s, r, 1, 0.5)
            except socket.timeout:
                frames = []
            docs += [json.loads(p) for op, p in frames if op == 1]
            if frames and frames[-1][0] == 8:
                break
            if len(docs) >= count and stop_at is None:
                stop_at = time.monotonic() + extra_wait
    else:
        s = connect(timeout=1.0)
        s.sendall(get(path, "Authorization: Bearer good\r\n"))
        buf = b""
        docs = []
        closed = None
        deadline = time.monotonic() + limit
        stop_at = None
        while time.monotonic() < deadline and (stop_at is None or time.monotonic() < stop_at):
            try:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
            except socket.timeout:
                pass
            if b"\r\n\r\n" in buf and not buf.startswith(b"HTTP/1.1 200"):
                print("status " + buf.split(b" ")[1].decode())
                return
            _, _, body = buf.partition(b"\r\n\r\n")
            docs = []
            closed = None
            for ev in body.decode(errors="replace").split("\n\n")[:-1]:
                data = [l[6:] for l in ev.split("\n") if l.startswith("data: ")]
                ids = [l[4:] for l in ev.split("\n") if l.startswith("id: ")]
                if "event: close" in ev.split("\n") and data:
                    closed = data[0]
                elif data and ids:
                    doc = json.loads("\n".join(data))
                    check(str(doc["tail_position"]) == ids[0], "SSE id %r differs from tail_position" % ids)
                    docs.append(doc)
            if closed is not None:
                break
            if len(docs) >= count and stop_at is None:
                stop_at = time.monotonic() + extra_wait
    for doc in docs:
        e = doc["event"]
        print("%d\t%s\t%s" % (doc["tail_position"], e["event_type"], e.get("stream_id") or "-"))
    if mode != "ws" and closed is not None:
        print("close\t%s\t-" % closed)


def ws_connect_auth(path):
    import base64
    key = base64.b64encode(b"fedcba9876543210").decode()
    s = connect(timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer good\r\n\r\n"
               % (path, key)).encode())
    r = Reader(s)
    status, _, body = r.response()
    check(status == 101, "tail upgrade answered %d %r" % (status, body))
    return s, r


SCENARIOS = {
    "keepalive": keepalive, "pipeline": pipeline, "chunked": chunked, "expect_continue": expect_continue,
    "expect_rejected": expect_rejected, "big_headers": big_headers, "gzip_body": gzip_body,
    "gzip_bomb": gzip_bomb, "gzip_bad": gzip_bad, "slowloris": slowloris, "idle_many": idle_many,
    "idle_timeout": idle_timeout, "body_stall": body_stall, "max_connections": max_connections,
    "errors": errors, "request_ids": request_ids, "cors": cors, "logged": logged,
    "tail_read": tail_read, "sse": sse, "ws": ws, "ws_slow_reader": ws_slow_reader, "sse_slow_reader": sse_slow_reader,
}


def main():
    global PORT
    PORT = int(sys.argv[1])
    name = sys.argv[2]
    try:
        SCENARIOS[name](*sys.argv[3:])
    except (Fail, EOFError, OSError, ValueError, KeyError) as e:
        print("%s: %s: %s" % (name, type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
