#!/usr/bin/env python3
"""collect_client.py PORT WRITE_KEY EVENTS THREADS — test/bench/collect.sh's client: EVENTS track
messages as /v1/batch requests of 100 (distinct messageIds, bodies built before the clock starts),
sent over THREADS keep-alive connections. Prints the seconds the sending took; exits 1 on a
non-200 answer."""
import base64, http.client, json, sys, threading, time

PORT, KEY, EVENTS, THREADS = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
AUTH = "Basic " + base64.b64encode((KEY + ":").encode()).decode()
bodies = [json.dumps({"batch": [{"type": "track", "event": "bench.track", "userId": "u%d" % (k % 100),
                                 "messageId": "bench-%d-%d" % (b, k), "properties": {"order": b * 100 + k, "total": 99.5},
                                 "context": {"library": {"name": "bench"}}, "timestamp": "2026-01-05T10:00:00.000Z"}
                                for k in range(100)], "sentAt": "2026-01-05T10:00:01.000Z"}).encode()
          for b in range(EVENTS // 100)]
lock = threading.Lock()
bad = []


def worker(i):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    for b in range(i, len(bodies), THREADS):
        conn.request("POST", "/v1/batch", bodies[b], {"Authorization": AUTH, "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            with lock:
                bad.append(r.status)


start = time.time()
threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("%.3f" % (time.time() - start))
if bad:
    print("non-200 answers: %d (%r)" % (len(bad), bad[:5]), file=sys.stderr)
sys.exit(1 if bad else 0)
