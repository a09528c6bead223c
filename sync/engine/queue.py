"""The pending-sync queue: one row per contact, coalesced, claimed by workers with a lease.

The database is the source of truth (not the broker): a lost task is redone by the next cycle,
and a claim whose worker died expires after ``CLAIM_LEASE``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from sync.models import PendingSync, Reason

# A claim held this long without renewal is presumed dead. The push renews its claims before
# every Salesforce call; a Bulk job is waited for up to an hour in the client, hence the margin.
CLAIM_LEASE = timedelta(minutes=75)
CLAIM_FIELDS = (
    "id",
    "contact_id",
    "reasons",
    "attempts",
    "updated_at",
    "next_attempt_at",
    "last_error",
    "claimed_by",
    "claimed_at",
    "contact__id",
    "contact__hubspot_id",
    "contact__email",
    "contact__firstname",
    "contact__lastname",
    "contact__raw_properties",
    "contact__hubspot_updated_at",  # HubSpot's time of a field, when its history is not read
    "contact__archived",
    "contact__salesforce_id",
    "contact__salesforce_object",
)
CHUNK = 500


def worker_name() -> str:
    """``host:pid:random``: unique per pusher, and tells which process holds a claim."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:64]


def process_alive(worker: str) -> bool:
    """Whether the process named in ``worker`` still runs. Only answerable for this host: a
    worker on another machine is presumed alive (its claims expire with the lease)."""
    host, _sep, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_dead_claims() -> int:
    """Free the entries claimed by processes of this host that died (``kill -9``, a crash), so a
    restarted worker takes them at once instead of waiting for the lease to run out."""
    host = socket.gethostname()
    workers = set(
        PendingSync.objects.filter(claimed_by__startswith=f"{host}:").values_list("claimed_by", flat=True).distinct()
    )
    dead = [w for w in workers if not process_alive(w)]
    if not dead:
        return 0
    return PendingSync.objects.filter(claimed_by__in=dead).update(claimed_by="", claimed_at=None)


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def enqueue(*, contact_ids: Iterable[int], reason: str, due_at: datetime | None = None) -> int:
    """Queue contacts for sending, merging ``reason`` into an existing entry.

    A new reason (anything but a retry) makes the entry due now: the contact changed, so a
    back-off from an earlier failure no longer applies. Returns how many contacts were queued.
    """
    ids = sorted(set(contact_ids))
    if not ids:
        return 0
    now = timezone.now()
    for chunk in _chunks(ids):
        with transaction.atomic():
            existing = {
                row.contact_id: row for row in PendingSync.objects.select_for_update().filter(contact_id__in=chunk)
            }
            changed = []
            for row in existing.values():
                if reason not in row.reasons:
                    row.reasons = [*row.reasons, reason]
                if reason != Reason.RETRY:
                    row.next_attempt_at = due_at
                    row.attempts = 0
                row.updated_at = now
                changed.append(row)
            if changed:
                PendingSync.objects.bulk_update(changed, ["reasons", "next_attempt_at", "attempts", "updated_at"])
            new = [
                PendingSync(contact_id=cid, reasons=[reason], next_attempt_at=due_at)
                for cid in chunk
                if cid not in existing
            ]
            PendingSync.objects.bulk_create(new, ignore_conflicts=True)
    return len(ids)


def claim(*, worker: str, limit: int, exclude_retries: bool = False) -> list[PendingSync]:
    """Take up to ``limit`` due, unclaimed entries for this worker.

    PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent workers never take the same
    contact. SQLite: transactions are IMMEDIATE (one writer at a time), which serialises claims.
    """
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE)
    with transaction.atomic():
        qs = PendingSync.objects.filter(due & free).order_by("id")
        if exclude_retries:
            qs = qs.exclude(reasons=[Reason.RETRY])
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("id", flat=True)[:limit])
        if not ids:
            return []
        PendingSync.objects.filter(id__in=ids).update(claimed_by=worker, claimed_at=now)
    # Only what the push reads: the typed properties (with their indexes) would double the
    # memory of a 50,000-contact batch for nothing.
    return list(
        PendingSync.objects.filter(id__in=ids, claimed_by=worker)
        .select_related("contact")
        .only(*CLAIM_FIELDS)
        .order_by("id")
    )


def renew(*, worker: str) -> int:
    """Extend this worker's claims by a whole lease (it is alive and still on them)."""
    return PendingSync.objects.filter(claimed_by=worker).update(claimed_at=timezone.now())


def complete(entries: list[PendingSync]) -> None:
    """Done with these entries: remove them, unless the contact was queued again meanwhile
    (changed while its push was in flight) — then release the claim so it is sent again."""
    if not entries:
        return
    for chunk in _chunks(entries):
        with transaction.atomic():
            current = PendingSync.objects.filter(id__in=[e.id for e in chunk]).values_list("id", "updated_at")
            seen = {e.id: e.updated_at for e in chunk}
            requeued = [pk for pk, updated in current if updated > seen[pk]]
            PendingSync.objects.filter(id__in=[e.id for e in chunk]).exclude(id__in=requeued).delete()
            if requeued:
                PendingSync.objects.filter(id__in=requeued).update(claimed_by="", claimed_at=None)


def release(entries: list[PendingSync], *, delay: float = 0) -> None:
    """Give entries back untouched (``delay``: not due again for that many seconds)."""
    if not entries:
        return
    changes: dict = {"claimed_by": "", "claimed_at": None}
    if delay:
        changes["next_attempt_at"] = timezone.now() + timedelta(seconds=delay)
    PendingSync.objects.filter(id__in=[e.id for e in entries]).update(**changes)


def due_soon(*, seconds: float) -> bool:
    """Unclaimed entries becoming due within ``seconds`` (deferred ones, not backed-off retries)."""
    now = timezone.now()
    return PendingSync.objects.filter(
        claimed_at__isnull=True, next_attempt_at__gt=now, next_attempt_at__lte=now + timedelta(seconds=seconds)
    ).exists()


def backoff(attempts: int) -> timedelta:
    """Exponential back-off for transient failures: 30 s, 1 min, 2 min ... capped at 1 h."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def retry_later(entries: list[PendingSync], *, error: str) -> None:
    now = timezone.now()
    for entry in entries:
        entry.attempts += 1
        entry.next_attempt_at = now + backoff(entry.attempts)
        if Reason.RETRY not in entry.reasons:
            entry.reasons = [*entry.reasons, Reason.RETRY]
        entry.last_error = error[:2000]
        entry.claimed_by = ""
        entry.claimed_at = None
    PendingSync.objects.bulk_update(
        entries, ["attempts", "next_attempt_at", "reasons", "last_error", "claimed_by", "claimed_at"]
    )
