"""The HubSpot emulator's batch API: create, read, update, upsert by email and archive."""

from __future__ import annotations

from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
)

from tests.sandbox.hubspot_helpers import CONTACTS, _create


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
