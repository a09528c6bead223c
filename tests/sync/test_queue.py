"""The pending-sync queue: coalesced, claimed once, requeued when the contact changes in flight."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.engine import queue
from sync.models import PendingSync, Reason
from tests.lists.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_enqueue_coalesces_one_entry_per_contact_with_all_reasons():
    a, b = ContactFactory(), ContactFactory()
    queue.enqueue(contact_ids=[a.pk, b.pk], reason=Reason.PROPERTY_CHANGED)
    queue.enqueue(contact_ids=[a.pk], reason=Reason.JOINED_LIST)
    queue.enqueue(contact_ids=[a.pk], reason=Reason.JOINED_LIST)
    assert PendingSync.objects.count() == 2
    assert PendingSync.objects.get(contact=a).reasons == [Reason.PROPERTY_CHANGED, Reason.JOINED_LIST]


def test_claimed_entries_are_not_claimed_again_until_the_lease_expires():
    contacts = ContactFactory.create_batch(5)
    queue.enqueue(contact_ids=[c.pk for c in contacts], reason=Reason.LIST_RESYNC)
    first = queue.claim(worker="w1", limit=3)
    second = queue.claim(worker="w2", limit=10)
    assert len(first) == 3 and len(second) == 2
    assert not {e.contact_id for e in first} & {e.contact_id for e in second}
    assert queue.claim(worker="w3", limit=10) == []
    PendingSync.objects.filter(claimed_by="w1").update(claimed_at=timezone.now() - queue.CLAIM_LEASE - timedelta(1))
    assert len(queue.claim(worker="w3", limit=10)) == 3  # a dead worker's claim expires


def test_complete_removes_entries_but_keeps_one_requeued_while_in_flight():
    a, b = ContactFactory(), ContactFactory()
    queue.enqueue(contact_ids=[a.pk, b.pk], reason=Reason.PROPERTY_CHANGED)
    claimed = queue.claim(worker="w", limit=10)
    queue.enqueue(contact_ids=[b.pk], reason=Reason.PROPERTY_CHANGED)  # b changed during the push
    queue.complete(claimed)
    remaining = list(PendingSync.objects.all())
    assert [e.contact_id for e in remaining] == [b.pk]
    assert remaining[0].claimed_by == ""


def test_retry_later_backs_off_and_a_new_change_makes_it_due_now():
    a = ContactFactory()
    queue.enqueue(contact_ids=[a.pk], reason=Reason.PROPERTY_CHANGED)
    entries = queue.claim(worker="w", limit=10)
    queue.retry_later(entries, error="503")
    entry = PendingSync.objects.get()
    assert entry.attempts == 1 and Reason.RETRY in entry.reasons
    assert entry.next_attempt_at > timezone.now()
    assert queue.claim(worker="w", limit=10) == []
    queue.enqueue(contact_ids=[a.pk], reason=Reason.PROPERTY_CHANGED)
    assert len(queue.claim(worker="w", limit=10)) == 1


def test_backoff_grows_and_is_capped():
    assert queue.backoff(1) < queue.backoff(2) < queue.backoff(3)
    assert queue.backoff(50) == timedelta(hours=1)


def test_retries_only_entries_can_be_left_out_when_the_budget_is_tight():
    a, b = ContactFactory(), ContactFactory()
    queue.enqueue(contact_ids=[a.pk], reason=Reason.RETRY)
    queue.enqueue(contact_ids=[b.pk], reason=Reason.PROPERTY_CHANGED)
    claimed = queue.claim(worker="w", limit=10, exclude_retries=True)
    assert [e.contact_id for e in claimed] == [b.pk]


def test_the_periodic_cycle_follows_the_polling_interval_setting():
    from django_q.models import Schedule

    from integration.models import SyncSettings
    from sync.schedules import SYNC_SCHEDULE, ensure_schedules, sync_schedule_follow_settings

    ensure_schedules()
    ensure_schedules()  # idempotent
    assert Schedule.objects.filter(name=SYNC_SCHEDULE).count() == 1
    SyncSettings.objects.update(polling_interval_minutes=5)
    sync_schedule_follow_settings()
    assert Schedule.objects.get(name=SYNC_SCHEDULE).minutes == 5


def test_a_worker_renews_its_claims_so_a_long_batch_keeps_them():
    a = ContactFactory()
    queue.enqueue(contact_ids=[a.pk], reason=Reason.LIST_RESYNC)
    queue.claim(worker="w1", limit=10)
    # The batch has been running for longer than a lease: without a renewal, w2 could take it.
    PendingSync.objects.update(claimed_at=timezone.now() - queue.CLAIM_LEASE - timedelta(minutes=1))
    assert queue.renew(worker="w1") == 1
    assert queue.claim(worker="w2", limit=10) == []
