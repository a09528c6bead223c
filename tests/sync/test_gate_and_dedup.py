"""The gate at send time and the de-duplication by email, closing gaps docs/guarantees.md found.

- Two contacts with one email (in any case), queued together and claimed by two workers: only the
  first creates the Salesforce record, the other waits and then updates it.
- A contact that leaves the inclusion list after its batch was claimed, but before the call, is
  not sent (the gate is checked again right before each call).
- An inclusion list that is PROCESSING or FAILED, no list, or the sync switched off: nobody passes.
"""

from __future__ import annotations

import pytest

from integration.clients.salesforce import get_salesforce_client
from integration.models import SyncSettings
from lists.models import ContactList, ListMembership
from sync.engine import queue
from sync.engine.gate import Gate
from sync.engine.push import Pusher
from sync.models import PendingSync, Reason, SyncRecord, SyncRun
from sync.services import sync_run_start
from tests.lists.factories import ContactFactory, ListMembershipFactory

pytestmark = pytest.mark.django_db


def member(contact_list: ContactList, email: str, lastname: str):
    contact = ContactFactory(
        email=email,
        properties={"email": email, "firstname": "Ada", "lastname": lastname, "company": "Analytical Engines"},
    )
    ListMembershipFactory(contact_list=contact_list, contact=contact)
    return contact


def pusher(run: SyncRun, worker: str) -> Pusher:
    return Pusher(run=run, client=get_salesforce_client(), worker=worker)


def leads(sandbox, email: str) -> list[dict]:
    return sandbox.soql(f"SELECT Id, Email, LastName FROM Lead WHERE Email = '{email}'")


def queued_pair(contact_list: ContactList, first: tuple[str, str], second: tuple[str, str]):
    """Two members (email, last name), queued in this order, and the run that pushes them."""
    contacts = [member(contact_list, *first), member(contact_list, *second)]
    queue.enqueue(contact_ids=[c.pk for c in contacts], reason=Reason.LIST_RESYNC)
    return (*contacts, sync_run_start(trigger=SyncRun.Trigger.LIST_RESYNC, total=2))


def assert_first_created_second_updated(sandbox, run: SyncRun, first, second) -> None:
    found = leads(sandbox, first.email)
    assert len(found) == 1, found
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.salesforce_id == second.salesforce_id == found[0]["Id"]
    actions = dict(SyncRecord.objects.filter(run=run).values_list("contact_id", "action"))
    assert actions == {first.pk: SyncRecord.Action.CREATED, second.pk: SyncRecord.Action.UPDATED}


def test_two_contacts_with_one_email_in_two_workers_make_one_salesforce_record(sandbox, inclusion_list):
    first, second, run = queued_pair(
        inclusion_list, ("ada@engines.example", "Lovelace"), ("ADA@Engines.example", "King")
    )
    worker_a, worker_b = pusher(run, "host:1:a"), pusher(run, "host:2:b")
    claimed_a = queue.claim(worker="host:1:a", limit=1)
    claimed_b = queue.claim(worker="host:2:b", limit=1)
    assert [e.contact_id for e in claimed_a + claimed_b] == [first.pk, second.pk]

    # Worker B is first to reach Salesforce, with the contact queued second: it must wait.
    worker_b.process(claimed_b)
    assert leads(sandbox, "ada@engines.example") == []
    worker_a.process(claimed_a)
    worker_b.run_until_empty()  # the deferred contact's turn comes a second later

    assert_first_created_second_updated(sandbox, run, first, second)


def test_a_leader_finishing_while_its_follower_checks_is_still_seen(sandbox, inclusion_list):
    """The follower's two look-ups (is the email linked? is a lower contact queued?) are separate
    statements. The leader's worker links it and leaves the queue in one commit, which may land
    between them: whichever look-up comes second must then see it. Seen with three workers on
    PostgreSQL (tests/sync/test_multi_worker.py): a block of followers, re-checked every second
    while their leaders' Bulk job ran, each created a second Lead."""
    from django.db import connection

    first, second, run = queued_pair(inclusion_list, ("grace@navy.example", "Hopper"), ("Grace@Navy.example", "Murray"))
    worker_a, worker_b = pusher(run, "host:1:a"), pusher(run, "host:2:b")
    claimed_b = queue.claim(worker="host:2:b", limit=1)
    claimed_a = queue.claim(worker="host:1:a", limit=1)
    assert [e.contact_id for e in claimed_b + claimed_a] == [first.pk, second.pk]
    # Worker A scanned Salesforce when the run began (a big run's look-up), before the leader's
    # Lead existed: only our own database can tell it the record is there now.
    worker_a.directory._scanned = {"Lead": {}, "Contact": {}}

    leader_done = False

    def leader_finishes_after_first_lookup(execute, sql, params, many, context):
        nonlocal leader_done
        result = execute(sql, params, many, context)
        if not leader_done and "LOWER" in sql.upper():
            leader_done = True
            worker_b.process(claimed_b)
        return result

    with connection.execute_wrapper(leader_finishes_after_first_lookup):
        worker_a.process(claimed_a)
    assert leader_done
    worker_a.run_until_empty()

    assert_first_created_second_updated(sandbox, run, first, second)


def test_a_leader_refused_for_good_leaves_its_follower_to_create_the_record(sandbox, inclusion_list):
    first, second, run = queued_pair(
        inclusion_list, ("alan@bletchley.example", ""), ("ALAN@bletchley.example", "Turing")
    )  # Salesforce requires LastName
    pusher(run, "host:1:a").run_until_empty()

    found = leads(sandbox, "alan@bletchley.example")
    assert [lead["LastName"] for lead in found] == ["Turing"]
    records = {r.contact_id: r for r in SyncRecord.objects.filter(run=run)}
    assert (records[first.pk].action, records[first.pk].error_code) == (
        SyncRecord.Action.FAILED,
        "REQUIRED_FIELD_MISSING",
    )
    assert records[second.pk].action == SyncRecord.Action.CREATED
    second.refresh_from_db()
    assert second.salesforce_id == found[0]["Id"]
    assert not PendingSync.objects.exists()


def test_a_contact_leaving_the_list_after_the_claim_is_not_sent(sandbox, inclusion_list, monkeypatch):
    stays = member(inclusion_list, "stays@example.com", "Stays")
    leaves = member(inclusion_list, "leaves@example.com", "Leaves")
    queue.enqueue(contact_ids=[stays.pk, leaves.pk], reason=Reason.LIST_RESYNC)
    run = sync_run_start(trigger=SyncRun.Trigger.LIST_RESYNC, total=2)
    worker = pusher(run, "host:1:a")

    original_send = Pusher._send

    def leave_then_send(self, entries, now):
        # Both passed the gate when the batch started; one leaves while the batch is prepared.
        ListMembership.objects.filter(contact=leaves).delete()
        return original_send(self, entries, now)

    monkeypatch.setattr(Pusher, "_send", leave_then_send)
    worker.run_until_empty()

    assert len(leads(sandbox, "stays@example.com")) == 1
    assert leads(sandbox, "leaves@example.com") == []
    skipped = SyncRecord.objects.get(run=run, contact=leaves)
    assert (skipped.action, skipped.skip_reason) == (SyncRecord.Action.SKIPPED, SyncRecord.SkipReason.NOT_MEMBER)
    assert "Members" in skipped.message


@pytest.mark.parametrize(
    "status", [ContactList.ProcessingStatus.PROCESSING, ContactList.ProcessingStatus.FAILED, "no list", "sync off"]
)
def test_a_list_not_ready_no_list_or_the_sync_off_lets_nobody_through(inclusion_list, status):
    contact = member(inclusion_list, "someone@example.com", "Someone")
    assert Gate.current().members([contact.pk]) == {contact.pk}
    if status == "no list":
        SyncSettings.objects.update(inclusion_list=None)
    elif status == "sync off":
        SyncSettings.objects.update(sync_enabled=False)
    else:
        ContactList.objects.filter(pk=inclusion_list.pk).update(processing_status=status)
    gate = Gate.current()
    assert not gate.is_open and gate.closed_reason
    assert gate.members([contact.pk]) == set()
