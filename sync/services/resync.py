"""What queues contacts for sending: the inclusion list's joins, a resync of a list, of contacts
or of sync-log records; and ignoring records ops decided not to fix. Each manual action is
audited (``SettingChange``) and starts its run."""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import ngettext
from django_q.tasks import async_task

from integration.models import SettingChange, SyncSettings
from lists.models import ContactList, ListMembership, MembershipChange
from sync.engine import queue
from sync.models import Reason, SyncRecord, SyncRun, Watermark
from sync.services.runs import sync_run_start

# Contacts queued per statement by a resync.
CHUNK = 2000


def inclusion_joins_enqueue() -> int:
    """Queue the contacts that joined the inclusion list since the last call.

    Joins are read from lists.MembershipChange, so joins found by an incremental update and by a
    full refresh (criteria edited) trigger alike. When another list becomes the inclusion list,
    its position starts at the beginning: the next cycle queues its current members once (those
    Salesforce already holds with the same values cost no API call). Choosing the list itself
    starts nothing; the cycle that follows does the sending.
    """
    sync_settings = SyncSettings.load()
    list_id = sync_settings.inclusion_list_id
    with transaction.atomic():
        mark, _created = Watermark.objects.select_for_update().get_or_create(source=Watermark.Source.INCLUSION_JOINS)
        newest = MembershipChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
        stored_list, _sep, stored_pos = mark.cursor.partition(":")
        position = int(stored_pos or 0) if stored_list == str(list_id) else 0
        mark.cursor = f"{list_id or ''}:{newest}"
        mark.save(update_fields=["cursor", "updated_at"])
        if list_id is None or newest <= position:
            return 0
        joined = MembershipChange.objects.filter(
            contact_list_id=list_id, kind=MembershipChange.Kind.JOINED, id__gt=position, id__lte=newest
        ).values("contact_id")
        # Only those still members: a join followed by a leave sends nothing.
        members = list(
            ListMembership.objects.filter(contact_list_id=list_id, contact_id__in=joined).values_list(
                "contact_id", flat=True
            )
        )
    return queue.enqueue(contact_ids=members, reason=Reason.JOINED_LIST)


def _enqueue_push(run: SyncRun) -> None:
    transaction.on_commit(lambda: async_task("sync.tasks.push_task", run.pk, task_name=f"push-run-{run.pk}"))


def list_resync(*, contact_list: ContactList, actor=None, run_async: bool = True) -> SyncRun:
    """Queue every member of the list for sending, then push (HubSpot's "Resync" of a list).

    Members are still gated at send time: resyncing a list that is not the inclusion list sends
    only those of its members who are also in the inclusion list.
    """
    member_ids = ListMembership.objects.filter(contact_list=contact_list).values_list("contact_id", flat=True)
    total = 0
    batch: list[int] = []
    for contact_id in member_ids.iterator(chunk_size=CHUNK):
        batch.append(contact_id)
        if len(batch) >= CHUNK:
            total += queue.enqueue(contact_ids=batch, reason=Reason.LIST_RESYNC)
            batch = []
    total += queue.enqueue(contact_ids=batch, reason=Reason.LIST_RESYNC)
    if SyncSettings.load().inclusion_list_id == contact_list.pk:
        # Every member is queued: the joins so far need no second pass.
        newest = MembershipChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
        Watermark.objects.update_or_create(
            source=Watermark.Source.INCLUSION_JOINS, defaults={"cursor": f"{contact_list.pk}:{newest}"}
        )
    with transaction.atomic():
        run = sync_run_start(trigger=SyncRun.Trigger.LIST_RESYNC, actor=actor, contact_list=contact_list, total=total)
        SettingChange.objects.create(
            actor=run.triggered_by,
            setting="manual_resync",
            new_value=f"{contact_list.name} (#{contact_list.pk})",
            detail={"list_id": contact_list.pk, "queued": total, "run_id": run.pk},
        )
        if run_async:
            _enqueue_push(run)
    return run


def contacts_resync(*, contact_ids: Collection[int], actor=None, run_async: bool = True) -> SyncRun | None:
    """Queue these contacts (e.g. "Resync selected" in the sync log) and push them."""
    ids = sorted(set(contact_ids))
    if not ids:
        return None
    queued = queue.enqueue(contact_ids=ids, reason=Reason.CONTACT_RESYNC)
    with transaction.atomic():
        run = sync_run_start(trigger=SyncRun.Trigger.CONTACT_RESYNC, actor=actor, total=queued)
        SettingChange.objects.create(
            actor=run.triggered_by,
            setting="manual_resync",
            new_value=ngettext("%(n)d contact", "%(n)d contacts", queued) % {"n": queued},
            detail={"contact_ids": ids[:1000], "queued": queued, "run_id": run.pk},
        )
        if run_async:
            _enqueue_push(run)
    return run


def records_ignore(*, records: QuerySet[SyncRecord], actor=None) -> int:
    """Hide failures ops decided not to fix from the health page (they stay in the log)."""
    ids = list(records.values_list("id", flat=True))
    count = SyncRecord.objects.filter(id__in=ids, ignored=False).update(ignored=True)
    if count:
        SettingChange.objects.create(
            actor=actor if getattr(actor, "pk", None) else None,
            setting="ignore_records",
            new_value=ngettext("%(n)d record", "%(n)d records", count) % {"n": count},
            detail={"record_ids": ids[:1000]},
        )
    return count


def records_resync(*, records: QuerySet[SyncRecord], actor=None) -> tuple[SyncRun | None, int]:
    """Queue the contacts behind records for a new send; ``contacts_resync`` queues, audits and
    starts the push. Returns the run and how many contacts were queued."""

    contact_ids = set(records.exclude(contact=None).values_list("contact_id", flat=True).distinct().order_by())
    if not contact_ids:
        return None, 0
    run = contacts_resync(contact_ids=contact_ids, actor=actor)
    return run, len(contact_ids)
