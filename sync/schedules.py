"""The periodic sync, created idempotently (``Schedule.name`` is not unique: update_or_create)."""

from __future__ import annotations

from django_q.models import Schedule

SYNC_SCHEDULE = "salesforce-sync-cycle"


def ensure_schedules() -> None:
    from integration.models import SyncSettings

    minutes = max(1, SyncSettings.load().polling_interval_minutes)
    Schedule.objects.update_or_create(
        name=SYNC_SCHEDULE,
        defaults={
            "func": "sync.tasks.sync_cycle_task",
            "args": "'schedule'",
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
        },
    )
    from lists.tasks import ensure_schedules as lists_schedules
    from sync.retention import schedules_ensure

    # The daily sweep of old sync records and the alerts check; the daily refresh of lists whose
    # criteria use "N days ago".
    schedules_ensure()
    lists_schedules()


def sync_schedule_follow_settings() -> None:
    """The polling interval is a setting on the connected-app page: the periodic cycle picks a
    change up itself (the integration app does not reach into the sync's schedules)."""
    from integration.models import SyncSettings

    minutes = max(1, SyncSettings.load().polling_interval_minutes)
    Schedule.objects.filter(name=SYNC_SCHEDULE).exclude(minutes=minutes).update(minutes=minutes)
