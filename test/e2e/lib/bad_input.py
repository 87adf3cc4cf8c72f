#!/usr/bin/env python3
"""bad_input.py PORT KEY PREFIX — the bad-input corpus of test/e2e/api_bad_input.t.

Sends each malformed request over a raw socket (exact bytes, no client-side fixing) and prints
one line per check: "<0|1>\t<name>\t<diagnostic>" (0 = pass). Every bad request must get a 4xx
with the JSON error shape; `--count` prints the number of lines it will print.
"""
import json, sys

from raw_http import error_shape, exchange

PORT, KEY, P = int(sys.argv[1]), sys.argv[2], sys.argv[3]
V = "/api/v1/events"


def send(method, path, body=b"", ctype="application/json", extra=b""):
    head = "%s %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nConnection: close\r\n" % (method, path, KEY)
    if ctype is not None:
        head += "Content-Type: %s\r\n" % ctype
    head += "Content-Length: %d\r\n" % len(body)
    return exchange(PORT, head.encode() + extra, body)


def j(obj):
    return json.dumps(obj).encode()


deep = lambda n: b'{"event_type":"%s.deep","data":{"a":' % P.encode() + b"[" * n + b"]" * n + b"}}"
cases = [
    # (name, method, path, body, content type, allowed statuses)
    ("malformed JSON: truncated", "POST", V + "/create", b'{"event_type":', None, {400}),
    ("malformed JSON: unquoted key", "POST", V + "/create", b'{event_type: "x"}', None, {400}),
    ("malformed JSON: trailing brace", "POST", V + "/create", b'{"event_type":"x"}}', None, {400}),
    ("malformed JSON: two objects", "POST", V + "/create", b'{"event_type":"x"},{"event_type":"y"}', None, {400}),
    ("malformed JSON: empty body", "POST", V + "/create", b"", None, {400}),
    ("malformed JSON: single quotes", "POST", V + "/create", b"{'event_type':'x'}", None, {400}),
    ("not an object: array", "POST", V + "/create", b'[{"event_type":"x"}]', None, {400}),
    ("not an object: string", "POST", V + "/create", b'"x"', None, {400}),
    ("missing event_type", "POST", V + "/create", b"{}", None, {400}),
    ("empty event_type", "POST", V + "/create", j({"event_type": ""}), None, {400}),
    ("null event_type", "POST", V + "/create", j({"event_type": None}), None, {400}),
    ("event_type a number", "POST", V + "/create", j({"event_type": 123}), None, {400}),
    ("event_type an array", "POST", V + "/create", j({"event_type": []}), None, {400}),
    ("data a string", "POST", V + "/create", j({"event_type": P + ".t", "data": "x"}), None, {400}),
    ("data a number", "POST", V + "/create", j({"event_type": P + ".t", "data": 5}), None, {400}),
    ("metadata an array", "POST", V + "/create", j({"event_type": P + ".t", "metadata": []}), None, {400}),
    ("context a string", "POST", V + "/create", j({"event_type": P + ".t", "context": "x"}), None, {400}),
    ("user_id an object", "POST", V + "/create", j({"event_type": P + ".t", "user_id": {}}), None, {400}),
    ("timestamp a number", "POST", V + "/create", j({"event_type": P + ".t", "timestamp": 5}), None, {400}),
    ("expected_version text", "POST", V + "/create", j({"event_type": P + ".t", "stream_id": "s:1", "expected_version": "abc"}), None, {400}),
    ("idempotency_key a number", "POST", V + "/create", j({"event_type": P + ".t", "idempotency_key": 5}), None, {400}),
    ("stream_id without colon", "POST", V + "/create", j({"event_type": P + ".t", "stream_id": "nocolon"}), None, {400}),
    ("unknown field", "POST", V + "/create", j({"event_type": P + ".t", "bogus": 1}), None, {400}),
    ("invalid enum event_source", "POST", V + "/create", j({"event_type": P + ".t", "event_source": "nope"}), None, {400}),
    ("invalid enum event_category", "POST", V + "/create", j({"event_type": P + ".t", "event_category": "nope"}), None, {400}),
    ("invalid timestamp (month 13)", "POST", V + "/create", j({"event_type": P + ".t", "timestamp": "2026-13-45T00:00:00Z"}), None, {400}),
    ("invalid timestamp (words)", "POST", V + "/create", j({"event_type": P + ".t", "timestamp": "not a date"}), None, {400}),
    ("overlong event_type (300 bytes)", "POST", V + "/create", j({"event_type": "a" * 300}), None, {400}),
    ("invalid UTF-8 (0xff)", "POST", V + "/create", b'{"event_type":"' + P.encode() + b'.u","data":{"s":"a\xffb"}}', None, {400}),
    ("overlong UTF-8 (0xc0 0xaf)", "POST", V + "/create", b'{"event_type":"' + P.encode() + b'.u","data":{"s":"\xc0\xaf"}}', None, {400}),
    ("UTF-8-encoded surrogate (0xed 0xa0 0x80)", "POST", V + "/create", b'{"event_type":"' + P.encode() + b'.u","data":{"s":"\xed\xa0\x80"}}', None, {400}),
    ("lone high surrogate escape", "POST", V + "/create", b'{"event_type":"' + P.encode() + b'.u","data":{"s":"\\ud800"}}', None, {400}),
    ("lone low surrogate escape", "POST", V + "/create", b'{"event_type":"' + P.encode() + b'.u","data":{"s":"\\udc00x"}}', None, {400}),
    ("raw NUL in a string", "POST", V + "/create", b'{"event_type":"' + P.encode() + b'.n","data":{"s":"a\x00b"}}', None, {400}),
    ("escaped NUL in data", "POST", V + "/create", b'{"event_type":"' + P.encode() + b'.n","data":{"s":"a\\u0000b"}}', None, {400}),
    ("escaped NUL in event_type", "POST", V + "/create", b'{"event_type":"a\\u0000b"}', None, {400}),
    ("1 MB string in data", "POST", V + "/create", j({"event_type": P + ".big", "data": {"s": "x" * (1 << 20)}}), None, {413}),
    ("1 MB event_type", "POST", V + "/create", j({"event_type": "x" * (1 << 20)}), None, {400, 413}),
    ("nesting depth 5000", "POST", V + "/create", deep(5000), None, {400}),
    ("nesting depth 200000", "POST", V + "/create", deep(200000), None, {400}),
    ("20 MB body", "POST", V + "/create", b'{"event_type":"x","data":{"s":"' + b"y" * (20 << 20) + b'"}}', None, {413}),
    ("20 MB batch body", "POST", V + "/batch", b'[{"event_type":"x","data":{"s":"' + b"y" * (20 << 20) + b'"}}]', None, {413}),
    ("content type text/plain", "POST", V + "/create", j({"event_type": P + ".ct"}), "text/plain", {415}),
    ("content type form", "POST", V + "/create", j({"event_type": P + ".ct"}), "application/x-www-form-urlencoded", {415}),
    ("no content type", "POST", V + "/create", j({"event_type": P + ".ct"}), "", {415}),
    ("batch: not an array", "POST", V + "/batch", j({"event_type": P + ".b"}), None, {400}),
    ("batch: items not objects", "POST", V + "/batch", b"[1,2]", None, {400}),
    ("batch: 1001 items", "POST", V + "/batch", j([{"event_type": P + ".many"}] * 1001), None, {400, 413}),
    ("batch: malformed JSON", "POST", V + "/batch", b'[{"event_type":"x"},', None, {400}),
    ("query: invalid status", "POST", V + "/query", j({"status": "sleeping"}), None, {400}),
    ("query: invalid source", "POST", V + "/query", j({"event_source": "nope"}), None, {400}),
    ("query: invalid start_time", "POST", V + "/query", j({"start_time": "the day before"}), None, {400}),
    ("query: limit 0", "POST", V + "/query", j({"limit": 0}), None, {400}),
    ("query: limit 1001", "POST", V + "/query", j({"limit": 1001}), None, {400}),
    ("query: limit -5", "POST", V + "/query", j({"limit": -5}), None, {400}),
    ("query: limit text", "POST", V + "/query", j({"limit": "ten"}), None, {400}),
    ("query: limit 1e10", "POST", V + "/query", b'{"limit":1e10}', None, {400}),
    ("query: offset -1", "POST", V + "/query", j({"offset": -1}), None, {400}),
    ("query: offset text", "POST", V + "/query", j({"offset": "x"}), None, {400}),
    ("query: unknown field", "POST", V + "/query", j({"bogus": 1}), None, {400}),
    ("get: SQL in the id", "GET", V + "/%27%3B%20DROP%20TABLE%20event.events%3B--", b"", None, {400}),
    ("stream: from_version text", "GET", V + "/stream/a:1?from_version=1;DROP", b"", None, {400}),
]

# Strings that look like SQL injection (or are awkward otherwise): stored and read back exactly.
tricky = ["Robert'); DROP TABLE event.events;--", "' OR '1'='1", "$$; SELECT pg_sleep(10); $$",
          "\\'; \"quoted\" \\\\ back\\slash", "%s %d {0} ${x}", "ünïcødé ☃ 𝄞 \u2028 ✓", "-- comment /* c */"]

if sys.argv[-1] == "--count":
    print(len(cases) * 2 + len(tricky) * 2)
    sys.exit(0)

for name, method, path, body, ctype, allowed in cases:
    status, rbody = send(method, path, body, "application/json" if ctype is None else (ctype or None))
    print("%d\t%s: %s\t%s" % (0 if status in allowed else 1, name, "/".join(map(str, sorted(allowed))),
                              "got %d %r" % (status, rbody[:200])))
    print("%d\t%s: JSON error\t%r" % (0 if error_shape(rbody) else 1, name, rbody[:200]))

for i, t in enumerate(tricky):
    req = {"event_type": P + ".tricky", "user_id": t, "idempotency_key": "%s-%d-%s" % (P, i, t),
           "data": {"s": t, t: [t]}, "metadata": {"m": t}}
    status, rbody = send("POST", V + "/create", j(req))
    ok = status == 201
    got = None
    if ok:
        eid = json.loads(rbody)["event_id"]
        s2, b2 = send("GET", V + "/" + eid)
        got = json.loads(b2)
        ok = s2 == 200 and got["user_id"] == t and got["data"] == {"s": t, t: [t]} and got["metadata"] == {"m": t} \
            and got["idempotency_key"] == req["idempotency_key"]
    print("%d\ttricky string %d stored and read back exactly\tgot %d %r" % (0 if ok else 1, i, status, rbody[:200]))
    s3, b3 = send("POST", V + "/query", j({"user_id": t, "event_type": P + ".tricky", "limit": 10}))
    q = json.loads(b3) if s3 == 200 else {}
    ok = s3 == 200 and [e["user_id"] for e in q.get("events", [])] == [t]
    print("%d\ttricky string %d: query by it finds exactly that event\tgot %d %r" % (0 if ok else 1, i, s3, b3[:200]))
