"""The gated sync against both sandbox emulators over real HTTP, as an admin would see it."""

from __future__ import annotations

import pytest

from integration.models import SyncSettings
from integration.services import inclusion_list_set
from lists.models import Contact, ContactList
from lists.services import list_create, list_refresh
from sync.models import Category, PendingSync, SyncRecord, SyncRun
from sync.services import hubspot_pull, list_resync, push_pending, sync_cycle
from tests.lists.factories import filter_branch, property_filter

pytestmark = pytest.mark.django_db

COUNTRIES = {"France", "Germany"}
STAGES = {"marketingqualifiedlead", "salesqualifiedlead"}
CRITERIA = filter_branch(
    [
        property_filter("country", "MULTISTRING", "IS_EQUAL_TO", values=sorted(COUNTRIES)),
        property_filter("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=sorted(STAGES)),
    ]
)


def hubspot_contacts(sandbox) -> list[dict]:
    """Every contact the HubSpot sandbox holds, read with the unmodified client."""
    api = sandbox.hubspot().crm.contacts.basic_api
    out, after = [], None
    while True:
        page = api.get_page(limit=100, after=after, properties=["email", "country", "lifecyclestage", "lastname"])
        out += [{"id": c.id, **c.properties} for c in page.results]
        if not page.paging or not page.paging.next:
            return out
        after = page.paging.next.after


def expected_members(contacts: list[dict]) -> list[dict]:
    return [c for c in contacts if c.get("country") in COUNTRIES and c.get("lifecyclestage") in STAGES]


def salesforce_leads(sandbox) -> list[dict]:
    return sandbox.soql("SELECT Id, Email, LastName, LastModifiedDate FROM Lead")


def make_inclusion_list() -> ContactList:
    contact_list = list_create(name="France/Germany MQL+SQL", processing_type="DYNAMIC", filter_branch=CRITERIA)
    list_refresh(contact_list=contact_list)
    contact_list.refresh_from_db()
    assert contact_list.processing_status == "COMPLETE", contact_list.error
    inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
    return contact_list


def test_one_sync_sends_exactly_the_members_with_a_valid_email(sandbox):
    sandbox.seed(2000)
    hubspot_pull()
    contact_list = make_inclusion_list()
    members = expected_members(hubspot_contacts(sandbox))
    assert 50 < len(members) < 1000
    assert contact_list.size == len(members)

    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)

    leads = salesforce_leads(sandbox)
    lead_emails = [lead["Email"].lower() for lead in leads]
    member_emails = {m["email"].lower() for m in members if m.get("email")}
    assert len(lead_emails) == len(set(lead_emails)), "a Salesforce record was duplicated"
    assert set(lead_emails) <= member_emails, "someone outside the inclusion list reached Salesforce"
    # Every member with an email is in Salesforce or has a logged, categorised failure.
    failed = SyncRecord.objects.filter(run=run, action="failed")
    failed_emails = {r.email.lower() for r in failed}
    assert member_emails - set(lead_emails) <= failed_emails
    assert failed.count() >= 1
    assert not failed.filter(category="").exists()
    assert set(failed.values_list("category", flat=True)) <= {
        Category.REQUIRED_FIELD,
        Category.INVALID_VALUE,
    }
    # The seeded oddities are refused with the right category and code.
    for record in failed:
        if not record.payload_after.get("LastName"):
            assert (record.category, record.error_code) == (Category.REQUIRED_FIELD, "REQUIRED_FIELD_MISSING")
    # Members without an email are skipped with the reason.
    no_email = [m for m in members if not m.get("email")]
    assert SyncRecord.objects.filter(run=run, skip_reason="no_email").count() == len(no_email)
    # Salesforce ids are stored on the contacts that were sent.
    assert Contact.objects.exclude(salesforce_id="").count() == len(leads)
    assert run.created == len(leads) and run.failed == failed.count()
    # Batched: collections of up to 200 (plus the email lookups), far from one call per record.
    assert run.salesforce_api_calls <= 2 * (len(members) // 200 + 1) + 6
    assert not PendingSync.objects.exists()


def test_a_second_sync_without_change_makes_no_salesforce_write(sandbox):
    sandbox.seed(300)
    hubspot_pull()
    make_inclusion_list()
    sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    before = salesforce_leads(sandbox)
    assert before
    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    after = salesforce_leads(sandbox)
    assert sorted((r["Id"], r["LastModifiedDate"]) for r in after) == sorted(
        (r["Id"], r["LastModifiedDate"]) for r in before
    )
    assert (run.created, run.updated, run.failed) == (0, 0, 0)


def edit_in_hubspot(sandbox, contact: Contact, **properties: str) -> None:
    sandbox.hubspot().crm.contacts.basic_api.update(contact.hubspot_id, {"properties": properties})


def test_a_member_who_leaves_the_list_is_not_updated_and_a_joiner_arrives(sandbox):
    sandbox.seed(300)
    hubspot_pull()
    contact_list = make_inclusion_list()
    sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    leaver = Contact.objects.filter(memberships__contact_list=contact_list).exclude(salesforce_id="").first()
    joiner = (
        Contact.objects.exclude(memberships__contact_list=contact_list)
        .exclude(email="")
        .exclude(lastname="")
        .filter(raw_properties__country="Spain")
        .first()
    )
    # The leaver's edit also takes it out of the list: that edit must not reach Salesforce.
    edit_in_hubspot(sandbox, leaver, country="Spain", jobtitle="Left the list")
    edit_in_hubspot(sandbox, joiner, country="France", lifecyclestage="marketingqualifiedlead")
    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    lead = sandbox.soql(f"SELECT Id, Title, Country FROM Lead WHERE Id = '{leaver.salesforce_id}'")[0]
    assert lead["Title"] != "Left the list" and lead["Country"] != "Spain"
    joiner.refresh_from_db()
    assert joiner.salesforce_id, SyncRecord.objects.filter(contact=joiner).values()
    assert sandbox.soql(f"SELECT Id FROM Lead WHERE Id = '{joiner.salesforce_id}'")
    assert SyncRecord.objects.filter(run=run, contact=joiner, action="created").exists()


def test_a_salesforce_lead_creates_a_hubspot_contact_whatever_the_list_but_later_edits_stay(sandbox):
    sandbox.seed(50)
    hubspot_pull()
    make_inclusion_list()
    sync_cycle(trigger=SyncRun.Trigger.COMMAND)  # sets the Salesforce watermarks
    sf = sandbox.salesforce()
    created = sf.Lead.create(
        {"FirstName": "Grace", "LastName": "Hopper", "Company": "Navy", "Email": "grace@navy.example", "Country": "USA"}
    )
    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    found = sandbox.hubspot().crm.contacts.basic_api.get_by_id(
        "grace@navy.example", id_property="email", properties=["firstname", "lastname", "company"]
    )
    assert found.properties["lastname"] == "Hopper"
    assert run.created_in_hubspot == 1
    contact = Contact.objects.get(hubspot_id=found.id)
    assert contact.salesforce_id == created["id"]
    # Not a member (country USA): its later Salesforce edits do not reach HubSpot.
    sf.Lead.update(created["id"], {"LastName": "Hopper-Murray"})
    sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    again = sandbox.hubspot().crm.contacts.basic_api.get_by_id(found.id, properties=["lastname"])
    assert again.properties["lastname"] == "Hopper"


def test_list_resync_queues_every_member_and_pushes(sandbox):
    sandbox.seed(200)
    hubspot_pull()
    contact_list = make_inclusion_list()
    run = list_resync(contact_list=contact_list, run_async=False)
    assert run.progress_total == contact_list.size
    run = push_pending(run=run)
    assert run.status in ("succeeded", "partial")
    assert run.created + run.failed + run.skipped == contact_list.size
    assert run.progress_done == run.progress_total


def test_no_inclusion_list_sends_nobody(sandbox):
    sandbox.seed(100)
    hubspot_pull()
    contact_list = list_create(name="All", processing_type="DYNAMIC", filter_branch=CRITERIA)
    list_refresh(contact_list=contact_list)
    run = list_resync(contact_list=contact_list, run_async=False)
    push_pending(run=run)
    assert salesforce_leads(sandbox) == []
    assert SyncRecord.objects.filter(skip_reason="no_inclusion_list").count() == run.progress_total


def test_a_property_deleted_in_hubspot_fails_the_list_and_gates_nobody_in(sandbox):
    """The list turns FAILED naming the property; the inclusion list then sends nobody."""
    import requests

    sandbox.seed(100)
    hubspot_pull()
    criteria = filter_branch([property_filter("industry_segment", "ALL_PROPERTY", "IS_KNOWN")])
    contact_list = list_create(name="Has a segment", processing_type="DYNAMIC", filter_branch=criteria)
    list_refresh(contact_list=contact_list)
    contact_list.refresh_from_db()
    assert contact_list.processing_status == "COMPLETE" and contact_list.size > 0
    inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)

    response = requests.delete(
        f"{sandbox.hubspot_url}/crm/v3/properties/contacts/industry_segment",
        headers={"Authorization": "Bearer sandbox"},
        timeout=10,
    )
    assert response.status_code == 204
    hubspot_pull()
    contact_list.refresh_from_db()
    assert contact_list.processing_status == "FAILED"
    assert "industry_segment" in contact_list.error
    run = list_resync(contact_list=contact_list, run_async=False)
    push_pending(run=run)
    assert salesforce_leads(sandbox) == []
    assert SyncRecord.objects.filter(skip_reason="list_not_ready").count() == run.progress_total > 0


def test_a_contact_deleted_in_hubspot_without_a_webhook_stops_syncing(sandbox):
    from sync.models import Watermark

    sandbox.seed(100)
    hubspot_pull()
    contact_list = make_inclusion_list()
    member = Contact.objects.filter(memberships__contact_list=contact_list).first()
    sandbox.hubspot().crm.contacts.basic_api.archive(member.hubspot_id)
    # The hourly look for deletions is due.
    Watermark.objects.filter(source=Watermark.Source.HUBSPOT_ARCHIVED).update(value=None)
    hubspot_pull()
    member.refresh_from_db()
    assert member.archived
    assert not member.memberships.filter(contact_list=contact_list).exists()
