"""django-q2 entry points: thin, take ids, call one service."""

from __future__ import annotations

from sync.models import SyncRun


def sync_cycle_task(trigger: str = SyncRun.Trigger.SCHEDULE) -> int:
    from sync.services import sync_cycle

    return sync_cycle(trigger=trigger).pk


def push_task(run_id: int) -> dict:
    from sync.services import push_pending

    stats: dict = {}
    run = push_pending(run=SyncRun.objects.get(pk=run_id), stats=stats)
    return {"run": run.pk, **stats}
