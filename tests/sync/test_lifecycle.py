"""Salesforce's lifecycle, through real cycles against both emulators: a Lead converted, a record
deleted under each ``salesforce_deletions`` setting, two records merged. Sales acts in Salesforce
as its users do (the Convert button, Delete, Merge: the emulator's own functions), marketing
edits in HubSpot, and the sync follows.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from integration.models import SyncSettings
from lists.models import Contact
from sync.models import SyncedState, SyncRecord, SyncRun
from sync.services import contacts_resync, hubspot_pull, push_pending
from tests.sync.test_field_rules import World, people

pytestmark = pytest.mark.django_db

Deletions = SyncSettings.SalesforceDeletions


class Sales(World):
    """World, plus what sales does to records in Salesforce."""

    def control(self, path: str, body: dict | None = None) -> dict:
        response = self.sandbox.session().post(f"{self.sandbox.salesforce_url}/_sandbox/{path}", json=body or {})
        assert response.status_code == 200, response.text
        return response.json()

    def convert(self, lead_id: str) -> dict:
        return self.control(f"leads/{lead_id}/convert")

    def records(self, sobject: str, email: str) -> list[dict]:
        return self.sandbox.soql(f"SELECT Id, Title, Phone, OwnerId FROM {sobject} WHERE Email = '{email}'")

    def contact_of(self, hubspot_id: str) -> Contact:
        return Contact.objects.get(hubspot_id=hubspot_id)


@pytest.fixture
def sales(sandbox, settings):
    settings.SYNC_SALESFORCE_DELETIONS_EVERY_SECONDS = 0  # every cycle reads Salesforce's deletions
    return Sales(sandbox)


def set_deletions(policy: str) -> None:
    SyncSettings.objects.filter(pk=1).update(salesforce_deletions=policy)


def test_a_converted_lead_hands_its_contact_to_the_new_contact_and_is_never_written_again(sales):
    ada = people(1)[0]
    ids = sales.start([ada])
    lead = sales.lead(ada["email"])
    converted = sales.convert(lead["Id"])

    sales.cycle()
    contact = sales.contact_of(ids[ada["email"]])
    assert (contact.salesforce_object, contact.salesforce_id[:15]) == ("Contact", converted["contactId"][:15])
    relinked = SyncRecord.objects.get(action=SyncRecord.Action.RELINKED)
    assert "converted" in relinked.message and lead["Id"] in relinked.message

    sales.edit_hubspot(ids[ada["email"]], jobtitle="Head of Engines")
    sales.cycle()
    assert [r["Title"] for r in sales.records("Contact", ada["email"])] == ["Head of Engines"]
    assert sales.lead(ada["email"])["Title"] == "CEO"  # untouched since its conversion
    assert not SyncRecord.objects.filter(action=SyncRecord.Action.FAILED).exists()


def test_a_push_queued_before_the_conversion_follows_the_lead_to_its_contact_without_a_failure(sales):
    ada = people(1)[0]
    ids = sales.start([ada])
    sales.edit_hubspot(ids[ada["email"]], jobtitle="Head of Engines")
    hubspot_pull()  # queued for the Lead...
    sales.convert(sales.lead(ada["email"])["Id"])  # ...which sales converts before the push

    run = push_pending(run=SyncRun.objects.create(trigger=SyncRun.Trigger.COMMAND))

    assert [r["Title"] for r in sales.records("Contact", ada["email"])] == ["Head of Engines"]
    assert sales.lead(ada["email"])["Title"] == "CEO"
    assert not SyncRecord.objects.filter(run=run, action=SyncRecord.Action.FAILED).exists()
    assert SyncRecord.objects.filter(run=run, action=SyncRecord.Action.RELINKED).exists()
    assert sales.contact_of(ids[ada["email"]]).salesforce_object == "Contact"


def test_the_convert_command_converts_a_lead_as_the_convert_button_does(sales, tmp_path, settings):
    ada = people(1)[0]
    sales.start([ada])
    lead = sales.lead(ada["email"])
    state_file = sales.sandbox.salesforce_app.store.path
    call_command("sandbox_convert_lead", lead["Id"], salesforce_db=state_file)
    converted = sales.sandbox.soql(f"SELECT IsConverted, ConvertedContactId FROM Lead WHERE Id = '{lead['Id']}'")[0]
    assert converted["IsConverted"] is True
    assert [r["Id"] for r in sales.records("Contact", ada["email"])] == [converted["ConvertedContactId"]]


def delete_lead(sales: Sales, email: str) -> str:
    lead_id = sales.lead(email)["Id"]
    sales.salesforce.Lead.delete(lead_id)
    return lead_id


@pytest.mark.parametrize("found_by", ["the pull", "a push"])
def test_a_deleted_lead_is_not_recreated_when_kept_unlinked_but_a_manual_resync_may(sales, found_by):
    ada = people(1)[0]
    ids = sales.start([ada])
    lead_id = delete_lead(sales, ada["email"])
    if found_by == "the pull":
        sales.cycle()  # reads Salesforce's deleted records
        assert sales.contact_of(ids[ada["email"]]).salesforce_id == ""
    sales.edit_hubspot(ids[ada["email"]], jobtitle="Still here")
    sales.cycle()

    assert sales.records("Lead", ada["email"]) == []
    unlinked = SyncRecord.objects.get(action=SyncRecord.Action.UNLINKED)
    assert lead_id in unlinked.message and "keep unlinked" in unlinked.message
    if found_by == "the pull":
        skipped = SyncRecord.objects.get(skip_reason=SyncRecord.SkipReason.SALESFORCE_DELETED)
        assert "Resync the contact" in skipped.message
    assert SyncedState.objects.get(contact__hubspot_id=ids[ada["email"]]).salesforce_deleted_id == lead_id
    assert not SyncRecord.objects.filter(action=SyncRecord.Action.FAILED).exists()

    run = contacts_resync(contact_ids=[sales.contact_of(ids[ada["email"]]).pk], run_async=False)
    push_pending(run=run)
    [lead] = sales.records("Lead", ada["email"])
    assert lead["Id"] != lead_id and lead["Title"] == "Still here"


def test_a_deleted_lead_is_recreated_when_the_setting_says_so(sales):
    set_deletions(Deletions.RECREATE)
    ada = people(1)[0]
    ids = sales.start([ada])
    lead_id = delete_lead(sales, ada["email"])
    sales.cycle()  # the pull reads the deletion and queues the contact
    sales.cycle()
    [lead] = sales.records("Lead", ada["email"])
    assert lead["Id"] != lead_id
    assert sales.contact_of(ids[ada["email"]]).salesforce_id == lead["Id"]
    assert "re-create" in SyncRecord.objects.get(action=SyncRecord.Action.UNLINKED).message


def test_a_deleted_lead_archives_its_hubspot_contact_when_the_setting_says_so(sales):
    set_deletions(Deletions.ARCHIVE_IN_HUBSPOT)
    ada, grace = people(2)
    ids = sales.start([ada, grace])
    delete_lead(sales, ada["email"])
    sales.cycle()

    archived = sales.sandbox.hubspot().crm.contacts.basic_api.get_page(archived=True, limit=100).results
    assert [c.id for c in archived] == [ids[ada["email"]]]
    assert sales.contact_of(ids[ada["email"]]).archived
    assert not sales.contact_of(ids[grace["email"]]).archived
    assert SyncRecord.objects.filter(action=SyncRecord.Action.ARCHIVED, hubspot_id=ids[ada["email"]]).exists()


def test_a_lead_merged_into_another_follows_the_survivor(sales):
    ada = people(1)[0]
    ids = sales.start([ada])
    loser = sales.lead(ada["email"])["Id"]
    survivor = sales.salesforce.Lead.create({"LastName": "Lovelace", "Company": "Engines", "Email": "a@other.example"})
    sales.control("merge", {"sobject": "Lead", "masterId": survivor["id"], "loserIds": [loser]})
    sales.cycle()
    assert sales.contact_of(ids[ada["email"]]).salesforce_id[:15] == survivor["id"][:15]
    sales.cycle()  # HubSpot's values for the survivor's blanks, queued by the pull, pushed

    # The survivor is a new record to the contact: what one side lacks the other fills, and where
    # both hold a value Salesforce's (the merge's) goes, as when a pull links a record.
    [merged] = sales.sandbox.soql("SELECT Title, Phone, Company FROM Lead WHERE Email = 'a@other.example'")
    assert (merged["Title"], merged["Phone"], merged["Company"]) == ("CEO", ada["phone"], "Engines")
    assert sales.hubspot_values(ids[ada["email"]])["email"] == "a@other.example"

    sales.edit_hubspot(ids[ada["email"]], jobtitle="Merged and well")
    sales.cycle()
    assert sales.records("Lead", "a@other.example")[0]["Title"] == "Merged and well"
    assert sales.records("Lead", ada["email"]) == []  # nothing re-created
    assert SyncRecord.objects.filter(action=SyncRecord.Action.RELINKED, message__contains="merged").exists()


def test_a_deletion_reaches_the_contacts_timeline(sales, admin_client):
    ada = people(1)[0]
    ids = sales.start([ada])
    delete_lead(sales, ada["email"])
    sales.cycle()
    contact = sales.contact_of(ids[ada["email"]])
    page = admin_client.get(reverse("sync:contact_timeline", args=[contact.pk]))
    assert page.status_code == 200
    assert "keep unlinked" in page.content.decode()
