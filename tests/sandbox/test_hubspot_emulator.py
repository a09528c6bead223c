"""The HubSpot sandbox driven over HTTP by the unmodified hubspot-api-client (and raw requests
where the exact wire format matters), with responses checked against HubSpot's OpenAPI spec."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException
from openapi_schema_validator import OAS30Validator, oas30_format_checker, validate
from urllib3.util.retry import Retry

from sandbox.hubspot import make_app
from sandbox.testing import running_app

AUTH = {"Authorization": "Bearer sandbox"}
CONTACTS = "/crm/v3/objects/contacts"


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


SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "hubspot"


class SpecChecker:
    """Validates a response body against the spec's schema for (path, method, status).

    Without the spec files (a checkout without ../shared) it only records what it was given,
    so the behavioural assertions of a test still run; CI=true makes the files mandatory."""

    def __init__(self, spec_dir: Path | None) -> None:
        self.specs = (
            {
                name: json.loads((spec_dir / f"{name}.json").read_text())
                for name in ("crm-contacts-v3", "crm-properties-v3")
            }
            if spec_dir
            else {}
        )
        self.checked: set[tuple[str, str, int]] = set()

    def __call__(self, response: requests.Response, path: str, method: str, spec: str = "crm-contacts-v3") -> None:
        self.checked.add((path, method, response.status_code))
        if not self.specs:
            return
        document = self.specs[spec]
        responses = document["paths"][path][method.lower()]["responses"]
        entry = responses.get(str(response.status_code)) or responses["default"]
        if "$ref" in entry:
            entry = document["components"]["responses"][entry["$ref"].rsplit("/", 1)[1]]
        content = entry.get("content") or {}
        if not content:
            assert response.content == b"", f"{path} {response.status_code} must have no body"
            return
        schema = next(iter(content.values()))["schema"]
        validate(
            response.json(),
            {**schema, "components": document["components"]},
            cls=OAS30Validator,
            format_checker=oas30_format_checker,
        )


@pytest.fixture
def spec() -> SpecChecker:
    if SPEC_DIR.is_dir():
        return SpecChecker(SPEC_DIR)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"HubSpot specs missing at {SPEC_DIR}")
    return SpecChecker(None)


def _create(client: HubSpot, **properties: str):
    return client.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties=properties))


def _seed(app, n: int, *, start_ms: int = 1_700_000_000_000, **extra) -> None:
    app.store.bulk_insert(
        (
            {"email": f"user{i:05d}@example.com", "firstname": f"U{i}", "lastname": "Test", **extra},
            start_ms + i,
            start_ms + i * 1000,
        )
        for i in range(n)
    )


# -- CRUD ---------------------------------------------------------------------------------


def test_crud_through_the_client(client: HubSpot):
    api = client.crm.contacts.basic_api
    created = _create(client, email="Marie.Curie@Example.fr", firstname="Marie", lastname="Curie", country="France")
    assert created.id.isdigit()
    props = created.properties
    assert props["email"] == "Marie.Curie@Example.fr" and props["hs_object_id"] == created.id
    assert props["createdate"].endswith("Z") and len(props["createdate"]) == 24  # ISO 8601 with ms

    by_id = api.get_by_id(created.id, properties=["country", "email"])
    assert by_id.properties["country"] == "France"
    by_email = api.get_by_id("marie.curie@example.fr", id_property="email", properties=["lastname"])
    assert by_email.id == created.id and by_email.properties["lastname"] == "Curie"

    updated = api.update(created.id, SimplePublicObjectInput(properties={"jobtitle": "Physicist", "country": ""}))
    assert updated.properties["jobtitle"] == "Physicist"
    assert updated.updated_at >= created.updated_at
    after = api.get_by_id(created.id, properties=["country", "jobtitle"])
    assert "country" not in after.properties  # an empty string clears the value
    assert after.properties["lastmodifieddate"] >= created.properties["lastmodifieddate"]

    api.archive(created.id)
    with pytest.raises(ApiException) as exc:
        api.get_by_id(created.id)
    assert exc.value.status == 404
    assert json.loads(exc.value.body)["category"] == "OBJECT_NOT_FOUND"
    archived = api.get_by_id(created.id, archived=True)
    assert archived.archived is True and archived.archived_at is not None


def test_email_is_unique_case_insensitively(client: HubSpot, http, hs, spec):
    first = _create(client, email="ada@example.com")
    with pytest.raises(ApiException) as exc:
        _create(client, email="ADA@Example.COM")
    assert exc.value.status == 409
    body = json.loads(exc.value.body)
    assert body["category"] == "CONFLICT" and body["message"] == f"Contact already exists. Existing ID: {first.id}"
    other = _create(client, email="grace@example.com")
    response = http.patch(f"{hs[0]}{CONTACTS}/{other.id}", json={"properties": {"email": "Ada@example.com"}})
    assert response.status_code == 409
    spec(response, "/crm/v3/objects/contacts/{contactId}", "patch")
    # Archiving frees the address.
    client.crm.contacts.basic_api.archive(first.id)
    assert _create(client, email="ada@example.com").id != first.id


@pytest.mark.parametrize(
    ("properties", "error"),
    [
        ({"lifecyclestage": "prospect"}, "INVALID_OPTION"),
        ({"employee_count": "twelve"}, "INVALID_INTEGER"),
        ({"newsletter_opt_in": "yes"}, "INVALID_BOOLEAN"),
        ({"last_event_date": "1704070800000"}, "INVALID_DATE"),  # 01:00 UTC, not midnight
        ({"interests": "webinars;golf"}, "INVALID_OPTION"),
        ({"favourite_colour": "blue"}, "PROPERTY_DOESNT_EXIST"),
        ({"hs_object_id": "12"}, "READ_ONLY_VALUE"),
        ({"email": "not an email"}, "INVALID_EMAIL"),
    ],
)
def test_values_are_validated_like_hubspot(http, hs, spec, properties, error):
    response = http.post(f"{hs[0]}{CONTACTS}", json={"properties": properties})
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR" and error in body["message"]
    spec(response, "/crm/v3/objects/contacts", "post")


def test_values_are_stored_canonically(client: HubSpot):
    created = _create(
        client,
        email="x@example.com",
        newsletter_opt_in="TRUE",
        last_event_date="1704067200000",  # 2024-01-01T00:00:00Z
        trial_started_at="2024-02-03T04:05:06+01:00",
        interests="webinars;events",
        numemployees="25-50",
        employee_count="42",
    )
    names = ["newsletter_opt_in", "last_event_date", "trial_started_at", "interests", "numemployees", "employee_count"]
    props = client.crm.contacts.basic_api.get_by_id(created.id, properties=names).properties
    assert props["newsletter_opt_in"] == "true"
    assert props["last_event_date"] == "2024-01-01"
    assert props["trial_started_at"] == "2024-02-03T03:05:06.000Z"
    assert props["interests"] == "webinars;events"
    assert props["numemployees"] == "25-50" and props["employee_count"] == "42"


# -- list paging ---------------------------------------------------------------------------


def test_list_paging(client: HubSpot, hs, http, spec):
    url, app = hs
    _seed(app, 250)
    api = client.crm.contacts.basic_api
    first = api.get_page(limit=100, properties=["email"])
    assert len(first.results) == 100 and first.paging.next.after
    second = api.get_page(limit=100, after=first.paging.next.after, properties=["email"])
    assert {r.id for r in first.results}.isdisjoint({r.id for r in second.results})
    everything = client.crm.contacts.get_all(properties=["email"])
    assert len(everything) == 250 and len({c.id for c in everything}) == 250

    response = http.get(f"{url}{CONTACTS}", params={"limit": 100, "properties": "email,firstname"})
    assert response.status_code == 200 and set(response.json()["results"][0]["properties"]) >= {"email", "firstname"}
    spec(response, "/crm/v3/objects/contacts", "get")
    too_many = http.get(f"{url}{CONTACTS}", params={"limit": 101})
    assert too_many.status_code == 400
    spec(too_many, "/crm/v3/objects/contacts", "get")
    # Archived contacts only show with archived=true.
    api.archive(first.results[0].id)
    assert len(client.crm.contacts.get_all()) == 249
    archived = http.get(f"{url}{CONTACTS}", params={"archived": "true"}).json()["results"]
    assert [r["id"] for r in archived] == [first.results[0].id]


# -- search --------------------------------------------------------------------------------


def _search(client: HubSpot, filters=None, *, groups=None, sorts=None, limit=100, after=None, properties=None):
    request = PublicObjectSearchRequest(
        filter_groups=groups if groups is not None else ([{"filters": filters}] if filters else []),
        sorts=sorts or [],
        limit=limit,
        after=after,
        properties=properties or ["email", "firstname", "employee_count", "interests", "country"],
    )
    return client.crm.contacts.search_api.do_search(public_object_search_request=request)


@pytest.fixture
def people(client: HubSpot):
    rows = [
        {
            "email": "a@x.com",
            "firstname": "Ann",
            "employee_count": "5",
            "country": "France",
            "interests": "webinars;events",
        },
        {"email": "b@x.com", "firstname": "bob", "employee_count": "50", "country": "Germany", "interests": "events"},
        {"email": "c@x.com", "firstname": "Cid", "employee_count": "500", "country": "france"},
        {"email": "d@x.com", "firstname": "Dee", "country": "Spain", "last_event_date": "2024-05-01"},
    ]
    return {row["firstname"].lower(): _create(client, **row).id for row in rows}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "country", "operator": "EQ", "value": "FRANCE"}, {"ann", "cid"}),
        ({"propertyName": "country", "operator": "NEQ", "value": "France"}, {"bob", "dee"}),
        ({"propertyName": "employee_count", "operator": "GT", "value": "5"}, {"bob", "cid"}),
        ({"propertyName": "employee_count", "operator": "GTE", "value": "50"}, {"bob", "cid"}),
        ({"propertyName": "employee_count", "operator": "LT", "value": "50"}, {"ann"}),  # numeric, not "500" < "50"
        ({"propertyName": "employee_count", "operator": "LTE", "value": "50"}, {"ann", "bob"}),
        ({"propertyName": "country", "operator": "IN", "values": ["spain", "germany"]}, {"bob", "dee"}),
        ({"propertyName": "employee_count", "operator": "HAS_PROPERTY"}, {"ann", "bob", "cid"}),
        ({"propertyName": "employee_count", "operator": "NOT_HAS_PROPERTY"}, {"dee"}),
        ({"propertyName": "interests", "operator": "EQ", "value": "events"}, {"ann", "bob"}),
        ({"propertyName": "interests", "operator": "IN", "values": ["webinars"]}, {"ann"}),
        ({"propertyName": "last_event_date", "operator": "GTE", "value": "1714521600000"}, {"dee"}),
        ({"propertyName": "employee_count", "operator": "BETWEEN", "value": "10", "highValue": "500"}, {"bob", "cid"}),
        ({"propertyName": "firstname", "operator": "CONTAINS_TOKEN", "value": "b*"}, {"bob"}),
    ],
)
def test_search_operators(client: HubSpot, people, flt, expected):
    result = _search(client, [flt])
    names = {r.properties["firstname"].lower() for r in result.results}
    assert names == expected and result.total == len(expected)


def test_search_groups_or_and_sorts(client: HubSpot, people, http, hs, spec):
    groups = [
        {"filters": [{"propertyName": "country", "operator": "EQ", "value": "france"}]},
        {"filters": [{"propertyName": "employee_count", "operator": "EQ", "value": "50"}]},
    ]
    result = _search(client, groups=groups, sorts=[{"propertyName": "employee_count", "direction": "DESCENDING"}])
    assert [r.properties["firstname"] for r in result.results] == ["Cid", "bob", "Ann"]
    ascending = _search(client, sorts=["firstname"])  # case-insensitive; "-name" is descending
    assert [r.properties["firstname"] for r in ascending.results] == ["Ann", "bob", "Cid", "Dee"]
    modified = _search(client, sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}])
    assert [r.id for r in modified.results] == sorted((r.id for r in modified.results), key=int)

    response = http.post(
        f"{hs[0]}{CONTACTS}/search", json={"filterGroups": groups, "sorts": ["-createdate"], "limit": 2}
    )
    assert response.status_code == 200 and response.json()["paging"]["next"]["after"] == "2"
    assert "X-HubSpot-RateLimit-Max" not in response.headers  # search does not send them
    spec(response, "/crm/v3/objects/contacts/search", "post")
    for bad in (
        {"limit": 201},
        {"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]},
        {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "1"}]}]},
        {"sorts": ["email", "firstname"]},
    ):
        refused = http.post(f"{hs[0]}{CONTACTS}/search", json=bad)
        assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"
        spec(refused, "/crm/v3/objects/contacts/search", "post")


def test_search_stops_at_10000_results(client: HubSpot, hs, http):
    url, app = hs
    _seed(app, 10_050)
    page = _search(client, limit=200, after="9900", properties=["email"])
    assert page.total == 10_050 and len(page.results) == 100
    assert page.paging.next.after == "10000"
    with pytest.raises(ApiException) as exc:
        _search(client, limit=200, after=page.paging.next.after)
    assert exc.value.status == 400 and "10000" in json.loads(exc.value.body)["message"]
    # Narrowing on lastmodifieddate gets past the cap, as a client must do.
    last_seen = _search(client, limit=1, after="9999", sorts=["lastmodifieddate"], properties=["lastmodifieddate"])
    since = last_seen.results[0].properties["lastmodifieddate"]
    rest = _search(
        client,
        [{"propertyName": "lastmodifieddate", "operator": "GT", "value": since}],
        limit=200,
        properties=["email"],
    )
    assert rest.total == 50


# -- batch ---------------------------------------------------------------------------------


def test_batch_create_read_update_archive(client: HubSpot, http, hs, spec):
    url, _app = hs
    batch = client.crm.contacts.batch_api
    created = batch.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {"properties": {"email": f"p{i}@x.com", "lastname": f"P{i}"}, "associations": []} for i in range(100)
            ]
        )
    )
    assert created.status == "COMPLETE" and len(created.results) == 100
    ids = [r.id for r in created.results]

    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in ids[:3]] + [{"id": "999999"}],
            properties=["lastname"],
            properties_with_history=[],
        )
    )
    assert len(read.results) == 3 and read.errors[0].category == "OBJECT_NOT_FOUND"
    assert read.errors[0].context == {"ids": ["999999"]}
    by_email = batch.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": "P1@X.COM"}], id_property="email", properties=["email"], properties_with_history=[]
        )
    )
    assert by_email.results[0].id == ids[1]

    updated = batch.update(
        BatchInputSimplePublicObjectBatchInput(inputs=[{"id": i, "properties": {"city": "Lyon"}} for i in ids[:50]])
    )
    assert len(updated.results) == 50 and all(r.properties["city"] == "Lyon" for r in updated.results)

    batch.archive(BatchInputSimplePublicObjectId(inputs=[{"id": i} for i in ids[:10]]))
    assert len(client.crm.contacts.get_all()) == 90

    # Wire format against the spec, including 207 and the limits.
    response = http.post(
        f"{url}{CONTACTS}/batch/read", json={"inputs": [{"id": ids[20]}, {"id": "0"}], "properties": []}
    )
    assert response.status_code == 207
    spec(response, "/crm/v3/objects/contacts/batch/read", "post")
    response = http.post(f"{url}{CONTACTS}/batch/read", json={"inputs": [{"id": ids[20]}], "properties": ["email"]})
    assert response.status_code == 200
    spec(response, "/crm/v3/objects/contacts/batch/read", "post")
    response = http.post(
        f"{url}{CONTACTS}/batch/update",
        json={"inputs": [{"id": ids[30], "properties": {"city": "Nice"}}, {"id": "0", "properties": {}}]},
    )
    assert response.status_code == 207
    spec(response, "/crm/v3/objects/contacts/batch/update", "post")
    response = http.post(
        f"{url}{CONTACTS}/batch/update", json={"inputs": [{"id": ids[30], "properties": {"city": "Nice"}}]}
    )
    assert response.status_code == 200
    spec(response, "/crm/v3/objects/contacts/batch/update", "post")
    response = http.post(f"{url}{CONTACTS}/batch/create", json={"inputs": [{"properties": {"email": "new@x.com"}}]})
    assert response.status_code == 201
    spec(response, "/crm/v3/objects/contacts/batch/create", "post")
    response = http.post(f"{url}{CONTACTS}/batch/archive", json={"inputs": [{"id": ids[40]}]})
    assert response.status_code == 204
    spec(response, "/crm/v3/objects/contacts/batch/archive", "post")
    for path in ("read", "create", "update", "upsert", "archive"):
        too_many = http.post(
            f"{url}{CONTACTS}/batch/{path}",
            json={"inputs": [{"id": str(i), "idProperty": "email", "properties": {}} for i in range(101)]},
        )
        assert too_many.status_code == 400, path
        spec(too_many, f"/crm/v3/objects/contacts/batch/{path}", "post")


def test_batch_create_is_all_or_nothing(client: HubSpot, http, hs, spec):
    url, app = hs
    _create(client, email="taken@x.com")
    response = http.post(
        f"{url}{CONTACTS}/batch/create",
        json={"inputs": [{"properties": {"email": "free@x.com"}}, {"properties": {"email": "TAKEN@x.com"}}]},
    )
    assert response.status_code == 409
    spec(response, "/crm/v3/objects/contacts/batch/create", "post")
    bad = http.post(
        f"{url}{CONTACTS}/batch/create",
        json={"inputs": [{"properties": {"email": "free@x.com"}}, {"properties": {"lifecyclestage": "nope"}}]},
    )
    assert bad.status_code == 400
    assert app.store.get_by_email("free@x.com") is None


def test_batch_upsert_by_email(client: HubSpot, http, hs, spec):
    existing = _create(client, email="Known@Example.com", firstname="Old")
    result = client.crm.contacts.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {"id": "known@example.com", "idProperty": "email", "properties": {"firstname": "New"}},
                {"id": "fresh@example.com", "idProperty": "email", "properties": {"firstname": "Fresh"}},
            ]
        )
    )
    by_email = {r.properties.get("email", "").lower(): r for r in result.results}
    assert by_email["known@example.com"].id == existing.id and by_email["known@example.com"].new is False
    assert by_email["known@example.com"].properties["email"] == "Known@Example.com"  # its own spelling kept
    assert by_email["fresh@example.com"].new is True
    assert (
        client.crm.contacts.basic_api.get_by_id(existing.id, properties=["firstname"]).properties["firstname"] == "New"
    )

    response = http.post(
        f"{hs[0]}{CONTACTS}/batch/upsert",
        json={"inputs": [{"id": "fresh@example.com", "idProperty": "email", "properties": {"city": "Paris"}}]},
    )
    assert response.status_code == 200 and response.json()["results"][0]["new"] is False
    spec(response, "/crm/v3/objects/contacts/batch/upsert", "post")
    duplicate = http.post(
        f"{hs[0]}{CONTACTS}/batch/upsert",
        json={
            "inputs": [
                {"id": "z@example.com", "idProperty": "email", "properties": {}},
                {"id": "Z@example.com", "idProperty": "email", "properties": {}},
            ]
        },
    )
    assert duplicate.status_code == 400
    spec(duplicate, "/crm/v3/objects/contacts/batch/upsert", "post")


# -- properties ----------------------------------------------------------------------------


def test_properties(client: HubSpot, http, hs, spec):
    results = client.crm.properties.core_api.get_all("contacts").results
    by_name = {p.name: p for p in results}
    for name in ("email", "firstname", "lastname", "company", "phone", "jobtitle", "city", "country", "hs_lead_status"):
        assert name in by_name
    stage = by_name["lifecyclestage"]
    assert stage.type == "enumeration" and [o.value for o in stage.options] == [
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    ]
    assert (
        by_name["createdate"].type == "datetime" and by_name["lastmodifieddate"].modification_metadata.read_only_value
    )
    types = {p.type for p in results}
    assert types >= {"string", "number", "bool", "date", "datetime", "enumeration"}
    assert by_name["interests"].field_type == "checkbox" and by_name["industry_segment"].field_type == "select"
    assert by_name["newsletter_opt_in"].type == "bool"

    response = http.get(f"{hs[0]}/crm/v3/properties/contacts")
    spec(response, "/crm/v3/properties/{objectType}", "get", spec="crm-properties-v3")
    one = http.get(f"{hs[0]}/crm/v3/properties/contacts/lifecyclestage")
    spec(one, "/crm/v3/properties/{objectType}/{propertyName}", "get", spec="crm-properties-v3")
    missing = http.get(f"{hs[0]}/crm/v3/properties/contacts/nope")
    assert missing.status_code == 404
    spec(missing, "/crm/v3/properties/{objectType}/{propertyName}", "get", spec="crm-properties-v3")

    created = http.post(
        f"{hs[0]}/crm/v3/properties/contacts",
        json={"name": "shoe_size", "label": "Shoe size", "type": "number", "fieldType": "number", "groupName": "x"},
    )
    assert created.status_code == 201
    spec(created, "/crm/v3/properties/{objectType}", "post", spec="crm-properties-v3")
    contact = _create(client, shoe_size="43")
    assert client.crm.contacts.basic_api.get_by_id(contact.id, properties=["shoe_size"]).properties["shoe_size"] == "43"


# -- auth, rate limits, faults -------------------------------------------------------------


def test_auth_and_oauth(hs, spec):
    url, _app = hs
    missing = requests.get(f"{url}{CONTACTS}")
    assert missing.status_code == 401 and missing.json()["category"] == "INVALID_AUTHENTICATION"
    spec(missing, "/crm/v3/objects/contacts", "get")
    wrong = requests.get(f"{url}{CONTACTS}", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401

    refused = requests.post(f"{url}/oauth/v1/token", data={"grant_type": "authorization_code", "client_id": "c"})
    assert refused.status_code == 400
    issued = requests.post(
        f"{url}/oauth/v1/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "c",
            "client_secret": "s",
            "redirect_uri": "http://localhost/cb",
            "code": "abc",
        },
    ).json()
    assert issued["token_type"] == "bearer" and issued["expires_in"] == 1800
    ok = requests.get(f"{url}{CONTACTS}", headers={"Authorization": f"Bearer {issued['access_token']}"})
    assert ok.status_code == 200
    refreshed = requests.post(
        f"{url}/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "c",
            "client_secret": "s",
            "refresh_token": issued["refresh_token"],
        },
    ).json()
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
    bad_refresh = requests.post(
        f"{url}/oauth/v1/token",
        data={"grant_type": "refresh_token", "client_id": "c", "client_secret": "s", "refresh_token": "unknown"},
    )
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
    assert http.get(f"{url}/_sandbox/status").json() == {
        "faults": [],
        "contacts": 0,
        "archived": 0,
        "rate_limit": {"max": None, "interval_ms": 10000},
        "search_rate_limit": {"max": None, "interval_ms": 1000},
    }
    assert app.store.properties["lifecyclestage"].options  # the schema survives a reset
    assert _create(client, email="keep@example.com").id == "1"


IMPLEMENTED = {
    ("/crm/v3/objects/contacts", "get"),
    ("/crm/v3/objects/contacts", "post"),
    ("/crm/v3/objects/contacts/{contactId}", "get"),
    ("/crm/v3/objects/contacts/{contactId}", "patch"),
    ("/crm/v3/objects/contacts/{contactId}", "delete"),
    ("/crm/v3/objects/contacts/search", "post"),
    ("/crm/v3/objects/contacts/batch/read", "post"),
    ("/crm/v3/objects/contacts/batch/create", "post"),
    ("/crm/v3/objects/contacts/batch/update", "post"),
    ("/crm/v3/objects/contacts/batch/upsert", "post"),
    ("/crm/v3/objects/contacts/batch/archive", "post"),
    ("/crm/v3/properties/{objectType}", "get"),
    ("/crm/v3/properties/{objectType}", "post"),
    ("/crm/v3/properties/{objectType}/{propertyName}", "get"),
}


def test_every_endpoint_response_matches_the_spec(hs, http, hubspot_spec_dir: Path):
    """One pass over every implemented endpoint, success and error shapes, against the spec."""
    url, _app = hs
    check = SpecChecker(hubspot_spec_dir)
    path = "/crm/v3/objects/contacts"
    one = "/crm/v3/objects/contacts/{contactId}"
    created = http.post(f"{url}{CONTACTS}", json={"properties": {"email": "s@x.com"}, "associations": []})
    assert created.status_code == 201
    check(created, path, "post")
    contact_id = created.json()["id"]
    check(http.get(f"{url}{CONTACTS}", params={"limit": 5, "properties": "email"}), path, "get")
    check(http.get(f"{url}{CONTACTS}/{contact_id}", params={"properties": "email,lifecyclestage"}), one, "get")
    check(http.get(f"{url}{CONTACTS}/s@x.com", params={"idProperty": "email"}), one, "get")
    check(http.get(f"{url}{CONTACTS}/424242"), one, "get")
    check(http.patch(f"{url}{CONTACTS}/{contact_id}", json={"properties": {"city": "Rome"}}), one, "patch")
    check(http.patch(f"{url}{CONTACTS}/424242", json={"properties": {"city": "Rome"}}), one, "patch")
    check(http.post(f"{url}{CONTACTS}/search", json={"filterGroups": [], "limit": 10}), path + "/search", "post")
    for name, body in {
        "read": {"inputs": [{"id": contact_id}, {"id": "9"}], "properties": ["email"]},
        "create": {"inputs": [{"properties": {"email": "b@x.com"}}]},
        "update": {"inputs": [{"id": contact_id, "properties": {"city": "Oslo"}}]},
        "upsert": {"inputs": [{"id": "u@x.com", "idProperty": "email", "properties": {}}]},
        "archive": {"inputs": [{"id": contact_id}]},
    }.items():
        response = http.post(f"{url}{CONTACTS}/batch/{name}", json=body)
        assert response.status_code < 300, (name, response.text)
        check(response, f"{path}/batch/{name}", "post")
    check(http.delete(f"{url}{CONTACTS}/{contact_id}"), one, "delete")
    props = "/crm/v3/properties/{objectType}"
    check(http.get(f"{url}/crm/v3/properties/contacts"), props, "get", spec="crm-properties-v3")
    check(
        http.get(f"{url}/crm/v3/properties/contacts/email"), props + "/{propertyName}", "get", spec="crm-properties-v3"
    )
    new_property = {"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select", "groupName": "x"}
    new_property["options"] = [{"label": "Gold", "value": "gold", "hidden": False}]
    check(http.post(f"{url}/crm/v3/properties/contacts", json=new_property), props, "post", spec="crm-properties-v3")
    assert {(p, m) for p, m, _status in check.checked} == IMPLEMENTED
