#!/usr/bin/env python3
"""create_load.py PORT KEY PREFIX SECONDS [THREADS] — POST /api/v1/events/create in a loop from
THREADS connections for SECONDS, each request with a unique idempotency key; a connection error
reconnects. Prints one JSON line: {"status": {code: n}, "no_retry_after": n (503/429 without
Retry-After), "ok_after_last_error": n, "ids": [...], "errors": n (connection errors)}.
"""
import http.client, json, sys, threading, time

port, key, prefix, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 8
lock = threading.Lock()
log = []  # (time, status)
out = {"status": {}, "no_retry_after": 0, "ids": [], "errors": 0}
end = time.time() + seconds


def worker(t):
    c = None
    i = 0
    while time.time() < end:
        i += 1
        body = json.dumps({"event_type": prefix + ".load", "idempotency_key": "%s-%d-%d" % (prefix, t, i)})
        try:
            if c is None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", "/api/v1/events/create", body,
                      {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            with lock:
                out["errors"] += 1
            c = None
            time.sleep(0.05)
            continue
        with lock:
            log.append((time.time(), r.status))
            out["status"][r.status] = out["status"].get(r.status, 0) + 1
            if r.status in (429, 503) and not r.getheader("Retry-After"):
                out["no_retry_after"] += 1
            if r.status == 201:
                out["ids"].append(json.loads(data)["event_id"])
        if r.status != 201:
            time.sleep(0.05)


ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
last_err = max([t for t, s in log if s != 201], default=0)
out["ok_after_last_error"] = sum(1 for t, s in log if s == 201 and t > last_err)
print(json.dumps(out))
