"""The HubSpot emulator keeps each contact property's history and serves it as
``propertiesWithHistory`` (list, get, batch read), over HTTP through the unmodified
hubspot-api-client, with HubSpot's limits when history is asked for."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectInput,
)

from sandbox.hubspot.store import HubSpotStore
from tests.sandbox.hubspot_helpers import CONTACTS, _create, _seed, oauth_token

BATCH_READ = "/crm/v3/objects/contacts/batch/read"


def values_of(entries) -> list[str]:
    return [e.value for e in entries]


def test_every_write_through_the_api_appends_to_the_history_newest_first(client: HubSpot):
    basic, batch = client.crm.contacts.basic_api, client.crm.contacts.batch_api
    created = _create(client, email="ada@example.com", city="London")
    basic.update(created.id, SimplePublicObjectInput(properties={"city": "Paris"}))
    basic.update(created.id, SimplePublicObjectInput(properties={"city": "Paris"}))  # no change: no entry
    batch.update(BatchInputSimplePublicObjectBatchInput(inputs=[{"id": created.id, "properties": {"city": ""}}]))
    batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[{"id": "ada@example.com", "idProperty": "email", "properties": {"city": "Rome"}}]
        )
    )

    contact = basic.get_by_id(created.id, properties_with_history=["city", "email", "jobtitle"])
    city = contact.properties_with_history["city"]
    assert values_of(city) == ["Rome", "", "Paris", "London"]  # a cleared value is an entry too
    assert all(isinstance(e.timestamp, dt.datetime) and e.timestamp.tzinfo for e in city)
    assert [e.timestamp for e in city] == sorted((e.timestamp for e in city), reverse=True)
    assert {(e.source_type, e.source_id) for e in city} == {("INTEGRATION", "sandbox")}
    assert values_of(contact.properties_with_history["email"]) == ["ada@example.com"]
    assert "jobtitle" not in contact.properties_with_history  # never had a value
    # Properties asked with history are in "properties" too; the default set is not added.
    assert contact.properties["city"] == "Rome" and "firstname" not in contact.properties

    page = basic.get_page(limit=50, properties=["email"], properties_with_history=["city"])
    assert values_of(page.results[0].properties_with_history["city"]) == ["Rome", "", "Paris", "London"]
    assert page.results[0].properties["email"] == "ada@example.com"
    read = batch.read(
        BatchReadInputSimplePublicObjectId(inputs=[{"id": created.id}], properties=[], properties_with_history=["city"])
    )
    assert values_of(read.results[0].properties_with_history["city"]) == ["Rome", "", "Paris", "London"]
    plain = basic.get_by_id(created.id, properties=["city"])
    assert plain.properties_with_history is None  # only when asked


def test_history_responses_match_the_spec(client: HubSpot, http, hs, spec):
    url, _app = hs
    created = _create(client, email="spec@example.com", lastname="Lovelace")
    response = http.get(f"{url}{CONTACTS}/{created.id}", params={"propertiesWithHistory": "lastname,createdate"})
    assert response.status_code == 200
    spec(response, "/crm/v3/objects/contacts/{contactId}", "get")
    body = response.json()["propertiesWithHistory"]
    assert body["lastname"][0]["value"] == "Lovelace" and body["lastname"][0]["timestamp"].endswith("Z")
    assert body["createdate"] == [
        {
            "value": created.properties["createdate"],
            "timestamp": created.properties["createdate"],
            "sourceType": "CALCULATED",
        }
    ]
    listed = http.get(f"{url}{CONTACTS}", params={"propertiesWithHistory": "lastname", "limit": 50})
    assert listed.status_code == 200
    spec(listed, "/crm/v3/objects/contacts", "get")
    read = http.post(
        f"{url}{BATCH_READ}",
        json={"inputs": [{"id": created.id}, {"id": "0"}], "properties": [], "propertiesWithHistory": ["lastname"]},
    )
    assert read.status_code == 207
    spec(read, BATCH_READ, "post")


def test_reads_with_history_take_at_most_50_contacts(client: HubSpot, http, hs, spec):
    url, app = hs
    _seed(app, 60)
    too_many = http.get(f"{url}{CONTACTS}", params={"propertiesWithHistory": "email", "limit": 51})
    assert too_many.status_code == 400 and too_many.json()["category"] == "VALIDATION_ERROR"
    spec(too_many, "/crm/v3/objects/contacts", "get")
    assert http.get(f"{url}{CONTACTS}", params={"properties": "email", "limit": 100}).status_code == 200

    inputs = [{"id": str(i)} for i in range(1, 52)]
    refused = http.post(
        f"{url}{BATCH_READ}", json={"inputs": inputs, "properties": [], "propertiesWithHistory": ["email"]}
    )
    assert refused.status_code == 400
    assert refused.json()["message"].startswith(
        "The maximum number of inputs supported in a batch request for property"
    )
    spec(refused, BATCH_READ, "post")
    allowed = http.post(f"{url}{BATCH_READ}", json={"inputs": inputs[:50], "propertiesWithHistory": ["email"]})
    assert allowed.status_code == 200 and len(allowed.json()["results"]) == 50
    without = http.post(f"{url}{BATCH_READ}", json={"inputs": inputs, "properties": [], "propertiesWithHistory": []})
    assert without.status_code == 200 and len(without.json()["results"]) == 51


def test_seeded_rows_and_direct_edits_have_their_history(client: HubSpot, hs):
    _url, app = hs
    _seed(app, 2, start_ms=1_700_000_000_000, city="Oslo")
    seeded = client.crm.contacts.basic_api.get_by_id("2", properties_with_history=["city", "firstname"])
    [entry] = seeded.properties_with_history["city"]
    assert (entry.value, entry.source_type) == ("Oslo", "IMPORT")
    assert entry.timestamp == dt.datetime.fromtimestamp(1_700_000_001_000 / 1000, tz=dt.UTC)  # its lastmodifieddate

    app.store.set_properties("2", {"city": "Bergen"}, moment=1_700_000_500_000)  # a person, in HubSpot's UI
    edited = client.crm.contacts.basic_api.get_by_id("2", properties_with_history=["city"])
    newest = edited.properties_with_history["city"][0]
    assert (newest.value, newest.source_type, newest.updated_by_user_id) == ("Bergen", "CRM_UI", 1)
    assert values_of(edited.properties_with_history["city"]) == ["Bergen", "Oslo"]


def test_a_refused_batch_leaves_no_history(client: HubSpot, http, hs):
    url, app = hs
    taken = _create(client, email="taken@example.com")
    other = _create(client, email="other@example.com", city="Lyon")
    response = http.post(
        f"{url}{CONTACTS}/batch/update",
        json={
            "inputs": [
                {"id": other.id, "properties": {"city": "Nice"}},
                {"id": other.id + "0", "properties": {}},
                {"id": taken.id, "properties": {"email": "OTHER@example.com"}},
            ]
        },
    )
    assert response.status_code == 409
    history = client.crm.contacts.basic_api.get_by_id(other.id, properties_with_history=["city"])
    assert values_of(history.properties_with_history["city"]) == ["Lyon"]


def test_an_oauth_app_is_named_as_the_source_of_its_writes(hs):
    url, _app = hs
    token = oauth_token(url, "authorization_code", code="x", redirect_uri="y").json()["access_token"]
    client = HubSpot(access_token=token, host=url)
    created = _create(client, email="app@example.com")
    [entry] = client.crm.contacts.basic_api.get_by_id(
        created.id, properties_with_history=["email"]
    ).properties_with_history["email"]
    assert (entry.source_type, entry.source_id) == ("INTEGRATION", "c")


def test_an_older_state_file_gains_its_history_when_opened(tmp_path):
    path = tmp_path / "hubspot.sqlite3"
    store = HubSpotStore(path)
    store.bulk_insert([({"email": "old@example.com", "city": "Porto"}, 1_600_000_000_000, 1_650_000_000_000)])
    store.close()
    with sqlite3.connect(path) as conn:  # as a file written before the history existed
        conn.execute("DROP TABLE property_history")

    reopened = HubSpotStore(path)
    try:
        rows = reopened.get_many([1])
        history = reopened.histories(list(rows.values()), ["city", "email", "lastname"])[1]
        assert history["city"] == [{"value": "Porto", "timestamp": "2022-04-15T05:20:00.000Z", "sourceType": "IMPORT"}]
        assert set(history) == {"city", "email"}
        reopened.set_properties(1, {"city": "Faro"}, moment=1_700_000_000_000)
        assert [e["value"] for e in reopened.histories([reopened.get(1)], ["city"])[1]["city"]] == ["Faro", "Porto"]
    finally:
        reopened.close()
    again = HubSpotStore(path)  # opening again adds nothing
    try:
        assert again.read().execute("SELECT COUNT(*) FROM property_history").fetchone()[0] == 3
    finally:
        again.close()


@pytest.mark.parametrize("name", ["hs_object_id", "lastmodifieddate"])
def test_column_properties_have_one_calculated_entry(client: HubSpot, name):
    created = _create(client, email="col@example.com")
    contact = client.crm.contacts.basic_api.get_by_id(created.id, properties_with_history=[name])
    [entry] = contact.properties_with_history[name]
    assert (entry.value, entry.source_type) == (contact.properties[name], "CALCULATED")
