#!/usr/bin/env python3
"""verify_tracking.py EXPECTED ROWS — compares what test/e2e/sdk/drive.js sent (EXPECTED, one JSON
object per distinct message) with the stored events (ROWS, one JSON object per stored row, see
test/e2e/collect_sdk.t). Prints "ok <n>" or the first mismatches, and exits 1 on any mismatch.
Checks: each messageId stored exactly once, event_type/category/user_id/source, data (the SDK's
properties/traits with anonymousId), the clock-skew-corrected timestamp (the formula exactly, and the
client's past time within the request's transit time + 5 s), and metadata.tracking (messageId, groupId, previousId, page name, context).
"""
import json, sys
from datetime import datetime


def ms(text):
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


expected = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    expected[e["messageId"]] = e
rows = {}
problems = []
for line in open(sys.argv[2]):
    if not line.strip():
        continue
    r = json.loads(line)
    m = r["meta"]["tracking"].get("messageId")
    if m in rows:
        problems.append("stored twice: %s" % m)
    rows[m] = r
for m in expected:
    if m not in rows:
        problems.append("not stored: %s" % m)
for m in rows:
    if m not in expected:
        problems.append("stored but not sent: %s" % m)
for m, e in expected.items():
    r = rows.get(m)
    if r is None:
        continue
    t = r["meta"]["tracking"]
    checks = [
        ("event_type", r["type"], e["event_type"]),
        ("event_category", r["cat"], e["event_category"]),
        ("user_id", r["user"], e["user_id"]),
        ("event_source", r["src"], "frontend"),
        ("data.anonymousId", r["data"].get("anonymousId"), e["anonymousId"]),
        ("data.i", r["data"].get("i"), e["i"]),
        ("tracking.type", t.get("type"), e["type"]),
        ("tracking.groupId", t.get("groupId"), e["groupId"]),
        ("tracking.previousId", t.get("previousId"), e["previousId"]),
        ("tracking.name", t.get("name"), e["name"]),
        ("tracking.context.test", (t.get("context") or {}).get("test"), m.split("-")[0]),
        ("tracking.receivedAt", bool(t.get("receivedAt")), True),
        ("write_key_id", bool(r["meta"].get("write_key_id")), True),
    ]
    for name, got, want in checks:
        if got != want:
            problems.append("%s %s: got %r, want %r" % (m, name, got, want))
    # The formula, exactly (to the millisecond), from what the client sent and the receipt time...
    orig = t.get("originalTimestamp") or t.get("timestamp")
    want = ms(t["receivedAt"]) - (ms(t["sentAt"]) - ms(orig))
    if abs(r["ts"] - want) > 1:
        problems.append("%s timestamp: got %d ms, want receivedAt - (sentAt - originalTimestamp) = %d" % (m, r["ts"], want))
    # ...which lands at the client's past time, give or take the request's time between sentAt and
    # its receipt (the rudder SDK stamps sentAt, then sends once its enqueue loop yields) + 5 s.
    tolerance = max(0, ms(t["receivedAt"]) - ms(t["sentAt"])) + 5000
    if abs(r["ts"] - e["timestamp_ms"]) > tolerance:
        problems.append("%s timestamp: got %d ms, want %d ms (+-%d ms)" % (m, r["ts"], e["timestamp_ms"], tolerance))
if problems:
    print("\n".join(problems[:20]))
    print("%d problems" % len(problems))
    sys.exit(1)
print("ok %d" % len(expected))
