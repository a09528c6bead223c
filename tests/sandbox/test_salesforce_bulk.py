"""The Salesforce sandbox driven by the unmodified simple-salesforce over real HTTPS: Bulk API 2.0
ingest jobs and their result files.
"""

from __future__ import annotations

import csv
import io
import time

from tests.sandbox.salesforce_helpers import lead

INGEST = "/services/data/v59.0/jobs/ingest"
AUTH = {"Authorization": "Bearer sandbox"}


def parse_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _processed_lead_insert(server, session, data: str) -> dict:
    """A Lead insert job given ``data`` (CSV, the job's default LF line ending), closed and
    processed: the job as ``GET`` then reads it."""
    base = server.url + INGEST
    job = session.post(base, json={"object": "Lead", "operation": "insert"}, headers=AUTH).json()
    session.put(f"{base}/{job['id']}/batches", data=data, headers={**AUTH, "Content-Type": "text/csv"})
    session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=AUTH)
    server.app.bulk.wait(job["id"])
    return session.get(f"{base}/{job['id']}", headers=AUTH).json()


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
        base = server.url + INGEST
        session = sf.session
        job = session.post(
            base,
            json={"object": "Contact", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"},
            headers=AUTH,
        ).json()
        assert job["state"] == "Open" and job["id"].startswith("750") and job["contentUrl"].endswith("/batches")
        upload = session.put(
            f"{base}/{job['id']}/batches",
            data="LastName,Email\nA,a@x.com\nB,nope\n",
            headers={**AUTH, "Content-Type": "text/csv"},
        )
        assert upload.status_code == 201
        closed = session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=AUTH).json()
        assert closed["state"] == "UploadComplete"
        states = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            info = session.get(f"{base}/{job['id']}", headers=AUTH).json()
            states.add(info["state"])
            if info["state"] == "JobComplete":
                break
            time.sleep(0.05)
        assert "JobComplete" in states and states & {"UploadComplete", "InProgress"}
        assert info["numberRecordsProcessed"] == 2 and info["numberRecordsFailed"] == 1
        failed = parse_csv(session.get(f"{base}/{job['id']}/failedResults", headers=AUTH).text)
        assert failed[0]["sf__Error"].startswith("INVALID_EMAIL_ADDRESS") and failed[0]["LastName"] == "B"
        assert session.get(f"{base}/{job['id']}/unprocessedrecords", headers=AUTH).text.strip() == '"LastName","Email"'

    def test_bad_jobs(self, sf, server, control):
        base = server.url + INGEST
        session = sf.session
        no_key = session.post(base, json={"object": "Lead", "operation": "upsert"}, headers=AUTH)
        assert no_key.status_code == 400 and no_key.json()[0]["errorCode"] == "INVALIDJOB"
        info = _processed_lead_insert(server, session, "LastName,Shoe__c\nA,1\n")
        assert info["state"] == "Failed" and "Field name not found : Shoe__c" in info["errorMessage"]
        again = session.put(
            f"{base}/{info['id']}/batches", data="LastName\nA\n", headers={**AUTH, "Content-Type": "text/csv"}
        )
        assert again.status_code == 409
        info = _processed_lead_insert(server, session, "LastName,Company\r\nA,B\r\n")
        assert info["state"] == "Failed" and "LineEnding is invalid" in info["errorMessage"]
        aborted = session.post(base, json={"object": "Lead", "operation": "insert"}, headers=AUTH).json()
        assert (
            session.patch(f"{base}/{aborted['id']}", json={"state": "Aborted"}, headers=AUTH).json()["state"]
            == "Aborted"
        )

    def test_each_bulk_call_counts_against_the_allowance(self, sf):
        before = sf.limits()["DailyApiRequests"]["Remaining"]
        sf.bulk2.Lead.insert(records=[lead(1)], wait=0.05)
        after = sf.limits()["DailyApiRequests"]["Remaining"]
        # limits + create + upload + close + at least one poll + final get_job
        assert before - after >= 6
