"""Start emulators on ephemeral ports for tests and benches.

::

    with running_app(app) as srv:                 # http://127.0.0.1:<port>
        requests.get(srv.url + "/_sandbox/status")

    with running_app(app, tls=True) as srv:       # https, self-signed cert in a temp folder
        session = trusting_session(srv.cert_path)
        session.get(srv.url + "/...")

    with running_hubspot(tmp_path) as base_url:   # the HubSpot emulator, state in tmp_path, no limits
        HubSpot(access_token="sandbox", host=base_url)

    with running_hubspot_app(tmp_path) as (base_url, app):   # the same, and its app (``app.store``)
        app.store.bulk_insert(...)

``running_app`` never binds a fixed port (port 0), so tests can run concurrently. The HubSpot
helpers switch HubSpot's rate limits off unless asked (``running_hubspot(tmp, limits=PROFESSIONAL)``).
"""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from sandbox.hubspot import NO_LIMITS, make_app
from sandbox.server import (
    SandboxServer,
    WSGIApp,
    ensure_certificate,
    serve_in_thread,
    server_ssl_context,
)


@dataclass
class RunningServer:
    url: str
    port: int
    server: SandboxServer
    app: Any
    cert_path: Path | None = None


@contextmanager
def running_app(
    app: WSGIApp, tls: bool = False, host: str = "127.0.0.1", cert_dir: str | Path | None = None
) -> Iterator[RunningServer]:
    """Serve ``app`` in a thread on an ephemeral port; https with a self-signed cert if ``tls``."""
    context: ssl.SSLContext | None = None
    cert_path: Path | None = None
    temp: tempfile.TemporaryDirectory[str] | None = None
    if tls:
        if cert_dir is None:
            temp = tempfile.TemporaryDirectory(prefix="sandbox-cert-")
            cert_dir = temp.name
        cert_path, key_path = ensure_certificate(cert_dir)
        context = server_ssl_context(cert_path, key_path)
    server, port = serve_in_thread(app, host, 0, context)
    scheme = "https" if tls else "http"
    try:
        yield RunningServer(url=f"{scheme}://{host}:{port}", port=port, server=server, app=app, cert_path=cert_path)
    finally:
        server.shutdown()
        server.server_close()
        if temp is not None:
            temp.cleanup()


def trusting_session(cert_path: str | Path) -> Any:
    """A ``requests.Session`` that trusts the sandbox's self-signed certificate.

    Setting ``session.verify`` alone is not enough: when ``REQUESTS_CA_BUNDLE`` (or
    ``CURL_CA_BUNDLE``) is set in the environment, requests lets it override the session's
    ``verify`` (the environment wins over the session's settings in ``merge_environment_settings``).
    The mounted adapter pins the certificate for every https request instead.
    """
    cafile = str(cert_path)

    class _TrustingAdapter(HTTPAdapter):
        def send(self, request: Any, **kwargs: Any) -> Any:
            kwargs["verify"] = cafile
            return super().send(request, **kwargs)

    session = requests.Session()
    session.verify = cafile
    session.mount("https://", _TrustingAdapter())
    return session


@contextmanager
def running_hubspot_app(tmp_dir: str | Path, **options: Any) -> Iterator[tuple[str, Any]]:
    """The HubSpot emulator with its state in ``tmp_dir``; yields ``(base_url, app)`` (http).

    Without HubSpot's rate limits unless ``limits=`` is given (``sandbox.hubspot.PROFESSIONAL``
    for a real account's): tests and benches measure the sync, not the throttle."""
    options.setdefault("limits", NO_LIMITS)
    app = make_app(Path(tmp_dir) / "hubspot.sqlite3", **options)
    try:
        with running_app(app) as srv:
            yield srv.url, app
    finally:
        app.store.close()


@contextmanager
def running_hubspot(tmp_dir: str | Path, **options: Any) -> Iterator[str]:
    """The HubSpot emulator with its state in ``tmp_dir``; yields its base URL (http)."""
    with running_hubspot_app(tmp_dir, **options) as (url, _app):
        yield url
