"""What the Salesforce emulator tests share: a valid Lead, the error of a call, and the ``server`` and
``control`` fixtures (also used by the client's tests in ``tests/integration``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from sandbox.salesforce.testing import running_salesforce_server
from sandbox.testing import RunningServer, trusting_session


def lead(i: int, **extra) -> dict:
    return {"FirstName": f"F{i}", "LastName": f"L{i}", "Company": "Acme", "Email": f"user{i}@example.com", **extra}


def error_of(exc_info) -> dict:
    return exc_info.value.content[0]


def salesforce_fixtures(folder: str) -> tuple[Any, Any]:
    """The fixtures ``server`` (one Salesforce emulator per test module, its state in a temporary
    ``folder``) and ``control`` (that emulator reset before each test; ``control(path, body)`` posts
    to its ``/_sandbox/`` endpoints): ``server, control = salesforce_fixtures("salesforce")``."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory):
        with running_salesforce_server(tmp_path_factory.mktemp(folder)) as srv:
            yield srv

    @pytest.fixture
    def control(server):
        return reset_control(server)

    return server, control


def reset_control(server: RunningServer) -> Callable[[str, dict], requests.Response]:
    """Reset the emulator behind ``server``; returns ``post(path, body)`` for its ``/_sandbox/``
    endpoints, which asserts a 200."""
    session = trusting_session(server.cert_path)
    assert session.post(server.url + "/_sandbox/reset").status_code == 200

    def post(path: str, body: dict) -> requests.Response:
        response = session.post(server.url + path, json=body)
        assert response.status_code == 200, response.text
        return response

    return post
