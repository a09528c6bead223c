"""Start the Salesforce sandbox over TLS on an ephemeral port, for tests and benches.

::

    with running_salesforce(tmp_path) as (base_url, cert_path):
        session = trusting_session(cert_path)
        sf = Salesforce(instance_url=base_url, session_id="sandbox", session=session)

``running_salesforce_server`` yields the ``RunningServer`` itself (its ``app`` is the
``SalesforceSandbox``: settings, Bulk threads and server-side handler timing).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.salesforce.app import make_app
from sandbox.testing import RunningServer, running_app


@contextmanager
def running_salesforce_server(tmp_dir: str | Path) -> Iterator[RunningServer]:
    tmp_dir = Path(tmp_dir)
    app = make_app(tmp_dir / "salesforce.sqlite3")
    try:
        with running_app(app, tls=True, cert_dir=tmp_dir / "cert") as srv:
            yield srv
    finally:
        app.store.close()


@contextmanager
def running_salesforce(tmp_dir: str | Path) -> Iterator[tuple[str, Path]]:
    """The Salesforce sandbox with its state in ``tmp_dir``; yields ``(base_url, cert_path)``."""
    with running_salesforce_server(tmp_dir) as srv:
        assert srv.cert_path is not None
        yield srv.url, srv.cert_path
