"""The Salesforce sandbox's users, record owners and lead assignment rule, driven by the unmodified
simple-salesforce over real HTTPS (Bulk API 2.0 jobs created with ``assignmentRuleId`` over raw
HTTP: simple-salesforce does not send it).
"""

from __future__ import annotations

import sqlite3

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox.salesforce.org import INTEGRATION_USER_ID, LEAD_RULE_ID
from sandbox.salesforce.schema import OBJECTS
from sandbox.salesforce.store import SalesforceStore
from tests.sandbox.salesforce_helpers import control_call, error_of, ingest_job, lead, users_by_email

SEEDED = {
    "integration@sandbox.example": ("Integration User", True),
    "amelie.martin@sandbox.example": ("Amélie Martin", True),
    "james.smith@sandbox.example": ("James Smith", True),
    "hans.mueller@sandbox.example": ("Hans Müller", True),
    "sf.only@sandbox.example": ("Sam Salesforceonly", True),
    "former.rep@sandbox.example": ("Former Rep", False),
}
NO_RULE = {"Sforce-Auto-Assign": "FALSE"}


@pytest.fixture
def users(sf) -> dict[str, str]:
    """``{email: user id}`` of the seeded users."""
    return {email: user["Id"] for email, user in users_by_email(sf).items()}


def owner(sf, lead_id: str) -> str:
    return sf.Lead.get(lead_id)["OwnerId"]


class TestUsers:
    def test_the_seeded_users_are_queryable_and_retrievable(self, sf, users):
        found = users_by_email(sf)
        assert {email: (u["Name"], u["IsActive"]) for email, u in found.items()} == SEEDED
        assert users["integration@sandbox.example"] == INTEGRATION_USER_ID
        active = sf.query("SELECT Id, Email FROM User WHERE IsActive = true")["records"]
        assert {r["Email"] for r in active} == set(SEEDED) - {"former.rep@sandbox.example"}
        picked = sf.query(
            "SELECT Id FROM User WHERE Email IN ('james.smith@sandbox.example', 'HANS.MUELLER@sandbox.example')"
        )["records"]
        assert {r["Id"] for r in picked} == {
            users["james.smith@sandbox.example"],
            users["hans.mueller@sandbox.example"],
        }
        amelie = sf.User.get(users["amelie.martin@sandbox.example"])
        assert amelie["Id"].startswith("005") and amelie["FirstName"] == "Amélie" and amelie["LastName"] == "Martin"
        assert amelie["Username"] == "amelie.martin@sandbox.example" and amelie["IsActive"] is True

    def test_users_are_described_as_read_only_and_refuse_writes(self, sf, users):
        describe = sf.User.describe()
        assert describe["keyPrefix"] == "005" and not describe["createable"] and not describe["updateable"]
        names = {o["name"] for o in sf.describe()["sobjects"]}
        assert {"Lead", "Contact", "Account", "User", "AssignmentRule"} <= names
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.User.create({"LastName": "New", "Email": "new@sandbox.example"})
        assert error_of(exc)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.User.update(users["james.smith@sandbox.example"], {"IsActive": False})
        assert error_of(exc)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.User.delete(users["james.smith@sandbox.example"])
        assert error_of(exc)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"

    def test_users_are_added_and_deactivated_by_the_control_endpoints(self, sf, server, control, users):
        added = control("/_sandbox/users", {"email": "new.rep@sandbox.example", "firstName": "New", "lastName": "Rep"})
        new_id = added.json()["id"]
        assert new_id.startswith("005") and new_id not in users.values()
        assert users_by_email(sf)["new.rep@sandbox.example"]["IsActive"] is True
        answer = control_call(server, "PATCH", f"/_sandbox/users/{new_id}", {"isActive": False})
        assert answer.status_code == 200 and answer.json() == {"id": new_id, "isActive": False}
        assert users_by_email(sf)["new.rep@sandbox.example"]["IsActive"] is False
        assert (
            control_call(server, "PATCH", "/_sandbox/users/005000000000000AAA", {"isActive": True}).status_code == 404
        )
        duplicate = control_call(
            server, "POST", "/_sandbox/users", {"email": "new.rep@sandbox.example", "lastName": "X"}
        )
        assert duplicate.status_code == 400
        assert control_call(server, "POST", "/_sandbox/users", {"email": "broken", "lastName": "X"}).status_code == 400
        control("/_sandbox/reset", {})
        assert {email: u["Id"] for email, u in users_by_email(sf).items()} == users  # the same ids again


class TestOwners:
    def test_a_new_record_is_the_integration_users(self, sf):
        created = [
            sf.Lead.create(lead(1), headers=NO_RULE)["id"],
            sf.Contact.create({"LastName": "C"})["id"],
            sf.Account.create({"Name": "Acme"})["id"],
        ]
        assert [
            sf.query(f"SELECT OwnerId FROM {name} WHERE Id = '{record_id}'")["records"][0]["OwnerId"]
            for name, record_id in zip(("Lead", "Contact", "Account"), created, strict=True)
        ] == [INTEGRATION_USER_ID] * 3
        fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
        assert fields["OwnerId"]["type"] == "reference" and fields["OwnerId"]["referenceTo"] == ["User"]
        assert fields["OwnerId"]["createable"] and fields["OwnerId"]["updateable"]
        assert fields["OwnerId"]["defaultedOnCreate"] and not fields["OwnerId"]["nillable"]

    def test_an_owner_that_is_no_active_user_fails_its_record_only(self, sf, users):
        other_lead = sf.Lead.create(lead(0), headers=NO_RULE)["id"]
        amelie = users["amelie.martin@sandbox.example"]
        owners = [amelie[:15], other_lead, "abc", users["former.rep@sandbox.example"], "005" + "0" * 12]
        records = [{"attributes": {"type": "Lead"}, **lead(i, OwnerId=o)} for i, o in enumerate(owners, start=1)]
        results = sf.restful("composite/sobjects", method="POST", json={"records": records}, headers=NO_RULE)
        assert [r["success"] for r in results] == [True, False, False, False, False]
        assert [r["errors"][0]["statusCode"] for r in results[1:]] == [
            "FIELD_INTEGRITY_EXCEPTION",
            "MALFORMED_ID",
            "INACTIVE_OWNER_OR_USER",
            "INVALID_CROSS_REFERENCE_KEY",
        ]
        assert results[3]["errors"][0]["message"] == "operation performed with inactive user"
        assert owner(sf, results[0]["id"]) == amelie  # a 15-character id is stored in its 18-character form
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Contact.create({"LastName": "C", "OwnerId": users["former.rep@sandbox.example"]})
        assert error_of(exc)["errorCode"] == "INACTIVE_OWNER_OR_USER"
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.update(other_lead, {"OwnerId": None}, headers=NO_RULE)
        assert error_of(exc)["errorCode"] == "REQUIRED_FIELD_MISSING"
        sf.Lead.update(other_lead, {"OwnerId": users["sf.only@sandbox.example"]}, headers=NO_RULE)
        assert owner(sf, other_lead) == users["sf.only@sandbox.example"]

    def test_an_owner_deactivated_later_keeps_its_records(self, sf, server, users):
        james = users["james.smith@sandbox.example"]
        record = sf.Lead.create(lead(1, OwnerId=james), headers=NO_RULE)["id"]
        control_call(server, "PATCH", f"/_sandbox/users/{james}", {"isActive": False})
        sf.Lead.update(record, {"Title": "Still writable"}, headers=NO_RULE)
        assert owner(sf, record) == james
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.create(lead(2, OwnerId=james), headers=NO_RULE)
        assert error_of(exc)["errorCode"] == "INACTIVE_OWNER_OR_USER"

    def test_a_state_file_from_before_owners_gives_its_records_to_the_integration_user(self, tmp_path):
        path = tmp_path / "old.sqlite3"
        lead_fields = [f for f in OBJECTS["lead"].fields if f.name not in {"OwnerId", "MasterRecordId"}]
        lead_fields = [f for f in lead_fields if not f.name.startswith("Converted")]
        with sqlite3.connect(path) as conn:
            conn.execute(f'CREATE TABLE "Lead" ({", ".join(f"{chr(34)}{f.name}{chr(34)}" for f in lead_fields)})')
            conn.execute(
                'INSERT INTO "Lead" ("Id", "IsDeleted", "LastName", "Company", "Status", "IsConverted") '
                "VALUES ('00Q5g0000000001EAA', 0, 'Old', 'Acme', 'Open - Not Contacted', 0)"
            )
        store = SalesforceStore(path)
        try:
            row = store.read().execute('SELECT "OwnerId", "ConvertedContactId" FROM "Lead"').fetchone()
            assert tuple(row) == (INTEGRATION_USER_ID, None)
            assert store.read().execute('SELECT COUNT(*) FROM "User"').fetchone()[0] == len(SEEDED)
        finally:
            store.close()


class TestAssignmentRule:
    def test_the_active_lead_rule_is_queryable(self, sf):
        found = sf.query("SELECT Id, Name FROM AssignmentRule WHERE SobjectType = 'Lead' AND Active = true")
        assert [(r["Id"], r["Name"]) for r in found["records"]] == [(LEAD_RULE_ID, "Route by country")]

    def test_a_rest_create_without_the_header_routes_by_country(self, sf, users):
        by_country = {
            country: sf.Lead.create(lead(i, Country=country))["id"]
            for i, country in enumerate(["France", "germany", "United States", "Spain"])
        }
        assert {country: owner(sf, record) for country, record in by_country.items()} == {
            "France": users["amelie.martin@sandbox.example"],
            "germany": users["hans.mueller@sandbox.example"],
            "United States": users["james.smith@sandbox.example"],
            "Spain": INTEGRATION_USER_ID,  # no entry matches: the owner is left as it is
        }
        given = sf.Lead.create(lead(9, Country="Spain", OwnerId=users["sf.only@sandbox.example"]))["id"]
        assert owner(sf, given) == users["sf.only@sandbox.example"]

    @pytest.mark.parametrize("value", ["FALSE", "false"])
    def test_the_header_false_assigns_nothing(self, sf, value):
        record = sf.Lead.create(lead(1, Country="France"), headers={"Sforce-Auto-Assign": value})["id"]
        assert owner(sf, record) == INTEGRATION_USER_ID

    def test_an_update_with_true_reroutes(self, sf, users):
        record = sf.Lead.create(lead(1, Country="France"), headers=NO_RULE)["id"]
        sf.Lead.update(record, {"Title": "CEO"}, headers={"Sforce-Auto-Assign": "TRUE"})
        assert owner(sf, record) == users["amelie.martin@sandbox.example"]
        sf.Lead.update(record, {"Country": "Germany"})
        assert owner(sf, record) == users["hans.mueller@sandbox.example"]
        sf.Lead.update(record, {"Country": "United States"}, headers=NO_RULE)
        assert owner(sf, record) == users["hans.mueller@sandbox.example"]

    def test_every_rest_write_path_applies_the_rule(self, sf, users):
        amelie, hans = users["amelie.martin@sandbox.example"], users["hans.mueller@sandbox.example"]
        upserted = sf.Lead.upsert("HubSpot_Id__c/hs-1", {**lead(1), "Country": "France"}, raw_response=True)
        assert owner(sf, upserted.json()["id"]) == amelie
        rows = [
            {"attributes": {"type": "Lead"}, "HubSpot_Id__c": f"hs-{i}", **lead(i, Country="Germany")} for i in (1, 2)
        ]
        results = sf.restful("composite/sobjects/Lead/HubSpot_Id__c", method="PATCH", json={"records": rows})
        assert [r["created"] for r in results] == [False, True]
        assert [owner(sf, r["id"]) for r in results] == [hans, hans]
        created = sf.restful(
            "composite/sobjects",
            method="POST",
            json={"records": [{"attributes": {"type": "Lead"}, **lead(3, Country="France")}]},
        )
        sf.restful(
            "composite/sobjects",
            method="PATCH",
            json={"records": [{"attributes": {"type": "Lead"}, "id": results[1]["id"], "Country": "france"}]},
        )
        assert owner(sf, created[0]["id"]) == amelie and owner(sf, results[1]["id"]) == amelie

    def test_a_rule_id_in_the_header_assigns_created_leads_only(self, sf, users):
        existing = sf.Lead.create(lead(1, Country="France", HubSpot_Id__c="hs-1"), headers=NO_RULE)["id"]
        rows = [
            {"attributes": {"type": "Lead"}, "HubSpot_Id__c": f"hs-{i}", **lead(i, Country="France")} for i in (1, 2)
        ]
        results = sf.restful(
            "composite/sobjects/Lead/HubSpot_Id__c",
            method="PATCH",
            json={"records": rows},
            headers={"Sforce-Auto-Assign": LEAD_RULE_ID},
        )
        assert [r["id"] for r in results][0] == existing
        assert [owner(sf, r["id"]) for r in results] == [INTEGRATION_USER_ID, users["amelie.martin@sandbox.example"]]
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.create(lead(3), headers={"Sforce-Auto-Assign": "not-an-id"})
        assert error_of(exc)["errorCode"] == "MALFORMED_ID"
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.create(lead(3), headers={"Sforce-Auto-Assign": "01Q5g0000000009EAA"})
        assert error_of(exc)["errorCode"] == "INVALID_ASSIGNMENT_RULE"

    def test_the_rule_switched_off_by_setting_runs_only_when_named(self, sf, control, users):
        control("/_sandbox/settings", {"lead_assignment_rule": {"active": False}})
        assert sf.query("SELECT Id FROM AssignmentRule WHERE Active = true")["totalSize"] == 0
        plain = sf.Lead.create(lead(1, Country="France"))["id"]
        named = sf.Lead.create(lead(2, Country="France"), headers={"Sforce-Auto-Assign": LEAD_RULE_ID})["id"]
        # "The assignment rule can be active or inactive": a rule named by id runs all the same.
        assert [owner(sf, plain), owner(sf, named)] == [INTEGRATION_USER_ID, users["amelie.martin@sandbox.example"]]
        settings = control(
            "/_sandbox/settings",
            {
                "lead_assignment_rule": {
                    "active": True,
                    "entries": [{"country": "Spain", "ownerEmail": "sf.only@sandbox.example"}],
                }
            },
        ).json()
        assert settings["lead_assignment_rule"]["entries"] == [
            {"country": "Spain", "ownerEmail": "sf.only@sandbox.example"}
        ]
        spain = sf.Lead.create(lead(3, Country="Spain"))["id"]
        france = sf.Lead.create(lead(4, Country="France"))["id"]
        assert [owner(sf, spain), owner(sf, france)] == [users["sf.only@sandbox.example"], INTEGRATION_USER_ID]

    def test_a_rule_naming_no_user_is_refused(self, server):
        bad = {"lead_assignment_rule": {"entries": [{"country": "Spain", "ownerEmail": "nobody@sandbox.example"}]}}
        answer = control_call(server, "POST", "/_sandbox/settings", bad)
        assert answer.status_code == 400 and "nobody@sandbox.example" in answer.json()[0]["message"]

    def test_a_bulk_job_assigns_only_with_the_rule_it_was_created_with(self, sf, server, users):
        data = "LastName,Company,Country,HubSpot_Id__c\nA,Acme,France,hs-1\nB,Acme,Germany,hs-2\nC,Acme,Spain,hs-3\n"
        plain = ingest_job(server, {"object": "Lead", "operation": "insert"}, data)
        assert len(plain["successful"]) == 3 and "assignmentRuleId" not in plain["job"]
        assert {owner(sf, r["sf__Id"]) for r in plain["successful"]} == {INTEGRATION_USER_ID}
        body = {
            "object": "Lead",
            "operation": "upsert",
            "externalIdFieldName": "HubSpot_Id__c",
            "assignmentRuleId": LEAD_RULE_ID,
        }
        ruled = ingest_job(server, body, data.replace("Acme", "Globex"))
        assert ruled["job"]["assignmentRuleId"] == LEAD_RULE_ID and len(ruled["successful"]) == 3
        assert {r["HubSpot_Id__c"]: owner(sf, r["sf__Id"]) for r in ruled["successful"]} == {
            "hs-1": users["amelie.martin@sandbox.example"],
            "hs-2": users["hans.mueller@sandbox.example"],
            "hs-3": INTEGRATION_USER_ID,
        }
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.restful("jobs/ingest", method="POST", json={**body, "assignmentRuleId": "01Q5g0000000009EAA"})
        assert error_of(exc)["errorCode"] == "INVALIDJOB"
