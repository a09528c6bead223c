"""Pending-sync queue, runs, per-record log, synced state and watermarks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lists.models import Contact, ContactList


class Reason(models.TextChoices):
    """Why a contact is queued for sending."""

    PROPERTY_CHANGED = "property_changed", _("Mapped property changed")
    JOINED_LIST = "joined_list", _("Joined the inclusion list")
    LIST_RESYNC = "list_resync", _("Manual resync of the list")
    CONTACT_RESYNC = "contact_resync", _("Manual resync of the contact")
    RETRY = "retry", _("Retry after a failure")
    # A field HubSpot must send to Salesforce, found by the Salesforce pull (a first link, a
    # conflict HubSpot won).
    SALESFORCE_CHANGED = "salesforce_changed", _("Salesforce record changed")


class Category(models.TextChoices):
    """Error categories, as ops triage them."""

    REQUIRED_FIELD = "required_field", _("Required field missing")
    INVALID_VALUE = "invalid_value", _("Invalid value or format")
    PICKLIST = "picklist", _("Picklist value")
    DUPLICATE = "duplicate", _("Duplicate")
    PERMISSION = "permission", _("Permission")
    VALIDATION_RULE = "validation_rule", _("Validation rule or custom code")
    API_LIMIT = "api_limit", _("API limit")
    CONNECTION = "connection", _("Connection or authentication")
    OTHER = "other", _("Other")


class PendingSync(models.Model):
    """One queued contact (coalesced: a contact is queued once, with all its reasons).

    The database, not the broker, is the source of truth: a lost task is redone by the next
    cycle, and a crashed worker's claim expires.
    """

    contact = models.OneToOneField(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="pending_sync"
    )
    reasons = models.JSONField(_("reasons"), default=list)
    enqueued_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("pending sync")
        verbose_name_plural = _("pending syncs")
        ordering = ["enqueued_at", "id"]
        indexes = [
            models.Index(fields=["next_attempt_at", "enqueued_at"], name="pending_due"),
            models.Index(fields=["claimed_at"], name="pending_claimed"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} ({', '.join(self.reasons)})"


@dataclass(frozen=True)
class ApiCalls:
    salesforce: int
    hubspot: int


class SyncRunQuerySet(models.QuerySet):
    def api_calls_last_24h(self, *, now: datetime | None = None) -> ApiCalls:
        """API calls spent by the runs (and previews) that started in the 24 hours before ``now``: the query
        behind the budget that pauses automatic syncs, the health page and the settings page."""
        since = (now or timezone.now()) - timedelta(hours=24)
        row = self.filter(started_at__gte=since).aggregate(
            salesforce=Sum("salesforce_api_calls"), hubspot=Sum("hubspot_api_calls")
        )
        # Previews ("Preview changes") spend the same allocation: their reads count too.
        previews = DryRun.objects.filter(created_at__gte=since).aggregate(
            salesforce=Sum("salesforce_api_calls"), hubspot=Sum("hubspot_api_calls")
        )
        return ApiCalls(
            salesforce=(row["salesforce"] or 0) + (previews["salesforce"] or 0),
            hubspot=(row["hubspot"] or 0) + (previews["hubspot"] or 0),
        )


class SyncRun(models.Model):
    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        WEBHOOK = "webhook", _("HubSpot webhook")
        MANUAL = "manual", _("Manual")
        LIST_RESYNC = "list_resync", _("List resync")
        CONTACT_RESYNC = "contact_resync", _("Contact resync")
        COMMAND = "command", _("Command line")
        SALESFORCE_IMPORT = "salesforce_import", _("Import of existing Salesforce records")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Finished with errors")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not run")

    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RUNNING, db_index=True)
    phase = models.CharField(_("phase"), max_length=40, blank=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    contact_list = models.ForeignKey(
        ContactList, verbose_name=_("list"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    considered = models.PositiveIntegerField(_("considered"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    pulled = models.PositiveIntegerField(_("pulled from HubSpot"), default=0)
    created_in_hubspot = models.PositiveIntegerField(_("created in HubSpot"), default=0)
    updated_in_hubspot = models.PositiveIntegerField(_("updated in HubSpot"), default=0)
    # Records where both sides had changed a field since they last agreed (resolved by its rule).
    conflicts = models.PositiveIntegerField(_("conflicts"), default=0)
    progress_done = models.PositiveIntegerField(_("done"), default=0)
    progress_total = models.PositiveIntegerField(_("to do"), default=0)
    salesforce_api_calls = models.PositiveIntegerField(_("Salesforce API calls"), default=0)
    hubspot_api_calls = models.PositiveIntegerField(_("HubSpot API calls"), default=0)
    error = models.TextField(_("error"), blank=True)
    warning = models.TextField(_("warning"), blank=True)
    # Which process runs it and when it last reported: a run whose worker died is closed as
    # interrupted by the next one.
    worker = models.CharField(_("worker"), max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    # Bulk API 2.0 jobs submitted and not yet read back: a restarted worker waits for them
    # before looking records up, so a job still running in Salesforce cannot cause duplicates.
    open_bulk_jobs = models.JSONField(_("open Bulk API jobs"), default=list, blank=True)
    # Workers pushing for this run right now (a resync may be shared by several).
    workers_active = models.PositiveSmallIntegerField(_("workers pushing"), default=0)

    objects = SyncRunQuerySet.as_manager()

    # What happened to the records a run considered (recounted from its SyncRecords at the end).
    PUSH_COUNTERS = ("considered", "created", "updated", "unchanged", "skipped", "failed")
    PULL_COUNTERS = ("created_in_hubspot", "updated_in_hubspot")

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at", "-id"]
        permissions = [("trigger_sync", _("Can trigger a sync or a resync"))]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_trigger_display()} {self.get_status_display()}"

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 100 if self.finished_at else 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class SyncRecord(models.Model):
    """One decision about one record in one run: the per-record sync log."""

    class Direction(models.TextChoices):
        TO_SALESFORCE = "to_salesforce", _("HubSpot → Salesforce")
        TO_HUBSPOT = "to_hubspot", _("Salesforce → HubSpot")

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        UNCHANGED = "unchanged", _("Unchanged")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")
        # Salesforce's lifecycle (sync.engine.lifecycle): the contact follows its record.
        RELINKED = "relinked", _("Relinked")
        UNLINKED = "unlinked", _("Unlinked")
        ARCHIVED = "archived", _("Archived in HubSpot")

    class SkipReason(models.TextChoices):
        NOT_MEMBER = "not_member", _("Not in the inclusion list")
        NO_INCLUSION_LIST = "no_inclusion_list", _("No inclusion list chosen")
        LIST_NOT_READY = "list_not_ready", _("Inclusion list is processing or failed")
        NO_EMAIL = "no_email", _("No email address")
        SYNC_DISABLED = "sync_disabled", _("Sync is turned off")
        DELETED = "deleted", _("Deleted in HubSpot")
        API_BUDGET = "api_budget", _("Daily API allocation reached")
        # A Salesforce record with the email of a contact linked to another record.
        OTHER_RECORD = "other_record", _("Another Salesforce record of the contact")
        SALESFORCE_DELETED = "salesforce_deleted", _("Deleted in Salesforce")
        # A field skipped, not the record: the owner has no user with the same email on the other side.
        OWNER_UNMATCHED = "owner_unmatched", _("Owner not found on the other side")

    run = models.ForeignKey(SyncRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="records")
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sync_records",
    )
    hubspot_id = models.CharField(_("HubSpot ID"), max_length=64, blank=True, db_index=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    direction = models.CharField(
        _("direction"), max_length=14, choices=Direction.choices, default=Direction.TO_SALESFORCE
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    skip_reason = models.CharField(_("skip reason"), max_length=20, choices=SkipReason.choices, blank=True)
    salesforce_object = models.CharField(_("Salesforce object"), max_length=10, blank=True)
    salesforce_id = models.CharField(_("Salesforce ID"), max_length=18, blank=True)
    error_code = models.CharField(_("error code"), max_length=80, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, blank=True)
    message = models.TextField(_("message"), blank=True)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    payload_before = models.JSONField(_("before"), null=True, blank=True)
    payload_after = models.JSONField(_("after"), null=True, blank=True)
    # Fields both sides changed since they last agreed: both values, both times, the winner. NULL
    # when there were none (most records: nothing to encode, and "has conflicts" is IS NOT NULL).
    conflicts = models.JSONField(_("conflicts"), null=True, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    attempt = models.PositiveIntegerField(_("attempt"), default=1)
    ignored = models.BooleanField(_("ignored"), default=False)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("sync record")
        verbose_name_plural = _("sync log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="record_recent"),
            models.Index(fields=["action", "-created_at"], name="record_action"),
            models.Index(fields=["category", "ignored", "-created_at"], name="record_category"),
            models.Index(fields=["run", "-created_at"], name="record_run"),
            models.Index(fields=["contact", "-created_at"], name="record_contact"),
            models.Index(fields=["salesforce_id"], name="record_sf_id"),
            models.Index(fields=["email"], name="record_email"),
        ]

    def __str__(self) -> str:
        return f"{self.email or self.hubspot_id}: {self.get_action_display()}"

    @classmethod
    def for_contact(cls, run: SyncRun, contact: Contact, direction: str, action: str, **fields) -> SyncRecord:
        """A record about one contact, with the contact's identity copied (the log outlives it)."""
        return cls(
            run=run,
            contact=contact,
            hubspot_id=contact.hubspot_id,
            email=contact.email[:254],
            name=str(contact)[:255],
            direction=direction,
            action=action,
            **fields,
        )


class SyncedState(models.Model):
    """What was last sent for a contact, and last seen in Salesforce (no resend, no echo)."""

    contact = models.OneToOneField(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="synced_state"
    )
    payload_hash = models.CharField(_("payload hash"), max_length=64, blank=True)
    last_payload = models.JSONField(_("last payload sent"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    salesforce_values = models.JSONField(_("last Salesforce values"), null=True, blank=True)
    salesforce_seen_at = models.DateTimeField(_("last seen in Salesforce at"), null=True, blank=True)
    # Per mapped field ("<hubspot property>:<salesforce field>"), the values HubSpot and Salesforce
    # last agreed on, [hubspot, salesforce]: the base of the three-way merge (sync.engine.merge).
    field_bases = models.JSONField(_("values both sides last agreed on"), default=dict, blank=True)
    # The Salesforce record this contact was linked to until it was deleted there, and when: under
    # SyncSettings.salesforce_deletions "keep_unlinked", the push does not create another one.
    salesforce_deleted_id = models.CharField(_("deleted Salesforce ID"), max_length=18, blank=True)
    salesforce_deleted_at = models.DateTimeField(_("deleted in Salesforce at"), null=True, blank=True)

    class Meta:
        verbose_name = _("synced state")
        verbose_name_plural = _("synced states")

    def __str__(self) -> str:
        return f"{self.contact}: {self.last_sent_at or '—'}"


class Watermark(models.Model):
    class Source(models.TextChoices):
        HUBSPOT_CONTACTS = "hubspot_contacts", _("HubSpot contacts")
        SALESFORCE_LEADS = "salesforce_leads", _("Salesforce leads")
        SALESFORCE_CONTACTS = "salesforce_contacts", _("Salesforce contacts")
        # Position in lists.MembershipChange of the joins of the inclusion list already queued.
        INCLUSION_JOINS = "inclusion_joins", _("Inclusion-list joins")
        # When contacts deleted in HubSpot were last looked for (search never returns them).
        HUBSPOT_ARCHIVED = "hubspot_archived", _("HubSpot deletions")
        # When Salesforce's deletions (getDeleted) were last read, per object.
        SALESFORCE_LEAD_DELETIONS = "sf_lead_deletions", _("Salesforce lead deletions")
        SALESFORCE_CONTACT_DELETIONS = "sf_contact_deletions", _("Salesforce contact deletions")
        # The import of existing records: ``cursor`` is the last Id imported, ``value`` when it finished.
        SALESFORCE_LEAD_IMPORT = "sf_lead_import", _("Import of existing Salesforce leads")
        SALESFORCE_CONTACT_IMPORT = "sf_contact_import", _("Import of existing Salesforce contacts")

    source = models.CharField(_("source"), max_length=24, choices=Source.choices, unique=True)
    value = models.DateTimeField(_("changes up to"), null=True, blank=True)
    # Paging state of an unfinished first load (HubSpot's `after` cursor).
    cursor = models.CharField(_("cursor"), max_length=255, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("watermark")
        verbose_name_plural = _("watermarks")

    def __str__(self) -> str:
        return f"{self.get_source_display()}: {self.value}"


class AlertState(models.Model):
    """The last state an alert was sent for, per kind of alert ("connection", "failures")."""

    OK = "ok"

    key = models.CharField(_("alert"), max_length=32, unique=True)
    state = models.CharField(_("state"), max_length=120, default="ok")
    detail = models.TextField(_("detail"), blank=True)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert state")
        verbose_name_plural = _("alert states")

    def __str__(self) -> str:
        return f"{self.key}: {self.state}"


class WebhookSignature(models.Model):
    """A signed webhook request already received, kept until its timestamp is too old to be
    accepted again: a replay within those minutes finds it here and is refused.

    In the database rather than the cache: the default cache is per process, and every web
    worker must know what the others have seen.
    """

    digest = models.CharField(_("signature digest"), max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("webhook signature")
        verbose_name_plural = _("webhook signatures")

    def __str__(self) -> str:
        return self.digest


# Alert channels live in their own module (imported here so Django registers them with the app).
from sync.alert_models import AlertChannel as AlertChannel  # noqa: E402
from sync.alert_models import AlertChannelState as AlertChannelState  # noqa: E402
from sync.alert_models import AlertDelivery as AlertDelivery  # noqa: E402
from sync.dry_run_models import DryRun as DryRun  # noqa: E402
