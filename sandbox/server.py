"""A threaded HTTP/1.1 (keep-alive) WSGI server for the emulators, with optional TLS.

Why not ``wsgiref.simple_server``: it answers HTTP/1.0 and closes every connection, which
makes each client call pay a TCP (and TLS) handshake and caps throughput. This server keeps
connections alive: it buffers the app's response (the emulators' responses are small and
complete), so it always sends ``Content-Length`` and can reuse the connection.

- ``make_server(app, host, port, ssl_context=None)`` -> a ``SandboxServer`` (call
  ``serve_forever()``; ``server.server_address[1]`` is the bound port, useful with port 0).
- ``serve_in_thread(app, host="127.0.0.1", port=0, ssl_context=None) -> (server, port)``:
  serving in a daemon thread; stop with ``server.shutdown(); server.server_close()``.
- ``ensure_certificate(directory) -> (cert_path, key_path)``: a self-signed certificate for
  127.0.0.1 / localhost / ::1, generated once (cryptography) and reused.
- ``server_ssl_context(cert_path, key_path)``: the server side ``SSLContext``. Clients trust the
  certificate with ``requests.Session().verify = str(cert_path)``.

The TLS handshake happens in the connection's own thread, so one slow client does not block
accepting others.

The server's own errors (a malformed request line or header, a body too large or malformed, an
app that crashed) are answered in the served service's error shape when the app is a ``Router``
(or has one as ``router``): a client of the emulated service parses them as it parses the
service's own. Every method reaches the app, which answers 405 for one it does not offer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import io
import ipaddress
import logging
import socket
import socketserver
import ssl
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sandbox.wsgi import DropConnection, HttpError, Request

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]

CERT_FILENAME = "sandbox-cert.pem"
KEY_FILENAME = "sandbox-key.pem"

# Request bodies above this are refused: a Bulk API upload of 100 MB is Salesforce's own limit.
MAX_BODY_BYTES = 150 * 1024 * 1024


MAX_HEADER_LINE = 65536  # as http.client
MAX_HEADERS = 100


class _Headers:
    """A request's headers: what ``http.client.HTTPMessage`` gives the handler (``get`` of the first
    value by case-insensitive name, ``items`` in order, ``get_all``), read without the email
    parser, which was about half the server's own time per request."""

    __slots__ = ("_items", "_first")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._first: dict[str, str] = {}
        for name, value in items:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    def get_all(self, name: str, failobj: Any = None) -> Any:
        found = [value for key, value in self._items if key.lower() == name.lower()]
        return found or failobj

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


class _HeaderError(Exception):
    pass


def _read_headers(rfile: Any) -> _Headers:
    """Header lines up to the blank one (a line starting with a space or tab continues the one
    before, an obsolete folding); limits as ``http.client``."""
    items: list[tuple[str, str]] = []
    while True:
        line = rfile.readline(MAX_HEADER_LINE + 1)
        if len(line) > MAX_HEADER_LINE:
            raise _HeaderError("Line too long", "header line")
        if line in (b"\r\n", b"\n", b""):
            return _Headers(items)
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and items:
            name, value = items[-1]
            items[-1] = (name, f"{value} {text.strip()}")
            continue
        if len(items) >= MAX_HEADERS:
            raise _HeaderError("Too many headers", f"got more than {MAX_HEADERS} headers")
        name, sep, value = text.partition(":")
        if not sep or not name or name != name.strip():
            raise _HeaderError("Bad header", f"malformed header line {text[:100]!r}")
        items.append((name, value.lstrip(" \t")))  # trailing blanks kept, as http.client


class _WSGIRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "InclusionGateSandbox/1.0"
    # Idle keep-alive connections are dropped after this many seconds so threads do not pile up.
    timeout = 60
    # Headers and body leave in one buffered write, and without Nagle: on a keep-alive
    # connection, separate small writes meet the client's delayed ACK and cost ~40 ms each.
    wbufsize = 256 * 1024
    disable_nagle_algorithm = True

    _date_header: tuple[int, str] = (0, "")

    def parse_request(self) -> bool:
        """``BaseHTTPRequestHandler.parse_request`` with ``_read_headers`` for the headers."""
        self.command = None  # type: ignore[assignment]
        self.request_version = version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            numbers = version[5:].split(".") if version.startswith("HTTP/") else []
            if len(numbers) != 2 or not all(n.isdigit() and len(n) <= 10 for n in numbers):
                self.send_error(400, f"Bad request version ({version!r})")
                return False
            version_number = int(numbers[0]), int(numbers[1])
            if version_number >= (2, 0):
                self.send_error(505, f"Invalid HTTP version ({version[5:]})")
                return False
            if version_number >= (1, 1):
                self.close_connection = False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(400, f"Bad request syntax ({requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(400, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command, self.path = command, path
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")  # as the stdlib: no open redirect
        try:
            self.headers = _read_headers(self.rfile)  # type: ignore[assignment]
        except _HeaderError as exc:
            self.send_error(431 if exc.args[0] != "Bad header" else 400, exc.args[0], exc.args[1])
            return False
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if (self.headers.get("Expect") or "").lower() == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, formatted once a second rather than once a response."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        second = int(time.time())
        cached = _WSGIRequestHandler._date_header
        if cached[0] != second:
            cached = _WSGIRequestHandler._date_header = (second, super().date_time_string(second))
        return cached[1]

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """``BaseHTTPRequestHandler.send_error`` in the service's error shape when the app has one
        (the stdlib's is an HTML page); the connection is closed after it, as the stdlib does."""
        server: SandboxServer = self.server  # type: ignore[assignment]
        rendered = server.render_error(code, message or self.responses.get(code, ("Error",))[0])
        if rendered is None:
            super().send_error(code, message, explain)
            return
        content_type, body = rendered
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:  # type: ignore[attr-defined]
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer headers, up to the blank line.
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "Malformed body")
            return
        if body is None:
            self.close_connection = True
            self.send_error(413, "Request body too large")
            return
        path, _sep, query = self.path.partition("?")
        if path.startswith(("http://", "https://")):
            # Absolute-form request target (proxies): keep only the path.
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        server: SandboxServer = self.server  # type: ignore[assignment]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": server.server_name,
            "SERVER_PORT": str(server.server_port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0] if self.client_address else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if server.ssl_context is not None else "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in self.headers.items():
            name = key.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                continue
            name = f"HTTP_{name}"
            environ[name] = f"{environ[name]},{value}" if name in environ else value

        status_holder: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            status_holder[:] = [status, headers]
            return lambda data: None  # the write() callable is not used by our apps

        try:
            result = server.app(environ, start_response)
            try:
                payload = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except DropConnection:
            # The client sees the connection closed with no response, like a service going down.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception:
            logger.exception("Sandbox app crashed on %s %s", self.command, self.path)
            self.close_connection = True
            self.send_error(500, "Internal error in the sandbox")
            return
        status, headers = status_holder
        code, _sep, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            self.send_header(name, value)
        has_body = self.command != "HEAD" and int(code) not in (204, 304)
        self.send_header("Content-Length", str(len(payload) if has_body else 0))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if has_body and payload:
            self.wfile.write(payload)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def __getattr__(self, name: str) -> Any:
        # Every other method (TRACE, CONNECT, a made-up word) goes to the app too, which answers
        # 405 in its service's error shape: the stdlib's own answer is an HTML 501, a server error
        # for what is the client's.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)


class SandboxServer(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    # Do not wait for keep-alive connection threads on server_close().
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        app: WSGIApp,
        ssl_context: ssl.SSLContext | None = None,
        verbose: bool = False,
    ) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.verbose = verbose
        super().__init__(address, _WSGIRequestHandler)

    def render_error(self, status: int, message: str) -> tuple[str, bytes] | None:
        """``(content type, body)`` of an error in the app's service shape, ``None`` without one."""
        router = getattr(self.app, "router", self.app)
        renderer = getattr(router, "error_renderer", None)
        if renderer is None:
            return None
        try:
            response = renderer(Request({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}), HttpError(status, message))
        except Exception:
            logger.exception("Sandbox error renderer failed")
            return None
        return response.content_type or "application/json;charset=utf-8", response.body

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can take seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = port

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        try:
            request.settimeout(_WSGIRequestHandler.timeout)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            logger.debug("TLS handshake failed from %s: %s", client_address, exc)
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError | ssl.SSLError | socket.timeout):
            return
        super().handle_error(request, client_address)


# A request allocates thousands of short-lived containers (the JSON of one collection call alone
# is 200 dicts). With CPython's first threshold (700) the collector runs several times a request
# and promotes objects that die a moment later: about 10 % of the Salesforce emulator's time
# writing records (bench/bench_collections_upsert.py). The emulators' process raises it.
SERVING_GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc_for_serving() -> None:
    """Set the garbage collector of a process that serves the emulators."""
    gc.set_threshold(*SERVING_GC_THRESHOLDS)


def make_server(
    app: WSGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    verbose: bool = False,
) -> SandboxServer:
    return SandboxServer((host, port), app, ssl_context=ssl_context, verbose=verbose)


def serve_in_thread(
    app: WSGIApp, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
) -> tuple[SandboxServer, int]:
    """Serve ``app`` from a daemon thread; returns the server and the port actually bound."""
    server = make_server(app, host, port, ssl_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return server, server.server_address[1]


def server_ssl_context(cert_path: str | Path, key_path: str | Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_path), str(key_path))
    return context


def ensure_certificate(directory: str | Path) -> tuple[Path, Path]:
    """The sandbox's self-signed certificate and key in ``directory``, generated when missing.

    The certificate is its own CA (so clients can trust it directly with ``verify=<cert>``) and
    names 127.0.0.1, ::1 and localhost; it is valid for ten years.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / CERT_FILENAME, directory / KEY_FILENAME
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    # Only to make a certificate, once: a heavy import every other start of the server skips.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Inclusion Gate sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    public_key = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    # Write to temporary names then rename, so a concurrent first start never reads half a file.
    tmp_key, tmp_cert = key_path.with_suffix(".tmp"), cert_path.with_suffix(".tmp")
    tmp_key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    tmp_key.chmod(0o600)
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp_key.replace(key_path)
    tmp_cert.replace(cert_path)
    return cert_path, key_path
