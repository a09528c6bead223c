"""The Salesforce emulator answers what real Salesforce answers to clients nobody here wrote
(jsforce's calls, replayed): the sObject Collections retrieve by POST, Get Updated and Get
Deleted as jsforce addresses them, and the unprocessed records of a job that never ran."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox.salesforce_helpers import AUTH, INGEST, error_of, lead

V = "/services/data/v59.0"


def _jsforce_date(value: datetime) -> str:
    """What jsforce's ``formatDate`` sends: UTC to the second, with ``+00:00``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class TestCollectionsRetrieve:
    def test_post_answers_records_in_the_order_of_ids_with_null_for_the_missing(self, sf):
        first = sf.Lead.create(lead(1))["id"]
        second = sf.Lead.create(lead(2, Title="CEO"))["id"]
        deleted = sf.Lead.create(lead(3))["id"]
        sf.Lead.delete(deleted)
        contact = sf.Contact.create({"LastName": "C"})["id"]
        body = {"ids": [second, "00Q000000000000AAA", first[:15], deleted, contact, "junk"], "fields": ["id", "title"]}
        records = sf.restful("composite/sobjects/Lead", method="POST", json=body)
        assert records[0] == {
            "attributes": {"type": "Lead", "url": f"{V}/sobjects/Lead/{second}"},
            "Id": second,
            "Title": "CEO",
        }
        assert records[2]["Id"] == first and records[2]["Title"] is None
        assert records[1] is None and records[3:] == [None, None, None]

    def test_get_and_post_answer_the_same(self, sf):
        ids = [sf.Lead.create(lead(i))["id"] for i in range(3)]
        by_get = sf.restful("composite/sobjects/Lead", params={"ids": ",".join(ids), "fields": "Email,LastName"})
        by_post = sf.restful(
            "composite/sobjects/Lead", method="POST", json={"ids": ids, "fields": ["Email", "LastName"]}
        )
        assert by_get == by_post and [r["Email"] for r in by_post] == [f"user{i}@example.com" for i in range(3)]

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"ids": [], "fields": ["Id"]}, "MISSING_ARGUMENT"),
            ({"fields": ["Id"]}, "MISSING_ARGUMENT"),
            ({"ids": ["00Q000000000000AAA"]}, "MISSING_ARGUMENT"),
            ({"ids": ["00Q000000000000AAA"], "fields": ["Shoe__c"]}, "INVALID_FIELD"),
            ({"ids": "00Q000000000000AAA", "fields": ["Id"]}, "JSON_PARSER_ERROR"),
            ({"ids": ["00Q000000000000AAA"] * 2001, "fields": ["Id"]}, "EXCEEDED_ID_LIMIT"),
        ],
    )
    def test_post_refuses_a_request_salesforce_refuses(self, sf, body, code):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.restful("composite/sobjects/Lead", method="POST", json=body)
        assert error_of(exc)["errorCode"] == code

    def test_post_of_2000_ids_is_answered(self, sf):
        created = sf.Lead.create(lead(1))["id"]
        records = sf.restful("composite/sobjects/Lead", method="POST", json={"ids": [created] * 2000, "fields": ["Id"]})
        assert len(records) == 2000 and {r["Id"] for r in records} == {created}


class TestReplicationAsJsforceAsks:
    @pytest.mark.parametrize(
        "resource",
        ["sobjects/Lead/updated", "sobjects/Lead/updated/", "sobjects/lead/Updated", "sobjects/LEAD/UPDATED/"],
    )
    def test_get_updated_is_routed_before_the_record_routes(self, sf, resource):
        created = sf.Lead.create(lead(1))["id"]
        now = datetime.now(UTC)
        query = f"?start={_jsforce_date(now - timedelta(days=1))}&end={_jsforce_date(now + timedelta(minutes=2))}"
        response = sf.session.get(f"{sf.base_url}{resource}{query.replace('+', '%2B')}", headers=AUTH)
        assert response.status_code == 200, response.text
        assert response.json()["ids"] == [created]

    @pytest.mark.parametrize("resource", ["sobjects/Lead/deleted", "sobjects/Contact/DELETED/"])
    def test_get_deleted_is_routed_before_the_record_routes(self, sf, resource):
        created = sf.Lead.create(lead(1))["id"]
        sf.Lead.delete(created)
        now = datetime.now(UTC)
        start, end = _jsforce_date(now - timedelta(days=1)), _jsforce_date(now + timedelta(minutes=2))
        response = sf.session.get(
            f"{sf.base_url}{resource}", params={"start": start, "end": end}, headers=AUTH, timeout=30
        )
        assert response.status_code == 200, response.text
        found = [r["id"] for r in response.json()["deletedRecords"]]
        assert found == ([created] if "Lead" in resource else [])

    def test_without_dates_the_replication_resources_say_what_is_missing_not_not_found(self, sf):
        for resource in ("updated", "deleted"):
            response = sf.session.get(f"{sf.base_url}sobjects/Lead/{resource}/?start=&end=", headers=AUTH)
            assert response.status_code == 400
            assert response.json()[0]["errorCode"] == "MISSING_ARGUMENT"


def _job(session, server, operation: str = "insert") -> str:
    created = session.post(server.url + INGEST, json={"object": "Lead", "operation": operation}, headers=AUTH)
    assert created.status_code == 200, created.text
    return created.json()["id"]


def _upload(session, server, job: str, data: str) -> None:
    response = session.put(
        f"{server.url}{INGEST}/{job}/batches", data=data.encode(), headers={**AUTH, "Content-Type": "text/csv"}
    )
    assert response.status_code == 201, response.text


def _result(session, server, job: str, which: str) -> str:
    response = session.get(f"{server.url}{INGEST}/{job}/{which}/", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.text


class TestUnprocessedRecords:
    DATA = "LastName,Company,Email\nA,Acme,a@example.com\nB,Beta,b@example.com\n"

    def test_an_aborted_job_gives_back_its_header_and_every_uploaded_row(self, sf, server):
        job = _job(sf.session, server)
        _upload(sf.session, server, job, self.DATA)
        aborted = sf.session.patch(f"{server.url}{INGEST}/{job}", json={"state": "Aborted"}, headers=AUTH)
        assert aborted.json()["state"] == "Aborted"
        rows = list(csv.reader(io.StringIO(_result(sf.session, server, job, "unprocessedrecords"))))
        assert rows == [
            ["LastName", "Company", "Email"],
            ["A", "Acme", "a@example.com"],
            ["B", "Beta", "b@example.com"],
        ]
        successful = list(csv.reader(io.StringIO(_result(sf.session, server, job, "successfulResults"))))
        assert successful == [["sf__Id", "sf__Created", "LastName", "Company", "Email"]]
        failed = list(csv.reader(io.StringIO(_result(sf.session, server, job, "failedResults"))))
        assert failed == [["sf__Id", "sf__Error", "LastName", "Company", "Email"]]
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0

    def test_a_job_aborted_before_it_ran_gives_back_every_row(self, sf, server):
        sf.session.post(server.url + "/_sandbox/settings", json={"bulk_processing_delay_ms": 1500})
        try:
            job = _job(sf.session, server)
            _upload(sf.session, server, job, self.DATA)
            sf.session.patch(f"{server.url}{INGEST}/{job}", json={"state": "UploadComplete"}, headers=AUTH)
            sf.session.patch(f"{server.url}{INGEST}/{job}", json={"state": "Aborted"}, headers=AUTH)
            server.app.bulk.wait(job, timeout=60)
        finally:
            sf.session.post(server.url + "/_sandbox/settings", json={"bulk_processing_delay_ms": 0})
        assert sf.session.get(f"{server.url}{INGEST}/{job}", headers=AUTH).json()["state"] == "Aborted"
        unprocessed = list(csv.DictReader(io.StringIO(_result(sf.session, server, job, "unprocessedrecords"))))
        assert [row["LastName"] for row in unprocessed] == ["A", "B"]
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0

    def test_a_job_failed_on_its_header_gives_back_every_row(self, sf, server):
        job = _job(sf.session, server)
        _upload(sf.session, server, job, "LastName,Shoe__c\nA,1\nB,2\n")
        sf.session.patch(f"{server.url}{INGEST}/{job}", json={"state": "UploadComplete"}, headers=AUTH)
        server.app.bulk.wait(job, timeout=60)
        assert sf.session.get(f"{server.url}{INGEST}/{job}", headers=AUTH).json()["state"] == "Failed"
        rows = list(csv.reader(io.StringIO(_result(sf.session, server, job, "unprocessedrecords"))))
        assert rows == [["LastName", "Shoe__c"], ["A", "1"], ["B", "2"]]

    def test_a_job_failed_on_data_it_cannot_parse_gives_back_the_upload(self, sf, server):
        job = _job(sf.session, server)
        data = "LastName,Company\nA,Acme,extra\n"
        _upload(sf.session, server, job, data)
        sf.session.patch(f"{server.url}{INGEST}/{job}", json={"state": "UploadComplete"}, headers=AUTH)
        server.app.bulk.wait(job, timeout=60)
        assert sf.session.get(f"{server.url}{INGEST}/{job}", headers=AUTH).json()["state"] == "Failed"
        assert _result(sf.session, server, job, "unprocessedrecords") == data

    def test_an_aborted_job_without_data_has_nothing_unprocessed(self, sf, server):
        job = _job(sf.session, server)
        sf.session.patch(f"{server.url}{INGEST}/{job}", json={"state": "Aborted"}, headers=AUTH)
        assert _result(sf.session, server, job, "unprocessedrecords") == ""


QUERY_JOBS = f"{V}/jobs/query"


class TestBulkQuery:
    def test_simple_salesforce_reads_every_matching_record_as_csv(self, sf):
        created = {sf.Lead.create(lead(i, Title=None if i == 2 else f"T{i}"))["id"] for i in range(5)}
        sf.Contact.create({"LastName": "not a lead"})
        pages = list(sf.bulk2.Lead.query("SELECT Id, Title, IsConverted FROM Lead", max_records=2, wait=0.05))
        rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
        assert len(pages) == 3 and {r["Id"] for r in rows} == created
        assert {r["Title"] for r in rows} == {"T0", "T1", "", "T3", "T4"} and {r["IsConverted"] for r in rows} == {
            "false"
        }

    def test_query_all_includes_deleted_records(self, sf):
        kept, gone = sf.Lead.create(lead(1))["id"], sf.Lead.create(lead(2))["id"]
        sf.Lead.delete(gone)
        for operation, expected in (("query", {kept}), ("queryAll", {kept, gone})):
            job = sf.session.post(
                sf.base_url.rstrip("/").rsplit("/services", 1)[0] + QUERY_JOBS,
                json={"operation": operation, "query": "SELECT Id FROM Lead"},
                headers=AUTH,
            ).json()
            assert job["state"] == "UploadComplete" and job["object"] == "Lead"
            base = sf.base_url.rstrip("/").rsplit("/services", 1)[0] + f"{QUERY_JOBS}/{job['id']}"
            assert sf.session.get(base, headers=AUTH).json()["state"] == "JobComplete"
            page = sf.session.get(f"{base}/results", headers=AUTH)
            assert page.headers["Sforce-Locator"] == "null" and page.headers["Sforce-NumberOfRecords"] == str(
                len(expected)
            )
            assert {r["Id"] for r in csv.DictReader(io.StringIO(page.text))} == expected
            assert sf.session.delete(base, headers=AUTH).status_code == 204
            assert sf.session.get(base, headers=AUTH).status_code == 404

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"operation": "query", "query": "SELECT Nope FROM Lead"}, "INVALID_FIELD"),
            ({"operation": "query", "query": "SELECT COUNT() FROM Lead"}, "INVALIDJOB"),
            (
                {"operation": "query", "query": "SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY LeadSource"},
                "INVALIDJOB",
            ),
            ({"operation": "query", "query": "SELECT Address FROM Lead"}, "INVALIDJOB"),
            ({"operation": "upsert", "query": "SELECT Id FROM Lead"}, "INVALIDJOB"),
            ({"operation": "query"}, "INVALIDJOB"),
            ({"operation": "query", "query": "SELECT Id FROM Lead", "columnDelimiter": "SPACE"}, "INVALIDJOB"),
        ],
    )
    def test_a_job_salesforce_refuses_is_refused(self, sf, body, code):
        url = sf.base_url.rstrip("/").rsplit("/services", 1)[0] + QUERY_JOBS
        response = sf.session.post(url, json=body, headers=AUTH)
        assert response.status_code == 400 and response.json()[0]["errorCode"] == code
