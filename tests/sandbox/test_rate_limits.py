"""The emulators enforce the services' documented limits by default: HubSpot's for a Professional
account's private app (burst, search, daily) and Salesforce's daily API allocation; the
``sandbox_serve`` flags change them or switch them off."""

from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from sandbox.hubspot import NO_LIMITS, PROFESSIONAL, HubSpotLimits, make_app
from sandbox.management.commands import sandbox_serve
from sandbox.testing import running_app, running_hubspot_app, trusting_session
from tests.sandbox.hubspot_helpers import AUTH, CONTACTS


def test_the_emulator_enforces_a_professional_accounts_limits_unless_told_otherwise(tmp_path: Path):
    app = make_app(tmp_path / "hubspot.sqlite3")
    try:
        with running_app(app) as srv:
            status = requests.get(f"{srv.url}/_sandbox/status", timeout=10).json()
            headers = requests.get(f"{srv.url}{CONTACTS}", headers=AUTH, timeout=10).headers
    finally:
        app.store.close()
    assert status["rate_limit"] == {"max": 190, "interval_ms": 10_000}
    assert status["search_rate_limit"] == {"max": 5, "interval_ms": 1_000}
    assert status["daily_limit"]["max"] == 650_000
    assert headers["X-HubSpot-RateLimit-Max"] == "190"
    assert headers["X-HubSpot-RateLimit-Daily"] == "650000"
    assert int(headers["X-HubSpot-RateLimit-Daily-Remaining"]) == 650_000 - 1
    assert HubSpotLimits() == PROFESSIONAL  # the default


def test_the_burst_limit_answers_hubspots_429_with_its_headers(tmp_path: Path, spec):
    limits = HubSpotLimits(burst=3, search=None, daily=None)
    with running_hubspot_app(tmp_path, limits=limits) as (url, _app):
        answers = [requests.get(f"{url}{CONTACTS}", headers=AUTH, timeout=10) for _ in range(4)]
        status = requests.get(f"{url}/_sandbox/status", timeout=10).json()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    body = limited.json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert body["category"] == "RATE_LIMITS" and body["correlationId"]
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert limited.headers["X-HubSpot-RateLimit-Max"] == "3"
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    spec(limited, "/crm/v3/objects/contacts", "get")
    assert status["throttled"] == {"TEN_SECONDLY_ROLLING": 1}


def test_search_has_its_own_limit_per_second(tmp_path: Path):
    limits = HubSpotLimits(burst=None, search=2, daily=None)
    with running_hubspot_app(tmp_path, limits=limits) as (url, _app):
        searches = [requests.post(f"{url}{CONTACTS}/search", json={}, headers=AUTH, timeout=10) for _ in range(3)]
        other = requests.get(f"{url}{CONTACTS}", headers=AUTH, timeout=10)
        time.sleep(1.1)  # the next second: searches are allowed again
        again = requests.post(f"{url}{CONTACTS}/search", json={}, headers=AUTH, timeout=10)
    assert [s.status_code for s in searches] == [200, 200, 429]
    assert searches[2].json()["policyName"] == "SECONDLY"
    assert other.status_code == 200 and again.status_code == 200


def test_past_the_daily_allowance_every_call_is_refused_with_the_daily_policy(tmp_path: Path, spec):
    with running_hubspot_app(tmp_path, limits=PROFESSIONAL) as (url, _app):
        config = requests.post(f"{url}/_sandbox/config", json={"daily_limit": {"max": 10, "used": 9}}, timeout=10)
        assert config.ok and config.json()["daily_limit"] == {"max": 10, "used": 9}
        last = requests.get(f"{url}{CONTACTS}", headers=AUTH, timeout=10)
        refused = requests.get(f"{url}{CONTACTS}", headers=AUTH, timeout=10)
        refused_write = requests.post(f"{url}{CONTACTS}", json={"properties": {}}, headers=AUTH, timeout=10)
        bad = requests.post(f"{url}/_sandbox/config", json={"daily_limit": {"max": 0}}, timeout=10)
        off = requests.post(f"{url}/_sandbox/config", json={"daily_limit": None}, timeout=10)
        after = requests.get(f"{url}{CONTACTS}", headers=AUTH, timeout=10)
    assert last.status_code == 200 and last.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert refused.status_code == 429 and refused_write.status_code == 429
    assert refused.json()["policyName"] == "DAILY" and refused.json()["message"] == "You have reached your daily limit."
    # No Retry-After: the allowance comes back at midnight, not after a short wait.
    assert "Retry-After" not in refused.headers
    spec(refused, "/crm/v3/objects/contacts", "get")
    assert bad.status_code == 400 and "daily_limit" in bad.json()["message"]
    assert off.ok and after.status_code == 200


@pytest.mark.parametrize(
    "config",
    [{"rate_limit": {"max": 0}}, {"rate_limit": {"max": 5, "interval_ms": -1}}, {"daily_limit": "many"}],
)
def test_a_limit_that_is_not_a_positive_number_is_a_clear_400(tmp_path: Path, config):
    with running_hubspot_app(tmp_path) as (url, _app):
        response = requests.post(f"{url}/_sandbox/config", json=config, timeout=10)
    assert response.status_code == 400 and response.json()["category"] == "VALIDATION_ERROR"


def test_limits_refuse_a_zero_or_negative_value():
    with pytest.raises(ValueError):
        HubSpotLimits(burst=0)
    assert NO_LIMITS.burst is None and NO_LIMITS.search is None and NO_LIMITS.daily is None


def _serve(tmp_path: Path, settings, *flags: str):
    """Start ``sandbox_serve`` in a thread; (command, thread, its output so far, the two URLs)."""
    settings.SANDBOX = True
    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    command = sandbox_serve.Command(stdout=out)
    args = ("--hubspot-port", "0", "--salesforce-port", "0", *flags)
    thread = threading.Thread(target=call_command, args=(command, *args), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while "Press Ctrl+C" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = out.getvalue()
    hubspot = re.search(r"HubSpot sandbox:\s+(http://\S+)", text)
    salesforce = re.search(r"Salesforce sandbox: (https://\S+) \(certificate: (\S+)\)", text)
    assert hubspot and salesforce, text
    return command, thread, text, hubspot.group(1), salesforce


@pytest.mark.parametrize(
    ("flags", "hubspot", "salesforce_max"),
    [
        ((), (190, 5, 650_000), 100_000),
        (
            ("--hubspot-rate-limit", "7", "--hubspot-search-rate", "2", "--hubspot-daily-limit", "900",
             "--salesforce-daily-limit", "50"),
            (7, 2, 900),
            50,
        ),
        (("--hubspot-search-rate", "0"), (190, None, 650_000), 100_000),
        (("--no-limits",), (None, None, None), sandbox_serve.SALESFORCE_UNLIMITED),
    ],
)  # fmt: skip
def test_sandbox_serve_enforces_the_limits_by_default_and_its_flags_change_them(
    tmp_path: Path, settings, flags, hubspot, salesforce_max
):
    command, thread, text, hubspot_url, salesforce = _serve(tmp_path, settings, *flags)
    try:
        status = requests.get(f"{hubspot_url}/_sandbox/status", timeout=10).json()
        session = trusting_session(salesforce.group(2))
        limits = session.get(f"{salesforce.group(1)}/services/data/v62.0/limits", headers=AUTH, timeout=10)
    finally:
        command.stop.set()
        thread.join(15)
    assert (status["rate_limit"]["max"], status["search_rate_limit"]["max"], status["daily_limit"]["max"]) == hubspot
    assert limits.status_code == 200, limits.text
    assert limits.json()["DailyApiRequests"]["Max"] == salesforce_max
    assert limits.headers["Sforce-Limit-Info"].endswith(f"/{salesforce_max}")
    assert "Limits: HubSpot" in text


def test_sandbox_serve_refuses_a_negative_limit(settings):
    settings.SANDBOX = True
    with pytest.raises(CommandError, match="0 for no limit"):
        call_command("sandbox_serve", "--hubspot-port", "0", "--salesforce-port", "0", "--hubspot-daily-limit", "-3")
