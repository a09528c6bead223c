"""The HubSpot emulator's auth and OAuth, rate limits, injected faults and the control endpoints."""

from __future__ import annotations

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts.exceptions import ApiException
from urllib3.util.retry import Retry

from tests.sandbox.hubspot_helpers import CONTACTS, _create, oauth_token


def test_auth_and_oauth(hs, spec):
    url, _app = hs
    missing = requests.get(f"{url}{CONTACTS}")
    assert missing.status_code == 401 and missing.json()["category"] == "INVALID_AUTHENTICATION"
    spec(missing, "/crm/v3/objects/contacts", "get")
    wrong = requests.get(f"{url}{CONTACTS}", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401

    refused = requests.post(f"{url}/oauth/v1/token", data={"grant_type": "authorization_code", "client_id": "c"})
    assert refused.status_code == 400
    issued = oauth_token(url, "authorization_code", redirect_uri="http://localhost/cb", code="abc").json()
    assert issued["token_type"] == "bearer" and issued["expires_in"] == 1800
    ok = requests.get(f"{url}{CONTACTS}", headers={"Authorization": f"Bearer {issued['access_token']}"})
    assert ok.status_code == 200
    refreshed = oauth_token(url, "refresh_token", refresh_token=issued["refresh_token"]).json()
    assert refreshed["access_token"] != issued["access_token"]
    client = HubSpot(access_token=refreshed["access_token"], host=url)
    assert client.crm.contacts.basic_api.get_page().results == []
    # The library's own OAuth APIs understand the answers.
    oauth = HubSpot(host=url).oauth
    token = oauth.tokens_api.create(
        grant_type="refresh_token", client_id="c", client_secret="s", refresh_token=issued["refresh_token"]
    )
    assert token.token_type == "bearer" and token.expires_in == 1800
    info = oauth.access_tokens_api.get(token.access_token)
    assert info.token == token.access_token and "crm.objects.contacts.read" in info.scopes
    bad_refresh = oauth_token(url, "refresh_token", refresh_token="unknown")
    assert bad_refresh.status_code == 400 and bad_refresh.json()["status"] == "BAD_REFRESH_TOKEN"


def test_rate_limit_headers_and_burst_limit(hs, http, spec):
    url, _app = hs
    response = http.get(f"{url}{CONTACTS}")
    for name in (
        "X-HubSpot-RateLimit-Daily",
        "X-HubSpot-RateLimit-Daily-Remaining",
        "X-HubSpot-RateLimit-Interval-Milliseconds",
        "X-HubSpot-RateLimit-Max",
        "X-HubSpot-RateLimit-Remaining",
    ):
        assert name in response.headers
    assert http.post(f"{url}/_sandbox/config", json={"rate_limit": {"max": 3, "interval_ms": 10000}}).ok
    codes = [http.get(f"{url}{CONTACTS}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = http.get(f"{url}{CONTACTS}")
    assert limited.json()["category"] == "RATE_LIMITS" and limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    spec(limited, "/crm/v3/objects/contacts", "get")
    assert http.post(f"{url}/_sandbox/config", json={"rate_limit": None}).ok
    assert http.get(f"{url}{CONTACTS}").status_code == 200
    # Search has its own per-second limit, and its 429 carries no rate-limit headers.
    assert http.post(f"{url}/_sandbox/config", json={"search_rate_limit": {"max": 2, "interval_ms": 10000}}).ok
    searches = [http.post(f"{url}{CONTACTS}/search", json={}) for _ in range(3)]
    assert [r.status_code for r in searches] == [200, 200, 429]
    assert searches[2].json()["policyName"] == "SECONDLY" and "X-HubSpot-RateLimit-Max" not in searches[2].headers
    spec(searches[2], "/crm/v3/objects/contacts/search", "post")
    assert http.get(f"{url}{CONTACTS}").status_code == 200  # other endpoints are not affected
    assert http.post(f"{url}/_sandbox/config", json={"rate_limit": {"max": "x"}}).status_code == 400


def test_429_then_success_through_the_clients_retry(hs, http):
    url, _app = hs
    http.post(f"{url}/_sandbox/faults", json={"kind": "rate_limit", "count": 2, "method": "POST"})
    retry = Retry(total=3, backoff_factor=0, status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None)
    client = HubSpot(access_token="sandbox", host=url, retry=retry)
    created = _create(client, email="retry@example.com")  # a POST: retried too
    assert created.properties["email"] == "retry@example.com"
    assert http.get(f"{url}/_sandbox/faults").json()["faults"][0]["fired"] == 2
    # Without retries the client sees the 429.
    http.post(f"{url}/_sandbox/faults", json={"kind": "rate_limit", "count": 1})
    with pytest.raises(ApiException) as exc:
        HubSpot(access_token="sandbox", host=url).crm.contacts.basic_api.get_page()
    assert exc.value.status == 429


def test_faults_by_header_render_hubspot_errors(hs, http, spec):
    url, _app = hs
    expected = {
        "rate_limit": (429, "RATE_LIMITS"),
        "expired_session": (401, "EXPIRED_AUTHENTICATION"),
        "server_error": (500, "INTERNAL_ERROR"),
        "unable_to_lock_row": (500, "INTERNAL_ERROR"),
        "down": (503, "SERVICE_UNAVAILABLE"),
    }
    for kind, (status, category) in expected.items():
        response = http.get(f"{url}{CONTACTS}", headers={"X-Sandbox-Fault": kind})
        assert (response.status_code, response.json()["category"]) == (status, category), kind
        spec(response, "/crm/v3/objects/contacts", "get")
    slow = http.get(f"{url}{CONTACTS}", headers={"X-Sandbox-Fault": "latency; latency_ms=120"})
    assert slow.status_code == 200 and slow.elapsed.total_seconds() >= 0.12
    # The fault wins over a valid token, which is how an expired session looks to a client.
    assert http.get(f"{url}{CONTACTS}", headers={"X-Sandbox-Fault": "expired_session"}).status_code == 401


def test_fault_plan_and_reset_by_control_endpoint(hs, http, client):
    url, app = hs
    _create(client, email="keep@example.com")
    plan = {"kind": "server_error", "rate": 0.5, "seed": 42, "path": "^/crm/v3/objects/contacts$"}

    def run() -> list[int]:
        http.post(f"{url}/_sandbox/faults", json=plan)
        return [http.get(f"{url}{CONTACTS}").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second and 500 in first and 200 in first
    assert http.get(f"{url}/crm/v3/properties/contacts").status_code == 200  # outside the path filter
    status = http.get(f"{url}/_sandbox/status").json()
    assert status["contacts"] == 1 and status["faults"][0]["kind"] == "server_error"
    assert http.post(f"{url}/_sandbox/reset").json() == {"status": "reset"}
    status = http.get(f"{url}/_sandbox/status").json()
    assert status.pop("daily_limit")["max"] is None  # the test helper's emulator: no limits
    assert status == {
        "faults": [],
        "contacts": 0,
        "archived": 0,
        "rate_limit": {"max": None, "interval_ms": 10000},
        "search_rate_limit": {"max": None, "interval_ms": 1000},
        "throttled": {},
    }
    assert app.store.properties["lifecyclestage"].options  # the schema survives a reset
    assert _create(client, email="keep@example.com").id == "1"
