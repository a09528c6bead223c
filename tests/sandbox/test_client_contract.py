"""The client-contract suite: both emulators, over real HTTPS, driven by clients nobody here wrote.

``tests/contract/*.test.mjs`` (Node's own test runner) exercise the Salesforce emulator through
jsforce and the HubSpot emulator through @hubspot/api-client, pinned in ``package-lock.json`` at
the repository's root. This test starts the emulators on ephemeral ports with one self-signed
certificate (trusted by Node through ``NODE_EXTRA_CA_CERTS``), installs the clients with
``npm ci`` when ``node_modules`` is missing, runs ``node --test tests/contract/`` and fails with
Node's report when any check fails.

Environment given to Node: ``SALESFORCE_URL``, ``HUBSPOT_URL`` (rate limits off) and
``HUBSPOT_LIMITED_URL`` (a second HubSpot emulator, for the checks that set a low limit on it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.db import connection

from sandbox.hubspot import make_app as make_hubspot
from sandbox.salesforce.app import make_app as make_salesforce
from sandbox.testing import running_app, trusting_session

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_DIR = ROOT / "tests" / "contract"
NODE_TIMEOUT = 300  # seconds; the suite takes well under a minute
INSTALL_TIMEOUT = 600

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="database-independent: runs in the SQLite pass"),
]


def _tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node and npm are needed for the client-contract suite (tests/contract)")
        pytest.skip("node/npm not installed: the client-contract suite (tests/contract) needs Node 20+")
    return node, npm


def _install(npm: str) -> None:
    """``npm ci`` from the committed lockfile when the clients are not installed yet."""
    installed = (ROOT / "node_modules" / "jsforce").is_dir() and (ROOT / "node_modules" / "@hubspot").is_dir()
    if installed:
        return
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@pytest.fixture
def emulators(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Salesforce and two HubSpot emulators over HTTPS sharing one certificate; Node's environment."""
    cert_dir = tmp_path / "cert"
    with ExitStack() as stack:
        salesforce = make_salesforce(tmp_path / "salesforce.sqlite3")
        stack.callback(salesforce.store.close)
        hubspot = make_hubspot(tmp_path / "hubspot.sqlite3")
        stack.callback(hubspot.store.close)
        limited = make_hubspot(tmp_path / "hubspot-limited.sqlite3")
        stack.callback(limited.store.close)
        sf = stack.enter_context(running_app(salesforce, tls=True, cert_dir=cert_dir))
        hs = stack.enter_context(running_app(hubspot, tls=True, cert_dir=cert_dir))
        hs_limited = stack.enter_context(running_app(limited, tls=True, cert_dir=cert_dir))
        session = trusting_session(sf.cert_path)
        # The fast checks run without HubSpot's burst and search limits (whatever the default);
        # the checks of a 429 set their own low limit on the second emulator.
        for url in (hs.url, hs_limited.url):
            answer = session.post(url + "/_sandbox/config", json={"rate_limit": None, "search_rate_limit": None})
            assert answer.status_code == 200, answer.text
        yield {
            "SALESFORCE_URL": sf.url,
            "HUBSPOT_URL": hs.url,
            "HUBSPOT_LIMITED_URL": hs_limited.url,
            "NODE_EXTRA_CA_CERTS": str(sf.cert_path),
        }


def test_jsforce_and_hubspot_api_client_pass_every_contract_check_against_the_emulators(emulators):
    node, npm = _tools()
    _install(npm)
    env = {**os.environ, **emulators, "NODE_ENV": "test"}
    result = subprocess.run(
        [node, "--test", "--test-concurrency=4", "--test-reporter=spec", str(CONTRACT_DIR.relative_to(ROOT))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    report = f"{result.stdout}\n{result.stderr}"
    # The spec reporter ends with the failing checks and their errors: that part first.
    failing = report[report.find("✖ failing tests:") :] if "✖ failing tests:" in report else report
    assert result.returncode == 0, f"client-contract checks failed (node exited {result.returncode}):\n{failing}"
    assert "# fail 0" in report or "ℹ fail 0" in report, report
