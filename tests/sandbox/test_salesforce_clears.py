"""Clearing fields in the Salesforce sandbox as Salesforce does, over real HTTPS: a JSON ``null``
(or ``""``, stored as null) in REST and sObject Collections, ``#N/A`` in a Bulk API 2.0 CSV (where an
empty cell leaves the field as it is), and a required field that cannot be cleared refused record
by record.
"""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox.salesforce.records import RecordService
from tests.sandbox.salesforce_helpers import error_of, lead

V = "/services/data/v59.0"
AUTH = {"Authorization": "Bearer sandbox"}
FIELDS = "Id, LastName, Company, Title, Email, Phone, NumberOfEmployees, LeadSource"


def missing(field: str) -> dict:
    """A required field cleared, as a SaveResult error."""
    return {
        "statusCode": "REQUIRED_FIELD_MISSING",
        "message": f"Required fields are missing: [{field}]",
        "fields": [field],
    }


def stored(sf, record_id: str, object_name: str = "Lead") -> dict:
    fields = FIELDS if object_name == "Lead" else "Id, LastName, Title, Email"
    record = sf.query(f"SELECT {fields} FROM {object_name} WHERE Id = '{record_id}'")["records"][0]
    record.pop("attributes")
    return record


def full_lead(i: int, **extra) -> dict:
    return lead(i, Title="CEO", Phone="+33 1 23 45 67 89", NumberOfEmployees=50, LeadSource="Web", **extra)


def bulk_job(sf, server, operation: str, data: str, **job) -> dict[str, list[dict]]:
    """A Bulk API 2.0 Lead job of ``operation`` with the CSV ``data``, processed: its result rows."""
    base = server.url + V + "/jobs/ingest"
    body = {"object": "Lead", "operation": operation, **job}
    created = sf.session.post(base, json=body, headers=AUTH).json()
    sf.session.put(f"{base}/{created['id']}/batches", data=data, headers={**AUTH, "Content-Type": "text/csv"})
    sf.session.patch(f"{base}/{created['id']}", json={"state": "UploadComplete"}, headers=AUTH)
    server.app.bulk.wait(created["id"])
    return {
        which: list(csv.DictReader(io.StringIO(sf.session.get(f"{base}/{created['id']}/{which}", headers=AUTH).text)))
        for which in ("successfulResults", "failedResults")
    }


class TestRest:
    @pytest.mark.parametrize("clear", [None, ""])
    def test_a_patch_clears_the_fields_it_sets_to_null_or_empty(self, sf, clear):
        record_id = sf.Lead.create(full_lead(1))["id"]
        changes = {"Title": clear, "Email": clear, "Phone": clear, "NumberOfEmployees": clear, "LeadSource": clear}
        assert sf.Lead.update(record_id, changes) == 204
        assert stored(sf, record_id) == {
            "Id": record_id,
            "LastName": "L1",
            "Company": "Acme",
            "Title": None,
            "Email": None,
            "Phone": None,
            "NumberOfEmployees": None,
            "LeadSource": None,
        }
        # And the record is still found by what it kept, not by the email it lost.
        assert sf.query("SELECT COUNT() FROM Lead WHERE Email = 'user1@example.com'")["totalSize"] == 0

    @pytest.mark.parametrize(
        ("object_name", "field"), [("Lead", "LastName"), ("Lead", "Company"), ("Contact", "LastName")]
    )
    @pytest.mark.parametrize("clear", [None, ""])
    def test_clearing_a_required_field_is_refused_and_changes_nothing(self, sf, object_name, field, clear):
        api = getattr(sf, object_name)
        record_id = api.create(lead(1) if object_name == "Lead" else {"LastName": "L1", "Title": "CEO"})["id"]
        before = stored(sf, record_id, object_name)
        with pytest.raises(SalesforceMalformedRequest) as exc:
            api.update(record_id, {"Title": "CFO", field: clear})
        assert error_of(exc) == {
            "message": f"Required fields are missing: [{field}]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": [field],
        }
        assert stored(sf, record_id, object_name) == before

    def test_an_upsert_by_external_id_clears_too(self, sf):
        sf.Lead.upsert("HubSpot_Id__c/hs-1", full_lead(1))
        answer = sf.Lead.upsert("HubSpot_Id__c/hs-1", {"Title": None, "Phone": ""}, raw_response=True)
        assert answer.status_code == 200 and answer.json()["created"] is False
        record = sf.Lead.get_by_custom_id("HubSpot_Id__c", "hs-1")
        assert (record["Title"], record["Phone"], record["Email"]) == (None, None, "user1@example.com")


class TestCollections:
    def test_an_update_clears_per_record_and_refuses_only_the_required_clears(self, sf):
        ids = [r["id"] for r in sf.restful("composite/sobjects", method="POST", json=self._creates(3))]
        records = [
            {"attributes": {"type": "Lead"}, "Id": ids[0], "Title": None, "Email": ""},
            {"attributes": {"type": "Lead"}, "Id": ids[1], "Title": "CFO", "LastName": None},
            {"attributes": {"type": "Lead"}, "Id": ids[2], "Company": ""},
        ]
        results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records})
        assert results == [
            {"id": ids[0], "success": True, "errors": []},
            {"id": None, "success": False, "errors": [missing("LastName")]},
            {"id": None, "success": False, "errors": [missing("Company")]},
        ]
        assert (stored(sf, ids[0])["Title"], stored(sf, ids[0])["Email"]) == (None, None)
        assert stored(sf, ids[1])["Title"] == "CEO" and stored(sf, ids[2])["Company"] == "Acme"

    def test_all_or_none_rolls_back_the_clears_of_the_others(self, sf):
        ids = [r["id"] for r in sf.restful("composite/sobjects", method="POST", json=self._creates(2))]
        records = [
            {"attributes": {"type": "Lead"}, "Id": ids[0], "Title": None},
            {"attributes": {"type": "Lead"}, "Id": ids[1], "LastName": ""},
        ]
        results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": records})
        assert [r["errors"][0]["statusCode"] for r in results] == [
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "REQUIRED_FIELD_MISSING",
        ]
        assert stored(sf, ids[0])["Title"] == "CEO"

    def test_an_upsert_clears_on_the_column_path_and_refuses_required_clears_per_record(self, sf, monkeypatch):
        path = "composite/sobjects/Lead/HubSpot_Id__c"
        taken = []
        column_path = RecordService._upsert_uniform

        def spy(service, *args):
            result = column_path(service, *args)
            taken.append(result is not None)
            return result

        first = [{"attributes": {"type": "Lead"}, "HubSpot_Id__c": f"hs-{i}", **full_lead(i)} for i in range(3)]
        assert all(r["created"] for r in sf.restful(path, method="PATCH", json={"records": first}))
        # Every record sets the same fields: the usual upsert, a column at a time.
        cleared = [{**record, "Title": None if i else "", "Phone": "" if i else None} for i, record in enumerate(first)]
        monkeypatch.setattr(RecordService, "_upsert_uniform", spy)
        results = sf.restful(path, method="PATCH", json={"allOrNone": False, "records": cleared})
        assert all(r["success"] and r["created"] is False for r in results)
        assert taken == [True]
        rows = sf.query("SELECT Title, Phone, Email FROM Lead ORDER BY HubSpot_Id__c")["records"]
        assert [(r["Title"], r["Phone"]) for r in rows] == [(None, None)] * 3
        assert [r["Email"] for r in rows] == [f"user{i}@example.com" for i in range(3)]
        refused = [cleared[0], {**cleared[1], "LastName": None}, {**cleared[2], "Company": ""}]
        results = sf.restful(path, method="PATCH", json={"allOrNone": False, "records": refused})
        assert [r["errors"] for r in results] == [[], [missing("LastName")], [missing("Company")]]

    @staticmethod
    def _creates(count: int) -> dict:
        return {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, **full_lead(i)} for i in range(count)]}


class TestBulk:
    def test_na_clears_and_an_empty_cell_leaves_the_field_as_it_is(self, sf, server):
        ids = [sf.Lead.create(full_lead(i))["id"] for i in range(2)]
        data = f"Id,Title,Email,NumberOfEmployees,LeadSource,Phone\n{ids[0]},#N/A,#N/A,#N/A,#N/A,\n{ids[1]},,,,,#N/A\n"
        results = bulk_job(sf, server, "update", data)
        assert len(results["successfulResults"]) == 2 and results["failedResults"] == []
        cleared, kept = stored(sf, ids[0]), stored(sf, ids[1])
        assert (cleared["Title"], cleared["Email"], cleared["NumberOfEmployees"], cleared["LeadSource"]) == (None,) * 4
        assert cleared["Phone"] == "+33 1 23 45 67 89"
        assert (kept["Title"], kept["Email"], kept["NumberOfEmployees"], kept["Phone"]) == (
            "CEO",
            "user1@example.com",
            50,
            None,
        )

    def test_na_on_a_required_field_fails_that_row_and_the_others_are_saved(self, sf, server):
        for i in range(3):
            sf.Lead.upsert(f"HubSpot_Id__c/hs-{i}", full_lead(i))
        data = "HubSpot_Id__c,LastName,Company,Title\nhs-0,#N/A,,#N/A\nhs-1,,#N/A,#N/A\nhs-2,,,#N/A\nhs-3,New,#N/A,\n"
        results = bulk_job(sf, server, "upsert", data, externalIdFieldName="HubSpot_Id__c")
        errors = {row["HubSpot_Id__c"]: row["sf__Error"] for row in results["failedResults"]}
        assert errors == {
            "hs-0": "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
            "hs-1": "REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:Company --",
            "hs-3": "REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:Company --",
        }
        assert [row["HubSpot_Id__c"] for row in results["successfulResults"]] == ["hs-2"]
        record = sf.Lead.get_by_custom_id("HubSpot_Id__c", "hs-2")
        assert (record["Title"], record["LastName"]) == (None, "L2")
        assert sf.Lead.get_by_custom_id("HubSpot_Id__c", "hs-0")["Title"] == "CEO"

    def test_an_insert_takes_na_as_null(self, sf, server):
        results = bulk_job(sf, server, "insert", "LastName,Company,Title,Email\nA,Acme,#N/A,#N/A\n")
        record_id = results["successfulResults"][0]["sf__Id"]
        assert (stored(sf, record_id)["Title"], stored(sf, record_id)["Email"]) == (None, None)

    def test_an_upsert_key_of_na_is_no_key(self, sf, server):
        data = "HubSpot_Id__c,LastName,Company\n#N/A,A,Acme\n"
        results = bulk_job(sf, server, "upsert", data, externalIdFieldName="HubSpot_Id__c")
        assert results["failedResults"][0]["sf__Error"] == "MISSING_ARGUMENT:HubSpot_Id__c not specified: --"
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
