"""Cycles: the full gated cycle (HubSpot pull, queue the inclusion list's joins, push, Salesforce
pull), the push of a resync run, and the HubSpot pull alone. The engine modules do the work;
these decide the order, the budget, and what the run and the connection record."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.clients.base import AuthError, ClientError
from integration.failures import failure_report
from integration.models import ConnectionStatus, SalesforceConnection, SyncSettings
from sync.engine import queue
from sync.engine.budget import ApiBudget
from sync.engine.errors import RunStopped
from sync.engine.hubspot_lists import HubSpotListsPull
from sync.engine.hubspot_pull import HubSpotPull
from sync.engine.push import Pusher
from sync.engine.salesforce_pull import SalesforcePull
from sync.models import PendingSync, SyncRun
from sync.services.clients import RunClients
from sync.services.resync import inclusion_joins_enqueue
from sync.services.runs import Publisher, runs_close_interrupted, sync_run_claim, sync_run_finish, sync_run_start

logger = logging.getLogger(__name__)

AUTOMATIC_TRIGGERS = {SyncRun.Trigger.SCHEDULE, SyncRun.Trigger.WEBHOOK}


def _connection_status(*, ok: bool, status: str = "", reason: str = "") -> None:
    """Reflect what the last run learnt about the Salesforce connection (read by the ops view)."""
    connection = SalesforceConnection.load()
    if ok:
        wanted = connection.working_status
        if connection.status in (ConnectionStatus.ERROR, ConnectionStatus.SUSPENDED, ConnectionStatus.DISCONNECTED):
            connection.status, connection.status_reason = wanted, ""
            connection.status_changed_at = timezone.now()
            connection.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
        return
    if connection.status != status or connection.status_reason != reason:
        connection.status, connection.status_reason = status, reason[:2000]
        connection.status_changed_at = timezone.now()
        connection.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])


def _status_reason(exc: Exception) -> str:
    """What the connection's status says about a failure: a client error's category (its
    details are logged), or the run's own words (the allocation reached)."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ClientError):
        cause = cause.__cause__
    if cause is None:
        return str(exc)
    return failure_report(exc, service="Salesforce", logger=logger, where="sync run")[1]


def _wait_for_bulk_jobs(clients: RunClients, job_ids: list[str]) -> None:
    for job_id in job_ids:
        try:
            clients.salesforce.bulk_wait(job_id)
        except ClientError as exc:
            logger.warning("Bulk job %s of an interrupted run: %s", job_id, exc)


def _push(run: SyncRun, clients: RunClients, publisher: Publisher, *, manual: bool, errors: list[str]) -> None:
    # A worker killed mid-push (kill -9, a crash) leaves claims and a RUNNING run behind: free them,
    # and let Salesforce finish any Bulk job it had submitted before anything is looked up again.
    for interrupted in runs_close_interrupted():
        _wait_for_bulk_jobs(clients, interrupted.open_bulk_jobs)
    queue.release_dead_claims()
    sync_settings = SyncSettings.load()
    budget = ApiBudget(
        allocation=sync_settings.daily_api_allocation,
        used_before=SyncRun.objects.api_calls_last_24h().salesforce,
        manual=manual,
        client=clients.salesforce,
    )
    if budget.exhausted and not manual:
        run.warning = _("Daily API allocation reached: automatic sync paused until usage drops.")
        _connection_status(ok=False, status=ConnectionStatus.SUSPENDED, reason=run.warning)
        return
    if budget.warning():
        run.warning = budget.warning()
    total = PendingSync.objects.count()
    if total > run.progress_total:
        run.progress_total = total
        SyncRun.objects.filter(pk=run.pk).update(progress_total=total)
    publisher.publish(phase="push")

    def progress(n: int) -> None:
        publisher.publish(done=n, **{name: getattr(pusher.counters, name) for name in SyncRun.PUSH_COUNTERS})

    def track_bulk_job(job_id: str, opened: bool) -> None:
        with transaction.atomic():
            current = SyncRun.objects.select_for_update().get(pk=run.pk)
            jobs = [j for j in current.open_bulk_jobs if j != job_id] + ([job_id] if opened else [])
            SyncRun.objects.filter(pk=run.pk).update(open_bulk_jobs=jobs)

    clients.salesforce.on_bulk_job = track_bulk_job
    pusher = Pusher(
        run=run,
        client=clients.salesforce,
        hubspot=_hubspot_or_none(clients),
        on_progress=progress,
        allow_retries=budget.retries_allowed,
        budget=budget,
    )
    try:
        pusher.run_until_empty()
        _connection_status(ok=True)
    except RunStopped as exc:
        errors.append(str(exc))
        status = ConnectionStatus.SUSPENDED if exc.category == "api_limit" else ConnectionStatus.ERROR
        _connection_status(ok=False, status=status, reason=_status_reason(exc))
    except AuthError as exc:
        errors.append(str(exc))
        _connection_status(ok=False, status=ConnectionStatus.ERROR, reason=_status_reason(exc))
    except ClientError as exc:
        errors.append(str(exc))
    publisher.publish()


def _hubspot_or_none(clients: RunClients):
    """The HubSpot client, for the Salesforce edits a member has not received yet; without one
    (HubSpot not reachable now), the push still sends to Salesforce and the edits wait."""
    try:
        return clients.hubspot
    except ClientError as exc:
        logger.warning("push without HubSpot writes: %s", exc)
        return None


def sync_cycle(*, trigger: str = SyncRun.Trigger.SCHEDULE, actor=None, clients: RunClients | None = None) -> SyncRun:
    """One full gated cycle: HubSpot pull, queue the inclusion list's joins, push, Salesforce pull."""
    run = sync_run_start(trigger=trigger, actor=actor)
    manual = trigger not in AUTOMATIC_TRIGGERS
    if not SyncSettings.load().sync_enabled and not manual:
        run.warning = _("Sync is turned off in the settings.")
        return sync_run_finish(run=run, status=SyncRun.Status.SKIPPED)
    clients = clients or RunClients()
    publisher = Publisher(run, clients)
    errors: list[str] = []
    try:
        publisher.publish(phase="hubspot_pull")
        try:
            HubSpotPull(client=clients.hubspot, on_page=lambda r: publisher.publish(pulled=r.pulled)).run()
        except ClientError as exc:
            errors.append(_("HubSpot pull failed: %(error)s") % {"error": exc})
        publisher.publish(phase="hubspot_lists")
        try:
            HubSpotListsPull(client=clients.hubspot).run()
        except ClientError as exc:
            errors.append(_("HubSpot lists pull failed: %(error)s") % {"error": exc})
        inclusion_joins_enqueue()
        _push(run, clients, publisher, manual=manual, errors=errors)
        publisher.publish(phase="salesforce_pull")
        try:
            SalesforcePull(run=run, salesforce=clients.salesforce, hubspot=clients.hubspot).run_all()
        except ClientError as exc:
            errors.append(_("Salesforce pull failed: %(error)s") % {"error": exc})
    except Exception as exc:  # noqa: BLE001 - the run records any crash before re-raising
        logger.exception("sync cycle %s crashed", run.pk)
        publisher.publish()
        sync_run_finish(run=run, error=f"{type(exc).__name__}: {exc}")
        raise
    publisher.publish()
    return sync_run_finish(run=run, error="\n".join(errors))


def push_pending(*, run: SyncRun, clients: RunClients | None = None, stats: dict | None = None) -> SyncRun:
    """Push what is queued, for a resync run (no pulls). Several workers may push for the same
    run at once (each claims its own contacts); the last one to stop closes the run."""

    sync_run_claim(run=run)
    SyncRun.objects.filter(pk=run.pk).update(workers_active=F("workers_active") + 1)
    clients = clients or RunClients()
    publisher = Publisher(run, clients)
    errors: list[str] = []
    try:
        _push(run, clients, publisher, manual=run.trigger not in AUTOMATIC_TRIGGERS, errors=errors)
    finally:
        publisher.publish()
        if stats is not None:
            # What this worker did (the run's counters add up every worker's).
            stats.update({k: v for k, v in publisher.sent.items() if not k.endswith("api_calls")})
        with transaction.atomic():
            current = SyncRun.objects.select_for_update().get(pk=run.pk)
            current.workers_active = max(0, current.workers_active - 1)
            SyncRun.objects.filter(pk=run.pk).update(workers_active=current.workers_active)
            if errors:
                SyncRun.objects.filter(pk=run.pk).update(error="\n".join([current.error, *errors]).strip()[:5000])
    if current.workers_active:
        run.refresh_from_db()
        return run  # another worker is still pushing for this run; it will close it
    return sync_run_finish(run=run)


def hubspot_read(*, trigger: str, phase: str, work: Callable[[RunClients, Publisher], Any]) -> tuple[SyncRun, Any]:
    """One read from HubSpot on its own (no push), as a run that counts its API calls, then the
    queueing of the inclusion list's joins; returns the run and what ``work`` returned."""
    run = sync_run_start(trigger=trigger)
    clients = RunClients()
    publisher = Publisher(run, clients)
    publisher.publish(phase=phase)
    try:
        result = work(clients, publisher)
        inclusion_joins_enqueue()
    except Exception as exc:
        publisher.publish()
        sync_run_finish(run=run, error=f"{type(exc).__name__}: {exc}")
        raise
    publisher.publish()
    return sync_run_finish(run=run), result


def hubspot_pull(*, trigger: str = SyncRun.Trigger.COMMAND) -> SyncRun:
    """Only the HubSpot pull (and the queueing of the inclusion list's joins)."""

    def pull(clients: RunClients, publisher: Publisher) -> None:
        HubSpotPull(client=clients.hubspot, on_page=lambda r: publisher.publish(pulled=r.pulled)).run()

    return hubspot_read(trigger=trigger, phase="hubspot_pull", work=pull)[0]
