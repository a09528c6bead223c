"""integration.clients.hubspot against the HubSpot sandbox over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
import requests

from integration.clients.base import AuthError, Conflict, RateLimited, ServiceUnavailable, ValidationFailed
from integration.clients.hubspot import ErrorCategory, HubSpotClient, PropertyValue, default_retry, get_hubspot_client
from integration.clients.hubspot.isolation import send_isolating
from integration.clients.hubspot.records import _errors as batch_errors
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
    connection.allow_custom_endpoint = True  # neither host below is HubSpot's
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


# -- property history ------------------------------------------------------------------------


def test_batch_read_with_history_parses_each_value_newest_first_50_a_call(hs):
    url, app = hs
    client = _client(url)
    created = client.batch_upsert_by_email([{"email": f"h{i}@example.com", "city": "Lyon"} for i in range(120)])
    first = next(c for c in created if c.email == "h0@example.com")
    later = int(time.time() * 1000) + 60_000  # after the upsert, whatever the clock says
    app.store.set_properties(first.id, {"city": ""}, moment=later)
    app.store.set_properties(first.id, {"city": "Nice"}, moment=later + 1_000)
    calls = client.api_calls
    read = client.batch_read([c.id for c in created], ["email"], properties_with_history=["city", "jobtitle"])
    assert client.api_calls - calls == 3  # 50 + 50 + 20: HubSpot's limit for reads with history
    assert len(read.contacts) == 120 and not read.errors
    history = next(c for c in read.contacts if c.id == first.id).history
    assert set(history) == {"city"}  # jobtitle never had a value
    assert [v.value for v in history["city"]] == ["Nice", "", "Lyon"]
    newest = history["city"][0]
    assert isinstance(newest, PropertyValue) and newest.source_type == "CRM_UI" and newest.updated_by_user_id == 1
    assert newest.timestamp == dt.datetime.fromtimestamp((later + 1_000) / 1000, tz=dt.UTC)
    assert history["city"][-1].source_type == "INTEGRATION" and history["city"][-1].source_id == "sandbox"
    assert client.get_contact(first.id, properties_with_history=["city"]).history["city"][0].value == "Nice"
    assert client.batch_read([first.id], ["city"]).contacts[0].history == {}  # only when asked


# -- one bad record never blocks its batch neighbours ---------------------------------------


def _contacts(client: HubSpotClient, n: int) -> list:
    return sorted(
        client.batch_upsert_by_email([{"email": f"m{i:03d}@example.com"} for i in range(n)]), key=lambda c: c.id
    )


def test_one_email_conflict_fails_its_record_alone_and_names_the_existing_contact(hs):
    url, app = hs
    client = _client(url)
    taken = client.create_contact({"email": "taken@example.com"})
    members = _contacts(client, 100)
    updates = [{"id": c.id, "properties": {"city": "Porto"}} for c in members]
    updates[37]["properties"]["email"] = "TAKEN@example.com"
    calls = client.api_calls
    result = client.batch_update(updates)
    # Refused, then the 99 that set no email in one call: the one that did is the culprit.
    assert client.api_calls - calls == 2
    assert len(result.contacts) == 99 and {c.properties["city"] for c in result.contacts} == {"Porto"}
    [error] = result.errors
    assert error["id"] == members[37].id and error["email"] == "TAKEN@example.com"
    assert error["category"] == ErrorCategory.DUPLICATE == "duplicate"
    assert (error["existing_id"], error["status"], error["code"]) == (taken.id, 409, "CONFLICT")
    assert result.missing_ids == []
    assert "city" not in app.store.property_values(app.store.get(members[37].id))


def test_an_unnamed_culprit_is_found_by_halving(hs):
    url, _app = hs
    client = _client(url)
    client.create_contact({"email": "taken@example.com"})
    members = _contacts(client, 100)
    # Every record sets an email (its own), so the refusal cannot name the culprit.
    updates = [{"id": c.id, "properties": {"email": c.email, "city": "Faro"}} for c in members]
    updates[0]["properties"]["email"] = "taken@example.com"
    calls = client.api_calls
    result = client.batch_update(updates)
    # 100 refused; then 50/50, 25/25, 12/13, 6/6, 3/3, 1/2: one part refused and one written each time.
    assert client.api_calls - calls == 13
    assert len(result.contacts) == 99
    assert [(e["id"], e["category"]) for e in result.errors] == [(members[0].id, "duplicate")]


def test_an_invalid_value_fails_its_record_and_the_rest_go_through(hs):
    url, _app = hs
    client = _client(url)
    members = _contacts(client, 40)
    updates = [{"id": c.id, "properties": {"city": "Lille"}} for c in members]
    updates[5]["properties"]["lifecyclestage"] = "lead"
    updates[9]["properties"]["lifecyclestage"] = "not-a-stage"
    updates[20]["properties"]["nonexistent_property"] = "x"
    updates[30]["properties"]["nonexistent_property"] = "y"
    calls = client.api_calls
    result = client.batch_update(updates)
    # All 40 refused for lifecyclestage: the 38 that do not set it go again, refused for the
    # property HubSpot lacks (both records setting it fail, the 36 others go); the two
    # lifecyclestage records are tried together, then alone.
    assert client.api_calls - calls == 6
    assert len(result.contacts) == 37
    errors = {e["id"]: e for e in result.errors}
    assert set(errors) == {members[9].id, members[20].id, members[30].id}
    assert {e["category"] for e in errors.values()} == {ErrorCategory.INVALID_VALUE}
    assert errors[members[9].id]["code"] == "INVALID_OPTION" and errors[members[9].id]["status"] == 400
    assert errors[members[20].id]["code"] == "PROPERTY_DOESNT_EXIST"


def test_a_property_hubspot_lacks_fails_every_record_setting_it_in_one_call(hs):
    url, _app = hs
    client = _client(url)
    members = _contacts(client, 50)
    calls = client.api_calls
    result = client.batch_update([{"id": c.id, "properties": {"no_such_property": "x"}} for c in members])
    assert client.api_calls - calls == 1  # the same refusal for all: nothing to split
    assert result.contacts == [] and len(result.errors) == 50
    assert {(e["category"], e["code"]) for e in result.errors} == {("invalid_value", "PROPERTY_DOESNT_EXIST")}


def test_an_upsert_refused_for_one_record_writes_the_others(hs):
    url, _app = hs
    client = _client(url)
    records = [{"email": f"up{i}@example.com", "firstname": f"F{i}"} for i in range(10)]
    records[4]["email"] = "not an email"
    result = client.batch_upsert_by_email(records)
    assert isinstance(result, list) and len(result) == 9 and len(result.contacts) == 9
    [error] = result.errors
    assert (error["email"], error["id"], error["category"]) == ("not an email", None, "invalid_value")


def test_transient_errors_are_retried_and_never_split(hs):
    url, _app = hs
    client = _client(url)
    members = _contacts(client, 10)
    updates = [{"id": c.id, "properties": {"city": "Bonn"}} for c in members]
    requests.post(f"{url}/_sandbox/faults", json={"kind": "server_error", "count": 1, "method": "POST"})
    calls = client.api_calls
    assert len(client.batch_update(updates).contacts) == 10
    assert client.api_calls - calls == 2  # one call, one retry
    requests.post(f"{url}/_sandbox/faults", json={"kind": "rate_limit", "method": "POST"})
    calls = client.api_calls
    with pytest.raises(RateLimited):
        client.batch_update(updates)
    assert client.api_calls - calls == 6  # the call and its five retries, no split
    requests.delete(f"{url}/_sandbox/faults")


def test_a_transient_error_while_splitting_files_that_part_and_the_rest_still_go():
    refused = Conflict("Contact already exists. Existing ID: 7", status=409, code="CONFLICT")
    sent: list[list[str]] = []

    def send(chunk: list[tuple[str, dict]]) -> dict:
        ids = [ident for ident, _props in chunk]
        sent.append(ids)
        if "bad" in ids:
            raise refused
        if "b" in ids:
            raise ServiceUnavailable("HubSpot could not be reached", status=503)
        return {"results": [{"id": ident} for ident in ids]}

    items = [(ident, {"email": f"{ident}@x.com"}) for ident in ("a", "b", "bad", "c")]
    answers, errors = send_isolating(items, send, identify=lambda i: (i[0], i[1]["email"]), values=lambda i: i[1])
    assert sent == [["a", "b", "bad", "c"], ["a", "b"], ["bad", "c"], ["bad"], ["c"]]
    assert [r["id"] for a in answers for r in a["results"]] == ["c"]
    assert [(e["id"], e["category"], e["existing_id"]) for e in errors] == [
        ("a", "connection", None),
        ("b", "connection", None),
        ("bad", "duplicate", "7"),
    ]


def test_the_culprit_is_read_from_hubspots_own_wording_of_a_validation_error():
    details = [{"isValid": False, "message": "x is not an option", "error": "INVALID_OPTION", "name": "lifecyclestage"}]
    message = "Property values were not valid: " + json.dumps(details)
    refused = ValidationFailed(message, status=400, code="VALIDATION_ERROR", body={"message": message})
    sent: list[list[str]] = []

    def send(chunk: list[tuple[str, dict]]) -> dict:
        sent.append([ident for ident, _props in chunk])
        if any(props.get("lifecyclestage") == "x" for _ident, props in chunk):
            raise refused
        return {"results": [{"id": ident} for ident, _props in chunk]}

    items = [("1", {"city": "A"}), ("2", {"lifecyclestage": "x"}), ("3", {"city": "B"})]
    _answers, errors = send_isolating(items, send, identify=lambda i: (i[0], None), values=lambda i: i[1])
    assert sent == [["1", "2", "3"], ["1", "3"]]
    assert [(e["id"], e["category"], e["code"]) for e in errors] == [("2", "invalid_value", "INVALID_OPTION")]


@pytest.mark.parametrize(
    ("hubspot_category", "filed_as"),
    [
        ("CONFLICT", ErrorCategory.DUPLICATE),
        ("VALIDATION_ERROR", ErrorCategory.INVALID_VALUE),
        ("INVALID_EMAIL", ErrorCategory.INVALID_VALUE),
        ("PROPERTY_DOESNT_EXIST", ErrorCategory.INVALID_VALUE),
        ("MISSING_SCOPES", ErrorCategory.PERMISSION),
        ("RATE_LIMITS", ErrorCategory.API_LIMIT),
        ("OBJECT_NOT_FOUND", ErrorCategory.OTHER),
        ("SOMETHING_NEW", ErrorCategory.OTHER),
    ],
)
def test_each_record_a_batch_answer_refuses_is_filed_by_hubspots_error_category(hubspot_category, filed_as):
    answer = {
        "status": "COMPLETE",
        "results": [],
        "errors": [{"status": "error", "category": hubspot_category, "message": "no", "context": {"ids": ["1", "2"]}}],
    }
    errors = batch_errors(answer)
    assert [(e["id"], e["category"], e["code"]) for e in errors] == [
        ("1", filed_as, hubspot_category),
        ("2", filed_as, hubspot_category),
    ]
