"""Runs, the queue, synced state, watermarks and alert states: read-only views of what the engine
keeps."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from lists.admin.base import ReadOnlyAdmin
from sync.models import AlertState, PendingSync, SyncedState, SyncRecord, SyncRun, Watermark
from sync.selectors import run_duration_text


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "trigger",
        "status",
        "started_at",
        "duration",
        "progress",
        *SyncRun.PUSH_COUNTERS,
        "salesforce_api_calls",
        "hubspot_api_calls",
        "records_link",
    ]
    list_filter = ["status", "trigger"]
    date_hierarchy = "started_at"
    list_select_related = ["triggered_by", "contact_list"]

    @admin.display(description=_("duration"))
    def duration(self, obj: SyncRun):
        return run_duration_text(obj)

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
            '<a href="{}?run={}">{}</a>', reverse(admin_urlname(SyncRecord._meta, "changelist")), obj.pk, _("sync log")
        )


class EngineStateAdmin(ReadOnlyAdmin):
    """The engine's own state, which ops may remove a row of by hand (a stuck queue entry, a
    position to pull again from, an alert to send again)."""

    deletable = True


class PerContactStateAdmin(EngineStateAdmin):
    search_fields = ["contact__email", "contact__hubspot_id"]
    list_select_related = ["contact"]
    raw_id_fields = ["contact"]


@admin.register(PendingSync)
class PendingSyncAdmin(PerContactStateAdmin):
    list_display = ["contact", "reasons", "enqueued_at", "attempts", "next_attempt_at", "claimed_by", "last_error"]


@admin.register(SyncedState)
class SyncedStateAdmin(PerContactStateAdmin):
    list_display = ["contact", "last_sent_at", "salesforce_seen_at"]


@admin.register(Watermark)
class WatermarkAdmin(EngineStateAdmin):
    list_display = ["source", "value", "cursor", "updated_at"]


@admin.register(AlertState)
class AlertStateAdmin(EngineStateAdmin):
    list_display = ["key", "state", "detail", "changed_at", "notified_at"]
