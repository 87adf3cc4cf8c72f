#!/usr/bin/env python3
"""concurrent_creates.py PORT KEY PREFIX THREADS PER_THREAD — POST /api/v1/events/create from
THREADS keep-alive connections at once. Every 10th request of a thread is bad (unknown source),
every 25th has a number beyond double range (refused by the sidecar's JSON check, which
PostgreSQL's numeric would also refuse at this size). Every 3rd good request carries an
idempotency key and is sent a second time at once, which must answer 200 with the same event
(in the same group commits as the plain and bad ones, api/group_commit.hpp). Prints one
JSON line: {"ok": n201, "bad": n400, "dup": n200, "other": [statuses], "ids": [...]}.
"""
import http.client, json, sys, threading

port, key, prefix, threads, per = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
lock = threading.Lock()
out = {"ok": 0, "bad": 0, "dup": 0, "other": [], "ids": [], "bad_leaked": 0}


def worker(t):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(per):
        body = {"event_type": prefix + ".gc", "data": {"t": t, "i": i}}
        bad = i % 10 == 9 or i % 25 == 24
        if i % 10 == 9:
            body["event_source"] = "nope"
        keyed = not bad and i % 3 == 0
        if keyed:
            body["idempotency_key"] = "%s-%d-%d" % (prefix, t, i)
        raw = json.dumps(body)
        if i % 25 == 24:
            raw = raw[:-1] + ', "context": {"n": 1e200000}}'
        first = None
        for attempt in range(2 if keyed else 1):
            c.request("POST", "/api/v1/events/create", raw, {"Authorization": "Bearer " + key,
                                                             "Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            with lock:
                if attempt == 1:
                    if r.status == 200 and json.loads(data)["event_id"] == first:
                        out["dup"] += 1
                    else:
                        out["other"].append("dup:%d" % r.status)
                elif r.status == 201 and not bad:
                    out["ok"] += 1
                    first = json.loads(data)["event_id"]
                    out["ids"].append(first)
                elif r.status == 400 and bad:
                    out["bad"] += 1
                else:
                    out["other"].append(r.status)
    c.close()


ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(json.dumps(out))
