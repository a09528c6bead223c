"""Dry runs ("Preview changes"): what a resync, a switch of inclusion list or the next cycle
would write to Salesforce, computed without writing (``sync.engine.dryrun``).

Imported by ``sync.models`` (the app's models module); kept apart so that file stays short.
The run's state lives on its row (status, progress, counts), as a ``SyncRun``'s does; the
per-record intents are kept as a capped sample (``rows``), enough for the page and the CSV.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lists.models import ContactList


class DryRun(models.Model):
    class Kind(models.TextChoices):
        RESYNC = "resync", _("Resync of a list")
        SWITCH = "switch", _("Switch of inclusion list")
        NEXT_CYCLE = "next_cycle", _("Next sync cycle")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Done")
        FAILED = "failed", _("Failed")

    COUNTERS = ("considered", "created", "updated", "unchanged", "skipped", "failed", "to_hubspot")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    contact_list = models.ForeignKey(
        ContactList,
        verbose_name=_("list"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The list resynced, or the list that would become the inclusion list."),
    )
    list_name = models.CharField(_("list name"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    progress_done = models.PositiveIntegerField(_("done"), default=0)
    progress_total = models.PositiveIntegerField(_("to do"), default=0)
    considered = models.PositiveIntegerField(_("considered"), default=0)
    created = models.PositiveIntegerField(_("would create"), default=0)
    updated = models.PositiveIntegerField(_("would update"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    skipped = models.PositiveIntegerField(_("would skip"), default=0)
    failed = models.PositiveIntegerField(_("would fail"), default=0)
    to_hubspot = models.PositiveIntegerField(_("would update in HubSpot"), default=0)
    salesforce_api_calls = models.PositiveIntegerField(_("Salesforce API calls"), default=0)
    hubspot_api_calls = models.PositiveIntegerField(_("HubSpot API calls"), default=0)
    # Intents (``sync.engine.dryrun.Intent.as_json``), capped per action.
    rows = models.JSONField(_("sample of records"), default=list, blank=True)
    rows_truncated = models.BooleanField(_("sample truncated"), default=False)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("dry run")
        verbose_name_plural = _("dry runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        label = self.get_kind_display()
        return f"{label}: {self.list_name}" if self.list_name else str(label)

    @property
    def interrupted(self) -> bool:
        """Running for longer than a worker may run a task: the worker died or was stopped
        (django-q2 ends a task at ``Q_CLUSTER["timeout"]``), so no result will come."""
        if self.status != self.Status.RUNNING or self.started_at is None:
            return False
        limit = int(settings.Q_CLUSTER.get("timeout") or 1800)
        return (timezone.now() - self.started_at).total_seconds() > limit

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED) or self.interrupted

    @property
    def progress_percent(self) -> int:
        if self.finished and not self.error:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(self.progress_done * 100 / self.progress_total))
