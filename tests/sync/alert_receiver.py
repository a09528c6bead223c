"""A local receiver for alert webhooks: an HTTP server on 127.0.0.1, in a thread, that answers
each request with the next scripted status (the last one repeats) and records what it got."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, *statuses: int, path: str = "/services/T000/B000/XXXX"):
        self.statuses = list(statuses or (200,))
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                receiver.received.append(
                    {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "raw": raw}
                )
                index = min(len(receiver.received), len(receiver.statuses)) - 1
                status = receiver.statuses[index]
                body = b"ok" if status < 300 else b"invalid_payload" if status < 500 else b"rollup_error"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def json(self, index: int = -1) -> dict:
        return json.loads(self.received[index]["raw"])

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
