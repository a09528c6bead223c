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

from sandbox.testing import running_hubspot, running_hubspot_app, trusting_session
from tests.sandbox.hubspot_helpers import AUTH, SPEC_DIR, SpecChecker
from tests.sandbox.salesforce_helpers import salesforce_fixtures


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
    with running_hubspot_app(tmp_path) as url_and_app:
        yield url_and_app


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


# One Salesforce emulator per test module, reset before each test by ``control``.
server, control = salesforce_fixtures("salesforce")


@pytest.fixture
def sf(server, control) -> Salesforce:
    return Salesforce(instance_url=server.url, session_id="sandbox", session=trusting_session(server.cert_path))
