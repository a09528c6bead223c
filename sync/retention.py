"""Retention of the per-record sync log, and the schedules of the ops jobs.

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


def task_records_sweep() -> int:
    """django-q2 entry point."""
    return records_sweep()


SCHEDULES = {
    # name: (function, schedule type, minutes)
    "sync: sweep old sync records": ("sync.retention.task_records_sweep", "D", None),
    "sync: email alerts": ("sync.alerts.task_alerts_check", "I", 5),
}


def schedules_ensure() -> list:
    """Create or update the django-q2 schedules of the retention sweep and the alerts check.

    Idempotent: run it after every migrate or deploy.
    """
    from django_q.models import Schedule

    out = []
    for name, (func, schedule_type, minutes) in SCHEDULES.items():
        defaults = {"func": func, "schedule_type": schedule_type, "repeats": -1}
        if minutes:
            defaults["minutes"] = minutes
        schedule, _created = Schedule.objects.update_or_create(name=name, defaults=defaults)
        out.append(schedule)
    return out
