"""The Salesforce sandbox driven by the unmodified simple-salesforce over real HTTPS: sObject
Collections (the sync's push), results in input order, allOrNone.
"""

from __future__ import annotations

import time

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
)

from sandbox.testing import trusting_session
from tests.sandbox.salesforce_helpers import error_of, lead


class TestCollections:
    def test_create_200_and_refuse_201(self, sf):
        records = [{"attributes": {"type": "Lead"}, **lead(i)} for i in range(201)]
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records[:200]})
        assert len(results) == 200 and all(r["success"] for r in results)
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
        assert error_of(exc)["errorCode"] == "EXCEEDED_ID_LIMIT"
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 200

    def test_per_record_results_in_input_order(self, sf):
        records = [
            {"attributes": {"type": "Lead"}, **lead(0)},
            {"attributes": {"type": "Lead"}, "FirstName": "NoLastName", "Company": "X"},
            {"attributes": {"type": "Contact"}, "LastName": "Contact"},
            {"attributes": {"type": "Lead"}, **lead(3, Email="bad@")},
        ]
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
        assert [r["success"] for r in results] == [True, False, True, False]
        assert results[0]["id"].startswith("00Q") and results[2]["id"].startswith("003")
        assert results[1]["errors"] == [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ]
        assert results[3]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS" and results[3]["id"] is None

    def test_all_or_none_rolls_back(self, sf):
        records = [{"attributes": {"type": "Lead"}, **lead(i)} for i in range(3)]
        records[1]["LeadSource"] = "Nope"
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
        assert [r["success"] for r in results] == [False, False, False]
        assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0

    def test_all_or_none_spans_several_types(self, sf):
        records = [
            {"attributes": {"type": "Lead"}, **lead(1)},
            {"attributes": {"type": "Contact"}, "FirstName": "no last name"},
        ]
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
        assert [r["errors"][0]["statusCode"] for r in results] == [
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "REQUIRED_FIELD_MISSING",
        ]
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
        records[1]["LastName"] = "Fixed"
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
        assert [r["id"][:3] for r in results] == ["00Q", "003"]

    def test_update_and_upsert_by_external_id(self, sf):
        created = sf.restful(
            "composite/sobjects",
            method="POST",
            json={"records": [{"attributes": {"type": "Lead"}, **lead(i, HubSpot_Id__c=f"hs-{i}")} for i in range(3)]},
        )
        updates = [{"attributes": {"type": "Lead"}, "Id": r["id"], "Title": "VP"} for r in created]
        updates.append({"attributes": {"type": "Lead"}, "Id": "00Q5g000000zzzz", "Title": "VP"})
        results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": updates})
        assert [r["success"] for r in results] == [True, True, True, False]
        upserts = [
            {"attributes": {"type": "Lead"}, "HubSpot_Id__c": "hs-0", "Title": "CEO"},
            {"attributes": {"type": "Lead"}, **lead(9, HubSpot_Id__c="hs-9")},
            {"attributes": {"type": "Lead"}, "HubSpot_Id__c": "hs-10", "LastName": "NoCompany"},
            {"attributes": {"type": "Lead"}, "Title": "no key"},
        ]
        results = sf.restful("composite/sobjects/Lead/HubSpot_Id__c", method="PATCH", json={"records": upserts})
        assert [(r["success"], r["created"]) for r in results] == [
            (True, False),
            (True, True),
            (False, False),
            (False, False),
        ]
        assert results[0]["id"] == created[0]["id"]
        assert results[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
        assert results[3]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
        assert sf.Lead.get(created[0]["id"])["Title"] == "CEO"

    def test_upsert_resending_unchanged_values_still_marks_the_record_modified(self, sf):
        # Unchanged fields are left out of the UPDATE; the record must not look untouched.
        record = {"attributes": {"type": "Lead"}, **lead(1, HubSpot_Id__c="hs-1", Title="VP", NumberOfEmployees=5)}
        path = "composite/sobjects/Lead/HubSpot_Id__c"
        first = sf.restful(path, method="PATCH", json={"records": [record]})[0]
        before = sf.Lead.get(first["id"])
        time.sleep(0.01)
        again = sf.restful(path, method="PATCH", json={"records": [record, {**record, "HubSpot_Id__c": "hs-2"}]})
        assert [(r["success"], r["created"]) for r in again] == [(True, False), (True, True)]
        after = sf.Lead.get(first["id"])
        assert after["LastModifiedDate"] > before["LastModifiedDate"]
        assert after["SystemModstamp"] > before["SystemModstamp"]
        assert {k: v for k, v in after.items() if k not in ("LastModifiedDate", "SystemModstamp")} == {
            k: v for k, v in before.items() if k not in ("LastModifiedDate", "SystemModstamp")
        }
        changed = {**record, "Title": "CEO", "Email": "USER1@example.com", "NumberOfEmployees": None}
        assert sf.restful(path, method="PATCH", json={"records": [changed]})[0]["created"] is False
        stored = sf.Lead.get(first["id"])
        assert (stored["Title"], stored["Email"], stored["NumberOfEmployees"]) == ("CEO", "USER1@example.com", None)
        assert (stored["FirstName"], stored["Company"]) == ("F1", "Acme")

    def test_concurrent_upserts_of_one_new_key_make_one_record(self, server, control):
        from concurrent.futures import ThreadPoolExecutor

        def upsert(i: int) -> list[dict]:
            sf = Salesforce(instance_url=server.url, session_id="sandbox", session=trusting_session(server.cert_path))
            body = {"records": [{"attributes": {"type": "Lead"}, **lead(i, HubSpot_Id__c="same")}]}
            return sf.restful("composite/sobjects/Lead/HubSpot_Id__c", method="PATCH", json=body)

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = [a[0] for a in pool.map(upsert, range(16))]
        assert all(a["success"] for a in answers)
        assert sum(a["created"] for a in answers) == 1 and len({a["id"] for a in answers}) == 1

    def test_delete(self, sf):
        ids = [sf.Lead.create(lead(i))["id"] for i in range(2)]
        refused = sf.restful(
            "composite/sobjects", method="DELETE", params={"ids": ",".join([*ids, "bogus"]), "allOrNone": "true"}
        )
        assert [r["errors"][0]["statusCode"] for r in refused] == [
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "MALFORMED_ID",
        ]
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 2
        results = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join([*ids, "bogus"])})
        assert [r["success"] for r in results] == [True, True, False]
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
