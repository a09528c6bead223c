"""The import of existing Salesforce records (``sync.engine.salesforce_import``) as a run: from
the command, or from the settings page's button through a django-q2 task, with its progress."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from integration.clients.base import ClientError
from integration.models import SettingChange, SyncSettings
from sync.engine.salesforce_import import SalesforceImport
from sync.models import SyncRun
from sync.services.clients import RunClients
from sync.services.runs import Publisher, sync_run_claim, sync_run_finish, sync_run_start

logger = logging.getLogger(__name__)


class ImportRefused(Exception):
    """The import cannot start; the message says why."""


def salesforce_import(
    *,
    actor=None,
    run_async: bool = False,
    clients: RunClients | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SyncRun:
    """Start the import of existing Salesforce Leads and Contacts: now, in this process (the
    command), or in a worker (``run_async``, the settings page). Refused while new Salesforce
    records are set not to create HubSpot contacts: the import does what that setting does."""
    if not SyncSettings.load().create_hubspot_contacts_from_salesforce:
        raise ImportRefused(
            _(
                "New Salesforce records are set not to create HubSpot contacts: turn that setting on to import "
                "the existing ones."
            )
        )
    with transaction.atomic():
        run = sync_run_start(trigger=SyncRun.Trigger.SALESFORCE_IMPORT, actor=actor)
        SettingChange.objects.create(
            actor=run.triggered_by, setting="salesforce_import", new_value=f"run #{run.pk}", detail={"run_id": run.pk}
        )
        if run_async:
            transaction.on_commit(
                lambda: async_task("sync.tasks.salesforce_import_task", run.pk, task_name=f"salesforce-import-{run.pk}")
            )
    if run_async:
        return run
    return salesforce_import_run(run=run, clients=clients, on_progress=on_progress)


def salesforce_import_run(
    *, run: SyncRun, clients: RunClients | None = None, on_progress: Callable[[int, int], None] | None = None
) -> SyncRun:
    """Do the import of ``run`` in this process, publishing its progress as it goes (and telling
    ``on_progress(done, total)``)."""
    sync_run_claim(run=run)
    clients = clients or RunClients()
    publisher = Publisher(run, clients)
    reported = {"done": 0}

    def progress(done: int, total: int) -> None:
        SyncRun.objects.filter(pk=run.pk).update(progress_total=total)
        publisher.publish(done=done - reported["done"])
        reported["done"] = done
        if on_progress:
            on_progress(done, total)

    publisher.publish(phase="salesforce_import")
    error = ""
    try:
        SalesforceImport(
            run=run, salesforce=clients.salesforce, hubspot=clients.hubspot, on_progress=progress
        ).run_all()
    except ClientError as exc:
        error = _("Import of existing Salesforce records stopped: %(error)s") % {"error": exc}
    except Exception as exc:
        logger.exception("Salesforce import %s crashed", run.pk)
        publisher.publish()
        sync_run_finish(run=run, error=f"{type(exc).__name__}: {exc}")
        raise
    publisher.publish()
    return sync_run_finish(run=run, error=error)
