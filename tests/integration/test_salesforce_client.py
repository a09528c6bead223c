"""The app's Salesforce client against the Salesforce sandbox over HTTPS."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from integration.clients import salesforce as client_module
from integration.clients.base import AuthError, RateLimited, ServiceUnavailable
from integration.clients.salesforce import (
    Credentials,
    SalesforceAuthError,
    SalesforceClient,
    SalesforceLimitError,
    SalesforceRequestError,
    SalesforceTransientError,
    get_salesforce_client,
)
from integration.clients.salesforce import rest as rest_module
from sandbox.testing import trusting_session
from tests.sandbox.salesforce_helpers import salesforce_fixtures

server, control = salesforce_fixtures("salesforce-client")


def make_client(server, **kwargs) -> SalesforceClient:
    kwargs.setdefault("access_token", "sandbox")
    kwargs.setdefault("bulk_poll_interval", 0.05)
    kwargs.setdefault("retry_backoff", 0.01)
    return SalesforceClient(instance_url=server.url, session=trusting_session(server.cert_path), **kwargs)


@pytest.fixture
def client(server, control) -> SalesforceClient:
    return make_client(server)


def lead(i: int, **extra) -> dict:
    return {"LastName": f"L{i}", "Company": "Acme", "Email": f"user{i}@example.com", **extra}


class TestCollections:
    def test_upsert_in_chunks_of_200_with_results_in_input_order(self, client):
        first = client.collections_upsert(
            "Lead", "HubSpot_Id__c", [lead(i, HubSpot_Id__c=f"hs-{i}") for i in range(250)]
        )
        assert client.api_calls.value == 2  # 200 + 50
        assert all(r.success and r.created for r in first)
        records = [lead(i, HubSpot_Id__c=f"hs-{i}", Title="VP") for i in range(240, 450)]
        records[3]["Email"] = "not-an-email"
        records[20]["LeadSource"] = "Telepathy"
        results = client.collections_upsert("Lead", "HubSpot_Id__c", records)
        assert len(results) == 210
        assert [r.created for r in results[:10] if r.success] == [False] * 9
        assert all(r.created for r in results[10:] if r.success)
        assert results[0].id == first[240].id
        assert results[3].error_code == "INVALID_EMAIL_ADDRESS" and results[3].errors[0].fields == ["Email"]
        assert results[20].errors[0].status_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        assert results[20].errors[0].message == "Lead Source: bad value for restricted picklist field: Telepathy"

    def test_create_and_update(self, client):
        created = client.collections_create("Contact", [{"LastName": "A"}, {"FirstName": "no last name"}])
        assert created[0].success and created[0].id.startswith("003")
        assert not created[1].success and created[1].errors[0].status_code == "REQUIRED_FIELD_MISSING"
        assert created[1].errors[0].fields == ["LastName"]
        updated = client.collections_update("Contact", [{"Id": created[0].id, "MailingCity": "Lyon"}])
        assert updated[0].success
        assert (
            next(client.query(f"SELECT MailingCity FROM Contact WHERE Id = '{created[0].id}'"))["MailingCity"] == "Lyon"
        )

    def test_single_upsert_url_encodes_the_value(self, client):
        result = client.upsert("Lead", "Email", "o'neil+tag/x@example.com", {"LastName": "O", "Company": "C"})
        assert result.success and result.created
        again = client.upsert("Lead", "Email", "O'NEIL+tag/x@example.com", {"Title": "CFO"})
        assert again.success and again.created is False and again.id == result.id


class TestReads:
    def test_find_by_emails_in_leads_and_contacts_case_insensitively(self, client, monkeypatch):
        client.collections_create(
            "Lead", [lead(1), lead(2, Email="Shared@Example.com"), lead(3, Email="o'neil@example.com")]
        )
        client.collections_create("Contact", [{"LastName": "C", "Email": "shared@example.com"}])
        # A tiny URI budget forces several SOQL chunks per object.
        monkeypatch.setattr(rest_module, "MAX_QUERY_URI_CHARS", 300)
        emails = ["USER1@example.com", "shared@example.com", "o'neil@example.com", "nobody@example.com"]
        emails += [f"filler{i}@example.com" for i in range(30)]
        client.api_calls.reset()
        found = client.find_by_emails(emails, fields=["LastName"])
        assert client.api_calls.value > 2
        assert set(found) == {"user1@example.com", "shared@example.com", "o'neil@example.com"}
        shared = sorted(found["shared@example.com"], key=lambda m: m.object)
        assert [m.object for m in shared] == ["Contact", "Lead"]
        assert shared[1].email == "Shared@Example.com" and shared[1].id.startswith("00Q")
        assert shared[0].last_modified and shared[0].fields == {"LastName": "C"}
        assert client.count("SELECT COUNT() FROM Lead WHERE Email = 'SHARED@example.com'") == 1

    def test_query_modified_since_pages_through_everything(self, client):
        since = datetime.now(UTC) - timedelta(seconds=5)
        for start in range(0, 2300, 200):
            client.collections_create("Lead", [lead(i) for i in range(start, min(start + 200, 2300))])
        client.api_calls.reset()
        records = list(client.query_modified_since("Lead", since, ["Email", "LastName"]))
        assert len(records) == 2300 and client.api_calls.value == 2  # 2,000 + 300
        assert "attributes" not in records[0] and {"Id", "Email", "LastName", "LastModifiedDate"} <= set(records[0])
        stamps = [r["LastModifiedDate"] for r in records]
        assert stamps == sorted(stamps)
        assert list(client.query_modified_since("Lead", datetime.now(UTC) + timedelta(hours=1), ["Email"])) == []

    def test_limits_describe_usage_and_call_count(self, client):
        limits = client.limits()
        assert limits["DailyApiRequests"]["Max"] == 100_000
        used, maximum = client.api_usage
        assert maximum == 100_000 and used >= 1
        describe = client.describe("Lead")
        assert any(f["name"] == "HubSpot_Id__c" and f["externalId"] for f in describe["fields"])
        assert client.api_usage[0] == used + 1
        assert client.api_calls.value == 2

    def test_malformed_query_is_a_request_error(self, client):
        with pytest.raises(SalesforceRequestError) as exc:
            list(client.query("SELECT FROM Lead"))
        assert exc.value.code == "MALFORMED_QUERY" and exc.value.status == 400


class TestBulk:
    def test_bulk_upsert_matches_shuffled_results_by_key(self, client):
        existing = client.collections_create("Lead", [lead(0, HubSpot_Id__c="HS-0")])[0].id
        records = [lead(i, HubSpot_Id__c=f"hs-{i}") for i in range(5000)]
        records[11]["Email"] = "broken"
        records[12]["Company"] = None  # #N/A: null, so the new Lead misses Company
        results = client.bulk_upsert("Lead", records, external_id_field="HubSpot_Id__c")
        assert len(results) == 5000
        assert results[0].success and results[0].created is False and results[0].id == existing
        assert all(r.success and r.created for i, r in enumerate(results) if i not in (0, 11, 12))
        assert results[11].errors[0].status_code == "INVALID_EMAIL_ADDRESS"
        assert results[11].errors[0].fields == ["Email"]
        assert results[12].errors[0].status_code == "REQUIRED_FIELD_MISSING"
        # Each result belongs to its own record: the stored email matches the input's.
        sample = {r.id: i for i, r in enumerate(results[:300]) if r.success}
        soql = "SELECT Id, Email FROM Lead WHERE Id IN (" + ", ".join(f"'{i}'" for i in sample) + ")"
        for record in client.query(soql):
            assert record["Email"] == records[sample[record["Id"]]]["Email"]

    def test_bulk_insert_and_update(self, client):
        records = [lead(i) for i in range(300)] + [lead(1)]  # identical rows are interchangeable
        records[5]["LastName"] = "x" * 81
        inserted = client.bulk_insert("Lead", records)
        assert [r.success for r in inserted].count(False) == 1 and inserted[5].error_code == "STRING_TOO_LONG"
        assert inserted[1].id != inserted[300].id and inserted[1].success and inserted[300].success
        changes = [{"Id": r.id, "Title": f"T{i}"} for i, r in enumerate(inserted) if r.success]
        changes.append({"Id": "00Q5g000000zzzzEAA", "Title": "ghost"})
        updated = client.bulk_update("Lead", changes)
        assert all(r.success for r in updated[:-1]) and not updated[-1].success
        title = next(client.query(f"SELECT Title FROM Lead WHERE Id = '{changes[7]['Id']}'"))["Title"]
        assert title == changes[7]["Title"]

    def test_job_events_and_waiting_for_a_job_left_behind(self, client, server, control):
        events: list[tuple[str, bool]] = []
        client.on_bulk_job = lambda job_id, opened: events.append((job_id, opened))
        client.bulk_insert("Lead", [lead(1)])
        assert [opened for _job, opened in events] == [True, False] and events[0][0] == events[1][0]
        # Jobs a dead process left: one created but never closed, one closed but never polled.
        base = server.url + "/services/data/v59.0/jobs/ingest"
        session = trusting_session(server.cert_path)
        headers = {"Authorization": "Bearer sandbox"}
        open_id = session.post(base, json={"object": "Lead", "operation": "insert"}, headers=headers).json()["id"]
        closed_id = session.post(base, json={"object": "Lead", "operation": "insert"}, headers=headers).json()["id"]
        session.put(
            f"{base}/{closed_id}/batches",
            data="LastName,Company\nA,B\n",
            headers={**headers, "Content-Type": "text/csv"},
        )
        control("/_sandbox/settings", {"bulk_processing_delay_ms": 200})
        session.patch(f"{base}/{closed_id}", json={"state": "UploadComplete"}, headers=headers)
        assert client.bulk_wait(open_id)["state"] == "Aborted"
        finished = client.bulk_wait(closed_id)
        assert finished["state"] == "JobComplete" and finished["numberRecordsProcessed"] == 1

    def test_failed_job_raises(self, client):
        events: list[bool] = []
        client.on_bulk_job = lambda job_id, opened: events.append(opened)
        with pytest.raises(client_module.SalesforceError) as exc:
            client.bulk_insert("Lead", [{"LastName": "A", "Nope__c": "x"}])
        assert "Field name not found" in exc.value.message
        assert events == [True, False]  # a failed job is over: nothing left to wait for


class TestAuthAndErrors:
    def test_relogin_on_invalid_session(self, server, control):
        client = make_client(
            server,
            access_token="stale-token",
            credentials=Credentials(
                method="client_credentials", login_url=server.url, client_id="k", client_secret="s"
            ),
        )
        seen: list[str] = []
        client.on_token = lambda token, url: seen.append(token)
        assert client.limits()["DailyApiRequests"]["Max"] == 100_000
        assert client.logins == 1 and len(seen) == 1 and seen[0] != "stale-token"
        control("/_sandbox/faults", {"kind": "expired_session", "count": 1})
        assert client.collections_create("Lead", [lead(1)])[0].success
        assert client.logins == 2

    def test_jwt_login(self, server, control):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        control("/_sandbox/settings", {"jwt_public_key": public.decode()})
        client = make_client(
            server,
            access_token="",
            credentials=Credentials(
                method="jwt", login_url=server.url, client_id="k", username="u@x.com", private_key=pem
            ),
        )
        assert client.limits() and client.logins == 1

    def test_no_credentials_means_auth_error(self, server, control):
        client = make_client(server, access_token="stale", credentials=Credentials(method="token"))
        with pytest.raises(SalesforceAuthError) as exc:
            client.limits()
        assert isinstance(exc.value, AuthError) and exc.value.code == "INVALID_SESSION_ID"

    def test_bad_client_secret_is_an_auth_error(self, server, control):
        control("/_sandbox/settings", {"oauth_clients": {"k": "right"}})
        client = make_client(
            server,
            access_token="",
            credentials=Credentials(
                method="client_credentials", login_url=server.url, client_id="k", client_secret="wrong"
            ),
        )
        with pytest.raises(SalesforceAuthError) as exc:
            client.limits()
        assert exc.value.code == "invalid_client"

    def test_request_limit_exceeded(self, client, control):
        control("/_sandbox/settings", {"daily_api_max": 3, "api_usage_used": 3})
        with pytest.raises(SalesforceLimitError) as exc:
            client.limits()
        assert isinstance(exc.value, RateLimited) and exc.value.code == "REQUEST_LIMIT_EXCEEDED"

    def test_transient_errors_are_retried_for_idempotent_calls_only(self, client, control):
        control("/_sandbox/faults", {"kind": "server_error", "count": 1})
        assert client.collections_upsert("Lead", "HubSpot_Id__c", [lead(1, HubSpot_Id__c="a")])[0].success
        assert client.api_calls.value == 2
        control("/_sandbox/faults", {"kind": "server_error", "count": 1})
        with pytest.raises(SalesforceTransientError) as exc:
            client.collections_create("Lead", [lead(2)])
        assert isinstance(exc.value, ServiceUnavailable) and exc.value.status == 503
        control("/_sandbox/faults", {"kind": "down"})
        with pytest.raises(SalesforceTransientError):
            client.limits()

    def test_unable_to_lock_row_per_record(self, client, control):
        control("/_sandbox/faults", {"kind": "unable_to_lock_row", "count": 1, "every": 2})
        results = client.collections_upsert("Lead", "HubSpot_Id__c", [lead(i, HubSpot_Id__c=str(i)) for i in range(4)])
        assert [r.error_code for r in results] == ["UNABLE_TO_LOCK_ROW", None, "UNABLE_TO_LOCK_ROW", None]

    def test_connection_errors_are_transient(self, server):
        client = SalesforceClient(
            instance_url="https://127.0.0.1:1", access_token="sandbox", max_retries=1, retry_backoff=0.01, timeout=2
        )
        started = time.monotonic()
        with pytest.raises(SalesforceTransientError):
            client.limits()
        assert time.monotonic() - started < 10


@pytest.mark.django_db
class TestFactory:
    def test_sandbox_connection(self, server, control, settings):
        from integration.models import SalesforceConnection

        # The built-in sandbox is reached at the deployment's sandbox URL, whatever the row says.
        settings.SANDBOX_SALESFORCE_URL = server.url
        settings.SANDBOX_SALESFORCE_CERT = str(server.cert_path)
        connection = SalesforceConnection.load()
        connection.environment = SalesforceConnection.Environment.SANDBOX_EMULATOR
        connection.instance_url = server.url
        connection.access_token = "expired-token"
        connection.save()
        client = get_salesforce_client()
        client.retry_backoff = 0.01
        # The stored token is refused; the sandbox client logs in again and saves the new token.
        assert client.limits()["DailyApiRequests"]["Max"] == 100_000
        connection.refresh_from_db()
        assert connection.access_token not in ("", "expired-token") and client.logins == 1

    def test_unconnected_production_is_an_auth_error(self):
        from integration.models import SalesforceConnection

        connection = SalesforceConnection.load()
        connection.environment = SalesforceConnection.Environment.PRODUCTION
        connection.auth_method = SalesforceConnection.AuthMethod.TOKEN
        connection.instance_url = ""
        connection.save()
        with pytest.raises(SalesforceAuthError):
            get_salesforce_client()


def test_a_bulk_job_reporting_its_progress_is_polled_when_it_should_be_done(monkeypatch):
    """A job 10 % through is polled once more when the rest should be done at its pace, not every
    few seconds; a job reporting no progress yet is polled with a growing wait; the next job is
    first polled when the last one's pace says it should be done."""
    client = SalesforceClient(instance_url="https://example.invalid", access_token="x", bulk_poll_interval=0.5)
    clock = [100.0]
    sleeps: list[float] = []
    answers = iter(
        [
            {"state": "UploadComplete", "numberRecordsProcessed": 0},
            {"state": "InProgress", "numberRecordsProcessed": 0},
            {"state": "InProgress", "numberRecordsProcessed": 1_000},
            {"state": "JobComplete", "numberRecordsProcessed": 10_000},
            {"state": "JobComplete", "numberRecordsProcessed": 4_000},
        ]
    )

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(client, "_json", lambda method, path, body=None, **kw: next(answers))

    assert client._wait_for_job("750x", 10_000)["state"] == "JobComplete"
    # 0.5 s before the first poll; no progress yet: 0.75 s, then 1.125 s. Then 1,000 of 10,000
    # done in 2.375 s: the rest should take 21.4 s (plus a tenth).
    assert sleeps[:3] == [0.5, 0.75, 1.125]
    assert sleeps[3] == pytest.approx(1.1 * 9_000 / (1_000 / 2.375))
    assert len(sleeps) == 4
    took = sum(sleeps)

    sleeps.clear()
    assert client._wait_for_job("750y", 4_000)["state"] == "JobComplete"
    assert sleeps == [pytest.approx(1.1 * 4_000 / (10_000 / took))]  # one poll, when it is done
