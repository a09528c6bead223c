"""Retention of the per-record sync log (scheduled daily by ``sync.schedules``).

Records older than ``SYNC_RECORD_RETENTION_DAYS`` (default 30) are deleted in small batches,
so the sweep never holds a long lock on a busy table. Runs and their counters are kept: the
health page's charts and API figures read the runs, not the records.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from sync.models import SyncRecord

DEFAULT_RETENTION_DAYS = 30
BATCH = 5000


def retention_days() -> int:
    return int(getattr(settings, "SYNC_RECORD_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def records_sweep(*, now: dt.datetime | None = None, days: int | None = None, batch_size: int = BATCH) -> int:
    """Delete records older than the retention period. Returns how many were deleted."""
    days = retention_days() if days is None else days
    if days <= 0:
        # 0 would empty the log on every sweep; a negative value is a typo. Keep everything.
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted = 0
    while True:
        ids = list(
            SyncRecord.objects.filter(created_at__lt=cutoff)
            .order_by("created_at", "id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        count, _detail = SyncRecord.objects.filter(pk__in=ids).delete()
        deleted += count
