"""What the Salesforce emulator tests share: a valid Lead, the error of a call, the ``server`` and
``control`` fixtures (also used by the client's tests in ``tests/integration``), the org's users,
the other control endpoints and a Bulk API 2.0 job run to its end."""

from __future__ import annotations

import csv
import io
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


# -- the org's users, the control endpoints, Bulk API 2.0 jobs ---------------------------------

INGEST = "/services/data/v59.0/jobs/ingest"
AUTH = {"Authorization": "Bearer sandbox"}


def users_by_email(sf) -> dict[str, dict]:
    """The org's users (``Id``, ``Email``, ``IsActive``, ``Name``) by email."""
    records = sf.query("SELECT Id, Email, IsActive, Name FROM User")["records"]
    return {r["Email"]: r for r in records}


def control_call(server: RunningServer, method: str, path: str, body: dict | None = None) -> requests.Response:
    """``method path`` on the emulator's ``/_sandbox/`` endpoints (no assertion on the answer)."""
    return trusting_session(server.cert_path).request(method, server.url + path, json=body)


def ingest_job(server: RunningServer, body: dict, data: str) -> dict:
    """A Bulk API 2.0 ingest job created with ``body``, given the CSV ``data``, closed and processed:
    ``{"job": its info, "successful": rows, "failed": rows}`` (rows as dicts)."""
    session = trusting_session(server.cert_path)
    base = server.url + INGEST
    created = session.post(base, json=body, headers=AUTH)
    assert created.status_code == 200, created.text
    job = created.json()
    session.put(f"{base}/{job['id']}/batches", data=data.encode(), headers={**AUTH, "Content-Type": "text/csv"})
    session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=AUTH)
    server.app.bulk.wait(job["id"])

    def rows(which: str) -> list[dict]:
        return list(csv.DictReader(io.StringIO(session.get(f"{base}/{job['id']}/{which}", headers=AUTH).text)))

    info = session.get(f"{base}/{job['id']}", headers=AUTH).json()
    return {"job": info, "successful": rows("successfulResults"), "failed": rows("failedResults")}
