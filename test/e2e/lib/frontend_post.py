#!/usr/bin/env python3
"""frontend_post.py PORT PREFIX BATCHES PER_BATCH — posts BATCHES frontend batches of PER_BATCH
events (event_type PREFIX.load, data.i numbered) over one keep-alive connection; prints the
event_id of every accepted (202) event, one per line. Exit 1 if any request was not 202."""
import http.client, json, sys

port, prefix, batches, per = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
bad = 0
for b in range(batches):
    events = [{"event_type": prefix + ".load", "data": {"i": b * per + k}} for k in range(per)]
    body = json.dumps({"events": events, "client_info": {"batch": b}})
    conn.request("POST", "/api/v1/events/frontend/batch", body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 202:
        bad += 1
        continue
    for i in json.loads(data)["event_ids"]:
        print(i)
sys.exit(1 if bad else 0)
