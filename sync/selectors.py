"""Reads behind the ops view: health cards, API usage, runs, charts and the contact timeline.

Every query here must stay fast with millions of ``SyncRecord`` rows: none scans the whole
log. Per-hour figures come from the run counters (a small table, kept by the retention sweep),
and "current" failures are found from the failed rows only, with one index probe each.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integration.models import ConnectionStatus, HubSpotConnection, SalesforceConnection, SyncSettings
from lists.criteria import CriteriaError, explain, load_schema, parse, referenced_list_ids
from lists.models import Contact, ContactList, MembershipChange
from sync.models import Category, PendingSync, SyncRecord, SyncRun

# ---------------------------------------------------------------------------------------------
# Current failures


def current_failures(queryset: QuerySet[SyncRecord] | None = None) -> QuerySet[SyncRecord]:
    """Failed, not ignored records that are still the latest word on their contact.

    A failure stops being current as soon as a later record exists for the same contact in the
    same direction (a success, a skip, or a newer failure, which is then the current one).
    The probe walks the ``record_contact`` index from the failure's time onwards. Records
    without a contact (deleted since) stay current until ignored or swept.
    """
    later = SyncRecord.objects.filter(
        contact_id=OuterRef("contact_id"),
        direction=OuterRef("direction"),
        created_at__gt=OuterRef("created_at"),
    )
    queryset = SyncRecord.objects.all() if queryset is None else queryset
    return queryset.filter(action=SyncRecord.Action.FAILED, ignored=False).exclude(Exists(later))


@dataclass
class CategoryCard:
    category: str
    label: str
    affected: int = 0
    errors_24h: int = 0
    top_codes: list[tuple[str, int]] = field(default_factory=list)

    @property
    def is_failing(self) -> bool:
        return self.affected > 0


def category_cards(*, now: dt.datetime | None = None) -> list[CategoryCard]:
    """One card per category, in the order of ``Category``: two grouped queries in all."""
    now = now or timezone.now()
    cards = {value: CategoryCard(category=value, label=str(label)) for value, label in Category.choices}
    codes: dict[str, list[tuple[str, int]]] = {value: [] for value in cards}
    rows = current_failures().values("category", "error_code").annotate(n=Count("id")).order_by()
    for row in rows:
        card = cards.get(row["category"]) or cards[Category.OTHER]
        card.affected += row["n"]
        codes[card.category].append((row["error_code"] or "—", row["n"]))
    recent = (
        SyncRecord.objects.filter(action=SyncRecord.Action.FAILED, created_at__gte=now - dt.timedelta(hours=24))
        .values("category")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in recent:
        card = cards.get(row["category"]) or cards[Category.OTHER]
        card.errors_24h += row["n"]
    for category, pairs in codes.items():
        cards[category].top_codes = sorted(pairs, key=lambda p: (-p[1], p[0]))[:3]
    return list(cards.values())


# ---------------------------------------------------------------------------------------------
# API usage, runs


@dataclass
class ApiUsage:
    allocation: int
    used_24h: int
    hubspot_24h: int
    per_hour: list[tuple[dt.datetime, int]]

    @property
    def percent(self) -> int:
        if not self.allocation:
            return 100 if self.used_24h else 0
        return round(100 * self.used_24h / self.allocation)

    @property
    def remaining(self) -> int:
        return max(0, self.allocation - self.used_24h)

    @property
    def exhausted(self) -> bool:
        return self.allocation > 0 and self.used_24h >= self.allocation


def _hour_floor(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _hours(now: dt.datetime, count: int) -> list[dt.datetime]:
    last = _hour_floor(now.astimezone(dt.UTC))
    return [last - dt.timedelta(hours=count - 1 - i) for i in range(count)]


def _per_hour(since: dt.datetime, **sums: Any) -> dict[dt.datetime, dict[str, int]]:
    rows = (
        SyncRun.objects.filter(started_at__gte=since)
        .annotate(hour=TruncHour("started_at", tzinfo=dt.UTC))
        .values("hour")
        .annotate(**{name: Sum(expr) for name, expr in sums.items()})
        .order_by()
    )
    return {row["hour"].astimezone(dt.UTC): {k: row[k] or 0 for k in sums} for row in rows}


def api_usage(*, now: dt.datetime | None = None) -> ApiUsage:
    """Salesforce calls spent by runs that started in the last 24 hours, against the allocation.

    The per-hour figures attribute a run's calls to the hour it started in.
    """
    now = now or timezone.now()
    hours = _hours(now, 24)
    buckets = _per_hour(hours[0], salesforce=F("salesforce_api_calls"), hubspot=F("hubspot_api_calls"))
    allocation = SyncSettings.objects.values_list("daily_api_allocation", flat=True).first()
    if allocation is None:
        allocation = SyncSettings._meta.get_field("daily_api_allocation").default
    window = SyncRun.objects.filter(started_at__gte=now - dt.timedelta(hours=24)).aggregate(
        sf=Sum("salesforce_api_calls"), hs=Sum("hubspot_api_calls")
    )
    return ApiUsage(
        allocation=allocation,
        used_24h=window["sf"] or 0,
        hubspot_24h=window["hs"] or 0,
        per_hour=[(hour, buckets.get(hour, {}).get("salesforce", 0)) for hour in hours],
    )


@dataclass
class HourTotals:
    hour: dt.datetime
    synced: int
    skipped: int
    failed: int

    @property
    def total(self) -> int:
        return self.synced + self.skipped + self.failed


def hourly_totals(*, now: dt.datetime | None = None, days: int = 7) -> list[HourTotals]:
    """Synced (created + updated), skipped and failed per hour, from the run counters.

    The counters survive the retention sweep of the per-record log, so the chart covers the
    whole period even when old records are gone.
    """
    now = now or timezone.now()
    hours = _hours(now, 24 * days)
    buckets = _per_hour(hours[0], synced=F("created") + F("updated"), skipped=F("skipped"), failed=F("failed"))
    out = []
    for hour in hours:
        b = buckets.get(hour, {})
        out.append(HourTotals(hour, b.get("synced", 0), b.get("skipped", 0), b.get("failed", 0)))
    return out


def current_run() -> SyncRun | None:
    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING).order_by("-started_at", "-id").first()


def recent_runs(*, limit: int = 15) -> list[SyncRun]:
    return list(SyncRun.objects.select_related("triggered_by", "contact_list").order_by("-started_at", "-id")[:limit])


def run_duration(run: SyncRun, *, now: dt.datetime | None = None) -> dt.timedelta:
    end = run.finished_at or now or timezone.now()
    return max(dt.timedelta(0), end - run.started_at)


def run_progress(run: SyncRun, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """A run as the health page's progress bar reads it (JSON-serialisable)."""
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "trigger": str(run.get_trigger_display()),
        "phase": run.phase,
        "done": run.progress_done,
        "total": run.progress_total,
        "percent": run.progress_percent,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "skipped": run.skipped,
        "failed": run.failed,
        "salesforce_api_calls": run.salesforce_api_calls,
        "hubspot_api_calls": run.hubspot_api_calls,
        "seconds": int(run_duration(run, now=now).total_seconds()),
        "finished": run.finished_at is not None,
    }


# ---------------------------------------------------------------------------------------------
# Suspension banner


@dataclass
class Suspension:
    system: str
    kind: str  # "auth", "api_disabled", "limit", "other"
    title: str
    reason: str
    advice: str
    link: str = ""


_AUTH = re.compile(r"INVALID_SESSION|INVALID_AUTH|invalid_grant|auth|401|403|expired|token", re.I)
_DISABLED = re.compile(r"API_DISABLED|API is not enabled|disabled", re.I)
_LIMIT = re.compile(r"REQUEST_LIMIT|limit|quota|429|allocation", re.I)


def _kind(reason: str) -> str:
    # Order matters: "API_DISABLED_FOR_ORG" also reads as an authorisation problem.
    if _DISABLED.search(reason):
        return "api_disabled"
    if _LIMIT.search(reason):
        return "limit"
    if _AUTH.search(reason):
        return "auth"
    return "other"


ADVICE = {
    "auth": _(
        "The credentials were refused or have expired. Reconnect on the connected app's settings page; "
        "queued contacts are kept and sync when the connection works again."
    ),
    "api_disabled": _(
        "Salesforce refuses API access for this user or org. Ask your Salesforce administrator to grant the "
        "“API Enabled” permission to the integration user's profile (API access also needs an edition that "
        "includes it), then reconnect."
    ),
    "limit": _(
        "The daily API allocation is used up. Syncs resume on their own as the 24-hour window frees calls; "
        "to resume sooner, raise the daily allocation in the sync settings (or buy more calls from Salesforce)."
    ),
    "other": _("The integration stopped after an error. Check the connection on the connected app's settings page."),
}

TITLES = {
    "auth": _("authentication failed"),
    "api_disabled": _("API access disabled"),
    "limit": _("daily API limit reached"),
    "other": _("connection error"),
}


SETTINGS_PAGE = "/admin/integration/salesforce/settings/"


def connected_app_url() -> str:
    """The connected app's settings page (public contract path), or its admin row if not served."""
    try:
        # The admin's unnamed catch-all view matches any path: only a named view is the page.
        served = bool(resolve(SETTINGS_PAGE).url_name)
    except Resolver404:
        served = False
    return SETTINGS_PAGE if served else reverse("admin:integration_salesforceconnection_changelist")


def suspensions(*, usage: ApiUsage | None = None) -> list[Suspension]:
    """Why the integration is not syncing, with what to do, for the health page and the alerts."""
    out: list[Suspension] = []
    settings_link = connected_app_url()
    for model, system in ((SalesforceConnection, "Salesforce"), (HubSpotConnection, "HubSpot")):
        row = model.objects.filter(pk=1).values("status", "status_reason").first()
        if not row or row["status"] not in (ConnectionStatus.SUSPENDED, ConnectionStatus.ERROR):
            continue
        kind = _kind(row["status_reason"] or "")
        out.append(
            Suspension(
                system=system,
                kind=kind,
                title=f"{system}: {TITLES[kind]}",
                reason=row["status_reason"] or "",
                advice=str(ADVICE[kind]),
                link=settings_link,
            )
        )
    if usage is not None and usage.exhausted and not any(s.kind == "limit" for s in out):
        out.append(
            Suspension(
                system="Salesforce",
                kind="limit",
                title=f"Salesforce: {TITLES['limit']}",
                reason=str(
                    _("%(used)s of %(allocation)s calls used in the last 24 hours.")
                    % {"used": usage.used_24h, "allocation": usage.allocation}
                ),
                advice=str(ADVICE["limit"]),
                link=reverse("admin:integration_syncsettings_changelist"),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Contact timeline

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
class Explanation:
    group: int
    index: int
    place: str
    sentence: str
    passed: bool
    value: Any = None


def inclusion_explanations(contact: Contact, *, now: dt.datetime | None = None) -> list[Explanation] | None:
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
    list_ids = set(contact.memberships.values_list("contact_list_id", flat=True))
    names = dict(ContactList.objects.filter(pk__in=referenced_list_ids(branch)).values_list("pk", "name"))
    raw = explain(
        branch,
        properties=contact.properties,
        list_ids=list_ids,
        now=now or timezone.now(),
        schema=load_schema(),
        list_names=names,
    )
    return [_explanation(item) for item in raw]


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


def _explanation(item: Any) -> Explanation:
    get = item.get if isinstance(item, dict) else lambda k, d=None: getattr(item, k, d)
    return Explanation(
        group=get("group_index", 0) or 0,
        index=get("filter_index", 0) or 0,
        place=str(get("place", "")),
        sentence=str(get("sentence", "")),
        passed=bool(get("passed", False)),
        value=get("value"),
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
    explanations: list[Explanation] | None = None


def _reason_labels(reasons: Iterable[str]) -> list[str]:
    from sync.models import Reason

    labels = dict(Reason.choices)
    return [str(labels.get(r, r)) for r in reasons]


def contact_timeline(*, contact: Contact, limit: int = 200, now: dt.datetime | None = None) -> list[TimelineEvent]:
    """What happened to a contact, newest first: list joins and leaves, queueing, every decision."""
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

    explanations: list[Explanation] | None = None
    explained = False
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
