"""The app's Salesforce client clears a field given ``None`` or ``""`` on every write path, against
the Salesforce sandbox over HTTPS: JSON ``null`` in REST and sObject Collections bodies, ``#N/A`` in
a Bulk API 2.0 CSV (an empty cell would leave the field as it is)."""

from __future__ import annotations

import io
import json

import pytest

from integration.clients.salesforce import BulkUpload, SalesforceClient
from sandbox.testing import trusting_session
from tests.sandbox.salesforce_helpers import salesforce_fixtures

server, control = salesforce_fixtures("salesforce-clears")

FULL = {"Title": "CEO", "Phone": "+33 1 23 45 67 89", "NumberOfEmployees": 50, "LeadSource": "Web"}
CLEARED = ("Title", "Phone", "NumberOfEmployees", "LeadSource")


@pytest.fixture
def client(server, control) -> SalesforceClient:
    return SalesforceClient(
        instance_url=server.url,
        access_token="sandbox",
        session=trusting_session(server.cert_path),
        bulk_poll_interval=0.05,
    )


def lead(i: int, **extra) -> dict:
    return {"LastName": f"L{i}", "Company": "Acme", "Email": f"user{i}@example.com", **FULL, **extra}


def stored(client: SalesforceClient, record_id: str) -> dict:
    fields = ", ".join(["LastName", "Company", "Email", *CLEARED])
    (record,) = client.query(f"SELECT {fields} FROM Lead WHERE Id = '{record_id}'")
    return record


def clears(clear, fields=CLEARED) -> dict:
    return dict.fromkeys(fields, clear)


@pytest.fixture
def sent_bodies(client, monkeypatch) -> list:
    """The JSON bodies the client sends, as Salesforce receives them."""
    bodies = []
    original = client._json

    def spy(method, path, body=None, **kwargs):
        bodies.append(json.loads(json.dumps(body)))
        return original(method, path, body, **kwargs)

    monkeypatch.setattr(client, "_json", spy)
    return bodies


@pytest.mark.parametrize("clear", [None, ""])
class TestRest:
    def test_collections_update_sends_null_and_clears(self, client, sent_bodies, clear):
        (created,) = client.collections_create("Lead", [lead(1)])
        (result,) = client.collections_update("Lead", [{"Id": created.id, **clears(clear)}])
        assert result.success
        assert sent_bodies[-1]["records"][0] == {"attributes": {"type": "Lead"}, "Id": created.id, **clears(None)}
        assert stored(client, created.id) == {
            "LastName": "L1",
            "Company": "Acme",
            "Email": "user1@example.com",
        } | clears(None)

    def test_collections_upsert_sends_null_and_clears(self, client, sent_bodies, clear):
        first = [lead(i, HubSpot_Id__c=f"hs-{i}") for i in range(3)]
        assert all(r.created for r in client.collections_upsert("Lead", "HubSpot_Id__c", first))
        again = [{"HubSpot_Id__c": f"hs-{i}", "Email": f"user{i}@example.com", **clears(clear)} for i in range(3)]
        results = client.collections_upsert("Lead", "HubSpot_Id__c", again)
        assert [(r.success, r.created) for r in results] == [(True, False)] * 3
        assert all(record["Title"] is None for record in sent_bodies[-1]["records"])
        assert all(stored(client, r.id)[name] is None for r in results for name in CLEARED)

    def test_collections_create_sends_null(self, client, sent_bodies, clear):
        (result,) = client.collections_create("Lead", [lead(1, **clears(clear))])
        assert result.success and sent_bodies[-1]["records"][0]["NumberOfEmployees"] is None
        assert stored(client, result.id)["NumberOfEmployees"] is None

    def test_a_single_upsert_sends_null_and_clears(self, client, sent_bodies, clear):
        assert client.upsert("Lead", "HubSpot_Id__c", "hs-1", lead(1)).created
        result = client.upsert("Lead", "HubSpot_Id__c", "hs-1", {"Title": clear, "NumberOfEmployees": clear})
        assert result.success and result.created is False
        assert sent_bodies[-1] == {"Title": None, "NumberOfEmployees": None}
        record = stored(client, result.id)
        assert (record["Title"], record["NumberOfEmployees"], record["Phone"]) == (None, None, FULL["Phone"])

    def test_a_cleared_required_field_fails_that_record_only(self, client, clear):
        created = client.collections_create("Lead", [lead(1), lead(2)])
        results = client.collections_update(
            "Lead", [{"Id": created[0].id, "LastName": clear}, {"Id": created[1].id, "Title": clear}]
        )
        assert [r.success for r in results] == [False, True]
        assert (results[0].error_code, results[0].errors[0].fields) == ("REQUIRED_FIELD_MISSING", ["LastName"])
        assert stored(client, created[0].id)["LastName"] == "L1" and stored(client, created[1].id)["Title"] is None

    def test_values_that_are_not_clears_are_sent_as_they_are(self, client, sent_bodies, clear):
        record = {"Title": " ", "NumberOfEmployees": 0, "Phone": clear}
        (created,) = client.collections_create("Lead", [lead(1, **record)])
        assert created.success
        sent = sent_bodies[-1]["records"][0]
        assert (sent["Title"], sent["NumberOfEmployees"], sent["Phone"]) == (" ", 0, None)


class TestBulk:
    @pytest.mark.parametrize("clear", [None, ""])
    def test_upsert_writes_na_for_a_clear_and_an_empty_cell_for_a_field_left_out(self, client, clear):
        client.collections_upsert("Lead", "HubSpot_Id__c", [lead(i, HubSpot_Id__c=f"hs-{i}") for i in range(3)])
        records = [
            {"HubSpot_Id__c": "hs-0", **clears(clear)},
            {"HubSpot_Id__c": "hs-1", "Title": "CFO"},  # the other fields are left out: unchanged
            {"HubSpot_Id__c": "hs-2", "Title": clear, "LastName": clear},
        ]
        results = client.bulk_upsert("Lead", records, external_id_field="HubSpot_Id__c")
        assert [r.success for r in results] == [True, True, False]
        assert (results[2].error_code, results[2].errors[0].fields) == ("REQUIRED_FIELD_MISSING", ["LastName"])
        ids = {record["HubSpot_Id__c"]: record["Id"] for record in client.query("SELECT Id, HubSpot_Id__c FROM Lead")}
        assert stored(client, ids["hs-0"]) == {
            "LastName": "L0",
            "Company": "Acme",
            "Email": "user0@example.com",
        } | clears(None)
        assert stored(client, ids["hs-1"]) == {
            "LastName": "L1",
            "Company": "Acme",
            "Email": "user1@example.com",
        } | FULL | {"Title": "CFO"}
        assert stored(client, ids["hs-2"])["Title"] == "CEO"  # its row failed: nothing of it was saved

    def test_update_and_insert_clear_with_na(self, client):
        created = client.collections_create("Lead", [lead(1)])
        (updated,) = client.bulk_update("Lead", [{"Id": created[0].id, "Title": None, "Phone": ""}])
        assert updated.success
        record = stored(client, created[0].id)
        assert (record["Title"], record["Phone"], record["LeadSource"]) == (None, None, "Web")
        (inserted,) = client.bulk_insert("Lead", [{"LastName": "N", "Company": "Acme", "Title": "", "Email": None}])
        assert inserted.success and stored(client, inserted.id)["Title"] is None

    def test_the_csv_holds_na_for_none_and_empty_and_an_empty_cell_for_a_missing_field(self):
        with BulkUpload("update", ["Id", "Title", "Phone", "City"]) as upload:
            upload.add({"Id": "00Q000000000001AAA", "Title": None, "Phone": ""})
            upload.add({"Id": "00Q000000000002AAA", "Title": "CEO", "Phone": 0, "City": False})
            text = io.TextIOWrapper(upload.body(), encoding="utf-8").read()
        assert text.splitlines() == [
            "Id,Title,Phone,City",
            "00Q000000000001AAA,#N/A,#N/A,",
            "00Q000000000002AAA,CEO,0,false",
        ]
