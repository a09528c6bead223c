"""Salesforce's record lifecycle in the sandbox, driven by the unmodified simple-salesforce over real
HTTPS: Leads converted (and never written again), records merged, and the Get Deleted and Get
Updated resources; the commands that convert and merge.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox.management.commands import sandbox_convert_lead, sandbox_merge
from sandbox.salesforce.org import INTEGRATION_USER_ID
from sandbox.salesforce.records import RecordService
from sandbox.salesforce.schema import OBJECTS
from sandbox.salesforce.store import SalesforceStore
from sandbox.testing import trusting_session
from tests.sandbox.salesforce_helpers import AUTH, control_call, error_of, ingest_job, lead

NO_RULE = {"Sforce-Auto-Assign": "FALSE"}
CONVERTED = "CANNOT_UPDATE_CONVERTED_LEAD"


def convert(control, lead_id: str, contact_id: str | None = None) -> dict:
    body = {} if contact_id is None else {"contactId": contact_id}
    return control(f"/_sandbox/leads/{lead_id}/convert", body).json()


def now() -> datetime:
    return datetime.now(UTC)


def a_full_lead(sf, i: int = 1, **extra) -> str:
    values = lead(
        i,
        Phone="+33 1 23 45 67 89",
        Title="CTO",
        City="Lyon",
        Country="Spain",
        LeadSource="Web",
        HubSpot_Id__c=f"hs-{i}",
        Company=f"Company {i}",
        **extra,
    )
    return sf.Lead.create(values, headers=NO_RULE)["id"]


class TestConversion:
    def test_conversion_makes_a_contact_and_an_account_from_the_lead(self, sf, control):
        lead_id = a_full_lead(sf)
        before = sf.Lead.get(lead_id)
        converted = convert(control, lead_id)
        assert converted["leadId"] == lead_id
        assert converted["contactId"].startswith("003") and converted["accountId"].startswith("001")
        contact = sf.Contact.get(converted["contactId"])
        assert {k: contact[k] for k in ("FirstName", "LastName", "Email", "Phone", "Title")} == {
            "FirstName": "F1",
            "LastName": "L1",
            "Email": "user1@example.com",
            "Phone": "+33 1 23 45 67 89",
            "Title": "CTO",
        }
        assert (contact["MailingCity"], contact["MailingCountry"], contact["LeadSource"]) == ("Lyon", "Spain", "Web")
        assert contact["HubSpot_Id__c"] == "hs-1" and contact["OwnerId"] == INTEGRATION_USER_ID
        assert contact["AccountId"] == converted["accountId"]
        account = sf.Account.get(converted["accountId"])
        assert account["Name"] == "Company 1" and account["OwnerId"] == INTEGRATION_USER_ID
        after = sf.Lead.get(lead_id)
        assert after["IsConverted"] is True and after["Status"] == "Closed - Converted"
        assert after["ConvertedContactId"] == converted["contactId"]
        assert after["ConvertedAccountId"] == converted["accountId"]
        assert after["ConvertedDate"] == now().date().isoformat()
        assert after["LastModifiedDate"] >= before["LastModifiedDate"]
        assert after["SystemModstamp"] >= before["SystemModstamp"]
        found = sf.query(f"SELECT Id, ConvertedContactId FROM Lead WHERE Id IN ('{lead_id}') AND IsConverted = true")[
            "records"
        ]
        assert [(r["Id"], r["ConvertedContactId"]) for r in found] == [(lead_id, converted["contactId"])]

    def test_conversion_into_a_contact_keeps_its_values_and_fills_its_blanks(self, sf, control):
        account = sf.Account.create({"Name": "Existing Inc"})["id"]
        contact = sf.Contact.create({"LastName": "Kept", "Title": "Kept title", "AccountId": account})["id"]
        before = sf.Contact.get(contact)
        converted = convert(control, a_full_lead(sf), contact)
        assert converted["contactId"] == contact and converted["accountId"] == account
        merged = sf.Contact.get(contact)
        assert (merged["LastName"], merged["Title"], merged["FirstName"]) == ("Kept", "Kept title", "F1")
        assert (merged["Email"], merged["MailingCity"], merged["HubSpot_Id__c"]) == (
            "user1@example.com",
            "Lyon",
            "hs-1",
        )
        assert merged["LastModifiedDate"] >= before["LastModifiedDate"]
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 1
        lonely = sf.Contact.create({"LastName": "Lonely"})["id"]
        into_lonely = convert(control, a_full_lead(sf, 2), lonely)
        assert into_lonely["accountId"] != account
        assert sf.Contact.get(lonely)["AccountId"] == into_lonely["accountId"]
        assert sf.Account.get(into_lonely["accountId"])["Name"] == "Company 2"

    def test_a_converted_deleted_or_unknown_lead_is_not_converted(self, sf, server, control):
        converted = a_full_lead(sf)
        convert(control, converted)
        deleted = sf.Lead.create(lead(2), headers=NO_RULE)["id"]
        sf.Lead.delete(deleted)
        contact = sf.Contact.create({"LastName": "C"})["id"]
        cases = {
            converted: (400, CONVERTED),
            deleted: (400, "ENTITY_IS_DELETED"),
            "00Q5g0000000099EAA": (404, "INVALID_CROSS_REFERENCE_KEY"),
            contact: (400, "MALFORMED_ID"),
        }
        for lead_id, (status, code) in cases.items():
            answer = control_call(server, "POST", f"/_sandbox/leads/{lead_id}/convert")
            assert (answer.status_code, answer.json()[0]["errorCode"]) == (status, code), lead_id
        fresh = a_full_lead(sf, 3)
        answer = control_call(server, "POST", f"/_sandbox/leads/{fresh}/convert", {"contactId": "003x"})
        assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "MALFORMED_ID"
        assert sf.Lead.get(fresh)["IsConverted"] is False


class TestConvertedLead:
    def test_rest_writes_are_refused_and_reads_still_work(self, sf, control):
        lead_id = a_full_lead(sf)
        convert(control, lead_id)
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.update(lead_id, {"Title": "New"})
        assert error_of(exc) == {"message": "cannot reference converted lead", "errorCode": CONVERTED, "fields": []}
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.upsert("HubSpot_Id__c/hs-1", {"Title": "New"})
        assert error_of(exc)["errorCode"] == CONVERTED
        assert sf.Lead.get(lead_id)["Title"] == "CTO"
        assert sf.Lead.get_by_custom_id("HubSpot_Id__c", "hs-1")["Id"] == lead_id
        assert sf.query("SELECT Id FROM Lead WHERE HubSpot_Id__c = 'hs-1'")["totalSize"] == 1

    def test_collections_refuse_the_converted_lead_and_save_the_others(self, sf, control):
        converted = a_full_lead(sf, 1)
        other = a_full_lead(sf, 2)
        convert(control, converted)
        updates = [{"attributes": {"type": "Lead"}, "id": i, "Title": "New"} for i in (converted, other)]
        results = sf.restful("composite/sobjects", method="PATCH", json={"records": updates})
        assert [r["success"] for r in results] == [False, True]
        assert results[0]["errors"][0] == {
            "statusCode": CONVERTED,
            "message": "cannot reference converted lead",
            "fields": [],
        }
        # The usual upsert (every record the same fields): the converted Lead's refusal does not hold up the others.
        upserts = [{"attributes": {"type": "Lead"}, "HubSpot_Id__c": f"hs-{i}", "Title": "Upserted"} for i in (1, 2)]
        results = sf.restful("composite/sobjects/Lead/HubSpot_Id__c", method="PATCH", json={"records": upserts})
        assert [r["success"] for r in results] == [False, True]
        assert results[0]["errors"][0]["statusCode"] == CONVERTED
        assert (sf.Lead.get(converted)["Title"], sf.Lead.get(other)["Title"]) == ("CTO", "Upserted")
        results = sf.restful(
            "composite/sobjects/Lead/HubSpot_Id__c", method="PATCH", json={"allOrNone": True, "records": upserts}
        )
        assert [r["errors"][0]["statusCode"] for r in results] == [CONVERTED, "ALL_OR_NONE_OPERATION_ROLLED_BACK"]

    def test_bulk_jobs_fail_the_converted_leads_row(self, sf, server, control):
        converted = a_full_lead(sf, 1)
        other = a_full_lead(sf, 2)
        convert(control, converted)
        update = ingest_job(server, {"object": "Lead", "operation": "update"}, f"Id,Title\n{converted},X\n{other},X\n")
        assert [r["sf__Id"] for r in update["successful"]] == [other]
        assert [r["sf__Error"] for r in update["failed"]] == [f"{CONVERTED}:cannot reference converted lead: --"]
        upsert = ingest_job(
            server,
            {"object": "Lead", "operation": "upsert", "externalIdFieldName": "HubSpot_Id__c"},
            "HubSpot_Id__c,Title\nhs-1,Y\nhs-2,Y\n",
        )
        assert [r["HubSpot_Id__c"] for r in upsert["successful"]] == ["hs-2"]
        assert [r["HubSpot_Id__c"] for r in upsert["failed"]] == ["hs-1"]
        assert upsert["failed"][0]["sf__Error"].startswith(CONVERTED)
        assert sf.Lead.get(converted)["Title"] == "CTO"


@pytest.fixture
def store_file(tmp_path: Path, settings) -> Path:
    """A Salesforce sandbox state file (not served) with the sandbox switched on."""
    settings.SANDBOX = True
    return tmp_path / "salesforce.sqlite3"


def stored_leads(path: Path, *values: dict) -> list[str]:
    store = SalesforceStore(path)
    try:
        return [r.id for r in RecordService(store).create(OBJECTS["lead"], list(values))]
    finally:
        store.close()


def stored_row(path: Path, object_name: str, record_id: str) -> dict:
    store = SalesforceStore(path)
    try:
        return dict(store.read().execute(f'SELECT * FROM "{object_name}" WHERE "Id" = ?', (record_id,)).fetchone())
    finally:
        store.close()


class TestCommands:
    def test_help(self):
        convert_help = sandbox_convert_lead.Command().create_parser("manage.py", "sandbox_convert_lead").format_help()
        assert "--contact" in convert_help and "--salesforce-db" in convert_help and "Convert button" in convert_help
        merge_help = sandbox_merge.Command().create_parser("manage.py", "sandbox_merge").format_help()
        assert "MasterRecordId" in merge_help and "--salesforce-db" in merge_help

    def test_the_convert_command_converts_and_prints_the_new_ids(self, store_file):
        (lead_id,) = stored_leads(store_file, lead(1))
        out = io.StringIO()
        call_command("sandbox_convert_lead", lead_id, "--salesforce-db", str(store_file), stdout=out)
        row = stored_row(store_file, "Lead", lead_id)
        assert row["IsConverted"] == 1 and row["ConvertedContactId"] in out.getvalue()
        assert row["ConvertedAccountId"] in out.getvalue()
        assert stored_row(store_file, "Contact", row["ConvertedContactId"])["LastName"] == "L1"
        (other,) = stored_leads(store_file, lead(2))
        call_command(
            "sandbox_convert_lead",
            other,
            "--contact",
            row["ConvertedContactId"],
            "--salesforce-db",
            str(store_file),
            stdout=io.StringIO(),
        )
        assert stored_row(store_file, "Lead", other)["ConvertedContactId"] == row["ConvertedContactId"]

    @pytest.mark.parametrize("bad", ["nonsense", "00Q5g0000000099EAA", "converted"])
    def test_the_convert_command_refuses_a_lead_it_cannot_convert(self, store_file, bad):
        (lead_id,) = stored_leads(store_file, lead(1))
        if bad == "converted":
            call_command("sandbox_convert_lead", lead_id, "--salesforce-db", str(store_file), stdout=io.StringIO())
            bad = lead_id
        with pytest.raises(CommandError, match="was not converted"):
            call_command("sandbox_convert_lead", bad, "--salesforce-db", str(store_file))

    def test_the_convert_command_refuses_a_contact_that_is_not_one(self, store_file):
        (lead_id,) = stored_leads(store_file, lead(1))
        with pytest.raises(CommandError, match="MALFORMED_ID"):
            call_command("sandbox_convert_lead", lead_id, "--contact", "003nope", "--salesforce-db", str(store_file))
        assert stored_row(store_file, "Lead", lead_id)["IsConverted"] == 0

    def test_the_commands_refuse_when_the_sandbox_is_off(self, store_file, settings):
        settings.SANDBOX = False
        with pytest.raises(CommandError, match="SANDBOX=false"):
            call_command("sandbox_convert_lead", "00Q5g0000000001EAA", "--salesforce-db", str(store_file))
        with pytest.raises(CommandError, match="SANDBOX=false"):
            call_command("sandbox_merge", "Lead", "a", "b", "--salesforce-db", str(store_file))

    def test_the_merge_command_deletes_the_others(self, store_file):
        master, first, second = stored_leads(store_file, lead(1), lead(2), lead(3))
        out = io.StringIO()
        call_command("sandbox_merge", "Lead", master, first, second, "--salesforce-db", str(store_file), stdout=out)
        assert first in out.getvalue() and second in out.getvalue()
        for loser in (first, second):
            row = stored_row(store_file, "Lead", loser)
            assert (row["IsDeleted"], row["MasterRecordId"]) == (1, master)
        with pytest.raises(CommandError, match="Nothing was merged"):
            call_command("sandbox_merge", "Lead", master, first, "--salesforce-db", str(store_file))


class TestMerge:
    def test_merged_records_are_deleted_naming_the_master(self, sf, control):
        master, first, second = (sf.Contact.create({"LastName": f"C{i}"})["id"] for i in range(3))
        before = sf.Contact.get(master)
        merged = control("/_sandbox/merge", {"sobject": "Contact", "masterId": master, "loserIds": [first, second]})
        assert merged.json() == {"masterId": master, "mergedIds": [first, second]}
        assert sf.query("SELECT Id FROM Contact")["totalSize"] == 1
        everything = sf.query_all(
            f"SELECT Id, IsDeleted, MasterRecordId FROM Contact WHERE Id IN ('{first}', '{second}') AND IsDeleted = true",
            include_deleted=True,
        )["records"]
        assert {(r["Id"], r["IsDeleted"], r["MasterRecordId"]) for r in everything} == {
            (first, True, master),
            (second, True, master),
        }
        assert sf.Contact.get(master)["LastModifiedDate"] >= before["LastModifiedDate"]
        window = sf.Contact.deleted(now() - timedelta(hours=1), now() + timedelta(minutes=2))
        assert {r["id"] for r in window["deletedRecords"]} == {first, second}

    def test_a_merge_that_salesforce_would_refuse_is_refused(self, sf, server, control):
        leads = [sf.Lead.create(lead(i), headers=NO_RULE)["id"] for i in range(5)]
        convert(control, leads[4])
        refused = {
            "too many": ({"sobject": "Lead", "masterId": leads[0], "loserIds": leads[1:4]}, "LIMIT_EXCEEDED"),
            "none": ({"sobject": "Lead", "masterId": leads[0], "loserIds": []}, "MISSING_ARGUMENT"),
            "itself": ({"sobject": "Lead", "masterId": leads[0], "loserIds": [leads[0]]}, "MERGE_FAILED"),
            "converted": ({"sobject": "Lead", "masterId": leads[0], "loserIds": [leads[4]]}, CONVERTED),
            "other type": ({"sobject": "User", "masterId": leads[0], "loserIds": [leads[1]]}, "INVALID_TYPE"),
            "wrong object": ({"sobject": "Contact", "masterId": leads[0], "loserIds": [leads[1]]}, "MALFORMED_ID"),
        }
        for case, (body, code) in refused.items():
            answer = control_call(server, "POST", "/_sandbox/merge", body)
            assert answer.status_code == 400 and answer.json()[0]["errorCode"] == code, case
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 5


class TestDeletedAndUpdated:
    def test_deleted_reports_each_deletion_with_its_time(self, sf):
        kept, gone = (sf.Lead.create(lead(i), headers=NO_RULE)["id"] for i in (1, 2))
        contact = sf.Contact.create({"LastName": "C"})["id"]
        sf.Lead.delete(gone)
        sf.Contact.delete(contact)
        start, end = now() - timedelta(days=1), now() + timedelta(minutes=2)
        answer = sf.Lead.deleted(start, end)
        assert [r["id"] for r in answer["deletedRecords"]] == [gone]
        stamp = sf.query_all(f"SELECT SystemModstamp FROM Lead WHERE Id = '{gone}'", include_deleted=True)["records"][
            0
        ]["SystemModstamp"]
        assert answer["deletedRecords"][0]["deletedDate"] == stamp
        assert answer["earliestDateAvailable"] < answer["latestDateCovered"]
        assert answer["latestDateCovered"].endswith(":00.000+0000")  # to the minute
        assert [r["id"] for r in sf.Contact.deleted(start, end)["deletedRecords"]] == [contact]
        assert sf.Account.deleted(start, end)["deletedRecords"] == []
        assert kept not in {r["id"] for r in answer["deletedRecords"]}
        assert sf.query(f"SELECT COUNT() FROM Lead WHERE Id = '{gone}'")["totalSize"] == 0
        deleted = sf.query_all(f"SELECT IsDeleted FROM Lead WHERE Id = '{gone}'", include_deleted=True)["records"]
        assert [r["IsDeleted"] for r in deleted] == [True]

    def test_updated_reports_records_created_or_changed_but_not_deleted(self, sf):
        created, changed, gone = (sf.Lead.create(lead(i), headers=NO_RULE)["id"] for i in (1, 2, 3))
        sf.Lead.update(changed, {"Title": "New"}, headers=NO_RULE)
        sf.Lead.delete(gone)
        account = sf.Account.create({"Name": "Acme"})["id"]
        start, end = now() - timedelta(days=1), now() + timedelta(minutes=2)
        answer = sf.Lead.updated(start, end)
        assert sorted(answer["ids"]) == sorted([created, changed]) and "latestDateCovered" in answer
        assert sf.Account.updated(start, end)["ids"] == [account]
        # Before the records were made: nothing.
        assert sf.Lead.updated(now() - timedelta(days=2), now() - timedelta(days=1))["ids"] == []

    def test_a_start_older_than_30_days_or_not_before_the_end_is_refused(self, sf):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.deleted(now() - timedelta(days=31), now())
        assert error_of(exc)["errorCode"] == "INVALID_REPLICATION_DATE"
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.updated(now() - timedelta(days=31), now())
        assert error_of(exc)["errorCode"] == "INVALID_REPLICATION_DATE"
        assert sf.Lead.updated(now() - timedelta(days=29), now())["ids"] == []
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.deleted(now(), now() - timedelta(hours=1))
        assert error_of(exc) == {
            "message": "startDate must be at least one minute greater than endDate",
            "errorCode": "INVALID_REPLICATION_DATE",
        }
        # Seconds are ignored: 12:30:10 to 12:30:50 is no span at all.
        minute = now().replace(second=10)
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.updated(minute, minute.replace(second=50))
        assert error_of(exc)["errorCode"] == "INVALID_REPLICATION_DATE"

    def test_a_missing_or_malformed_date_is_refused(self, sf, server):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.deleted(datetime.now() - timedelta(hours=1), datetime.now())  # noqa: DTZ005 - naive on purpose
        assert error_of(exc)["errorCode"] == "ILLEGAL_QUERY_PARAMETER_VALUE"
        session = trusting_session(server.cert_path)
        base = server.url + "/services/data/v59.0/sobjects/Lead"
        start = (now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        end = (now() + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
        answers = {
            "+ not URL-encoded": session.get(f"{base}/deleted/?start={start}+00:00&end={end}+00:00", headers=AUTH),
            "no end": session.get(f"{base}/updated/?start={start}Z", headers=AUTH),
            "not a date": session.get(f"{base}/updated/?start=yesterday&end={end}Z", headers=AUTH),
            "no such day": session.get(f"{base}/updated/?start=2026-02-30T00:00:00Z&end={end}Z", headers=AUTH),
        }
        assert {case: (a.status_code, a.json()[0]["errorCode"]) for case, a in answers.items()} == {
            "+ not URL-encoded": (400, "ILLEGAL_QUERY_PARAMETER_VALUE"),
            "no end": (400, "MISSING_ARGUMENT"),
            "not a date": (400, "ILLEGAL_QUERY_PARAMETER_VALUE"),
            "no such day": (400, "ILLEGAL_QUERY_PARAMETER_VALUE"),
        }
        accepted = session.get(f"{base}/updated/?start={start}Z&end={end}%2B0000", headers=AUTH)
        assert accepted.status_code == 200 and accepted.json()["ids"] == []
        assert session.get(f"{base}/deleted/", headers=AUTH).json()[0]["errorCode"] == "MISSING_ARGUMENT"
        answer = session.get(
            f"{base.replace('Lead', 'AssignmentRule')}/updated/?start={start}Z&end={end}Z", headers=AUTH
        )
        assert answer.status_code == 404
