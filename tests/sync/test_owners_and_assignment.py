"""Owners sync two-way, matched by email; the lead assignment rule applies alike on every path.

The emulators share owners by email (HubSpot owners and Salesforce users: Amélie, James, Hans),
each has one the other lacks (``hs.only@``, ``sf.only@``), and Salesforce has an active lead
assignment rule routing France to Amélie.
"""

from __future__ import annotations

from collections import Counter

import pytest

from integration.clients.salesforce import get_salesforce_client
from integration.models import SyncSettings
from lists.models import Contact
from sync.engine import queue
from sync.engine.push import Pusher
from sync.models import Reason, SyncRecord, SyncRun
from sync.services import sync_run_start
from tests.lists.factories import ContactFactory, ListMembershipFactory
from tests.sync.test_field_rules import NO_ASSIGNMENT, World, people

pytestmark = pytest.mark.django_db

AMELIE, JAMES = "amelie.martin@sandbox.example", "james.smith@sandbox.example"
HUBSPOT_ONLY, SALESFORCE_ONLY = "hs.only@sandbox.example", "sf.only@sandbox.example"
INTEGRATION_USER = "integration@sandbox.example"


class Owners(World):
    def hubspot_owner(self, email: str) -> str:
        [owner] = self.sandbox.hubspot().crm.owners.owners_api.get_page(email=email).results
        return owner.id

    def salesforce_user(self, email: str) -> str:
        [user] = self.sandbox.soql(f"SELECT Id FROM User WHERE Email = '{email}'")
        return user["Id"]

    def lead_owner(self, email: str) -> str:
        [lead] = self.sandbox.soql(f"SELECT OwnerId FROM Lead WHERE Email = '{email}'")
        return lead["OwnerId"]

    def contact_owner(self, hubspot_id: str) -> str:
        return self.hubspot.get_by_id(hubspot_id, properties=["hubspot_owner_id"]).properties.get("hubspot_owner_id")


@pytest.fixture
def owners(sandbox):
    return Owners(sandbox)


def test_owners_round_trip_by_email_both_ways(owners):
    ada = {**people(1)[0], "hubspot_owner_id": owners.hubspot_owner(AMELIE)}
    ids = owners.start([ada])
    assert owners.lead_owner(ada["email"]) == owners.salesforce_user(AMELIE)

    owners.edit_salesforce(ada["email"], OwnerId=owners.salesforce_user(JAMES))
    owners.cycle()
    assert owners.contact_owner(ids[ada["email"]]) == owners.hubspot_owner(JAMES)

    owners.edit_hubspot(ids[ada["email"]], hubspot_owner_id=owners.hubspot_owner(AMELIE))
    owners.cycle()
    assert owners.lead_owner(ada["email"]) == owners.salesforce_user(AMELIE)
    assert not SyncRecord.objects.filter(action=SyncRecord.Action.FAILED).exists()


def test_an_owner_with_no_match_is_a_logged_skip_of_that_field_never_a_failed_record(owners):
    ada = {**people(1)[0], "hubspot_owner_id": owners.hubspot_owner(AMELIE)}
    ids = owners.start([ada])

    owners.edit_hubspot(ids[ada["email"]], hubspot_owner_id=owners.hubspot_owner(HUBSPOT_ONLY), jobtitle="CTO")
    owners.cycle()
    assert owners.lead_owner(ada["email"]) == owners.salesforce_user(AMELIE)  # kept
    assert owners.lead(ada["email"])["Title"] == "CTO"  # the rest of the record went
    skip = SyncRecord.objects.get(skip_reason=SyncRecord.SkipReason.OWNER_UNMATCHED)
    assert HUBSPOT_ONLY in skip.message and skip.fields == ["OwnerId"]

    owners.edit_salesforce(ada["email"], OwnerId=owners.salesforce_user(SALESFORCE_ONLY))
    owners.cycle()
    owners.cycle()  # logged once, not at every cycle
    assert owners.contact_owner(ids[ada["email"]]) == owners.hubspot_owner(HUBSPOT_ONLY)
    skips = SyncRecord.objects.filter(skip_reason=SyncRecord.SkipReason.OWNER_UNMATCHED)
    assert [s.message for s in skips if SALESFORCE_ONLY in s.message] != []
    assert skips.count() == 2
    assert not SyncRecord.objects.filter(action=SyncRecord.Action.FAILED).exists()
    # A field skipped is not a record skipped: the run's counters do not count it.
    assert all(run.skipped == 0 for run in SyncRun.objects.all())


def queue_members(inclusion_list, count: int) -> list[Contact]:
    contacts = []
    for i in range(count):
        email = f"routed{i}@example.com"
        contact = ContactFactory(
            email=email,
            properties={"email": email, "lastname": f"Routed {i}", "company": "Engines", "country": "France"},
        )
        ListMembershipFactory(contact_list=inclusion_list, contact=contact)
        contacts.append(contact)
    queue.enqueue(contact_ids=[c.pk for c in contacts], reason=Reason.LIST_RESYNC)
    return contacts


def push() -> SyncRun:
    run = sync_run_start(trigger=SyncRun.Trigger.COMMAND)
    Pusher(run=run, client=get_salesforce_client(), worker="host:1:a").run_until_empty()
    return run


@pytest.mark.parametrize("use_rule", [True, False], ids=["rule on", "rule off"])
@pytest.mark.parametrize("count", [10, 3_000], ids=["10 by sObject Collections", "3,000 by Bulk API"])
def test_new_leads_are_routed_alike_in_a_batch_of_10_and_of_3000(sandbox, inclusion_list, use_rule, count):
    SyncSettings.objects.filter(pk=1).update(use_lead_assignment_rules=use_rule)
    queue_members(inclusion_list, count)
    push()
    owners = Counter(r["OwnerId"] for r in sandbox.soql("SELECT OwnerId FROM Lead"))
    [user] = sandbox.soql(f"SELECT Id FROM User WHERE Email = '{AMELIE if use_rule else INTEGRATION_USER}'")
    assert owners == {user["Id"]: count}


def test_an_update_never_routes_a_lead_again(sandbox, inclusion_list):
    SyncSettings.objects.filter(pk=1).update(use_lead_assignment_rules=True)
    [contact] = queue_members(inclusion_list, 1)
    push()
    [james] = sandbox.soql(f"SELECT Id FROM User WHERE Email = '{JAMES}'")
    [lead] = sandbox.soql("SELECT Id FROM Lead")
    sandbox.salesforce().Lead.update(lead["Id"], {"OwnerId": james["Id"]}, headers=NO_ASSIGNMENT)  # sales takes it

    contact.raw_properties = {**contact.raw_properties, "lastname": "Renamed"}
    contact.save()
    queue.enqueue(contact_ids=[contact.pk], reason=Reason.PROPERTY_CHANGED)
    push()
    [lead] = sandbox.soql("SELECT LastName, OwnerId FROM Lead")
    assert (lead["LastName"], lead["OwnerId"]) == ("Renamed", james["Id"])
