"""The Salesforce sandbox driven by the unmodified simple-salesforce over real HTTPS.

Each error code is produced by the input that produces it in Salesforce.
"""

from __future__ import annotations

import csv
import io
import time

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sandbox.salesforce.testing import running_salesforce_server
from sandbox.testing import trusting_session


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_salesforce_server(tmp_path_factory.mktemp("salesforce")) as srv:
        yield srv


@pytest.fixture
def control(server):
    session = trusting_session(server.cert_path)
    assert session.post(server.url + "/_sandbox/reset").status_code == 200

    def post(path: str, body: dict) -> requests.Response:
        response = session.post(server.url + path, json=body)
        assert response.status_code == 200, response.text
        return response

    return post


@pytest.fixture
def sf(server, control) -> Salesforce:
    return Salesforce(instance_url=server.url, session_id="sandbox", session=trusting_session(server.cert_path))


def lead(i: int, **extra) -> dict:
    return {"FirstName": f"F{i}", "LastName": f"L{i}", "Company": "Acme", "Email": f"user{i}@example.com", **extra}


def error_of(exc_info) -> dict:
    return exc_info.value.content[0]


class TestAuthAndMeta:
    def test_versions_and_resources(self, sf, server):
        versions = trusting_session(server.cert_path).get(server.url + "/services/data/").json()
        assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
        assert "sobjects" in sf.restful("")

    def test_unknown_token_is_invalid_session(self, server, control):
        bad = Salesforce(instance_url=server.url, session_id="nope", session=trusting_session(server.cert_path))
        with pytest.raises(SalesforceExpiredSession) as exc:
            bad.query("SELECT Id FROM Lead")
        assert exc.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

    def test_oauth_grants_issue_usable_tokens(self, server, control):
        session = trusting_session(server.cert_path)
        token_url = server.url + "/services/oauth2/token"
        answer = session.post(token_url, data={"grant_type": "client_credentials"}, auth=("key", "secret")).json()
        assert set(answer) >= {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}
        assert answer["instance_url"] == server.url and answer["token_type"] == "Bearer"
        issued = Salesforce(instance_url=answer["instance_url"], session_id=answer["access_token"], session=session)
        assert issued.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
        refused = session.post(token_url, data={"grant_type": "client_credentials"})
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_client"
        unsupported = session.post(token_url, data={"grant_type": "magic"})
        assert unsupported.json() == {
            "error": "unsupported_grant_type",
            "error_description": "grant type not supported",
        }

    def test_jwt_bearer_checks_structure_expiry_and_registered_key(self, server, control):
        import jwt
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        control("/_sandbox/settings", {"jwt_public_key": public.decode()})
        session = trusting_session(server.cert_path)

        def token(claims, signing_key=pem):
            assertion = jwt.encode(claims, signing_key, algorithm="RS256")
            return session.post(
                server.url + "/services/oauth2/token",
                data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
            )

        claims = {"iss": "key", "sub": "admin@example.com", "aud": "https://login.salesforce.com"}
        # simple-salesforce sends exp as a string: accepted like Salesforce does.
        assert token({**claims, "exp": str(int(time.time()) + 120)}).status_code == 200
        assert token({**claims, "exp": int(time.time()) - 10}).json()["error"] == "invalid_grant"
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        assert token({**claims, "exp": int(time.time()) + 120}, other).json() == {
            "error": "invalid_grant",
            "error_description": "invalid assertion",
        }
        garbage = session.post(
            server.url + "/services/oauth2/token",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "not-a-jwt"},
        )
        assert garbage.json()["error"] == "invalid_grant"

    def test_refresh_token_grant(self, server, control):
        session = trusting_session(server.cert_path)
        url = server.url + "/services/oauth2/token"
        code = session.post(
            url, data={"grant_type": "authorization_code", "code": "abc", "client_id": "k", "client_secret": "s"}
        ).json()
        refreshed = session.post(url, data={"grant_type": "refresh_token", "refresh_token": code["refresh_token"]})
        assert refreshed.status_code == 200 and refreshed.json()["access_token"] != code["access_token"]
        assert session.post(url, data={"grant_type": "refresh_token", "refresh_token": "nope"}).json() == {
            "error": "invalid_grant",
            "error_description": "expired access/refresh token",
        }

    def test_describe(self, sf):
        describe = sf.Lead.describe()
        fields = {f["name"]: f for f in describe["fields"]}
        assert describe["keyPrefix"] == "00Q"
        assert fields["LastName"]["nillable"] is False and fields["LastName"]["length"] == 80
        assert fields["Company"]["createable"] and not fields["Company"]["nillable"]
        assert fields["Status"]["defaultedOnCreate"] and any(
            p["defaultValue"] for p in fields["Status"]["picklistValues"]
        )
        assert fields["LeadSource"]["restrictedPicklist"] and fields["LeadSource"]["type"] == "picklist"
        assert fields["HubSpot_Id__c"]["externalId"] and fields["HubSpot_Id__c"]["unique"]
        assert fields["HubSpot_Id__c"]["length"] == 64 and fields["HubSpot_Id__c"]["custom"]
        assert fields["NumberOfEmployees"]["type"] == "int"
        assert not fields["CreatedDate"]["createable"]
        contact = {f["name"] for f in sf.Contact.describe()["fields"]}
        assert {"MailingCity", "MailingCountry", "AccountId"} <= contact and "Company" not in contact


class TestLimits:
    def test_limits_and_header_count_down(self, sf):
        first = sf.limits()["DailyApiRequests"]
        sf.query("SELECT Id FROM Lead")
        second = sf.limits()["DailyApiRequests"]
        assert first["Max"] == second["Max"] == 100_000
        assert second["Remaining"] == first["Remaining"] - 2
        assert sf.api_usage["api-usage"].used == first["Max"] - second["Remaining"]

    def test_request_limit_exceeded_when_allowance_spent(self, sf, control):
        control("/_sandbox/settings", {"daily_api_max": 5, "api_usage_used": 4})
        sf.query("SELECT Id FROM Lead")
        with pytest.raises(SalesforceRefusedRequest) as exc:
            sf.query("SELECT Id FROM Lead")
        assert error_of(exc) == {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}


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


class TestQuery:
    def test_paging_with_query_more_and_query_all(self, sf):
        records = [{"attributes": {"type": "Lead"}, **lead(i)} for i in range(200)]
        for _ in range(13):  # 2,600 leads: two pages of the default batch of 2,000
            results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
            assert all(r["success"] for r in results)
        first = sf.query("SELECT Id, Email FROM Lead ORDER BY Email")
        assert first["totalSize"] == 2600 and len(first["records"]) == 2000 and not first["done"]
        assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
        second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
        assert second["done"] and len(second["records"]) == 600 and "nextRecordsUrl" not in second
        emails = [r["Email"] for r in first["records"] + second["records"]]
        assert emails == sorted(emails, key=str.lower)
        everything = sf.query_all("SELECT Id FROM Lead")
        assert everything["totalSize"] == 2600 and len({r["Id"] for r in everything["records"]}) == 2600
        small = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=500"})
        assert len(small["records"]) == 500
        assert sf.query("SELECT COUNT() FROM Lead WHERE Email = 'USER1@EXAMPLE.COM'")["totalSize"] == 13

    def test_filters_and_query_all_sees_deleted(self, sf):
        ids = [sf.Lead.create(lead(i, NumberOfEmployees=i * 10))["id"] for i in range(1, 5)]
        found = sf.query("SELECT Id, Email FROM Lead WHERE NumberOfEmployees >= 20 AND Email != 'user4@example.com'")
        assert sorted(r["Id"] for r in found["records"]) == sorted(ids[1:3])
        recent = sf.query("SELECT Id FROM Lead WHERE LastModifiedDate > 2020-01-01T00:00:00Z LIMIT 2")
        assert len(recent["records"]) == 2
        sf.Lead.delete(ids[0])
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 3
        assert sf.query_all("SELECT Id FROM Lead", include_deleted=True)["totalSize"] == 4

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("SELEC Id FROM Lead", "MALFORMED_QUERY"),
            ("SELECT Id FROM Lead WHERE Email = ", "MALFORMED_QUERY"),
            ("SELECT Shoe__c FROM Lead", "INVALID_FIELD"),
            ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
            ("SELECT Id FROM Lead WHERE CreatedDate > '2026-01-01'", "INVALID_FIELD"),
        ],
    )
    def test_query_errors(self, sf, text, code):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query(text)
        assert error_of(exc)["errorCode"] == code

    def test_invalid_locator(self, sf):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query_more("/services/data/v59.0/query/01g5g00000000xxAAA-2000", identifier_is_url=True)
        assert error_of(exc)["errorCode"] == "INVALID_QUERY_LOCATOR"


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


def parse_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


class TestBulk:
    def test_upsert_5000_rows_with_result_files(self, sf, control):
        sf.Lead.create(lead(0, HubSpot_Id__c="hs-0"))
        records = [
            {"HubSpot_Id__c": f"hs-{i}", "LastName": f"L{i}", "Company": "Acme", "Email": f"u{i}@x.com"}
            for i in range(5000)
        ]
        records[7]["Email"] = "broken"
        records[9]["LastName"] = ""  # empty cell: unchanged, so a new record misses LastName
        results = sf.bulk2.Lead.upsert(records=records, external_id_field="HubSpot_Id__c", wait=0.05)
        assert results == [
            {
                "numberRecordsFailed": 2,
                "numberRecordsProcessed": 5000,
                "numberRecordsTotal": 5000,
                "job_id": results[0]["job_id"],
            }
        ]
        job_id = results[0]["job_id"]
        everything = sf.bulk2.Lead.get_all_ingest_records(job_id)
        successful, failed = everything["successfulRecords"], everything["failedRecords"]
        assert len(successful) == 4998 and everything["unprocessedRecords"] == []
        assert {"sf__Id", "sf__Created", "HubSpot_Id__c", "LastName", "Company", "Email"} == set(successful[0])
        assert [r["sf__Created"] for r in successful if r["HubSpot_Id__c"] == "hs-0"] == ["false"]
        assert sum(r["sf__Created"] == "true" for r in successful) == 4997
        # Result order is not the input order (as in Salesforce).
        assert [r["HubSpot_Id__c"] for r in successful[:20]] != [f"hs-{i}" for i in range(1, 21)]
        errors = {r["HubSpot_Id__c"]: r["sf__Error"] for r in failed}
        assert errors["hs-7"] == "INVALID_EMAIL_ADDRESS:Email: invalid email address: broken:Email --"
        assert errors["hs-9"].startswith("REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName")
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 4998

    def test_job_lifecycle_by_hand(self, sf, server, control):
        control("/_sandbox/settings", {"bulk_processing_delay_ms": 300})
        base = server.url + "/services/data/v59.0/jobs/ingest"
        headers = {"Authorization": "Bearer sandbox"}
        session = sf.session
        job = session.post(
            base,
            json={"object": "Contact", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"},
            headers=headers,
        ).json()
        assert job["state"] == "Open" and job["id"].startswith("750") and job["contentUrl"].endswith("/batches")
        upload = session.put(
            f"{base}/{job['id']}/batches",
            data="LastName,Email\nA,a@x.com\nB,nope\n",
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert upload.status_code == 201
        closed = session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=headers).json()
        assert closed["state"] == "UploadComplete"
        states = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            info = session.get(f"{base}/{job['id']}", headers=headers).json()
            states.add(info["state"])
            if info["state"] == "JobComplete":
                break
            time.sleep(0.05)
        assert "JobComplete" in states and states & {"UploadComplete", "InProgress"}
        assert info["numberRecordsProcessed"] == 2 and info["numberRecordsFailed"] == 1
        failed = parse_csv(session.get(f"{base}/{job['id']}/failedResults", headers=headers).text)
        assert failed[0]["sf__Error"].startswith("INVALID_EMAIL_ADDRESS") and failed[0]["LastName"] == "B"
        assert (
            session.get(f"{base}/{job['id']}/unprocessedrecords", headers=headers).text.strip() == '"LastName","Email"'
        )

    def test_bad_jobs(self, sf, server, control):
        base = server.url + "/services/data/v59.0/jobs/ingest"
        headers = {"Authorization": "Bearer sandbox"}
        session = sf.session
        no_key = session.post(base, json={"object": "Lead", "operation": "upsert"}, headers=headers)
        assert no_key.status_code == 400 and no_key.json()[0]["errorCode"] == "INVALIDJOB"
        job = session.post(base, json={"object": "Lead", "operation": "insert"}, headers=headers).json()
        session.put(
            f"{base}/{job['id']}/batches",
            data="LastName,Shoe__c\nA,1\n",
            headers={**headers, "Content-Type": "text/csv"},
        )
        session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=headers)
        sf_app = server.app
        sf_app.bulk.wait(job["id"])
        info = session.get(f"{base}/{job['id']}", headers=headers).json()
        assert info["state"] == "Failed" and "Field name not found : Shoe__c" in info["errorMessage"]
        again = session.put(
            f"{base}/{job['id']}/batches", data="LastName\nA\n", headers={**headers, "Content-Type": "text/csv"}
        )
        assert again.status_code == 409
        windows = session.post(base, json={"object": "Lead", "operation": "insert"}, headers=headers).json()
        session.put(
            f"{base}/{windows['id']}/batches",
            data="LastName,Company\r\nA,B\r\n",
            headers={**headers, "Content-Type": "text/csv"},
        )
        session.patch(f"{base}/{windows['id']}", json={"state": "UploadComplete"}, headers=headers)
        server.app.bulk.wait(windows["id"])
        info = session.get(f"{base}/{windows['id']}", headers=headers).json()
        assert info["state"] == "Failed" and "LineEnding is invalid" in info["errorMessage"]
        aborted = session.post(base, json={"object": "Lead", "operation": "insert"}, headers=headers).json()
        assert (
            session.patch(f"{base}/{aborted['id']}", json={"state": "Aborted"}, headers=headers).json()["state"]
            == "Aborted"
        )

    def test_each_bulk_call_counts_against_the_allowance(self, sf):
        before = sf.limits()["DailyApiRequests"]["Remaining"]
        sf.bulk2.Lead.insert(records=[lead(1)], wait=0.05)
        after = sf.limits()["DailyApiRequests"]["Remaining"]
        # limits + create + upload + close + at least one poll + final get_job
        assert before - after >= 6


class TestFaults:
    def test_header_faults_in_salesforce_shapes(self, sf):
        def with_fault(kind):
            return sf.query("SELECT Id FROM Lead", headers={"X-Sandbox-Fault": kind})

        with pytest.raises(SalesforceRefusedRequest) as exc:
            with_fault("rate_limit")
        assert error_of(exc)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
        with pytest.raises(SalesforceGeneralError) as exc:
            with_fault("server_error")
        assert exc.value.status == 503 and error_of(exc)["errorCode"] == "SERVER_UNAVAILABLE"
        with pytest.raises(SalesforceExpiredSession) as exc:
            with_fault("expired_session")
        assert error_of(exc)["errorCode"] == "INVALID_SESSION_ID"
        with pytest.raises(SalesforceMalformedRequest) as exc:
            with_fault("unable_to_lock_row")
        assert error_of(exc)["errorCode"] == "UNABLE_TO_LOCK_ROW"
        with pytest.raises(SalesforceGeneralError) as exc:
            with_fault("down")
        assert exc.value.status == 503
        started = time.monotonic()
        assert with_fault("latency; latency_ms=150")["totalSize"] == 0
        assert time.monotonic() - started >= 0.15

    def test_unable_to_lock_row_is_per_record_in_collections(self, sf):
        records = [{"attributes": {"type": "Lead"}, **lead(i)} for i in range(4)]
        results = sf.restful(
            "composite/sobjects",
            method="POST",
            json={"allOrNone": False, "records": records},
            headers={"X-Sandbox-Fault": "unable_to_lock_row; every=2"},
        )
        assert [r["success"] for r in results] == [False, True, False, True]
        assert results[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"

    def test_unable_to_lock_row_per_record_in_bulk(self, sf, control):
        control(
            "/_sandbox/faults",
            {"kind": "unable_to_lock_row", "path": "/jobs/ingest/\\w+$", "method": "PATCH", "every": 3},
        )
        result = sf.bulk2.Lead.insert(records=[lead(i) for i in range(9)], wait=0.05)
        assert result[0]["numberRecordsFailed"] == 3
        failed = sf.bulk2.Lead.get_failed_records(result[0]["job_id"])
        assert failed.count("UNABLE_TO_LOCK_ROW:") == 3

    def test_fault_plan_by_control_endpoint_is_deterministic(self, sf, control):
        control("/_sandbox/faults", {"kind": "server_error", "count": 2, "path": "/query"})
        failures = 0
        for _ in range(4):
            try:
                sf.query("SELECT Id FROM Lead")
            except SalesforceGeneralError:
                failures += 1
        assert failures == 2
