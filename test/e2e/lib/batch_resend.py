#!/usr/bin/env python3
"""batch_resend.py PORT KEY PREFIX THREADS BATCHES SIZE — THREADS clients each send BATCHES
atomic batches of SIZE events (POST /api/v1/events/batch), every event with its own idempotency
key and stream PREFIX:<thread>; a batch is re-sent, unchanged, until it is answered 201 (through
connection errors, 503s and sidecar restarts, for at most 120 s). Prints one JSON line:
{"answered": batches answered 201, "resends": n, "failed": batches never answered}.
"""
import http.client, json, sys, threading, time

port, key, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3]
threads, batches, size = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
lock = threading.Lock()
out = {"answered": 0, "resends": 0, "failed": 0}


def worker(t):
    c = None
    for b in range(batches):
        body = json.dumps([{"event_type": prefix + ".k9", "stream_id": "%s:%d" % (prefix, t),
                            "idempotency_key": "%s-%d-%d-%d" % (prefix, t, b, i), "data": {"b": b, "i": i}}
                           for i in range(size)])
        deadline = time.time() + 120
        first = True
        while time.time() < deadline:
            if not first:
                with lock:
                    out["resends"] += 1
                time.sleep(0.1)
            first = False
            try:
                if c is None:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("POST", "/api/v1/events/batch", body,
                          {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
            except (OSError, http.client.HTTPException):
                c = None
                continue
            if r.status == 201:
                with lock:
                    out["answered"] += 1
                break
        else:
            with lock:
                out["failed"] += 1


ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(json.dumps(out))
