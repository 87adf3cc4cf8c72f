#!/usr/bin/env python3
"""verify_webhooks.py LOG PATH_PREFIX SECRET... — checks every request logged under PATH_PREFIX:
X-Event-Id is the body's event_id, X-Event-Signature has t= and one v1= per secret (hex
HMAC-SHA256 of "<t>.<body>" keyed by the secret), webhook-id/-timestamp/-signature follow
Standard Webhooks (base64 HMAC-SHA256 of "<id>.<ts>.<body>", key = base64 after whsec_).
Prints "ok N" or the first problem."""
import base64
import hashlib
import hmac
import json
import sys

log, prefix, secrets = sys.argv[1], sys.argv[2], sys.argv[3:]


def std_key(secret):
    return base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode()


n = 0
for line in open(log):
    r = json.loads(line)
    if not r["path"].startswith(prefix):
        continue
    h, body = r["headers"], r["body"]
    ev = json.loads(body)
    if h.get("x-event-id") != ev["event_id"]:
        sys.exit(print("X-Event-Id %r is not the body's event_id" % h.get("x-event-id")))
    if not h.get("x-event-delivery-id"):
        sys.exit(print("no X-Event-Delivery-Id"))
    parts = h["x-event-signature"].split(",")
    t = parts[0][2:]
    got = [p[3:] for p in parts[1:]]
    want = [hmac.new(s.encode(), (t + "." + body).encode(), hashlib.sha256).hexdigest() for s in secrets]
    if got != want:
        sys.exit(print("X-Event-Signature mismatch: %r" % h["x-event-signature"]))
    wid, ts = h["webhook-id"], h["webhook-timestamp"]
    if ts != t or wid != h["x-event-delivery-id"]:
        sys.exit(print("webhook-id/-timestamp differ from the X-Event headers"))
    got = [s.split(",", 1)[1] for s in h["webhook-signature"].split(" ")]
    want = [base64.b64encode(hmac.new(std_key(s), ("%s.%s.%s" % (wid, ts, body)).encode(), hashlib.sha256).digest()).decode()
            for s in secrets]
    if got != want:
        sys.exit(print("webhook-signature mismatch: %r" % h["webhook-signature"]))
    n += 1
print("ok %d" % n)
