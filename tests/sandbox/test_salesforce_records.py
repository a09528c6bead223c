"""The Salesforce sandbox driven by the unmodified simple-salesforce over real HTTPS: one record at a
time, by id, external id or Email, validated like Salesforce.

Each error code is produced by the input that produces it in Salesforce.
"""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from tests.sandbox.salesforce_helpers import error_of, lead


class TestRecords:
    def test_crud(self, sf):
        created = sf.Lead.create(lead(1))
        assert created["success"] and created["id"].startswith("00Q") and len(created["id"]) == 18
        record = sf.Lead.get(created["id"])
        assert record["Email"] == "user1@example.com" and record["Status"] == "Open - Not Contacted"
        assert record["attributes"]["type"] == "Lead" and record["IsDeleted"] is False
        assert record["CreatedDate"].endswith("+0000")
        assert sf.Lead.update(created["id"], {"Title": "CEO", "NumberOfEmployees": 12}) == 204
        updated = sf.Lead.get(created["id"])
        assert updated["Title"] == "CEO" and updated["NumberOfEmployees"] == 12
        assert updated["LastModifiedDate"] >= record["LastModifiedDate"]
        assert sf.Lead.get(created["id"][:15])["Id"] == created["id"]
        assert sf.Lead.delete(created["id"]) == 204
        with pytest.raises(SalesforceResourceNotFound) as exc:
            sf.Lead.get(created["id"])
        assert error_of(exc)["errorCode"] == "ENTITY_IS_DELETED"
        contact = sf.Contact.create({"LastName": "Solo", "MailingCity": "Lyon"})
        assert contact["id"].startswith("003")

    def test_upsert_by_external_id_and_by_email(self, sf):
        created = sf.Lead.upsert("HubSpot_Id__c/hs-1", lead(1), raw_response=True)
        assert created.status_code == 201 and created.json()["created"] is True
        updated = sf.Lead.upsert("HubSpot_Id__c/hs-1", {"Title": "CTO"}, raw_response=True)
        assert updated.status_code == 200 and updated.json() == {
            "id": created.json()["id"],
            "success": True,
            "errors": [],
            "created": False,
        }
        assert sf.Lead.get_by_custom_id("HubSpot_Id__c", "hs-1")["Title"] == "CTO"
        sf.Lead.create(lead(2, Email="same@example.com"))
        sf.Lead.create(lead(3, Email="SAME@example.com"))
        with pytest.raises(SalesforceMoreThanOneRecord) as exc:
            sf.Lead.upsert("Email/same@example.com", {"Title": "x"})
        assert len(exc.value.content) == 2 and all("/sobjects/Lead/00Q" in url for url in exc.value.content)

    def test_required_fields_missing(self, sf):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.create({"FirstName": "No"})
        assert error_of(exc) == {
            "message": "Required fields are missing: [LastName, Company]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName", "Company"],
        }
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Contact.create({"FirstName": "No"})
        assert error_of(exc)["fields"] == ["LastName"]
        created = sf.Lead.create(lead(1))
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.update(created["id"], {"Company": None})
        assert error_of(exc)["errorCode"] == "REQUIRED_FIELD_MISSING"

    @pytest.mark.parametrize(
        ("values", "code", "fields", "message"),
        [
            (
                {"Email": "not-an-email"},
                "INVALID_EMAIL_ADDRESS",
                ["Email"],
                "Email: invalid email address: not-an-email",
            ),
            ({"Email": "a b@example.com"}, "INVALID_EMAIL_ADDRESS", ["Email"], None),
            ({"Email": "ab@example.com\n"}, "INVALID_EMAIL_ADDRESS", ["Email"], None),
            ({"FirstName": "x" * 41}, "STRING_TOO_LONG", ["FirstName"], "(max length=40)"),
            ({"HubSpot_Id__c": "1" * 65}, "STRING_TOO_LONG", ["HubSpot_Id__c"], "(max length=64)"),
            (
                {"LeadSource": "Carrier pigeon"},
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                ["LeadSource"],
                "Lead Source: bad value for restricted picklist field: Carrier pigeon",
            ),
            ({"Shoe_Size__c": 42}, "INVALID_FIELD", [], "No such column 'Shoe_Size__c' on sobject of type Lead"),
            ({"CreatedDate": "2026-01-01T00:00:00Z"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["CreatedDate"], None),
        ],
    )
    def test_field_validation(self, sf, values, code, fields, message):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.create(lead(1, **values))
        error = error_of(exc)
        assert error["errorCode"] == code and error["fields"] == fields
        if message:
            assert message in error["message"]

    def test_malformed_and_unknown_ids(self, sf):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.update("not-an-id", {"Title": "x"})
        assert error_of(exc) == {
            "message": "Lead ID: id value of incorrect type: not-an-id",
            "errorCode": "MALFORMED_ID",
            "fields": ["Id"],
        }
        contact = sf.Contact.create({"LastName": "C"})
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.update(contact["id"], {"Title": "x"})
        assert error_of(exc)["errorCode"] == "MALFORMED_ID"
        with pytest.raises(SalesforceResourceNotFound) as exc:
            sf.Lead.get("00Q5g000000zzzzEAA"[:15])
        assert error_of(exc) == {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}

    def test_duplicate_rule_and_unique_external_id(self, sf, control):
        sf.Lead.create(lead(1, HubSpot_Id__c="hs-1"))
        assert sf.Lead.create(lead(1))["success"]  # duplicate rules are off by default
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.create(lead(2, HubSpot_Id__c="HS-1"))
        assert error_of(exc)["errorCode"] == "DUPLICATE_VALUE"
        control("/_sandbox/settings", {"duplicate_rule": True})
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.create(lead(3, Email="USER1@example.com"))
        error = error_of(exc)
        assert error["errorCode"] == "DUPLICATES_DETECTED" and error["message"] == "Use one of these records?"
        assert error["duplicateResult"]["matchResults"][0]["size"] == 2
        allowed = sf.Lead.create(
            lead(3, Email="USER1@example.com"), headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"}
        )
        assert allowed["success"]

    def test_malformed_json(self, sf, server):
        response = sf.session.post(
            server.url + "/services/data/v59.0/sobjects/Lead/",
            data="{nope",
            headers={"Authorization": "Bearer sandbox", "Content-Type": "application/json"},
        )
        assert response.status_code == 400 and response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
