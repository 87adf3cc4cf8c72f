"""raw_http.py — one HTTP/1.1 request over a raw socket, exact bytes and no client-side fixing
(for the bad-input corpora lib/bad_input.py and lib/tracking_bad_input.py)."""
import json, socket


def exchange(port, head, body):
    """Sends head (request line and header lines, each ending in CRLF) and body; returns
    (status, response body). A server that answers early (413) and closes is fine."""
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
    s.sendall(head + b"\r\n")
    try:
        s.sendall(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer 413 and close before reading a huge body
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, rest


def error_shape(body):
    """True if body is {"error": {"code", "message", "request_id"}}."""
    try:
        e = json.loads(body)["error"]
        return isinstance(e["code"], str) and isinstance(e["message"], str) and bool(e["request_id"])
    except Exception:
        return False
