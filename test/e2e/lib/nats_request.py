#!/usr/bin/env python3
"""nats_request.py PORT SUBJECT [PAYLOAD] — one request over the NATS client protocol (plain text:
CONNECT, SUB to an inbox, PUB with that reply subject); prints the reply's payload. Used for the
JetStream API ($JS.API.*), e.g. to delete a consumer or a stream as an operator would. Exit 1
when no reply comes within 5 s."""
import socket, sys
port, subj = int(sys.argv[1]), sys.argv[2]
payload = (sys.argv[3] if len(sys.argv) > 3 else "").encode()
s = socket.create_connection(("127.0.0.1", port), timeout=5)
f = s.makefile("rb")
f.readline()  # INFO
inbox = "_INBOX.e2e_request"
s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n')
s.sendall(f"SUB {inbox} 1\r\nPUB {subj} {inbox} {len(payload)}\r\n".encode() + payload + b"\r\nPING\r\n")
while True:
    try:
        line = f.readline()
    except socket.timeout:
        sys.exit(1)
    if not line:
        sys.exit(1)
    if line.startswith(b"MSG"):
        n = int(line.split()[-1]); print(f.read(n + 2)[:-2].decode()); break
    if line.startswith(b"HMSG"):
        parts = line.split(); n = int(parts[-1]); print(f.read(n + 2)[:-2].decode(errors="replace")); break
