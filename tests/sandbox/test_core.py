"""The sandbox's shared core: router, keep-alive server, TLS, SQLite store, fault injection."""

from __future__ import annotations

import http.client
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest
import requests

from sandbox.faults import FaultInjector, FaultPlan, install_control_routes, parse_fault_header
from sandbox.server import _HeaderError, _read_headers, _WSGIRequestHandler, ensure_certificate
from sandbox.store import SQLiteStore
from sandbox.testing import running_app, trusting_session
from sandbox.wsgi import HttpError, Request, Router, json_response


class CounterStore(SQLiteStore):
    SCHEMA = "CREATE TABLE IF NOT EXISTS hit (id INTEGER PRIMARY KEY, path TEXT NOT NULL);"
    TABLES = ("hit",)


def make_app(tmp_path):
    store = CounterStore(tmp_path / "core.sqlite3")
    router = Router()
    injector = FaultInjector()

    def render(request, fault):
        return json_response(503 if fault.kind == "down" else 429, {"fault": fault.kind, **fault.params})

    router.before.append(injector.hook(render))
    install_control_routes(router, injector, reset=store.reset)

    @router.route("GET", r"/items/(?P<item_id>\d+)")
    def get_item(request: Request, item_id: str):
        with store.write() as conn:
            conn.execute("INSERT INTO hit (path) VALUES (?)", (request.path,))
        return json_response(200, {"id": item_id, "q": request.args("q")})

    @router.route("POST", r"/items")
    def post_item(request: Request):
        data = request.json()
        if "name" not in data:
            raise HttpError(400, "name is required", code="VALIDATION_ERROR")
        return json_response(201, data)

    @router.route("GET", r"/hits")
    def hits(request: Request):
        return json_response(200, {"count": store.read().execute("SELECT COUNT(*) FROM hit").fetchone()[0]})

    router.store = store
    return router


def test_router_dispatch_params_errors(tmp_path):
    with running_app(make_app(tmp_path)) as srv:
        r = requests.get(f"{srv.url}/items/42?q=a,b&q=c")
        assert r.status_code == 200
        assert r.json() == {"id": "42", "q": ["a", "b", "c"]}
        assert requests.get(f"{srv.url}/nope").status_code == 404
        assert requests.delete(f"{srv.url}/items/42").status_code == 405
        assert requests.post(f"{srv.url}/items", data="{not json").status_code == 400
        bad = requests.post(f"{srv.url}/items", json={})
        assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_ERROR"
        assert requests.post(f"{srv.url}/items", json={"name": "x"}).status_code == 201


def test_keep_alive_reuses_one_connection(tmp_path):
    with running_app(make_app(tmp_path)) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        for i in range(5):
            conn.request("GET", f"/items/{i}")
            response = conn.getresponse()
            assert response.status == 200
            assert response.version == 11
            response.read()
        # Same socket throughout: the server never closed it.
        assert conn.sock is not None
        # Every answer is dated (formatted once a second, for all of them).
        date = parsedate_to_datetime(response.getheader("Date"))
        assert abs((datetime.now(UTC) - date).total_seconds()) < 5
        conn.request("POST", "/items", body=b'{"name": "n"}', headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 201
        conn.close()


def test_tls_with_generated_certificate(tmp_path):
    app = make_app(tmp_path)
    with running_app(app, tls=True, cert_dir=tmp_path / "certs") as srv:
        assert srv.url.startswith("https://127.0.0.1:")
        session = trusting_session(srv.cert_path)
        assert session.get(f"{srv.url}/items/1").json()["id"] == "1"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{srv.url}/items/1")  # the default CA bundle does not trust it
    cert_before = (tmp_path / "certs" / "sandbox-cert.pem").read_bytes()
    ensure_certificate(tmp_path / "certs")
    assert (tmp_path / "certs" / "sandbox-cert.pem").read_bytes() == cert_before  # reused, not regenerated
    # The certificate also verifies by host name "localhost".
    context = ssl.create_default_context(cafile=str(srv.cert_path))
    assert context.cert_store_stats()["x509_ca"] == 1


def test_store_reset_and_concurrent_writes(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    app = make_app(tmp_path)
    with running_app(app) as srv:
        session = requests.Session()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda i: requests.get(f"{srv.url}/items/{i}").status_code, range(80)))
        assert statuses == [200] * 80
        assert session.get(f"{srv.url}/hits").json()["count"] == 80
        assert session.post(f"{srv.url}/_sandbox/reset").status_code == 200
        assert session.get(f"{srv.url}/hits").json()["count"] == 0


def test_fault_by_header(tmp_path):
    with running_app(make_app(tmp_path)) as srv:
        r = requests.get(f"{srv.url}/items/1", headers={"X-Sandbox-Fault": "rate_limit; retry_after=3"})
        assert r.status_code == 429 and r.json() == {"fault": "rate_limit", "retry_after": "3"}
        r = requests.get(f"{srv.url}/items/1", headers={"X-Sandbox-Fault": "latency; latency_ms=50"})
        assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.05
        assert requests.get(f"{srv.url}/items/1", headers={"X-Sandbox-Fault": "bogus"}).status_code == 400


def test_fault_plan_by_control_endpoint_is_deterministic(tmp_path):
    def run_sequence(url):
        requests.post(f"{url}/_sandbox/faults", json={"kind": "down", "rate": 0.3, "seed": 11, "path": "^/items/"})
        codes = [requests.get(f"{url}/items/{i}").status_code for i in range(40)]
        # Requests outside the path filter are never faulted and do not consume draws.
        assert requests.get(f"{url}/hits").status_code == 200
        return codes

    with running_app(make_app(tmp_path)) as srv:
        first = run_sequence(srv.url)
        second = run_sequence(srv.url)  # setting the plan again restarts its random sequence
        assert first == second
        assert 0 < first.count(503) < 40
        listed = requests.get(f"{srv.url}/_sandbox/faults").json()["faults"]
        assert listed[0]["fired"] == first.count(503)
        assert requests.delete(f"{srv.url}/_sandbox/faults").status_code == 204
        assert {requests.get(f"{srv.url}/items/1").status_code for _ in range(10)} == {200}


def test_fault_plan_count_and_validation(tmp_path):
    with running_app(make_app(tmp_path)) as srv:
        requests.post(f"{srv.url}/_sandbox/faults", json={"faults": [{"kind": "server_error", "count": 2}]})
        codes = [requests.get(f"{srv.url}/items/1").status_code for _ in range(4)]
        assert codes == [429, 429, 200, 200]
        assert requests.post(f"{srv.url}/_sandbox/faults", json={"kind": "nope"}).status_code == 400
        assert requests.post(f"{srv.url}/_sandbox/faults", json={"kind": "down", "rate": 2}).status_code == 400


def test_plan_and_header_parsing():
    plan = FaultPlan.from_json({"kind": "rate_limit", "rate": 0.5, "seed": 3, "retry_after": 2})
    assert plan.params == {"retry_after": "2"}
    fault = parse_fault_header("latency")
    assert fault.kind == "latency" and fault.latency_ms > 0
    with pytest.raises(ValueError):
        parse_fault_header("")


def test_down_refuse_closes_the_connection_without_an_answer(tmp_path):
    with running_app(make_app(tmp_path)) as srv:
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"{srv.url}/items/1", headers={"X-Sandbox-Fault": "down; mode=refuse"})
        assert requests.get(f"{srv.url}/items/1", headers={"X-Sandbox-Fault": "down"}).status_code == 503
        assert requests.get(f"{srv.url}/items/1").status_code == 200  # the server itself is fine


def test_store_connections_do_not_outlive_their_threads(tmp_path):
    import gc
    import threading

    store = CounterStore(tmp_path / "threads.sqlite3")

    def work() -> None:
        with store.write() as conn:
            conn.execute("INSERT INTO hit (path) VALUES ('x')")

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gc.collect()
    assert len(store._connections) <= 1  # only this thread's, if any
    assert store.read().execute("SELECT COUNT(*) FROM hit").fetchone()[0] == 20
    store.close()


def test_request_headers_are_read_as_http_client_reads_them(tmp_path):
    """The server reads headers itself (not through the email parser): same answers as before."""
    import io

    raw = b"Host: x\r\nX-Twice: one\r\nx-twice: two\r\nX-Folded: a\r\n  b\r\nContent-Length:  7 \r\n\r\nbody"
    stream = io.BytesIO(raw)
    headers = _read_headers(stream)
    reference = http.client.parse_headers(io.BytesIO(raw))
    for name in ("host", "X-TWICE", "content-length", "Missing"):
        assert headers.get(name) == reference.get(name)
    # An obsolete folded value is unfolded with a space (RFC 9112 5.2), where http.client keeps
    # the line break.
    assert headers.get_all("x-twice") == reference.get_all("x-twice") == ["one", "two"]
    assert headers.get("X-Folded") == "a b"
    assert stream.read() == b"body"  # the body is left for the handler
    with pytest.raises(_HeaderError, match="Too many headers"):
        _read_headers(io.BytesIO(b"".join(b"H%d: v\r\n" % n for n in range(101)) + b"\r\n"))
    with pytest.raises(_HeaderError, match="Line too long"):
        _read_headers(io.BytesIO(b"H: " + b"v" * 70_000 + b"\r\n\r\n"))
    with pytest.raises(_HeaderError, match="Bad header"):
        _read_headers(io.BytesIO(b"no colon here\r\n\r\n"))


MALFORMED = [
    b"GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /items/1 HTTP/9.9\r\n\r\n",
    b"GET /items/1 HTTP/1.x\r\n\r\n",
    b"GET /items/1 FTP/1.1\r\n\r\n",
    b"GET /items/1 HTTP/1.1\r\n" + b"H: v\r\n" * 101 + b"\r\n",
    b"GET /items/1 HTTP/1.1\r\nH: " + b"v" * 70_000 + b"\r\n\r\n",
    b"GET /items/1 HTTP/1.1 extra\r\n\r\n",
    b"POST /items HTTP/1.0\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}",
    b"GET //items/1 HTTP/1.1\r\n\r\n",
    b"GET /items/1\r\n\r\n",
]


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_requests_are_answered_as_with_the_stdlib_request_parsing(tmp_path, monkeypatch, raw):
    """Whatever the request line and headers, the same answer as ``http.server`` would give."""
    import socket
    from http.server import BaseHTTPRequestHandler

    def answer() -> bytes:
        with running_app(make_app(tmp_path)) as srv, socket.create_connection(("127.0.0.1", srv.port), 5) as sock:
            sock.sendall(raw)
            data = sock.recv(4096)
            return data.split(b"\r\n", 1)[0] if data.startswith(b"HTTP/") else data[:200]

    ours = answer()
    monkeypatch.setattr(_WSGIRequestHandler, "parse_request", BaseHTTPRequestHandler.parse_request)
    assert ours == answer()
