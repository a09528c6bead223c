"""integration.clients.hubspot against the HubSpot sandbox over HTTP."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import requests

from integration.clients.base import AuthError, Conflict, RateLimited
from integration.clients.hubspot import HubSpotClient, default_retry, get_hubspot_client
from sandbox.testing import running_hubspot_app
from tests.sandbox.hubspot_helpers import oauth_token

BASE_MS = 1_700_000_000_000


@pytest.fixture
def hs(tmp_path: Path):
    with running_hubspot_app(tmp_path) as url_and_app:
        yield url_and_app


def _client(url: str, **kwargs) -> HubSpotClient:
    return HubSpotClient(base_url=url, access_token="sandbox", retry=default_retry(backoff_factor=0), **kwargs)


def _seed(app, stamps: list[int]) -> None:
    app.store.bulk_insert(
        ({"email": f"c{i:05d}@example.com", "lastname": f"L{i}"}, BASE_MS, stamp) for i, stamp in enumerate(stamps)
    )


def test_iter_contacts_pages_and_resumes(hs):
    url, app = hs
    _seed(app, [BASE_MS + i for i in range(250)])
    client = _client(url)
    pages = list(client.iter_contacts(["email"]))
    assert [len(p.contacts) for p in pages] == [100, 100, 50]
    assert pages[-1].after is None and pages[0].after
    assert client.api_calls == 3
    assert len({c.id for p in pages for c in p.contacts}) == 250
    resumed = list(client.iter_contacts(["email"], after=pages[0].after))
    assert [c.id for p in resumed for c in p.contacts] == [c.id for p in pages[1:] for c in p.contacts]
    assert pages[0].contacts[0].email == "c00000@example.com"
    app.store.bulk_insert([({"email": "gone@example.com"}, BASE_MS, BASE_MS)])
    gone = client.get_contact("gone@example.com", id_property="email")
    client.basic_api.archive(gone.id)
    archived = [c for p in client.iter_contacts(["email"], archived=True) for c in p.contacts]
    assert [(c.id, c.archived) for c in archived] == [(gone.id, True)]


def test_search_modified_since_gets_past_the_10000_cap(hs):
    url, app = hs
    # 10,400 changes; 300 of them share one millisecond right across the 10,000th result.
    stamps = (
        [BASE_MS + i * 10 for i in range(9_900)]
        + [BASE_MS + 99_000_0] * 300
        + [BASE_MS + 100_000_0 + i for i in range(200)]
    )
    _seed(app, stamps)
    client = _client(url)
    seen: list[str] = []
    watermark = None
    for page in client.search_modified_since(None, ["email"]):
        seen += [c.id for c in page.contacts]
        assert watermark is None or page.last_modified >= watermark
        watermark = page.last_modified
    assert len(seen) == 10_400 and len(set(seen)) == 10_400
    assert watermark == dt.datetime.fromtimestamp((BASE_MS + 100_000_0 + 199) / 1000, tz=dt.UTC)
    # From a watermark: only what changed at or after it.
    since = dt.datetime.fromtimestamp((BASE_MS + 100_000_0 + 150) / 1000, tz=dt.UTC)
    later = [c.id for p in client.search_modified_since(since, ["email"]) for c in p.contacts]
    assert len(later) == 50


def test_properties_and_single_reads(hs):
    url, _app = hs
    client = _client(url)
    properties = {p["name"]: p for p in client.get_properties()}
    assert properties["lifecyclestage"]["type"] == "enumeration"
    assert properties["lifecyclestage"]["fieldType"] == "radio"
    assert {o["value"] for o in properties["interests"]["options"]} >= {"webinars", "events"}
    assert properties["hs_object_id"]["modificationMetadata"]["readOnlyValue"] is True
    created = client.create_contact({"email": "Solo@Example.com", "firstname": "Han"})
    assert client.get_contact(created.id, ["firstname"]).properties["firstname"] == "Han"
    assert client.get_contact("solo@example.com", ["email"], id_property="email").id == created.id
    assert client.get_contact("999999") is None
    with pytest.raises(Conflict):
        client.create_contact({"email": "SOLO@example.com"})


def test_batch_upsert_update_read(hs):
    url, _app = hs
    client = _client(url)
    first = client.create_contact({"email": "old@example.com", "firstname": "Old"})
    records = [
        {"email": f"u{i}@example.com", "firstname": f"F{i}", "newsletter_opt_in": i % 2 == 0} for i in range(249)
    ]
    records.append({"email": "OLD@example.com", "firstname": "Renamed"})
    records.append({"email": "u0@EXAMPLE.com", "lastname": "Merged"})  # same contact as u0: merged
    calls_before = client.api_calls
    results = client.batch_upsert_by_email(records)
    assert client.api_calls - calls_before == 3  # 250 distinct emails, 100 a call
    assert len(results) == 250
    by_email = {c.email.lower(): c for c in results}
    assert by_email["old@example.com"].id == first.id and by_email["old@example.com"].new is False
    assert by_email["u0@example.com"].new is True
    u0 = client.get_contact(by_email["u0@example.com"].id, ["firstname", "lastname", "newsletter_opt_in"])
    assert u0.properties == {**u0.properties, "firstname": "F0", "lastname": "Merged", "newsletter_opt_in": "true"}

    updated = client.batch_update(
        [{"id": first.id, "properties": {"city": "Madrid", "jobtitle": None}}, {"id": "987654", "properties": {}}]
    )
    assert [c.properties["city"] for c in updated.contacts] == ["Madrid"]
    assert updated.missing_ids == ["987654"]
    read = client.batch_read([first.id, "987654"], ["city"])
    assert [c.properties["city"] for c in read.contacts] == ["Madrid"] and read.missing_ids == ["987654"]


def test_retries_429_and_5xx_including_post_and_counts_every_call(hs):
    url, _app = hs
    client = _client(url)
    requests.post(f"{url}/_sandbox/faults", json={"kind": "rate_limit", "count": 2})
    assert list(client.iter_contacts(["email"]))[0].contacts == []
    assert client.api_calls == 3  # one call, two retries
    requests.post(f"{url}/_sandbox/faults", json={"kind": "server_error", "count": 1, "method": "POST"})
    client.batch_upsert_by_email([{"email": "r@example.com"}])
    assert client.api_calls == 5
    # A dropped connection is retried too.
    requests.post(f"{url}/_sandbox/faults", json={"kind": "down", "mode": "refuse", "count": 1})
    assert client.get_properties()
    assert client.api_calls == 7
    # Retry-After is honoured.
    requests.post(f"{url}/_sandbox/faults", json={"kind": "rate_limit", "count": 1, "retry_after": 1})
    started = time.monotonic()
    client.get_properties()
    assert time.monotonic() - started >= 1.0
    # Out of retries: the 429 surfaces as RateLimited.
    requests.post(f"{url}/_sandbox/faults", json={"kind": "rate_limit"})
    with pytest.raises(RateLimited):
        client.get_contact("1")
    requests.delete(f"{url}/_sandbox/faults")


def test_auth_errors_and_token_refresh(hs):
    url, _app = hs
    with pytest.raises(AuthError):
        HubSpotClient(base_url=url, access_token="wrong").get_properties()
    refreshed: list[str] = []

    def refresh() -> str:
        token = oauth_token(url, "authorization_code", code="x", redirect_uri="y").json()["access_token"]
        refreshed.append(token)
        return token

    client = _client(url, refresh=refresh)
    requests.post(f"{url}/_sandbox/faults", json={"kind": "expired_session", "count": 1})
    assert client.get_properties()
    assert len(refreshed) == 1
    assert client.basic_api.api_client.configuration.access_token == refreshed[0]


@pytest.mark.django_db
def test_factory_picks_sandbox_or_real(hs, settings):
    from integration.models import HubSpotConnection, SalesforceConnection

    url, _app = hs
    settings.SANDBOX = True
    settings.SANDBOX_HUBSPOT_URL = url
    client = get_hubspot_client()
    assert client.base_url == url and client is get_hubspot_client()
    assert client.create_contact({"email": "factory@example.com"}).id

    connection = HubSpotConnection.load()
    connection.environment = SalesforceConnection.Environment.PRODUCTION
    connection.base_url = "https://api.hubapi.example"
    connection.access_token = "pat-na1-secret"
    connection.save()
    real = get_hubspot_client()
    assert real.base_url == "https://api.hubapi.example" and real is not client
    assert real.basic_api.api_client.configuration.access_token == "pat-na1-secret"

    # OAuth connections refresh an expired token through HubSpot's token endpoint and keep it.
    issued = oauth_token(url, "authorization_code", code="x", redirect_uri="y").json()
    connection.base_url = url
    connection.auth_method = HubSpotConnection.AuthMethod.OAUTH
    connection.client_id, connection.client_secret = "c", "s"
    connection.access_token, connection.refresh_token = issued["access_token"], issued["refresh_token"]
    connection.save()
    oauth_client = get_hubspot_client()
    requests.post(f"{url}/_sandbox/faults", json={"kind": "expired_session", "count": 1})
    assert oauth_client.get_properties()
    connection.refresh_from_db()
    assert connection.access_token != issued["access_token"]
    assert connection.refresh_token == issued["refresh_token"]
    connection.refresh_token = "revoked"
    connection.save()
    requests.post(f"{url}/_sandbox/faults", json={"kind": "expired_session", "count": 1})
    with pytest.raises(AuthError, match="refresh"):
        get_hubspot_client(fresh=True).get_properties()

    settings.SANDBOX = False
    connection.environment = SalesforceConnection.Environment.SANDBOX_EMULATOR
    connection.access_token = ""
    connection.save()
    settings.HUBSPOT_ACCESS_TOKEN = ""
    with pytest.raises(AuthError):
        get_hubspot_client()
