#!/usr/bin/env python3
"""tracking_bad_input.py PORT WRITE_KEY SECRET PREFIX — the bad-input corpus of test/e2e/collect_tracking.t
on every collection endpoint of the tracking API (/v1/*, /collect, /collect/{stream}) and the
RudderStack webhook (signed with SECRET, so each body reaches the parser).

Sends each malformed request over a raw socket (exact bytes) and prints one line per check:
"<0|1>\t<name>\t<diagnostic>" (0 = pass). Every bad request must get a 4xx with the JSON error
shape. `--count` prints the number of lines it will print.
"""
import base64, hashlib, hmac, json, sys

from raw_http import error_shape, exchange

PORT, KEY, SECRET, P = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
AUTH = "Basic " + base64.b64encode((KEY + ":").encode()).decode()


def send(path, body, ctype):
    head = "POST %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: %d\r\n" % (path, len(body))
    if path.startswith("/webhooks/"):
        head += "X-Signature: sha256=%s\r\n" % hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    else:
        head += "Authorization: %s\r\n" % AUTH
    if ctype:
        head += "Content-Type: %s\r\n" % ctype
    return exchange(PORT, head.encode(), body)


def j(obj):
    return json.dumps(obj).encode()


ev = P + ".bad"
track = {"type": "track", "userId": "u", "event": ev}
deep = b'{"type":"track","userId":"u","event":"' + ev.encode() + b'","properties":{"a":' + b"[" * 10000 + b"]" * 10000 + b"}}"
big = b'{"type":"track","userId":"u","event":"x","properties":{"s":"' + b"y" * (20 << 20) + b'"}}'
bodies = [
    # (name, body, content type, allowed statuses)
    ("malformed JSON: truncated", b'{"type":"track","userId":', "application/json", {400}),
    ("malformed JSON: unquoted key", b'{type: "track"}', "application/json", {400}),
    ("malformed JSON: two objects", j(track) + j(track), "application/json", {400}),
    ("malformed JSON: empty body", b"", "application/json", {400}),
    ("invalid UTF-8 (0xff)", b'{"type":"track","userId":"u","event":"' + ev.encode() + b'","properties":{"s":"a\xffb"}}', "application/json", {400}),
    ("overlong UTF-8 (0xc0 0xaf)", b'{"type":"track","userId":"u\xc0\xaf","event":"' + ev.encode() + b'"}', "application/json", {400}),
    ("raw NUL in a string", b'{"type":"track","userId":"u","event":"' + ev.encode() + b'","properties":{"s":"a\x00b"}}', "application/json", {400}),
    ("escaped NUL", b'{"type":"track","userId":"u","event":"' + ev.encode() + b'","properties":{"s":"a\\u0000b"}}', "application/json", {400}),
    ("nesting depth 10000", deep, "application/json", {400}),
    ("20 MB body", big, "application/json", {413}),
    ("form content type, form body", b"type=track&userId=u&event=" + ev.encode(), "application/x-www-form-urlencoded", {400}),
    ("multipart content type, multipart body", b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--\r\n", "multipart/form-data; boundary=x", {400}),
    ("a JSON string", b'"track"', "text/plain", {400}),
    ("a message that is a number", b"[5]", "application/json", {400}),
    ("unknown type", j({"type": "purchase", "userId": "u", "event": ev}), "application/json", {400}),
    ("no identity", j({"type": "track", "event": ev}), "application/json", {400}),
    ("track without event", j({"type": "track", "userId": "u"}), "application/json", {400}),
    ("userId an object", j({"type": "track", "userId": {}, "event": ev}), "application/json", {400}),
    ("properties an array", j({"type": "track", "userId": "u", "event": ev, "properties": []}), "application/json", {400}),
    ("invalid timestamp", j({"type": "track", "userId": "u", "event": ev, "timestamp": "yesterday"}), "application/json", {400}),
    ("timestamp month 13", j({"type": "track", "userId": "u", "event": ev, "timestamp": "2026-13-01T00:00:00Z"}), "application/json", {400}),
    ("message over 32 KB", j({"type": "track", "userId": "u", "event": ev, "properties": {"s": "x" * (33 << 10)}}), "application/json", {400}),
    ("overlong userId (300 bytes)", j({"type": "track", "userId": "u" * 300, "event": ev}), "application/json", {400}),
]
paths = ["/v1/track", "/v1/batch", "/collect", "/collect/" + P, "/webhooks/rudderstack"]
# Cases that are valid there: /v1/track takes its type from the path; the webhook needs no identity.
valid_on = {("/v1/track", "unknown type"), ("/webhooks/rudderstack", "no identity")}
cases = [(path, b) for path in paths for b in bodies if (path, b[0]) not in valid_on]


def shaped(path, body):
    """The body as this path expects it: a batch envelope for /v1/batch (malformed bodies as is)."""
    if path != "/v1/batch":
        return body
    try:
        m = json.loads(body)
    except Exception:
        return body
    return j({"batch": m if isinstance(m, list) else [m]})


if sys.argv[-1] == "--count":
    print(len(cases) * 2)
    sys.exit(0)

for path, (name, body, ctype, allowed) in cases:
    status, rbody = send(path, shaped(path, body), ctype)
    print("%d\t%s %s: %s\t%s" % (0 if status in allowed else 1, path, name, "/".join(map(str, sorted(allowed))),
                                 "got %d %r" % (status, rbody[:200])))
    print("%d\t%s %s: JSON error\t%r" % (0 if error_shape(rbody) else 1, path, name, rbody[:200]))
