"""Runs: start, claim, finish (counters recounted from the records), closing the runs whose
worker died, and publishing a worker's progress as increments."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from lists.models import ContactList
from sync.engine import queue
from sync.models import SyncRecord, SyncRun
from sync.services.clients import RunClients


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
    for name in (*SyncRun.PUSH_COUNTERS, *SyncRun.PULL_COUNTERS):
        setattr(run, name, 0)
    run.conflicts = SyncRecord.objects.filter(run=run).filter(conflicts__isnull=False).count()
    rows = (
        SyncRecord.objects.filter(run=run)
        # A field skipped (an owner with no match), not a record: the record has its own entry.
        .exclude(skip_reason=SyncRecord.SkipReason.OWNER_UNMATCHED)
        .values("direction", "action")
        .annotate(n=Count("id"))
        .order_by()
    )
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


class Publisher:
    """Adds this worker's progress to the run as increments (several workers may push for one run)."""

    def __init__(self, run: SyncRun, clients: RunClients) -> None:
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
