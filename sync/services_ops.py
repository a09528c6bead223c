"""Writes the ops view makes, over the engine's services (``sync.services``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from sync.models import SyncRecord, SyncRun
from sync.services import contacts_resync


def records_resync(*, records: QuerySet[SyncRecord] | Iterable[SyncRecord], actor=None) -> tuple[SyncRun | None, int]:
    """Queue the contacts behind records for a new send; ``contacts_resync`` queues, audits and
    starts the push. Returns the run and how many contacts were queued."""

    if isinstance(records, QuerySet):
        contact_ids = set(records.exclude(contact=None).values_list("contact_id", flat=True).distinct().order_by())
    else:
        contact_ids = {r.contact_id for r in records if r.contact_id}
    if not contact_ids:
        return None, 0
    run = contacts_resync(contact_ids=contact_ids, actor=actor)
    return run, len(contact_ids)
