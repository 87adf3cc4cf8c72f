#!/usr/bin/env python3
"""tracking_burst.py PORT WRITE_KEY PREFIX BATCHES [PAUSE] — sends BATCHES /v1/batch requests of 100 track
messages (messageIds PREFIX-<batch>-<k>, fixed past timestamps) from 4 threads, and retries each
batch like the SDKs do (connection refused or reset, 5xx: again after 200 ms, for up to 90 s)
until it is answered 200; each thread waits PAUSE seconds (default 0) before its next batch, so the
burst lasts long enough to be interrupted on a fast machine. Prints each batch number once it got its 200; exits 1 if one never did.
For test/e2e/collect_kill9.t: the sidecar is killed -9 and restarted on the same port meanwhile."""
import base64, http.client, json, sys, threading, time

PORT, KEY, P, BATCHES = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
PAUSE = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
AUTH = "Basic " + base64.b64encode((KEY + ":").encode()).decode()
lock = threading.Lock()
next_batch = [0]
failed = []


def body(b):
    return json.dumps({"batch": [{"type": "track", "event": P + ".burst", "userId": "u%d" % (k % 13),
                                  "messageId": "%s-%d-%d" % (P, b, k), "properties": {"b": b, "k": k},
                                  "timestamp": "2026-01-0%dT12:00:%02d.000Z" % (1 + b % 9, k % 60)}
                                 for k in range(100)], "sentAt": "2026-01-10T00:00:00.000Z"}).encode()


def worker():
    conn = None
    while True:
        with lock:
            b = next_batch[0]
            next_batch[0] += 1
        if b >= BATCHES:
            return
        data, deadline = body(b), time.time() + 90
        while True:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=15)
                conn.request("POST", "/v1/batch", data, {"Authorization": AUTH, "Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                if r.status == 200:
                    with lock:
                        print(b, flush=True)
                    time.sleep(PAUSE)
                    break
                if r.status < 500:
                    with lock:
                        failed.append((b, r.status))
                    break
            except (OSError, http.client.HTTPException):
                conn = None
            if time.time() > deadline:
                with lock:
                    failed.append((b, "timeout"))
                break
            time.sleep(0.2)


threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failed:
    print("failed: %r" % failed[:10], file=sys.stderr)
sys.exit(1 if failed else 0)
