#!/usr/bin/env python3
"""webhook_receiver.py PORT LOG — an HTTP receiver for the webhook e2e tests.

Every request is appended to LOG as one JSON line {"path", "headers" (lower-case names), "body",
"t" (arrival, Unix seconds)}. The answer depends on the path's first segment:
  /ok/...          200
  /fail/...        500
  /delay/MS/...    200 after MS milliseconds
  /429/N/...       429 with Retry-After: 1 for the first N requests to this path, then 200
  /failn/N/...     500 for the first N requests to this path, then 200
  /hang/...        no answer for an hour (the client must time out)
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = sys.argv[2]
lock = threading.Lock()
counts = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, headers=()):
        body = b'{"ok": true}' if status == 200 else b'{"ok": false}'
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8")
        rec = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
               "t": time.time()}
        with lock:
            with open(LOG, "a") as f:
                f.write(json.dumps(rec) + "\n")
            counts[self.path] = counts.get(self.path, 0) + 1
            seen = counts[self.path]
        parts = self.path.strip("/").split("/")
        kind = parts[0]
        if kind == "ok":
            self.answer(200)
        elif kind == "fail":
            self.answer(500)
        elif kind == "delay":
            time.sleep(int(parts[1]) / 1000.0)
            self.answer(200)
        elif kind == "429":
            if seen <= int(parts[1]):
                self.answer(429, [("Retry-After", "1")])
            else:
                self.answer(200)
        elif kind == "failn":
            self.answer(500 if seen <= int(parts[1]) else 200)
        elif kind == "hang":
            time.sleep(3600)
        else:
            self.answer(404)


# A listen backlog like a production server's: a sidecar opens many connections at once (several
# per subscription); Python's default of 5 drops SYNs, and the retransmits push requests past
# the client's 10 s timeout.
ThreadingHTTPServer.request_queue_size = 1024
server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
server.serve_forever()
