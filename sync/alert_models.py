"""Where alerts go: channels configured in the admin, each with its own thresholds, the state
each channel was last alerted about, and every delivery with its attempts.

Imported by ``sync.models`` (the app's models module); kept apart so that file stays short.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.crypto import EncryptedTextField


class AlertChannel(models.Model):
    """One place alerts are sent: a list of email addresses, a Slack incoming webhook or any
    HTTPS endpoint. Each channel decides which conditions it hears about and at what thresholds;
    a threshold left blank means that condition is not sent to this channel."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        SLACK = "slack", _("Slack incoming webhook")
        WEBHOOK = "webhook", _("Webhook (JSON)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.EMAIL)
    enabled = models.BooleanField(_("enabled"), default=True)
    recipients = models.TextField(
        _("email recipients"),
        blank=True,
        help_text=_("Email channels: one address per line (or separated by commas)."),
    )
    webhook_url = EncryptedTextField(_("webhook URL"), blank=True)
    signing_secret = EncryptedTextField(_("signing secret"), blank=True)
    allow_custom_endpoint = models.BooleanField(
        _("allow a private test server"),
        default=False,
        help_text=_(
            "Let the webhook URL use plain http and any host (a test server on your network). "
            "Leave off in production: Slack URLs must be on hooks.slack.com, others https."
        ),
    )
    on_suspension = models.BooleanField(
        _("alert when the sync is suspended"),
        default=True,
        help_text=_("A connection failed to authenticate, the API limit was reached, or an admin paused the sync."),
    )
    failures_per_hour = models.PositiveIntegerField(
        _("failures per hour"),
        null=True,
        blank=True,
        default=25,
        help_text=_("Alert when at least this many records failed to sync in the last hour. Blank: never."),
    )
    run_minutes = models.PositiveIntegerField(
        _("run not finished after (minutes)"),
        null=True,
        blank=True,
        help_text=_("Alert when a sync run has been running for longer than this. Blank: never."),
    )
    api_usage_percent = models.PositiveSmallIntegerField(
        _("API usage over (%)"),
        null=True,
        blank=True,
        help_text=_(
            "Alert when the Salesforce API calls of the last 24 hours pass this share of the daily allocation. "
            "Blank: never."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("alert channel")
        verbose_name_plural = _("alert channels")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(api_usage_percent__isnull=True) | models.Q(api_usage_percent__lte=1000),
                name="alertchannel_api_usage_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def recipient_list(self) -> list[str]:
        return [part.strip() for part in self.recipients.replace(",", "\n").splitlines() if part.strip()]

    def clean(self) -> None:
        if self.kind == self.Kind.EMAIL and not self.recipient_list():
            raise ValidationError({"recipients": _("Enter at least one email address.")})
        if self.kind != self.Kind.EMAIL and not self.webhook_url:
            raise ValidationError({"webhook_url": _("Enter the webhook URL.")})
        if self.failures_per_hour == 0:
            raise ValidationError({"failures_per_hour": _("Enter 1 or more, or leave blank.")})
        if self.api_usage_percent is not None and not 1 <= self.api_usage_percent <= 1000:
            raise ValidationError({"api_usage_percent": _("Enter a percentage between 1 and 1000, or leave blank.")})
        if self.run_minutes == 0:
            raise ValidationError({"run_minutes": _("Enter 1 or more, or leave blank.")})


class AlertChannelState(models.Model):
    """The last state of one condition that one channel was alerted about: a channel hears of a
    change once, when the condition starts and when it clears."""

    OK = "ok"

    channel = models.ForeignKey(
        AlertChannel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="states"
    )
    condition = models.CharField(_("condition"), max_length=40)
    state = models.CharField(_("state"), max_length=120, default=OK)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert channel state")
        verbose_name_plural = _("alert channel states")
        constraints = [models.UniqueConstraint(fields=["channel", "condition"], name="alertchannelstate_unique")]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.condition}: {self.state}"


class AlertDelivery(models.Model):
    """One alert (or test alert) to one channel, sent by a background job that retries it; each
    attempt's outcome is kept in ``attempts``."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        RETRYING = "retrying", _("Waiting to retry")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    class ErrorCategory(models.TextChoices):
        CONNECTION = "connection", _("Could not connect")
        TIMEOUT = "timeout", _("Timed out")
        SERVER_ERROR = "server_error", _("The receiver had an error (5xx)")
        RATE_LIMITED = "rate_limited", _("Rate limited (429)")
        REJECTED = "rejected", _("Refused by the receiver (4xx)")
        NOT_FOUND = "not_found", _("Webhook not found (404/410)")
        INVALID_URL = "invalid_url", _("Webhook URL not allowed")
        EMAIL = "email", _("Email could not be sent")
        OTHER = "other", _("Other error")

    channel = models.ForeignKey(
        AlertChannel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="deliveries"
    )
    condition = models.CharField(_("condition"), max_length=40)
    state = models.CharField(_("state"), max_length=120)
    is_test = models.BooleanField(_("test alert"), default=False)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("message"), blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error_category = models.CharField(_("error"), max_length=20, choices=ErrorCategory.choices, blank=True)
    attempts = models.JSONField(_("attempts"), default=list, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.condition}: {self.status}"
