"""django-q2 entry points: thin, take ids, call one service."""

from __future__ import annotations

from sync.models import SyncRun


def sync_cycle_task(trigger: str = SyncRun.Trigger.SCHEDULE) -> int:
    from sync.schedules import sync_schedule_follow_settings
    from sync.services import sync_cycle

    sync_schedule_follow_settings()
    return sync_cycle(trigger=trigger).pk


def push_task(run_id: int) -> dict:
    from sync.services import push_pending

    stats: dict = {}
    run = push_pending(run=SyncRun.objects.get(pk=run_id), stats=stats)
    return {"run": run.pk, **stats}
