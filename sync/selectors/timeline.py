"""A contact's sync timeline: list joins and leaves, queueing, every decision, and why the
inclusion list lets it through or not."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from integration.models import SyncSettings
from lists.criteria import CriteriaError, FilterExplanation, parse
from lists.models import Contact, ContactList, MembershipChange
from lists.selectors import filters_explained
from sync.models import PendingSync, Reason, SyncRecord

SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[_-]?key|private|credential|ssn|card", re.I)
REDACTED = "••••••"


def redact(payload: Any) -> Any:
    """Hide values of secret-looking keys (the engine redacts too; this is a second net)."""
    if isinstance(payload, dict):
        return {k: (REDACTED if SECRET_KEYS.search(str(k)) else redact(v)) for k, v in payload.items()}
    if isinstance(payload, list):
        return [redact(v) for v in payload]
    return payload


@dataclass
class Change:
    field: str
    before: Any
    after: Any


def payload_changes(before: dict | None, after: dict | None) -> list[Change]:
    """The fields whose value differs between two payloads (secrets redacted)."""
    before, after = redact(before or {}), redact(after or {})
    keys = list(dict.fromkeys([*after.keys(), *before.keys()]))
    return [Change(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


@dataclass
class ConflictRow:
    """A field both sides changed since they last agreed, as a person reads it."""

    field: str  # "jobtitle → Title"
    hubspot_value: str
    hubspot_at: dt.datetime | None
    salesforce_value: str
    salesforce_at: dt.datetime | None
    winner: str  # "HubSpot" or "Salesforce"


def conflict_rows(conflicts: Iterable[dict] | None) -> list[ConflictRow]:
    rows = []
    for c in conflicts or []:
        rows.append(
            ConflictRow(
                field=f"{c.get('property')} → {c.get('field')}",
                hubspot_value=(c.get("hubspot") or {}).get("value") or "∅",
                hubspot_at=parse_datetime((c.get("hubspot") or {}).get("at") or ""),
                salesforce_value=(c.get("salesforce") or {}).get("value") or "∅",
                salesforce_at=parse_datetime((c.get("salesforce") or {}).get("at") or ""),
                winner="HubSpot" if c.get("winner") == "hubspot" else "Salesforce",
            )
        )
    return rows


def inclusion_explanations(contact: Contact, *, now: dt.datetime | None = None) -> list[FilterExplanation] | None:
    """Each filter of the inclusion list for this contact now, or None without a usable list."""
    inclusion = SyncSettings.objects.filter(pk=1).values_list("inclusion_list_id", flat=True).first()
    if inclusion is None:
        return None
    contact_list = ContactList.objects.filter(pk=inclusion).first()
    if contact_list is None or not contact_list.filter_branch:
        return None
    try:
        branch = parse(contact_list.filter_branch)
    except CriteriaError:
        return None
    return filters_explained(contact=contact, branch=branch, now=now)


@dataclass
class InclusionStatus:
    list_id: int | None
    list_name: str
    member: bool
    status: str


def inclusion_status(contact: Contact) -> InclusionStatus:
    """Whether the contact is in the inclusion list now (the gate the engine checks)."""
    row = (
        SyncSettings.objects.filter(pk=1)
        .values("inclusion_list_id", "inclusion_list__name", "inclusion_list__processing_status")
        .first()
    )
    if not row or row["inclusion_list_id"] is None:
        return InclusionStatus(None, "", False, "")
    member = ContactList.members.through.objects.filter(
        contact_list_id=row["inclusion_list_id"], contact_id=contact.pk
    ).exists()
    return InclusionStatus(
        row["inclusion_list_id"], row["inclusion_list__name"], member, row["inclusion_list__processing_status"]
    )


@dataclass
class TimelineEvent:
    at: dt.datetime
    kind: str  # joined, left, queued, created, updated, unchanged, skipped, failed
    title: str
    record: SyncRecord | None = None
    changes: list[Change] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    detail: str = ""
    explanations: list[FilterExplanation] | None = None
    conflicts: list[ConflictRow] = field(default_factory=list)


def _reason_labels(reasons: Iterable[str]) -> list[str]:
    labels = dict(Reason.choices)
    return [str(labels.get(r, r)) for r in reasons]


def contact_timeline(
    *,
    contact: Contact,
    limit: int = 200,
    now: dt.datetime | None = None,
    explanations: list[FilterExplanation] | None = None,
) -> list[TimelineEvent]:
    """What happened to a contact, newest first: list joins and leaves, queueing, every decision.
    ``explanations``: the contact's ``inclusion_explanations`` when the caller has them already
    (else computed here, once, if a skip needs them)."""
    inclusion_id = SyncSettings.objects.filter(pk=1).values_list("inclusion_list_id", flat=True).first()
    events: list[TimelineEvent] = []
    changes = MembershipChange.objects.filter(contact=contact).select_related("contact_list").order_by("-at", "-id")
    for change in changes[:limit]:
        is_inclusion = change.contact_list_id == inclusion_id
        if change.kind == MembershipChange.Kind.JOINED:
            title = _("Joined the list “%(list)s”") % {"list": change.contact_list.name}
        else:
            title = _("Left the list “%(list)s”") % {"list": change.contact_list.name}
        detail = str(_("This is the inclusion list.")) if is_inclusion else ""
        events.append(TimelineEvent(at=change.at, kind=change.kind, title=str(title), detail=detail))

    pending = PendingSync.objects.filter(contact=contact).first()
    if pending is not None:
        detail = ""
        if pending.next_attempt_at:
            detail = str(_("Next attempt at %(when)s.") % {"when": timezone.localtime(pending.next_attempt_at)})
        events.append(
            TimelineEvent(
                at=pending.updated_at or pending.enqueued_at,
                kind="queued",
                title=str(_("Queued for sending (attempt %(n)s)") % {"n": pending.attempts + 1}),
                reasons=_reason_labels(pending.reasons),
                detail=detail,
            )
        )

    explained = explanations is not None
    records = SyncRecord.objects.filter(contact=contact).order_by("-created_at", "-id")[:limit]
    for record in records:
        event = TimelineEvent(
            at=record.created_at,
            kind=record.action,
            title=_record_title(record),
            record=record,
            reasons=_reason_labels(record.reasons),
            detail=record.message,
        )
        if record.action in (SyncRecord.Action.CREATED, SyncRecord.Action.UPDATED):
            event.changes = payload_changes(record.payload_before, record.payload_after)
            event.conflicts = conflict_rows(record.conflicts)
        elif record.action == SyncRecord.Action.SKIPPED and record.skip_reason == SyncRecord.SkipReason.NOT_MEMBER:
            if not explained:
                explanations = inclusion_explanations(contact, now=now)
                explained = True
            event.explanations = explanations
        events.append(event)
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]


def _record_title(record: SyncRecord) -> str:
    where = record.salesforce_object or "Salesforce"
    if record.direction == SyncRecord.Direction.TO_HUBSPOT:
        where = "HubSpot"
    if record.action == SyncRecord.Action.CREATED:
        return str(_("Created in %(where)s") % {"where": where})
    if record.action == SyncRecord.Action.UPDATED:
        return str(_("Updated in %(where)s") % {"where": where})
    if record.action == SyncRecord.Action.UNCHANGED:
        return str(_("Nothing to send to %(where)s (unchanged)") % {"where": where})
    if record.action == SyncRecord.Action.SKIPPED:
        return str(_("Not sent: %(reason)s") % {"reason": record.get_skip_reason_display() or _("skipped")})
    return str(
        _("Failed (%(category)s): %(code)s")
        % {"category": record.get_category_display() or _("Other"), "code": record.error_code or "—"}
    )
