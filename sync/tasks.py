"""django-q2 entry points of the sync: thin, they take ids and call one service. Their schedules
are declared in ``sync.schedules``."""

from __future__ import annotations

from lists.models import ContactList
from sync.alerts import alert_delivery_send, alerts_check
from sync.models import DryRun, SyncRun
from sync.retention import records_sweep
from sync.schedules import sync_schedule_follow_settings
from sync.services import push_pending, salesforce_import_run, sync_cycle
from sync.services.clients import RunClients
from sync.services.dry_run import dry_run_execute
from sync.services.hubspot_lists import list_definition_push


def sync_cycle_task(trigger: str = SyncRun.Trigger.SCHEDULE) -> int:
    sync_schedule_follow_settings()
    return sync_cycle(trigger=trigger).pk


def push_task(run_id: int) -> dict:
    stats: dict = {}
    run = push_pending(run=SyncRun.objects.get(pk=run_id), stats=stats)
    return {"run": run.pk, **stats}


def salesforce_import_task(run_id: int) -> int:
    return salesforce_import_run(run=SyncRun.objects.get(pk=run_id)).pk


def records_sweep_task() -> int:
    return records_sweep()


def alerts_check_task() -> list[str]:
    return alerts_check()


def dry_run_task(dry_run_id: int) -> dict:
    dry_run = dry_run_execute(dry_run=DryRun.objects.get(pk=dry_run_id))
    return {"dry_run": dry_run.pk, "status": dry_run.status}


def hubspot_list_push_task(list_id: int) -> int:
    return list_definition_push(contact_list=ContactList.objects.get(pk=list_id)).pk


def hubspot_list_delete_task(hubspot_list_id: str) -> None:
    RunClients().hubspot.delete_list(hubspot_list_id)


def alert_deliver_task(delivery_id: int) -> str:
    """One attempt at an alert; a failure that may pass is scheduled again with back-off."""
    return alert_delivery_send(delivery_id=delivery_id)
