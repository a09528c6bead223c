"""The HubSpot emulator's owners: the Owners API (CRM v3) and the ``hubspot_owner_id`` contact
property whose options they are, through the unmodified hubspot-api-client over real HTTP."""

from __future__ import annotations

import json
import sqlite3

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.owners.exceptions import ApiException as OwnersApiException

from sandbox.hubspot.store import HubSpotStore
from tests.sandbox.hubspot_helpers import _create

OWNERS = "/crm/v3/owners/"
AMELIE, JAMES, HANS, HANNAH, FORMER = "160000001", "160000002", "160000003", "160000004", "160000005"
ACTIVE = [AMELIE, JAMES, HANS, HANNAH]
SEEDED = {
    AMELIE: ("amelie.martin@sandbox.example", "Amélie", "Martin", 9100001),
    JAMES: ("james.smith@sandbox.example", "James", "Smith", 9100002),
    HANS: ("hans.mueller@sandbox.example", "Hans", "Müller", 9100003),
    HANNAH: ("hs.only@sandbox.example", "Hannah", "Hubspotonly", 9100004),
    FORMER: ("former.rep@sandbox.example", "Former", "Rep", 9100005),
}


def owner_ids(page) -> list[str]:
    return [owner.id for owner in page.results]


def contact_owner(client: HubSpot, contact_id: str) -> str | None:
    return client.crm.contacts.basic_api.get_by_id(contact_id, properties=["hubspot_owner_id"]).properties.get(
        "hubspot_owner_id"
    )


def refusal(exc: pytest.ExceptionInfo) -> dict:
    body = json.loads(exc.value.body)
    assert exc.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    return body


# -- the Owners API ------------------------------------------------------------------------


def test_a_page_of_owners_is_the_active_seeded_owners_in_id_order(client: HubSpot):
    page = client.crm.owners.owners_api.get_page()
    assert owner_ids(page) == ACTIVE and page.paging is None
    for owner in page.results:
        email, first, last, user_id = SEEDED[owner.id]
        assert (owner.email, owner.first_name, owner.last_name) == (email, first, last)
        assert owner.type == "PERSON" and owner.archived is False and owner.teams == []
        assert owner.user_id == owner.user_id_including_inactive == user_id != int(owner.id)
        assert owner.created_at is not None and owner.updated_at is not None


def test_paging_follows_the_after_cursor_and_stops_when_done(client: HubSpot, http, hs):
    api = client.crm.owners.owners_api
    first = api.get_page(limit=2)
    assert owner_ids(first) == [AMELIE, JAMES] and first.paging.next.after
    second = api.get_page(limit=2, after=first.paging.next.after)
    assert owner_ids(second) == [HANS, HANNAH] and second.paging is None
    assert [owner.id for owner in client.crm.owners.get_all()] == ACTIVE

    raw = http.get(f"{hs[0]}{OWNERS}", params={"limit": 3}).json()
    assert raw["paging"]["next"]["link"].endswith(f"after={raw['paging']['next']['after']}")
    assert http.get(f"{hs[0]}/crm/v3/owners", params={"limit": 1}).ok  # with or without the slash


def test_the_page_size_defaults_to_100_and_is_at_most_500(client: HubSpot, http, hs):
    url, app = hs
    for i in range(97):
        app.store.add_owner(email=f"rep{i}@sandbox.example", first_name="Rep", last_name=str(i))
    page = client.crm.owners.owners_api.get_page()
    assert len(page.results) == 100 and page.paging.next.after
    assert len(client.crm.owners.owners_api.get_page(after=page.paging.next.after).results) == 1
    assert len(client.crm.owners.owners_api.get_page(limit=500).results) == 101

    too_many = http.get(f"{url}{OWNERS}", params={"limit": 501})
    assert too_many.status_code == 400
    body = too_many.json()
    assert body["category"] == "VALIDATION_ERROR" and body["context"] == {
        "limit": ["Must be less than or equal to 500"]
    }
    assert http.get(f"{url}{OWNERS}", params={"limit": 0}).status_code == 400
    assert http.get(f"{url}{OWNERS}", params={"after": "not-a-cursor"}).status_code == 400


def test_the_email_filter_is_exact_ignoring_case(client: HubSpot):
    api = client.crm.owners.owners_api
    assert owner_ids(api.get_page(email="James.Smith@Sandbox.Example")) == [JAMES]
    assert owner_ids(api.get_page(email="james.smith@sandbox")) == []
    assert owner_ids(api.get_page(email="former.rep@sandbox.example")) == []  # archived
    assert owner_ids(api.get_page(email="former.rep@sandbox.example", archived=True)) == [FORMER]


def test_archived_true_lists_only_archived_owners_whose_user_id_is_null(client: HubSpot):
    page = client.crm.owners.owners_api.get_page(archived=True)
    assert owner_ids(page) == [FORMER]
    former = page.results[0]
    assert former.archived is True and former.user_id is None and former.user_id_including_inactive == 9100005


def test_an_owner_is_read_by_id_or_by_user_id(client: HubSpot):
    api = client.crm.owners.owners_api
    assert api.get_by_id(owner_id=int(JAMES)).email == "james.smith@sandbox.example"
    assert api.get_by_id(owner_id=9100002, id_property="userId").id == JAMES
    assert api.get_by_id(owner_id=int(FORMER), archived=True).archived is True
    assert api.get_by_id(owner_id=9100005, id_property="userId", archived=True).id == FORMER


@pytest.mark.parametrize(
    ("ident", "params"),
    [
        ("999999999", {}),
        ("9100002", {}),  # a user id is not an owner id
        (JAMES, {"idProperty": "userId"}),
        (FORMER, {}),  # archived: only found with archived=true
        (JAMES, {"archived": "true"}),
        ("james", {}),
    ],
)
def test_an_owner_not_found_is_hubspots_404(http, hs, ident, params):
    response = http.get(f"{hs[0]}{OWNERS}{ident}", params=params)
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "error" and body["category"] == "OBJECT_NOT_FOUND"
    assert body["message"] and body["correlationId"]


def test_the_client_sees_a_missing_owner_as_a_404(client: HubSpot, http, hs):
    with pytest.raises(OwnersApiException) as exc:
        client.crm.owners.owners_api.get_by_id(owner_id=123)
    assert exc.value.status == 404 and json.loads(exc.value.body)["category"] == "OBJECT_NOT_FOUND"
    wrong = http.get(f"{hs[0]}{OWNERS}{JAMES}", params={"idProperty": "email"})
    assert wrong.status_code == 400 and wrong.json()["category"] == "VALIDATION_ERROR"


def test_owner_calls_need_the_bearer_token_and_count_against_the_rate_limit(http, hs):
    url, _app = hs
    assert requests.get(f"{url}{OWNERS}").status_code == 401
    assert requests.get(f"{url}{OWNERS}{JAMES}", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert "X-HubSpot-RateLimit-Remaining" in http.get(f"{url}{OWNERS}").headers
    assert http.post(f"{url}/_sandbox/config", json={"rate_limit": {"max": 2, "interval_ms": 10000}}).ok
    codes = [http.get(f"{url}{OWNERS}").status_code, http.get(f"{url}{OWNERS}{JAMES}").status_code]
    assert codes == [200, 200] and http.get(f"{url}{OWNERS}").status_code == 429


# -- the hubspot_owner_id property ---------------------------------------------------------


def test_contact_owner_is_hubspots_default_property_with_the_active_owners_as_options(client: HubSpot, http, hs, spec):
    prop = client.crm.properties.core_api.get_by_name("contacts", "hubspot_owner_id")
    assert (prop.label, prop.type, prop.field_type, prop.group_name) == (
        "Contact owner",
        "enumeration",
        "select",
        "sales_properties",
    )
    assert prop.hubspot_defined and prop.external_options and prop.referenced_object_type == "OWNER"
    meta = prop.modification_metadata
    assert (meta.archivable, meta.read_only_definition, meta.read_only_value) == (False, True, False)
    assert [(o.value, o.label) for o in prop.options] == [
        (AMELIE, "Amélie Martin"),
        (JAMES, "James Smith"),
        (HANS, "Hans Müller"),
        (HANNAH, "Hannah Hubspotonly"),
    ]
    assert "hubspot_owner_id" in {p.name for p in client.crm.properties.core_api.get_all("contacts").results}
    spec(
        http.get(f"{hs[0]}/crm/v3/properties/contacts/hubspot_owner_id"),
        "/crm/v3/properties/{objectType}/{propertyName}",
        "get",
        spec="crm-properties-v3",
    )


def test_a_contact_takes_an_active_owners_id_and_an_empty_string_clears_it(client: HubSpot):
    basic = client.crm.contacts.basic_api
    created = _create(client, email="ada@example.com", hubspot_owner_id=AMELIE)
    assert created.properties["hubspot_owner_id"] == AMELIE
    basic.update(created.id, SimplePublicObjectInput(properties={"hubspot_owner_id": JAMES}))
    assert contact_owner(client, created.id) == JAMES
    basic.update(created.id, SimplePublicObjectInput(properties={"hubspot_owner_id": ""}))
    assert contact_owner(client, created.id) is None

    history = basic.get_by_id(created.id, properties_with_history=["hubspot_owner_id"]).properties_with_history
    assert [entry.value for entry in history["hubspot_owner_id"]] == ["", JAMES, AMELIE]


@pytest.mark.parametrize(
    "value",
    [
        "999999999",  # nobody's
        FORMER,  # an archived owner's
        "9100001",  # Amélie's user id, not her owner id
        "Amélie Martin",  # a label, not a value
        f" {AMELIE}",
    ],
)
def test_any_other_owner_id_is_refused_as_an_invalid_option(client: HubSpot, value):
    with pytest.raises(ContactsApiException) as exc:
        _create(client, email="ada@example.com", hubspot_owner_id=value)
    body = refusal(exc)
    assert body["message"].startswith("Property values were not valid: ") and "INVALID_OPTION" in body["message"]
    assert body["errors"] == [
        {
            "message": f"{value} was not one of the allowed options: {sorted(ACTIVE)}",
            "code": "INVALID_OPTION",
            "context": {"propertyName": ["hubspot_owner_id"]},
        }
    ]
    assert client.crm.contacts.basic_api.get_page().results == []

    kept = _create(client, email="grace@example.com", hubspot_owner_id=HANS)
    with pytest.raises(ContactsApiException) as exc:
        client.crm.contacts.basic_api.update(kept.id, SimplePublicObjectInput(properties={"hubspot_owner_id": value}))
    refusal(exc)
    assert contact_owner(client, kept.id) == HANS


def test_batch_writes_take_active_owners_and_refuse_the_whole_batch_for_any_other(client: HubSpot):
    batch = client.crm.contacts.batch_api
    created = batch.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {"properties": {"email": "a@example.com", "hubspot_owner_id": AMELIE}, "associations": []},
                {"properties": {"email": "b@example.com", "hubspot_owner_id": JAMES}, "associations": []},
            ]
        )
    )
    ids = [r.id for r in created.results]
    assert [r.properties["hubspot_owner_id"] for r in created.results] == [AMELIE, JAMES]

    # As for any refused value here, one bad input refuses the batch and nothing is written.
    with pytest.raises(ContactsApiException) as exc:
        batch.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    {"properties": {"email": "c@example.com", "hubspot_owner_id": HANS}, "associations": []},
                    {"properties": {"email": "d@example.com", "hubspot_owner_id": FORMER}, "associations": []},
                ]
            )
        )
    assert "INVALID_OPTION" in refusal(exc)["message"]
    assert len(client.crm.contacts.get_all()) == 2

    with pytest.raises(ContactsApiException) as exc:
        batch.update(
            BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    {"id": ids[0], "properties": {"hubspot_owner_id": HANS}},
                    {"id": ids[1], "properties": {"hubspot_owner_id": "42"}},
                ]
            )
        )
    refusal(exc)
    with pytest.raises(ContactsApiException) as exc:
        batch.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    {"id": "a@example.com", "idProperty": "email", "properties": {"hubspot_owner_id": HANS}},
                    {"id": "e@example.com", "idProperty": "email", "properties": {"hubspot_owner_id": "42"}},
                ]
            )
        )
    refusal(exc)
    assert [contact_owner(client, i) for i in ids] == [AMELIE, JAMES]
    assert len(client.crm.contacts.get_all()) == 2

    batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": ids[0], "properties": {"hubspot_owner_id": HANNAH}}, {"id": ids[1], "properties": {}}]
        )
    )
    upserted = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {"id": "b@example.com", "idProperty": "email", "properties": {"hubspot_owner_id": ""}},
                {"id": "e@example.com", "idProperty": "email", "properties": {"hubspot_owner_id": HANS}},
            ]
        )
    )
    assert [contact_owner(client, r.id) for r in upserted.results] == [None, HANS]
    assert contact_owner(client, ids[0]) == HANNAH


def test_contacts_are_searched_by_owner_like_any_property(client: HubSpot):
    ada = _create(client, email="ada@example.com", hubspot_owner_id=AMELIE).id
    bob = _create(client, email="bob@example.com", hubspot_owner_id=JAMES).id
    eve = _create(client, email="eve@example.com").id

    def search(*filters: dict) -> list[str]:
        request = PublicObjectSearchRequest(filter_groups=[{"filters": list(filters)}], properties=["email"])
        return sorted(r.id for r in client.crm.contacts.search_api.do_search(request).results)

    assert search({"propertyName": "hubspot_owner_id", "operator": "EQ", "value": AMELIE}) == [ada]
    assert search({"propertyName": "hubspot_owner_id", "operator": "IN", "values": [AMELIE, JAMES]}) == sorted(
        [ada, bob]
    )
    assert search({"propertyName": "hubspot_owner_id", "operator": "NOT_HAS_PROPERTY"}) == [eve]


# -- the control routes, reset and older files ---------------------------------------------


def test_control_routes_add_an_owner_and_archive_or_restore_one(client: HubSpot, hs):
    url, _app = hs
    added = requests.post(  # public, as every /_sandbox/ route: no token
        f"{url}/_sandbox/owners", json={"email": "new.rep@sandbox.example", "firstName": "New", "lastName": "Rep"}
    )
    assert added.status_code == 201
    new = added.json()
    assert (new["id"], new["userId"], new["archived"], new["type"]) == ("160000006", 9100006, False, "PERSON")
    assert owner_ids(client.crm.owners.owners_api.get_page())[-1] == new["id"]
    options = client.crm.properties.core_api.get_by_name("contacts", "hubspot_owner_id").options
    assert (options[-1].value, options[-1].label) == (new["id"], "New Rep")
    owned = _create(client, email="ada@example.com", hubspot_owner_id=new["id"])

    archived = requests.patch(f"{url}/_sandbox/owners/{new['id']}", json={"archived": True})
    assert archived.status_code == 200 and archived.json()["archived"] is True and archived.json()["userId"] is None
    assert new["id"] not in owner_ids(client.crm.owners.owners_api.get_page())
    options = client.crm.properties.core_api.get_by_name("contacts", "hubspot_owner_id").options
    assert new["id"] not in {o.value for o in options}
    assert contact_owner(client, owned.id) == new["id"]  # its contacts keep it
    with pytest.raises(ContactsApiException) as exc:
        _create(client, email="bob@example.com", hubspot_owner_id=new["id"])
    refusal(exc)

    restored = requests.patch(f"{url}/_sandbox/owners/{new['id']}", json={"archived": False})
    assert restored.status_code == 200 and restored.json()["userId"] == 9100006
    assert _create(client, email="bob@example.com", hubspot_owner_id=new["id"])

    born_archived = requests.post(
        f"{url}/_sandbox/owners", json={"email": "gone@sandbox.example", "firstName": "G", "archived": True}
    ).json()
    assert born_archived["archived"] is True and born_archived["lastName"] == ""

    duplicate = requests.post(f"{url}/_sandbox/owners", json={"email": "JAMES.smith@sandbox.example"})
    assert duplicate.status_code == 409 and duplicate.json()["category"] == "CONFLICT"
    assert requests.post(f"{url}/_sandbox/owners", json={"email": "nobody"}).status_code == 400
    assert requests.post(f"{url}/_sandbox/owners", json={"firstName": "No email"}).status_code == 400
    assert requests.patch(f"{url}/_sandbox/owners/{JAMES}", json={"archived": "yes"}).status_code == 400
    missing = requests.patch(f"{url}/_sandbox/owners/999", json={"archived": True})
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_reset_brings_back_exactly_the_seeded_owners(client: HubSpot, hs):
    url, app = hs
    app.store.add_owner(email="new.rep@sandbox.example", first_name="New", last_name="Rep")
    app.store.archive_owner(JAMES)
    assert requests.post(f"{url}/_sandbox/reset").ok
    assert owner_ids(client.crm.owners.owners_api.get_page()) == ACTIVE
    assert owner_ids(client.crm.owners.owners_api.get_page(archived=True)) == [FORMER]
    options = client.crm.properties.core_api.get_by_name("contacts", "hubspot_owner_id").options
    assert [o.value for o in options] == ACTIVE
    assert app.store.owner_count() == 4 and app.store.owner_count(archived=True) == 1


def test_a_state_file_from_before_owners_gains_them_and_the_contact_owner_property(tmp_path):
    path = tmp_path / "hubspot.sqlite3"
    HubSpotStore(path).close()
    with sqlite3.connect(path) as conn:  # as a file written before owners existed
        conn.execute("DELETE FROM owner")
        conn.execute("DELETE FROM property WHERE name = 'hubspot_owner_id'")
    store = HubSpotStore(path)
    try:
        assert [value for value, _label in store.properties["hubspot_owner_id"].options] == ACTIVE
        assert store.owner(FORMER, archived=True).email == "former.rep@sandbox.example"
        assert store.owner_count() == 4
    finally:
        store.close()
