"""The HubSpot emulator's property schema, and one pass over every endpoint against HubSpot's spec."""

from __future__ import annotations

from pathlib import Path

from hubspot import HubSpot

from tests.sandbox.hubspot_helpers import CONTACTS, SpecChecker, _create

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


# -- every endpoint against the spec -------------------------------------------------------


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
