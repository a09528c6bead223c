"""The HubSpot emulator's contacts one at a time, over HTTP through the unmodified
hubspot-api-client: CRUD, e-mail uniqueness, validation, canonical values and list paging."""

from __future__ import annotations

import json

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    SimplePublicObjectInput,
)
from hubspot.crm.contacts.exceptions import ApiException

from tests.sandbox.hubspot_helpers import CONTACTS, _create, _seed

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
