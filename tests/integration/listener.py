"""A listener for tests of what leaves the app: a tiny HTTP(S) server on 127.0.0.1, in a thread,
that records every request it receives."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote_plus

from sandbox.server import ensure_certificate, server_ssl_context


class Listener:
    """A tiny HTTP server on 127.0.0.1, in a thread, that records every request it receives and
    answers ``status`` with ``body``."""

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"<h1>It works</h1>",
        content_type: str = "text/html",
        cert_dir: Path | None = None,
    ):
        self.received: list[dict] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                listener.received.append(
                    {
                        "line": self.requestline,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length).decode("latin-1"),
                    }
                )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.cert_path = None
        if cert_dir is not None:  # https, with the sandbox's self-signed certificate
            self.cert_path, key_path = ensure_certificate(cert_dir)
            context = server_ssl_context(self.cert_path, key_path)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.url = self.url.replace("http://", "https://")

    def __enter__(self) -> Listener:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def assert_no_secret(self, values) -> None:
        for request in self.received:
            assert "authorization" not in request["headers"], request
            seen = request["line"] + json.dumps(request["headers"]) + request["body"]
            for value in values:
                assert value not in seen and quote_plus(value) not in seen, (value, request)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
