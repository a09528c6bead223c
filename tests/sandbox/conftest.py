"""Fixtures for the sandbox tests: emulators on ephemeral ports with temporary state.

HubSpot (``hs``, ``client``, ``http``, ``spec``) and Salesforce (``server``, ``control``, ``sf``).
``client`` is the hubspot-api-client here, in place of pytest-django's test client, which no test
of the emulators needs (they never touch Django's views or database).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce

from sandbox.hubspot import make_app
from sandbox.salesforce.testing import running_salesforce_server
from sandbox.testing import running_app, running_hubspot, trusting_session
from tests.sandbox.hubspot_helpers import AUTH, SPEC_DIR, SpecChecker


@pytest.fixture
def hubspot_url(tmp_path: Path):
    """Base URL of a fresh HubSpot emulator (state in tmp_path)."""
    with running_hubspot(tmp_path) as url:
        yield url


@pytest.fixture
def hubspot_spec_dir() -> Path:
    """``../shared/specs/hubspot``; skipped when absent unless CI=true (then it must exist)."""
    directory = SPEC_DIR
    if not directory.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"HubSpot specs missing at {directory}")
        pytest.skip("HubSpot specs (../shared/specs/hubspot) not available")
    return directory


# -- HubSpot -------------------------------------------------------------------------------


@pytest.fixture
def hs(tmp_path: Path):
    """(base_url, app) of a fresh emulator."""
    app = make_app(tmp_path / "hubspot.sqlite3")
    with running_app(app) as srv:
        yield srv.url, app
    app.store.close()


@pytest.fixture
def client(hs) -> HubSpot:
    return HubSpot(access_token="sandbox", host=hs[0])


@pytest.fixture
def http(hs) -> requests.Session:
    session = requests.Session()
    session.headers.update(AUTH)
    return session


@pytest.fixture
def spec() -> SpecChecker:
    if SPEC_DIR.is_dir():
        return SpecChecker(SPEC_DIR)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"HubSpot specs missing at {SPEC_DIR}")
    return SpecChecker(None)


# -- Salesforce ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One Salesforce emulator per test module (``control`` resets it before each test)."""
    with running_salesforce_server(tmp_path_factory.mktemp("salesforce")) as srv:
        yield srv


@pytest.fixture
def control(server):
    session = trusting_session(server.cert_path)
    assert session.post(server.url + "/_sandbox/reset").status_code == 200

    def post(path: str, body: dict) -> requests.Response:
        response = session.post(server.url + path, json=body)
        assert response.status_code == 200, response.text
        return response

    return post


@pytest.fixture
def sf(server, control) -> Salesforce:
    return Salesforce(instance_url=server.url, session_id="sandbox", session=trusting_session(server.cert_path))
