"""Dry runs ("Preview changes"): start one, run it in the background, and what it found.

A dry run asks the push's own decision code (``sync.engine.dryrun``) what it would do with the
contacts a resync of a list, a switch of inclusion list or the next cycle would queue, and
writes nowhere but its own row: not Salesforce, not HubSpot, not the queue, the log or the
synced state. It reads as the push reads (SOQL, HubSpot batch reads, one call a chunk) and
stops at the daily API allocation, as an automatic sync does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from integration.clients.base import ClientError
from integration.failures import failure_report
from integration.models import SyncSettings
from lists.models import Contact, ContactList, ListMembership, MembershipChange
from sync.engine.budget import ApiBudget
from sync.engine.dryrun import DryRunPlanner, Intent, counts_of
from sync.engine.errors import RunStopped
from sync.engine.gate import Gate
from sync.models import DryRun, PendingSync, Reason, SyncRun, Watermark
from sync.services.clients import RunClients

logger = logging.getLogger(__name__)

# How many records of each action the page and the CSV keep.
SAMPLE_PER_ACTION = {"failed": 1000, "updated": 1000, "created": 1000, "skipped": 300, "unchanged": 300}


def dry_run_start(*, kind: str, contact_list: ContactList | None = None, actor=None, run_async: bool = True) -> DryRun:
    """A dry run of ``kind``, queued for the worker (``sync.tasks.dry_run_task``).

    Refused with a ``ValidationError`` (a message for the page) when it cannot mean anything:
    an unknown kind, a resync or a switch without a list, a switch to a list that cannot be
    the inclusion list."""
    if kind not in DryRun.Kind.values:
        raise ValidationError(_("Unknown kind of preview."))
    if kind in (DryRun.Kind.RESYNC, DryRun.Kind.SWITCH) and contact_list is None:
        raise ValidationError(_("Choose a list to preview."))
    if kind == DryRun.Kind.SWITCH and contact_list.processing_type != ContactList.ProcessingType.DYNAMIC:
        raise ValidationError(_("Only active lists can be the inclusion list."))
    with transaction.atomic():
        dry_run = DryRun.objects.create(
            kind=kind,
            contact_list=contact_list if kind != DryRun.Kind.NEXT_CYCLE else None,
            list_name=contact_list.name if contact_list is not None and kind != DryRun.Kind.NEXT_CYCLE else "",
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        if run_async:
            transaction.on_commit(
                lambda: async_task("sync.tasks.dry_run_task", dry_run.pk, task_name=f"dry-run-{dry_run.pk}")
            )
    return dry_run


# -- what each kind would queue ------------------------------------------------------------


def _members(contact_list_id: int) -> list[int]:
    return list(ListMembership.objects.filter(contact_list_id=contact_list_id).values_list("contact_id", flat=True))


def _pending_joins(list_id: int | None) -> list[int]:
    """The inclusion list's joins the next cycle would queue (``inclusion_joins_enqueue``), read
    without moving its position."""
    if list_id is None:
        return []
    mark = Watermark.objects.filter(source=Watermark.Source.INCLUSION_JOINS).values_list("cursor", flat=True).first()
    stored_list, _sep, stored_pos = (mark or "").partition(":")
    position = int(stored_pos or 0) if stored_list == str(list_id) else 0
    joined = MembershipChange.objects.filter(
        contact_list_id=list_id, kind=MembershipChange.Kind.JOINED, id__gt=position
    ).values("contact_id")
    return list(
        ListMembership.objects.filter(contact_list_id=list_id, contact_id__in=joined).values_list(
            "contact_id", flat=True
        )
    )


def _entries(reasons: list[str]) -> Callable[[list[int]], list[PendingSync]]:
    """Queue entries in memory (never saved) for a batch of contacts: the queued ones as they are
    queued (their reasons added to ``reasons``), the others with ``reasons``."""

    def build(ids: list[int]) -> list[PendingSync]:
        queued = {p.contact_id: p for p in PendingSync.objects.filter(contact_id__in=ids)}
        entries = []
        for contact in Contact.objects.filter(pk__in=ids).order_by("pk"):
            existing = queued.get(contact.pk)
            merged = list(dict.fromkeys([*(existing.reasons if existing else []), *reasons]))
            entries.append(PendingSync(contact=contact, reasons=merged, attempts=existing.attempts if existing else 0))
        return entries

    return build


def _scope(dry_run: DryRun) -> tuple[Gate, list[int], list[str]]:
    """The gate, the contacts and the reasons the real action would send them with."""
    sync_settings = SyncSettings.load()
    if dry_run.kind == DryRun.Kind.RESYNC:
        return Gate.current(), _members(dry_run.contact_list_id), [Reason.LIST_RESYNC]
    if dry_run.kind == DryRun.Kind.SWITCH:
        # The list becomes the inclusion list: the next cycle queues its current members once.
        gate = Gate.for_list(dry_run.contact_list_id, sync_enabled=sync_settings.sync_enabled)
        return gate, _members(dry_run.contact_list_id), [Reason.JOINED_LIST]
    now = timezone.now()
    due = PendingSync.objects.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    queued = list(due.values_list("contact_id", flat=True))
    return Gate.current(), sorted({*queued, *_pending_joins(sync_settings.inclusion_list_id)}), [Reason.JOINED_LIST]


# -- the run ---------------------------------------------------------------------------------


def _keep(rows: list[dict], kept: dict[str, int], intents: list[Intent]) -> bool:
    """Add intents to the sample, up to each action's cap; whether some were left out."""
    truncated = False
    for intent in intents:
        cap = SAMPLE_PER_ACTION.get(intent.action, 0)
        if kept.get(intent.action, 0) >= cap:
            truncated = True
            continue
        kept[intent.action] = kept.get(intent.action, 0) + 1
        rows.append(intent.as_json())
    return truncated


def dry_run_execute(*, dry_run: DryRun, clients: RunClients | None = None) -> DryRun:
    """Compute the dry run: its counts, its sample, its progress as it goes."""
    if dry_run.finished:
        return dry_run
    clients = clients or RunClients()
    dry_run.status, dry_run.started_at = DryRun.Status.RUNNING, timezone.now()
    gate, contact_ids, reasons = _scope(dry_run)
    # From the start, also when the worker retries a preview it had left half done.
    dry_run.progress_total, dry_run.progress_done, dry_run.rows_truncated = len(contact_ids), 0, False
    dry_run.save(update_fields=["status", "started_at", "progress_total", "progress_done", "rows_truncated"])
    counts = dict.fromkeys(DryRun.COUNTERS, 0)
    rows: list[dict] = []
    kept: dict[str, int] = {}
    try:
        budget = ApiBudget(
            allocation=SyncSettings.load().daily_api_allocation,
            used_before=_calls_last_24h(),
            manual=False,  # a preview never takes the allocation's last calls from the sync
            client=clients.salesforce,
        )
        planner = DryRunPlanner(
            client=clients.salesforce, hubspot=_hubspot_or_none(clients), gate=gate, contact_ids=contact_ids
        )

        def on_batch(intents: list[Intent]) -> None:
            for name, value in counts_of(intents).items():
                counts[name] += value
            dry_run.rows_truncated |= _keep(rows, kept, intents)
            dry_run.progress_done += len(intents)
            _publish(dry_run, counts, clients)
            # The next batch reads about one SOQL query per chunk of ids: stop before the allocation.
            budget.check(2)

        budget.check(2)
        planner.intents(_entries(reasons), on_batch)
    except (ClientError, RunStopped) as exc:
        dry_run.error = _reason(exc)
    except Exception as exc:
        logger.exception("dry run %s crashed", dry_run.pk)
        dry_run.error = _("The preview stopped on an unexpected error (%(kind)s); the log has the details.") % {
            "kind": type(exc).__name__
        }
    dry_run.rows = rows
    dry_run.status = DryRun.Status.FAILED if dry_run.error else DryRun.Status.SUCCEEDED
    dry_run.finished_at = timezone.now()
    _publish(dry_run, counts, clients, final=True)
    return dry_run


def _calls_last_24h() -> int:
    """Salesforce calls of the last 24 hours: the runs' and the previews' own."""
    return SyncRun.objects.api_calls_last_24h().salesforce


def _publish(dry_run: DryRun, counts: dict[str, int], clients: RunClients, *, final: bool = False) -> None:
    for name, value in counts.items():
        setattr(dry_run, name, value)
    for name, value in clients.calls().items():
        setattr(dry_run, name, value)
    fields = ["progress_done", *DryRun.COUNTERS, "salesforce_api_calls", "hubspot_api_calls"]
    if final:
        fields += ["rows", "rows_truncated", "status", "finished_at", "error"]
    dry_run.save(update_fields=fields)


def _reason(exc: Exception) -> str:
    if isinstance(exc, RunStopped):
        return str(exc)
    return failure_report(exc, service="Salesforce", logger=logger, where="dry run")[1]


def _hubspot_or_none(clients: RunClients):
    """HubSpot's client, for its field history on conflicts; without it the contact's time stands in."""
    try:
        return clients.hubspot
    except ClientError as exc:
        logger.warning("dry run without HubSpot: %s", exc)
        return None
