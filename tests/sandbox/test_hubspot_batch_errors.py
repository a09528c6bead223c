"""The HubSpot emulator's batch errors as HubSpot documents them: a duplicate email in a batch
create, duplicate ids in an update or upsert, and an upsert naming a record ID no contact has."""

from __future__ import annotations

from hubspot import HubSpot
from hubspot.crm.contacts import ApiException, BatchInputSimplePublicObjectBatchInputUpsert

from tests.sandbox.hubspot_helpers import CONTACTS, _create


def test_a_batch_create_with_one_email_twice_is_refused_whole_with_the_email_in_plain_text(http, hs, spec):
    url, app = hs
    response = http.post(
        f"{url}{CONTACTS}/batch/create",
        json={
            "inputs": [
                {"properties": {"email": "twice@example.com"}},
                {"properties": {"email": "other@example.com"}},
                {"properties": {"email": "TWICE@example.com"}},
            ]
        },
    )
    assert response.status_code == 400
    body = response.json()
    spec(response, "/crm/v3/objects/contacts/batch/create", "post")
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Duplicate emails found in batch input: twice@example.com.")
    assert "[" not in body["message"] and "'" not in body["message"]  # no list written as code
    assert body["context"] == {"email": ["twice@example.com"]}
    assert app.store.get_by_email("other@example.com") is None  # nothing created


def test_duplicate_ids_in_an_update_or_upsert_are_named_in_plain_text(http, hs, spec):
    url, _app = hs
    for path, inputs in (
        ("update", [{"id": "7", "properties": {}}, {"id": "7", "properties": {}}]),
        (
            "upsert",
            [
                {"id": "z@example.com", "idProperty": "email", "properties": {}},
                {"id": "Z@example.com", "idProperty": "email", "properties": {}},
            ],
        ),
    ):
        response = http.post(f"{url}{CONTACTS}/batch/{path}", json={"inputs": inputs})
        assert response.status_code == 400, path
        spec(response, f"/crm/v3/objects/contacts/batch/{path}", "post")
        message = response.json()["message"]
        assert message.startswith("Duplicate IDs found in batch input: ") and "[" not in message, message
        assert len(response.json()["context"]["ids"]) == 1


def test_an_upsert_naming_an_unknown_record_id_fails_that_input_alone(client: HubSpot, http, hs, spec):
    url, app = hs
    known = _create(client, email="known@example.com", firstname="Old")
    response = http.post(
        f"{url}{CONTACTS}/batch/upsert",
        json={
            "inputs": [
                {"id": known.id, "idProperty": "hs_object_id", "properties": {"firstname": "New"}},
                {"id": "987654", "idProperty": "hs_object_id", "properties": {"firstname": "Ghost"}},
                {"id": "fresh@example.com", "idProperty": "email", "properties": {"firstname": "Fresh"}},
            ]
        },
    )
    assert response.status_code == 207
    spec(response, "/crm/v3/objects/contacts/batch/upsert", "post")
    body = response.json()
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND" and body["errors"][0]["context"] == {"ids": ["987654"]}
    written = {r["id"]: r for r in body["results"]}
    assert written[known.id]["new"] is False and written[known.id]["properties"]["firstname"] == "New"
    fresh = app.store.get_by_email("fresh@example.com")
    assert fresh is not None and written[str(fresh["id"])]["new"] is True
    assert app.store.count() == 2  # no contact made up for the unknown id

    # The unmodified client reads the 207 as a result with its errors, not as an exception.
    result = client.crm.contacts.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[{"id": "555", "idProperty": "hs_object_id", "properties": {"firstname": "X"}}]
        )
    )
    assert result.results == [] and result.errors[0].context == {"ids": ["555"]}


def test_an_upsert_by_an_unknown_property_is_a_clear_400(client: HubSpot):
    try:
        client.crm.contacts.batch_api.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[{"id": "1", "idProperty": "lastname", "properties": {}}]
            )
        )
    except ApiException as exc:
        assert exc.status == 400 and "idProperty" in exc.body
    else:
        raise AssertionError("an upsert by a property that is not unique was accepted")
