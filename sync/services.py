"""Writes of the sync: the queue, runs, resyncs. The engine modules do the work; these
services are what views, commands and tasks call."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from integration.models import SettingChange, SyncSettings
from lists.models import ContactList, ListMembership, MembershipChange
from sync.engine import queue
from sync.models import Reason, SyncRecord, SyncRun, Watermark

logger = logging.getLogger(__name__)

CHUNK = 2000


def pending_enqueue(*, contact_ids: Iterable[int], reason: str) -> int:
    return queue.enqueue(contact_ids=contact_ids, reason=reason)


def sync_run_start(*, trigger: str, actor=None, contact_list: ContactList | None = None, total: int = 0) -> SyncRun:
    return SyncRun.objects.create(
        trigger=trigger,
        triggered_by=actor if getattr(actor, "pk", None) else None,
        contact_list=contact_list,
        progress_total=total,
        status=SyncRun.Status.RUNNING,
        worker=queue.worker_name(),
        heartbeat_at=timezone.now(),
    )


def sync_run_claim(*, run: SyncRun) -> None:
    """This process now works on ``run`` (a resync run created by the web process)."""
    run.worker, run.heartbeat_at = queue.worker_name(), timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(worker=run.worker, heartbeat_at=run.heartbeat_at)


STALE_RUN = timedelta(minutes=15)


def runs_close_interrupted() -> list[SyncRun]:
    """Close runs whose worker died (same host: its process is gone; elsewhere: no progress for
    a while). Returns them, with the Bulk jobs they left open."""
    now = timezone.now()
    closed = []
    for run in SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exclude(worker=""):
        stale = run.heartbeat_at is not None and run.heartbeat_at < now - STALE_RUN
        if queue.process_alive(run.worker) and not stale:
            continue
        updated = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.FAILED,
            finished_at=now,
            error=_("Interrupted: the worker stopped before the run ended. Its contacts stay queued."),
        )
        if updated:
            closed.append(run)
    return closed


def _recount(run: SyncRun) -> None:
    """The run's counters from its records (one GROUP BY): exact whatever the number of workers
    that pushed for it, and whatever happened to their live increments."""
    from django.db.models import Count

    for name in (
        "considered",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "created_in_hubspot",
        "updated_in_hubspot",
    ):
        setattr(run, name, 0)
    rows = SyncRecord.objects.filter(run=run).values("direction", "action").annotate(n=Count("id")).order_by()
    for row in rows:
        direction, action, n = row["direction"], row["action"], row["n"]
        if direction == SyncRecord.Direction.TO_SALESFORCE:
            run.considered += n
            if action in ("created", "updated", "unchanged"):
                setattr(run, action, getattr(run, action) + n)
        elif action == "created":
            run.created_in_hubspot += n
        elif action == "updated":
            run.updated_in_hubspot += n
        if action in ("skipped", "failed"):
            setattr(run, action, getattr(run, action) + n)


def sync_run_finish(*, run: SyncRun, error: str = "", status: str | None = None) -> SyncRun:
    fresh = SyncRun.objects.get(pk=run.pk)
    # What workers published as increments is in the row, not in this object.
    for name in (
        "pulled",
        "salesforce_api_calls",
        "hubspot_api_calls",
        "progress_done",
        "progress_total",
        "open_bulk_jobs",
    ):
        setattr(run, name, getattr(fresh, name))
    _recount(run)
    run.finished_at = timezone.now()
    run.error = "\n".join(e for e in (fresh.error, error[:5000]) if e)
    if status:
        run.status = status
    elif run.error:
        run.status = SyncRun.Status.FAILED
    elif run.failed:
        run.status = SyncRun.Status.PARTIAL
    else:
        run.status = SyncRun.Status.SUCCEEDED
    if run.progress_total and not run.error:
        run.progress_done = run.progress_total
    run.phase = ""
    run.save()
    return run


class _Publisher:
    """Adds this worker's progress to the run as increments (several workers may push for one run)."""

    def __init__(self, run: SyncRun, clients: _Clients) -> None:
        self.run = run
        self.clients = clients
        self.sent: dict[str, int] = {}

    def publish(self, *, done: int = 0, phase: str | None = None, **local: int) -> None:

        changes: dict = {"heartbeat_at": timezone.now()}
        for name, value in {**local, **self.clients.calls()}.items():
            delta = value - self.sent.get(name, 0)
            if delta:
                changes[name] = F(name) + delta
                self.sent[name] = value
        if done:
            changes["progress_done"] = F("progress_done") + done
        if phase is not None:
            changes["phase"] = phase
        SyncRun.objects.filter(pk=self.run.pk).update(**changes)


def inclusion_joins_enqueue() -> int:
    """Queue the contacts that joined the inclusion list since the last call.

    Joins are read from lists.MembershipChange, so joins found by an incremental update and by a
    full refresh (criteria edited) trigger alike. When another list becomes the inclusion list,
    its position starts at the beginning: the next cycle queues its current members once (those
    Salesforce already holds with the same values cost no API call). Choosing the list itself
    starts nothing; the cycle that follows does the sending.
    """
    sync_settings = SyncSettings.load()
    list_id = sync_settings.inclusion_list_id
    with transaction.atomic():
        mark, _created = Watermark.objects.select_for_update().get_or_create(source=Watermark.Source.INCLUSION_JOINS)
        newest = MembershipChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
        stored_list, _sep, stored_pos = mark.cursor.partition(":")
        position = int(stored_pos or 0) if stored_list == str(list_id) else 0
        mark.cursor = f"{list_id or ''}:{newest}"
        mark.save(update_fields=["cursor", "updated_at"])
        if list_id is None or newest <= position:
            return 0
        joined = MembershipChange.objects.filter(
            contact_list_id=list_id, kind=MembershipChange.Kind.JOINED, id__gt=position, id__lte=newest
        ).values("contact_id")
        # Only those still members: a join followed by a leave sends nothing.
        members = list(
            ListMembership.objects.filter(contact_list_id=list_id, contact_id__in=joined).values_list(
                "contact_id", flat=True
            )
        )
    return queue.enqueue(contact_ids=members, reason=Reason.JOINED_LIST)


def _enqueue_push(run: SyncRun) -> None:
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task("sync.tasks.push_task", run.pk, task_name=f"push-run-{run.pk}"))


def list_resync(*, contact_list: ContactList, actor=None, run_async: bool = True) -> SyncRun:
    """Queue every member of the list for sending, then push (HubSpot's "Resync" of a list).

    Members are still gated at send time: resyncing a list that is not the inclusion list sends
    only those of its members who are also in the inclusion list.
    """
    member_ids = ListMembership.objects.filter(contact_list=contact_list).values_list("contact_id", flat=True)
    total = 0
    batch: list[int] = []
    for contact_id in member_ids.iterator(chunk_size=CHUNK):
        batch.append(contact_id)
        if len(batch) >= CHUNK:
            total += queue.enqueue(contact_ids=batch, reason=Reason.LIST_RESYNC)
            batch = []
    total += queue.enqueue(contact_ids=batch, reason=Reason.LIST_RESYNC)
    if SyncSettings.load().inclusion_list_id == contact_list.pk:
        # Every member is queued: the joins so far need no second pass.
        newest = MembershipChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
        Watermark.objects.update_or_create(
            source=Watermark.Source.INCLUSION_JOINS, defaults={"cursor": f"{contact_list.pk}:{newest}"}
        )
    with transaction.atomic():
        run = sync_run_start(trigger=SyncRun.Trigger.LIST_RESYNC, actor=actor, contact_list=contact_list, total=total)
        SettingChange.objects.create(
            actor=run.triggered_by,
            setting="manual_resync",
            new_value=f"{contact_list.name} (#{contact_list.pk})",
            detail={"list_id": contact_list.pk, "queued": total, "run_id": run.pk},
        )
        if run_async:
            _enqueue_push(run)
    return run


def contacts_resync(*, contact_ids: Collection[int], actor=None, run_async: bool = True) -> SyncRun | None:
    """Queue these contacts (e.g. "Resync selected" in the sync log) and push them."""
    ids = sorted(set(contact_ids))
    if not ids:
        return None
    queued = queue.enqueue(contact_ids=ids, reason=Reason.CONTACT_RESYNC)
    with transaction.atomic():
        run = sync_run_start(trigger=SyncRun.Trigger.CONTACT_RESYNC, actor=actor, total=queued)
        SettingChange.objects.create(
            actor=run.triggered_by,
            setting="manual_resync",
            new_value=ngettext("%(n)d contact", "%(n)d contacts", queued) % {"n": queued},
            detail={"contact_ids": ids[:1000], "queued": queued, "run_id": run.pk},
        )
        if run_async:
            _enqueue_push(run)
    return run


def records_ignore(*, records, actor=None) -> int:
    """Hide failures ops decided not to fix from the health page (they stay in the log)."""
    ids = list(records.values_list("id", flat=True)) if hasattr(records, "values_list") else [r.pk for r in records]
    count = SyncRecord.objects.filter(id__in=ids, ignored=False).update(ignored=True)
    if count:
        SettingChange.objects.create(
            actor=actor if getattr(actor, "pk", None) else None,
            setting="ignore_records",
            new_value=ngettext("%(n)d record", "%(n)d records", count) % {"n": count},
            detail={"record_ids": ids[:1000]},
        )
    return count


# -- cycles ------------------------------------------------------------------------------------

AUTOMATIC_TRIGGERS = {SyncRun.Trigger.SCHEDULE, SyncRun.Trigger.WEBHOOK}


def _connection_status(*, ok: bool, status: str = "", reason: str = "") -> None:
    """Reflect what the last run learnt about the Salesforce connection (read by the ops view)."""
    from integration.models import ConnectionStatus, SalesforceConnection

    connection = SalesforceConnection.load()
    if ok:
        wanted = (
            ConnectionStatus.SANDBOX
            if connection.environment == SalesforceConnection.Environment.SANDBOX_EMULATOR
            else ConnectionStatus.CONNECTED
        )
        if connection.status in (ConnectionStatus.ERROR, ConnectionStatus.SUSPENDED, ConnectionStatus.DISCONNECTED):
            connection.status, connection.status_reason = wanted, ""
            connection.status_changed_at = timezone.now()
            connection.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
        return
    if connection.status != status or connection.status_reason != reason:
        connection.status, connection.status_reason = status, reason[:2000]
        connection.status_changed_at = timezone.now()
        connection.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])


class _Clients:
    """The clients of one run, and the API calls the run made with them."""

    def __init__(self) -> None:
        from integration.clients.hubspot import get_hubspot_client
        from integration.clients.salesforce import get_salesforce_client

        self._hubspot = None
        self._salesforce = None
        self._get_hubspot = get_hubspot_client
        self._get_salesforce = get_salesforce_client
        self._hs0 = self._sf0 = 0

    @property
    def hubspot(self):
        if self._hubspot is None:
            self._hubspot = self._get_hubspot()
            self._hs0 = int(self._hubspot.api_calls)
        return self._hubspot

    @property
    def salesforce(self):
        if self._salesforce is None:
            self._salesforce = self._get_salesforce()
            self._sf0 = int(self._salesforce.api_calls)
        return self._salesforce

    def calls(self) -> dict[str, int]:
        return {
            "hubspot_api_calls": int(self._hubspot.api_calls) - self._hs0 if self._hubspot else 0,
            "salesforce_api_calls": int(self._salesforce.api_calls) - self._sf0 if self._salesforce else 0,
        }


def _wait_for_bulk_jobs(clients: _Clients, job_ids: list[str]) -> None:
    from integration.clients.base import ClientError

    for job_id in job_ids:
        try:
            clients.salesforce.bulk_wait(job_id)
        except ClientError as exc:
            logger.warning("Bulk job %s of an interrupted run: %s", job_id, exc)


def _push(run: SyncRun, clients: _Clients, publisher: _Publisher, *, manual: bool, errors: list[str]) -> None:
    from integration.clients.base import AuthError, ClientError
    from integration.models import ConnectionStatus
    from sync.engine.budget import ApiBudget, calls_last_24h
    from sync.engine.errors import RunStopped
    from sync.engine.push import Pusher
    from sync.models import PendingSync

    # A worker killed mid-push (kill -9, a crash) leaves claims and a RUNNING run behind: free them,
    # and let Salesforce finish any Bulk job it had submitted before anything is looked up again.
    for interrupted in runs_close_interrupted():
        _wait_for_bulk_jobs(clients, interrupted.open_bulk_jobs)
    queue.release_dead_claims()
    sync_settings = SyncSettings.load()
    budget = ApiBudget(
        allocation=sync_settings.daily_api_allocation,
        used_before=calls_last_24h(),
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
        c = pusher.counters
        publisher.publish(
            done=n,
            considered=c.considered,
            created=c.created,
            updated=c.updated,
            unchanged=c.unchanged,
            skipped=c.skipped,
            failed=c.failed,
        )

    def track_bulk_job(job_id: str, opened: bool) -> None:
        with transaction.atomic():
            current = SyncRun.objects.select_for_update().get(pk=run.pk)
            jobs = [j for j in current.open_bulk_jobs if j != job_id] + ([job_id] if opened else [])
            SyncRun.objects.filter(pk=run.pk).update(open_bulk_jobs=jobs)

    clients.salesforce.on_bulk_job = track_bulk_job
    pusher = Pusher(
        run=run,
        client=clients.salesforce,
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
        _connection_status(ok=False, status=status, reason=str(exc))
    except AuthError as exc:
        errors.append(str(exc))
        _connection_status(ok=False, status=ConnectionStatus.ERROR, reason=str(exc))
    except ClientError as exc:
        errors.append(str(exc))
    publisher.publish()


def sync_cycle(*, trigger: str = SyncRun.Trigger.SCHEDULE, actor=None, clients: _Clients | None = None) -> SyncRun:
    """One full gated cycle: HubSpot pull, queue the inclusion list's joins, push, Salesforce pull."""
    from integration.clients.base import ClientError
    from sync.engine.hubspot_pull import HubSpotPull
    from sync.engine.salesforce_pull import SalesforcePull

    run = sync_run_start(trigger=trigger, actor=actor)
    manual = trigger not in AUTOMATIC_TRIGGERS
    if not SyncSettings.load().sync_enabled and not manual:
        run.warning = _("Sync is turned off in the settings.")
        return sync_run_finish(run=run, status=SyncRun.Status.SKIPPED)
    clients = clients or _Clients()
    publisher = _Publisher(run, clients)
    errors: list[str] = []
    try:
        publisher.publish(phase="hubspot_pull")
        try:
            HubSpotPull(client=clients.hubspot, on_page=lambda r: publisher.publish(pulled=r.pulled)).run()
        except ClientError as exc:
            errors.append(_("HubSpot pull failed: %(error)s") % {"error": exc})
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


def push_pending(*, run: SyncRun, clients: _Clients | None = None, stats: dict | None = None) -> SyncRun:
    """Push what is queued, for a resync run (no pulls). Several workers may push for the same
    run at once (each claims its own contacts); the last one to stop closes the run."""

    sync_run_claim(run=run)
    SyncRun.objects.filter(pk=run.pk).update(workers_active=F("workers_active") + 1)
    clients = clients or _Clients()
    publisher = _Publisher(run, clients)
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


def hubspot_pull(*, trigger: str = SyncRun.Trigger.COMMAND) -> SyncRun:
    """Only the HubSpot pull (and the queueing of the inclusion list's joins)."""
    from sync.engine.hubspot_pull import HubSpotPull

    run = sync_run_start(trigger=trigger)
    clients = _Clients()
    publisher = _Publisher(run, clients)
    publisher.publish(phase="hubspot_pull")
    try:
        HubSpotPull(client=clients.hubspot, on_page=lambda r: publisher.publish(pulled=r.pulled)).run()
        inclusion_joins_enqueue()
    except Exception as exc:
        publisher.publish()
        sync_run_finish(run=run, error=f"{type(exc).__name__}: {exc}")
        raise
    publisher.publish()
    return sync_run_finish(run=run)


def webhook_events_handle(*, events: list[dict]) -> int:
    """Apply what a webhook says that a pull cannot see: deletions and merges (the merged-away
    contacts disappear from search). Other events only trigger the cycle."""
    from lists.models import Contact
    from lists.services import memberships_update_for_contacts

    gone: set[str] = set()
    for event in events:
        kind = str(event.get("subscriptionType", ""))
        if kind in ("contact.deletion", "contact.privacyDeletion") and event.get("objectId") is not None:
            gone.add(str(event["objectId"]))
        elif kind == "contact.merge":
            merged = event.get("mergedObjectIds") or []
            primary = str(event.get("primaryObjectId", ""))
            gone.update(str(i) for i in merged if str(i) != primary)
    if not gone:
        return 0
    with transaction.atomic():
        ids = list(Contact.objects.filter(hubspot_id__in=gone, archived=False).values_list("pk", flat=True))
        Contact.objects.filter(pk__in=ids).update(archived=True)
        memberships_update_for_contacts(contact_ids=ids)
    return len(ids)
