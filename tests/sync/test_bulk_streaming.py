"""A big queue goes to Salesforce in Bulk API jobs while the worker holds one slice at a time.

The push claims ``batch_size`` contacts at a time, spools their records on disk and sends one
Bulk job per ``bulk_batch_size`` records: memory follows the slice, API calls follow the job.
These tests shrink both sizes so that a few hundred contacts make several slices and jobs.
"""

from __future__ import annotations

import pytest

from integration.clients.salesforce import (
    BulkResults,
    BulkUpload,
    RecordError,
    RecordResult,
    SalesforceClient,
    SalesforceTransientError,
    get_salesforce_client,
)
from lists.models import ContactList, ListMembership
from sync.engine import queue
from sync.engine.push import Pusher
from sync.models import PendingSync, Reason, SyncRecord, SyncRun
from sync.services import sync_run_start
from tests.lists.factories import ContactFactory, ListMembershipFactory

pytestmark = pytest.mark.django_db

SLICE, JOB, THRESHOLD = 20, 120, 50


def members(contact_list: ContactList, count: int) -> list:
    contacts = []
    for i in range(count):
        email = f"member{i}@example.com"
        contact = ContactFactory(
            email=email,
            properties={"email": email, "firstname": "Ada", "lastname": f"Member {i}", "company": "Engines"},
        )
        ListMembershipFactory(contact_list=contact_list, contact=contact)
        contacts.append(contact)
    return contacts


def small_pusher(run: SyncRun) -> Pusher:
    return Pusher(
        run=run,
        client=get_salesforce_client(),
        worker="host:1:a",
        batch_size=SLICE,
        bulk_threshold=THRESHOLD,
        bulk_batch_size=JOB,
    )


@pytest.fixture
def spy(monkeypatch):
    """Records each claim's size and each Bulk job's row count."""
    seen = {"claims": [], "jobs": []}
    claim, bulk_run = queue.claim, SalesforceClient.bulk_run

    def claiming(**kwargs):
        entries = claim(**kwargs)
        seen["claims"].append(len(entries))
        return entries

    def running(self, object_name, upload, **kwargs):
        seen["jobs"].append((object_name, upload.operation, len(upload)))
        return bulk_run(self, object_name, upload, **kwargs)

    monkeypatch.setattr(queue, "claim", claiming)
    monkeypatch.setattr(SalesforceClient, "bulk_run", running)
    return seen


def test_a_big_queue_goes_in_bulk_jobs_of_at_most_the_job_size_claimed_slice_by_slice(sandbox, inclusion_list, spy):
    contacts = members(inclusion_list, 300)
    broken = contacts[137]
    broken.raw_properties = {**broken.raw_properties, "lastname": "x" * 81}  # Salesforce refuses it
    broken.save()
    queue.enqueue(contact_ids=[c.pk for c in contacts], reason=Reason.LIST_RESYNC)
    run = sync_run_start(trigger=SyncRun.Trigger.LIST_RESYNC, total=300)
    pushed: list[int] = []
    pusher = small_pusher(run)
    pusher.on_progress = pushed.append

    counters = pusher.run_until_empty()

    assert max(spy["claims"]) == SLICE
    assert spy["jobs"] == [("Lead", "insert", 120), ("Lead", "insert", 120), ("Lead", "insert", 60)]
    assert (counters.created, counters.failed) == (299, 1)
    assert sum(pushed) == 300  # progress counts each contact once, when its result is applied
    leads = sandbox.soql("SELECT Id, Email FROM Lead")
    assert len(leads) == 299 and len({lead["Email"] for lead in leads}) == 299
    # Each contact is linked to its own record (results were matched back by row).
    by_email = {lead["Email"]: lead["Id"] for lead in leads}
    for contact in contacts:
        contact.refresh_from_db()
        assert contact.salesforce_id == by_email.get(contact.email, "")
    failed = SyncRecord.objects.get(run=run, action=SyncRecord.Action.FAILED)
    assert (failed.contact_id, failed.error_code) == (broken.pk, "STRING_TOO_LONG")
    assert SyncRecord.objects.filter(run=run, action=SyncRecord.Action.CREATED).count() == 299
    assert not PendingSync.objects.exists()


def test_updates_and_small_leftovers_share_the_stream(sandbox, inclusion_list, spy):
    """A second push of the same members updates them by Bulk; a leftover under the threshold
    goes by sObject Collections."""
    contacts = members(inclusion_list, 130)
    queue.enqueue(contact_ids=[c.pk for c in contacts], reason=Reason.LIST_RESYNC)
    small_pusher(sync_run_start(trigger=SyncRun.Trigger.LIST_RESYNC, total=130)).run_until_empty()
    assert spy["jobs"] == [("Lead", "insert", 120)]  # and 10 created by collections

    for contact in contacts:
        contact.raw_properties = {**contact.raw_properties, "company": "Difference Engines"}
        contact.save()
    queue.enqueue(contact_ids=[c.pk for c in contacts], reason=Reason.PROPERTY_CHANGED)
    run = sync_run_start(trigger=SyncRun.Trigger.LIST_RESYNC, total=130)
    counters = small_pusher(run).run_until_empty()

    assert spy["jobs"][1:] == [("Lead", "update", 120)]
    assert counters.updated == 130
    companies = {lead["Company"] for lead in sandbox.soql("SELECT Company FROM Lead")}
    assert companies == {"Difference Engines"}
    assert len(sandbox.soql("SELECT Id FROM Lead")) == 130


def test_small_spools_wait_for_the_next_job_instead_of_costing_collection_calls(
    sandbox, inclusion_list, spy, monkeypatch
):
    contacts = members(inclusion_list, 200)
    salesforce = sandbox.salesforce()
    for contact in contacts[::5]:  # 40 already in Salesforce: found by email, updated
        salesforce.Lead.create({"LastName": "Old", "Company": "Old", "Email": contact.email})
    updates: list[int] = []
    update = SalesforceClient.collections_update

    def counting(self, object_name, records, **kwargs):
        updates.append(len(records))
        return update(self, object_name, records, **kwargs)

    monkeypatch.setattr(SalesforceClient, "collections_update", counting)
    queue.enqueue(contact_ids=[c.pk for c in contacts], reason=Reason.LIST_RESYNC)
    counters = small_pusher(sync_run_start(trigger=SyncRun.Trigger.LIST_RESYNC, total=200)).run_until_empty()

    # Slices of 16 creates and 4 updates: the job fills with 96 creates after 6 slices; the
    # 24 updates so far wait, and go with the last 16 in one collection call at the end.
    assert spy["jobs"] == [("Lead", "insert", 96), ("Lead", "insert", 64)]
    assert updates == [40]
    assert (counters.created, counters.updated) == (160, 40)
    assert len(sandbox.soql("SELECT Id FROM Lead")) == 200


def test_a_contact_leaving_the_list_while_spooled_is_not_in_the_job(sandbox, inclusion_list, spy, monkeypatch):
    contacts = members(inclusion_list, 80)
    leaves = contacts[42]
    queue.enqueue(contact_ids=[c.pk for c in contacts], reason=Reason.LIST_RESYNC)
    run = sync_run_start(trigger=SyncRun.Trigger.LIST_RESYNC, total=80)
    flush = Pusher.flush

    def leave_then_flush(self):
        # Spooled while a member; gone by the time the job is written.
        ListMembership.objects.filter(contact=leaves).delete()
        return flush(self)

    monkeypatch.setattr(Pusher, "flush", leave_then_flush)
    small_pusher(run).run_until_empty()

    assert spy["jobs"] == [("Lead", "insert", 79)]
    assert sandbox.soql(f"SELECT Id FROM Lead WHERE Email = '{leaves.email}'") == []
    skipped = SyncRecord.objects.get(run=run, contact=leaves)
    assert skipped.skip_reason == SyncRecord.SkipReason.NOT_MEMBER


def test_a_failed_bulk_job_retries_every_contact_in_it_later(sandbox, inclusion_list, monkeypatch):
    contacts = members(inclusion_list, 70)
    queue.enqueue(contact_ids=[c.pk for c in contacts], reason=Reason.LIST_RESYNC)
    run = sync_run_start(trigger=SyncRun.Trigger.LIST_RESYNC, total=70)

    def down(self, object_name, upload, **kwargs):
        raise SalesforceTransientError("Salesforce did not answer")

    monkeypatch.setattr(SalesforceClient, "bulk_run", down)
    counters = small_pusher(run).run_until_empty()

    assert counters.failed == 70
    entries = PendingSync.objects.all()
    assert entries.count() == 70
    assert all(e.attempts == 1 and not e.claimed_by and Reason.RETRY in e.reasons for e in entries)
    assert SyncRecord.objects.filter(run=run, action=SyncRecord.Action.FAILED).count() == 70


def test_bulk_upload_keeps_only_keys_and_matches_results_in_input_order():
    with BulkUpload("upsert", ["HubSpot_Id__c", "LastName", "Active__c"], "HubSpot_Id__c") as upload:
        assert upload.add({"HubSpot_Id__c": "HS-1", "LastName": "Lovelace", "Active__c": True}) == 0
        assert upload.add({"HubSpot_Id__c": "hs-2", "LastName": None}) == 1
        assert upload.add({"HubSpot_Id__c": "HS-2", "LastName": "Again"}) == 2
        with pytest.raises(ValueError, match="Nope"):
            upload.add({"HubSpot_Id__c": "HS-3", "Nope": "x"})
        assert upload.body().read().decode() == (
            "HubSpot_Id__c,LastName,Active__c\nHS-1,Lovelace,true\nhs-2,#N/A,\nHS-2,Again,\n"
        )
        # Results come back in any order and case; equal keys are taken in input order.
        assert upload.take({"HubSpot_Id__c": "hs-2"}) == 1
        assert upload.take({"HubSpot_Id__c": "hs-1"}) == 0
        assert upload.take({"HubSpot_Id__c": "HS-2"}) == 2
        assert upload.take({"HubSpot_Id__c": "HS-2"}) is None
        assert len(upload) == 3


def test_bulk_upload_of_inserts_matches_on_the_whole_row():
    with BulkUpload("insert", ["LastName", "Email"]) as upload:
        upload.add({"LastName": "A", "Email": "a@example.com"})
        upload.add({"LastName": "B", "Email": "a@example.com"})
        upload.add({"LastName": "A", "Email": "a@example.com"})  # identical rows are interchangeable
        assert upload.take({"sf__Id": "x", "LastName": "B", "Email": "a@example.com"}) == 1
        assert [upload.take({"LastName": "A", "Email": "a@example.com"}) for _ in range(3)] == [0, 2, None]


def test_bulk_results_build_each_result_when_read():
    results = BulkResults(4)
    results.succeeded(2, "00Q000000000001AAA", created=True)
    results.succeeded(0, "00Q000000000002AAA", created=False)
    results.failed(1, None, [RecordError("INVALID_EMAIL_ADDRESS", "bad", ["Email"])])
    assert len(results) == 4
    assert results[0] == RecordResult("00Q000000000002AAA", True, [], False)
    assert results[2].created and results[-2].success
    assert results[1].error_code == "INVALID_EMAIL_ADDRESS"
    assert results[3].error_code == "UNPROCESSED"  # no result came back for it
    assert [r.success for r in results[1:]] == [False, True, False]
    with pytest.raises(IndexError):
        results[4]
