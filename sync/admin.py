from django.contrib import admin

from sync.models import PendingSync, SyncedState, SyncRecord, SyncRun, Watermark


class ReadOnlyAdmin(admin.ModelAdmin):
    """Logs are written by the engine only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "trigger",
        "status",
        "started_at",
        "finished_at",
        "considered",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "salesforce_api_calls",
        "hubspot_api_calls",
    ]
    list_filter = ["status", "trigger"]
    date_hierarchy = "started_at"
    list_select_related = ["triggered_by", "contact_list"]


@admin.register(SyncRecord)
class SyncRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "email",
        "direction",
        "action",
        "skip_reason",
        "category",
        "error_code",
        "salesforce_object",
        "salesforce_id",
        "run_id",
    ]
    list_filter = ["action", "category", "direction", "skip_reason"]
    search_fields = ["=hubspot_id", "=salesforce_id", "email", "name"]
    raw_id_fields = ["run", "contact"]
    # The log grows to millions of rows: no full-table COUNT for the paginator.
    show_full_result_count = False


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
