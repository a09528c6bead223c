"""Admin of the sync models; the ``SyncRecord`` changelist is the per-record sync log.

The log holds millions of rows, so its changelist never counts the whole table: the paginator
counts only a window of pages past the current one, the filters need no query of their own
(the run filter lists the latest runs only), only the time column sorts (on its index), and
the search turns emails and ids into exact, indexed lookups.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integration.models import SalesforceConnection
from sync.alerts import AlertState
from sync.models import PendingSync, Reason, SyncedState, SyncRecord, SyncRun, Watermark
from sync.selectors import current_failures, payload_changes, redact
from sync.services import records_ignore
from sync.services_ops import records_resync


class ReadOnlyAdmin(admin.ModelAdmin):
    """Logs are written by the engine only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# ---------------------------------------------------------------------------------------------
# Paging without COUNT(*)


class WindowPaginator(Paginator):
    """Counts at most ``lookahead`` pages past the current one (a LIMITed count, bounded work).

    ``capped`` tells the template that more rows exist than were counted.
    """

    lookahead = 5

    def __init__(self, object_list, per_page, *, page_number: int = 1, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = max(1, page_number)

    @cached_property
    def window(self) -> int:
        return (self.page_number + self.lookahead) * self.per_page

    @cached_property
    def count(self) -> int:
        counted = self.object_list[: self.window + 1].count()
        return counted

    @property
    def page_links(self):
        return self.get_elided_page_range(self.page_number, on_each_side=2, on_ends=1)

    @property
    def capped(self) -> bool:
        return self.count > self.window

    @cached_property
    def num_pages(self) -> int:
        if self.count == 0 and not self.allow_empty_first_page:
            return 0
        return max(1, math.ceil(self.count / self.per_page))


# ---------------------------------------------------------------------------------------------
# Filters


class RunFilter(admin.SimpleListFilter):
    """The latest runs as choices; any run id works in the URL (``?run=<id>``)."""

    title = _("run")
    parameter_name = "run"
    shown = 12

    def lookups(self, request, model_admin):
        runs = SyncRun.objects.order_by("-started_at", "-id").values_list("id", "trigger", "started_at")[: self.shown]
        triggers = dict(SyncRun.Trigger.choices)
        out = [
            (str(pk), f"#{pk} {triggers.get(trigger, trigger)} {timezone.localtime(started):%Y-%m-%d %H:%M}")
            for pk, trigger, started in runs
        ]
        value = self.value()
        if value and value.isdigit() and value not in {pk for pk, _label in out}:
            out.insert(0, (value, f"#{value}"))
        return out

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(run_id=int(value))


class CurrentFailureFilter(admin.SimpleListFilter):
    """Failures that are still the latest record of their contact (what the health page counts)."""

    title = _("status")
    parameter_name = "current"

    def lookups(self, request, model_admin):
        return [("yes", _("Current errors")), ("ignored", _("Ignored errors"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return current_failures(queryset)
        if self.value() == "ignored":
            return queryset.filter(action=SyncRecord.Action.FAILED, ignored=True)
        return queryset


# ---------------------------------------------------------------------------------------------
# Search helpers

REASONS = dict(Reason.choices)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SALESFORCE_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def salesforce_id_18(value: str) -> str:
    """Salesforce's case-safe 18-character form of a 15-character id (same record)."""
    if len(value) != 15:
        return value
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, char in enumerate(value[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix += alphabet[bits]
    return value + suffix


def salesforce_url(instance_url: str, sobject: str, record_id: str) -> str:
    return f"{instance_url.rstrip('/')}/lightning/r/{sobject}/{record_id}/view"


def salesforce_instance_url() -> str:
    row = SalesforceConnection.objects.filter(pk=1).values("environment", "instance_url").first() or {}
    if row.get("instance_url"):
        return row["instance_url"]
    if not row or row.get("environment") == SalesforceConnection.Environment.SANDBOX_EMULATOR:
        return getattr(settings, "SANDBOX_SALESFORCE_URL", "")
    return ""


# ---------------------------------------------------------------------------------------------
# CSV export

EXPORT_COLUMNS = [
    ("created_at", _("time")),
    ("run_id", _("run")),
    ("hubspot_id", _("HubSpot ID")),
    ("email", _("email")),
    ("name", _("name")),
    ("direction", _("direction")),
    ("action", _("action")),
    ("salesforce_object", _("Salesforce object")),
    ("salesforce_id", _("Salesforce ID")),
    ("category", _("category")),
    ("error_code", _("error code")),
    ("message", _("message")),
    ("fields", _("fields")),
    ("attempt", _("attempt")),
    ("ignored", _("ignored")),
]
EXPORT_CHUNK = 2000


class _Echo:
    """A file-like object whose write() returns the line: csv.writer then yields strings."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # Spreadsheet apps run cells that start like a formula (CSV injection).
        return "'" + value
    return value


def export_rows(queryset: QuerySet[SyncRecord]) -> Iterator[str]:
    """CSV lines of ``queryset``, read in chunks: memory stays flat whatever the row count."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([str(label) for _name, label in EXPORT_COLUMNS])
    names = [name for name, _label in EXPORT_COLUMNS]
    for row in queryset.values_list(*names).iterator(chunk_size=EXPORT_CHUNK):
        yield writer.writerow([_cell(v) for v in row])


# ---------------------------------------------------------------------------------------------
# The sync log


@admin.register(SyncRecord)
class SyncRecordAdmin(ReadOnlyAdmin):
    change_list_template = "admin/sync/syncrecord/change_list.html"
    # Four columns so the log fits beside the admin's navigation sidebar: the Salesforce record
    # sits under the contact, the run under the time.
    list_display = ["when", "contact_link", "outcome", "problem"]
    # The time cell holds the run link, and anchors cannot nest: the outcome opens the record.
    list_display_links = ["outcome"]
    list_filter = [
        CurrentFailureFilter,
        RunFilter,
        "action",
        "category",
        "direction",
        "skip_reason",
        ("created_at", admin.DateFieldListFilter),
        "ignored",
    ]
    search_fields = ["email", "name", "hubspot_id", "salesforce_id"]
    search_help_text = _(
        "An email, a HubSpot id or a Salesforce id finds exact matches; other text searches names and emails."
    )
    sortable_by = ["when"]
    raw_id_fields = ["run", "contact"]
    actions = ["resync_selected", "ignore_selected"]
    list_per_page = 100
    # Facet counts would run a COUNT per filter choice over the whole log.
    show_facets = admin.ShowFacets.NEVER
    # The log grows to millions of rows: no full-table COUNT for the paginator.
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        # Records leave the log through the retention sweep only.
        return False

    readonly_fields = ["timeline", "salesforce_record", "changes", "before", "after"]
    fieldsets = [
        (None, {"fields": ["created_at", "run", "timeline", "email", "hubspot_id", "direction", "action", "reasons"]}),
        (_("Salesforce"), {"fields": ["salesforce_record"]}),
        (
            _("Skip or error"),
            {"fields": ["skip_reason", "category", "error_code", "message", "fields", "attempt", "ignored"]},
        ),
        (_("Payload"), {"fields": ["changes", "before", "after"]}),
    ]

    @admin.display(description=_("contact"))
    def timeline(self, obj: SyncRecord):
        label = obj.name or obj.email or obj.hubspot_id or "—"
        if not obj.contact_id:
            return label
        return format_html(
            '<a href="{}">{}</a> ({})', reverse("sync:contact_timeline", args=[obj.contact_id]), label, _("timeline")
        )

    @admin.display(description=_("Salesforce record"))
    def salesforce_record(self, obj: SyncRecord):
        return self._salesforce_link(obj, salesforce_instance_url()) or "—"

    @staticmethod
    def _json(value: Any):
        if value is None:
            return "—"
        return format_html("<pre>{}</pre>", json.dumps(redact(value), indent=2, ensure_ascii=False, sort_keys=True))

    @admin.display(description=_("before"))
    def before(self, obj: SyncRecord):
        return self._json(obj.payload_before)

    @admin.display(description=_("after"))
    def after(self, obj: SyncRecord):
        return self._json(obj.payload_after)

    @admin.display(description=_("changes"))
    def changes(self, obj: SyncRecord):
        changes = payload_changes(obj.payload_before, obj.payload_after)
        if not changes:
            return "—"
        return format_html(
            '<table class="sync-changes">{}</table>',
            format_html_join(
                "",
                '<tr><th>{}</th><td><span class="sync-before">{}</span> → <strong>{}</strong></td></tr>',
                (
                    (c.field, "∅" if c.before is None else c.before, "∅" if c.after is None else c.after)
                    for c in changes
                ),
            ),
        )

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        try:
            page_number = int(request.GET.get("p", 1))
        except ValueError:
            page_number = 1
        return WindowPaginator(
            queryset, per_page, page_number=page_number, orphans=orphans, allow_empty_first_page=allow_empty_first_page
        )

    @staticmethod
    def _salesforce_link(obj: SyncRecord, instance_url: str):
        if not obj.salesforce_id:
            return ""
        label = f"{obj.salesforce_object} {obj.salesforce_id}".strip()
        if not instance_url or not obj.salesforce_object:
            return label
        return format_html(
            '<a href="{}" target="_blank" rel="noopener" class="sync-sf-link">{}</a>',
            salesforce_url(instance_url, obj.salesforce_object, obj.salesforce_id),
            label,
        )

    @staticmethod
    def _contact_cell(obj: SyncRecord, instance_url: str):
        label = obj.name or obj.email or obj.hubspot_id or "—"
        if obj.contact_id:
            contact = format_html(
                '<a href="{}" title="{}" class="sync-contact-link">{}</a>',
                reverse("sync:contact_timeline", args=[obj.contact_id]),
                obj.email,
                label,
            )
        else:
            contact = label
        salesforce = SyncRecordAdmin._salesforce_link(obj, instance_url)
        if not salesforce:
            return contact
        return format_html("{}<br><small>{}</small>", contact, salesforce)

    @admin.display(description=_("contact"))
    def contact_link(self, obj: SyncRecord):
        return self._contact_cell(obj, salesforce_instance_url())

    def get_list_display(self, request):
        # The instance URL is read once per page, not once per row (the method above would
        # query it for each row).
        instance_url = salesforce_instance_url()

        @admin.display(description=_("contact"))
        def contact_link(obj: SyncRecord):
            return self._contact_cell(obj, instance_url)

        return [contact_link if name == "contact_link" else name for name in self.list_display]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if EMAIL.match(term):
            return queryset.filter(email__in=sorted({term, term.lower()})), False
        if term.isdigit():
            return queryset.filter(hubspot_id=term), False
        if SALESFORCE_ID.match(term) and any(c.isdigit() for c in term):
            return queryset.filter(salesforce_id__in=sorted({term, salesforce_id_18(term)})), False
        return queryset.filter(Q(name__icontains=term) | Q(email__icontains=term)), False

    @admin.display(description=_("time"), ordering="created_at")
    def when(self, obj: SyncRecord):
        local = timezone.localtime(obj.created_at)
        return format_html(
            '<span title="{}">{}</span><br><small><a href="?run={}">{} #{}</a></small>',
            local.isoformat(timespec="seconds"),
            formats.date_format(local, "SHORT_DATETIME_FORMAT"),
            obj.run_id,
            _("run"),
            obj.run_id,
        )

    @admin.display(description=_("outcome"))
    def outcome(self, obj: SyncRecord):
        arrow = "→ Salesforce" if obj.direction == SyncRecord.Direction.TO_SALESFORCE else "→ HubSpot"
        return format_html(
            '<span class="sync-action sync-action-{}">{}</span><br><small>{}</small>',
            obj.action,
            obj.get_action_display(),
            arrow,
        )

    @admin.display(description=_("why"))
    def problem(self, obj: SyncRecord):
        if obj.action == SyncRecord.Action.SKIPPED:
            return obj.get_skip_reason_display() or "—"
        if obj.action != SyncRecord.Action.FAILED:
            # Why it was sent: the queue reasons ("Mapped property changed", "Manual resync...").
            reasons = ", ".join(str(REASONS.get(r, r)) for r in obj.reasons or [])
            return Truncator(obj.message or reasons).chars(120)
        return format_html(
            "<strong>{}</strong>{} <code>{}</code><br>{}",
            obj.get_category_display() or _("Other"),
            format_html(" ({})", _("ignored")) if obj.ignored else "",
            obj.error_code,
            Truncator(obj.message).chars(160),
        )

    # Actions -----------------------------------------------------------------------------

    def has_resync_permission(self, request) -> bool:
        return request.user.has_perm("sync.trigger_sync")

    def has_ignore_permission(self, request) -> bool:
        return request.user.has_perm("sync.change_syncrecord")

    @admin.action(description=_("Resync selected"), permissions=["resync"])
    def resync_selected(self, request, queryset):
        run, queued = records_resync(records=queryset, actor=request.user)
        if not queued:
            self.message_user(request, _("None of these records has a contact to resync."), messages.WARNING)
            return
        text = ngettext(
            "%(n)d contact queued for a resync.",
            "%(n)d contacts queued for a resync.",
            queued,
        ) % {"n": queued}
        if run is not None:
            text += " " + str(_("Run #%(run)s is sending them.") % {"run": run.pk})
        self.message_user(request, text, messages.SUCCESS)

    @admin.action(description=_("Ignore"), permissions=["ignore"])
    def ignore_selected(self, request, queryset):
        # Only failures can be "current errors"; ignoring anything else would mean nothing.
        changed = records_ignore(records=queryset.filter(action=SyncRecord.Action.FAILED), actor=request.user)
        self.message_user(
            request,
            ngettext(
                "%(n)d error ignored: it no longer counts on the health page.",
                "%(n)d errors ignored: they no longer count on the health page.",
                changed,
            )
            % {"n": changed},
            messages.SUCCESS if changed else messages.WARNING,
        )

    # Export ------------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name=f"{info[0]}_{info[1]}_export"),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The failed records matching the changelist's filters and search, as streamed CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        queryset = changelist.queryset.filter(action=SyncRecord.Action.FAILED).order_by("-created_at", "-id")
        response = StreamingHttpResponse(export_rows(queryset), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="sync-errors-{stamp}.csv"'
        return response

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        query = request.GET.copy()
        for key in ("p", "o"):
            query.pop(key, None)
        extra_context["export_url"] = reverse("admin:sync_syncrecord_export") + (
            "?" + query.urlencode() if query else ""
        )
        extra_context["health_url"] = reverse("sync:health")
        extra_context.setdefault("title", _("Sync log"))
        return super().changelist_view(request, extra_context)


# ---------------------------------------------------------------------------------------------
# Runs and the rest


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "trigger",
        "status",
        "started_at",
        "duration",
        "progress",
        "considered",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "salesforce_api_calls",
        "hubspot_api_calls",
        "records_link",
    ]
    list_filter = ["status", "trigger"]
    date_hierarchy = "started_at"
    list_select_related = ["triggered_by", "contact_list"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("duration"))
    def duration(self, obj: SyncRun):
        end = obj.finished_at or timezone.now()
        seconds = int((end - obj.started_at).total_seconds())
        return f"{seconds // 60}:{seconds % 60:02d}"

    @admin.display(description=_("progress"))
    def progress(self, obj: SyncRun):
        return format_html(
            '<progress max="100" value="{}"></progress> {}/{}',
            obj.progress_percent,
            obj.progress_done,
            obj.progress_total,
        )

    @admin.display(description=_("records"))
    def records_link(self, obj: SyncRun):
        return format_html(
            '<a href="{}?run={}">{}</a>', reverse("admin:sync_syncrecord_changelist"), obj.pk, _("sync log")
        )


@admin.register(PendingSync)
class PendingSyncAdmin(ReadOnlyAdmin):
    list_display = ["contact", "reasons", "enqueued_at", "attempts", "next_attempt_at", "claimed_by", "last_error"]
    search_fields = ["contact__email", "contact__hubspot_id"]
    list_select_related = ["contact"]
    raw_id_fields = ["contact"]


@admin.register(SyncedState)
class SyncedStateAdmin(ReadOnlyAdmin):
    list_display = ["contact", "last_sent_at", "salesforce_seen_at"]
    search_fields = ["contact__email", "contact__hubspot_id"]
    list_select_related = ["contact"]
    raw_id_fields = ["contact"]


@admin.register(Watermark)
class WatermarkAdmin(ReadOnlyAdmin):
    list_display = ["source", "value", "cursor", "updated_at"]


@admin.register(AlertState)
class AlertStateAdmin(ReadOnlyAdmin):
    list_display = ["key", "state", "detail", "changed_at", "notified_at"]
