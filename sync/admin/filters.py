"""The sync log's own filters: none needs a query over the whole log to list its choices."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sync.models import SyncRecord, SyncRun
from sync.selectors import current_failures


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


class ConflictFilter(admin.SimpleListFilter):
    """Records where both sides had changed a field since they last agreed."""

    title = _("conflicts")
    parameter_name = "conflicts"

    def lookups(self, request, model_admin):
        return [("yes", _("Both sides changed a field"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(conflicts__isnull=False)
        return queryset
