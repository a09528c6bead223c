"""The per-record sync log: the ``SyncRecord`` changelist, its search, actions and export.

The log holds millions of rows, so its changelist never counts the whole table: the paginator
counts only a window of pages past the current one, the filters need no query of their own
(the run filter lists the latest runs only), only the time column sorts (on its index), and
the search turns emails and ids into exact, indexed lookups.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lists.admin.base import ReadOnlyAdmin
from sync.admin.export import export_rows
from sync.admin.filters import ConflictFilter, CurrentFailureFilter, RunFilter
from sync.admin.links import salesforce_id_18, salesforce_instance_url, salesforce_url
from sync.admin.paginator import WindowPaginator
from sync.models import Reason, SyncRecord
from sync.selectors import conflict_rows, payload_changes, redact
from sync.services import records_ignore, records_resync

REASONS = dict(Reason.choices)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SALESFORCE_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


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
        ConflictFilter,
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

    # Records leave the log through the retention sweep only (ReadOnlyAdmin: no delete).

    readonly_fields = ["timeline", "salesforce_record", "changes", "conflict_table", "before", "after"]
    fieldsets = [
        (None, {"fields": ["created_at", "run", "timeline", "email", "hubspot_id", "direction", "action", "reasons"]}),
        (_("Salesforce"), {"fields": ["salesforce_record"]}),
        (
            _("Skip or error"),
            {"fields": ["skip_reason", "category", "error_code", "message", "fields", "attempt", "ignored"]},
        ),
        (_("Payload"), {"fields": ["changes", "conflict_table", "before", "after"]}),
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

    @admin.display(description=_("conflicts"))
    def conflict_table(self, obj: SyncRecord):
        rows = conflict_rows(obj.conflicts)
        if not rows:
            return "—"
        return format_html(
            '<table class="sync-conflicts"><tr><th>{}</th><th>HubSpot</th><th>Salesforce</th><th>{}</th></tr>{}</table>',
            _("field"),
            _("kept"),
            format_html_join(
                "",
                "<tr><th>{}</th><td>{} <small>{}</small></td><td>{} <small>{}</small></td><td>{}</td></tr>",
                (
                    (
                        r.field,
                        r.hubspot_value,
                        _when(r.hubspot_at),
                        r.salesforce_value,
                        _when(r.salesforce_at),
                        r.winner,
                    )
                    for r in rows
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
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name=admin_urlname(self.opts, "export").removeprefix("admin:"),
            ),
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
        extra_context["export_url"] = reverse(admin_urlname(self.opts, "export")) + (
            "?" + query.urlencode() if query else ""
        )
        extra_context["health_url"] = reverse("sync:health")
        extra_context.setdefault("title", _("Sync log"))
        return super().changelist_view(request, extra_context)


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else "—"
