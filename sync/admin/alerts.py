"""Alert channels in the admin: where alerts go and at what thresholds, each save audited
through ``sync.alerts.channels``, a "Send test alert" button per channel, and the deliveries
(read-only) with each attempt's outcome.

The webhook URL and the signing secret are write-only: the form shows the stored URL masked
(host and the path's first part) and keeps it unless a new one is typed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from lists.admin.base import ReadOnlyAdmin
from sync.alerts.channels import alert_channel_delete, alert_channel_save, alert_channel_test, last_test
from sync.alerts.conditions import condition_label
from sync.alerts.endpoints import masked, webhook_url_problem
from sync.models import AlertChannel, AlertDelivery
from sync.settings_page.forms import SecretInput

FIELDS = [
    "name",
    "kind",
    "enabled",
    "recipients",
    "allow_custom_endpoint",
    "on_suspension",
    "failures_per_hour",
    "run_minutes",
    "api_usage_percent",
]
PENDING = (AlertDelivery.Status.QUEUED, AlertDelivery.Status.SENDING, AlertDelivery.Status.RETRYING)


class AlertChannelForm(forms.ModelForm):
    new_webhook_url = forms.CharField(
        label=_("Webhook URL"),
        required=False,
        max_length=2000,
        widget=SecretInput(attrs={"size": 60}),
        help_text=_(
            "Slack: the incoming webhook URL (https://hooks.slack.com/services/…). Webhook: any https URL; "
            "it receives a JSON body. Stored encrypted and never shown again: leave blank to keep the stored one."
        ),
    )
    new_signing_secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        max_length=500,
        widget=SecretInput(),
        help_text=_(
            "Webhook only, optional: each request then carries the header X-Sync-Signature: sha256= followed by the "
            "hex HMAC-SHA256 of the body. "
            "Leave blank to keep the stored one."
        ),
    )
    clear_signing_secret = forms.BooleanField(label=_("Remove the signing secret"), required=False)

    class Meta:
        model = AlertChannel
        fields = FIELDS

    def clean_recipients(self) -> str:
        value = self.cleaned_data.get("recipients", "")
        probe = AlertChannel(recipients=value)
        for address in probe.recipient_list():
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    _("“%(address)s” is not a valid email address."), params={"address": address}, code="invalid"
                ) from None
        return "\n".join(probe.recipient_list())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind") or self.instance.kind
        url = (data.get("new_webhook_url") or "").strip() or self.instance.webhook_url
        if kind == AlertChannel.Kind.EMAIL:
            if "recipients" in data and not data["recipients"]:
                self.add_error("recipients", _("Enter at least one email address."))
        elif not url:
            self.add_error("new_webhook_url", _("Enter the webhook URL."))
        else:
            problem = webhook_url_problem(url, kind=kind, allow_custom=bool(data.get("allow_custom_endpoint")))
            if problem:
                self.add_error("new_webhook_url", problem)
        # Model validation sees the values this save will store.
        self.instance.webhook_url = url
        if data.get("clear_signing_secret"):
            self.instance.signing_secret = ""
        elif data.get("new_signing_secret"):
            self.instance.signing_secret = data["new_signing_secret"]
        return data

    def _update_errors(self, errors: ValidationError) -> None:
        # The model's checks name the stored fields; the form shows them on their write-only
        # inputs (once: the form's own clean may have said it already).
        if hasattr(errors, "error_dict"):
            inputs = {"webhook_url": "new_webhook_url", "signing_secret": "new_signing_secret"}
            mapped = {inputs.get(name, name): messages for name, messages in errors.error_dict.items()}
            errors = ValidationError({name: m for name, m in mapped.items() if name not in self.errors})
            if not errors.error_dict:
                return
        super()._update_errors(errors)

    def secrets(self) -> dict[str, str | None]:
        url = (self.cleaned_data.get("new_webhook_url") or "").strip()
        secret = self.cleaned_data.get("new_signing_secret") or ""
        return {
            "webhook_url": url or None,
            "signing_secret": "" if self.cleaned_data.get("clear_signing_secret") else (secret or None),
        }


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    form = AlertChannelForm
    list_display = ["name", "kind", "enabled", "thresholds", "last_test_outcome"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    readonly_fields = ["stored_webhook_url", "signing_secret_state", "last_test_outcome", "recent_deliveries"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "enabled"]}),
        (_("Email"), {"classes": ["alert-email"], "fields": ["recipients"]}),
        (
            _("Slack or webhook"),
            {
                "classes": ["alert-hook"],
                "fields": [
                    "stored_webhook_url",
                    "new_webhook_url",
                    "signing_secret_state",
                    "new_signing_secret",
                    "clear_signing_secret",
                    "allow_custom_endpoint",
                ],
            },
        ),
        (
            _("When to alert"),
            {
                "description": _(
                    "One alert when a condition starts and one when it clears, per channel. "
                    "Leave a threshold blank to never send that alert to this channel."
                ),
                "fields": ["on_suspension", "failures_per_hour", "run_minutes", "api_usage_percent"],
            },
        ),
        (_("Deliveries"), {"fields": ["last_test_outcome", "recent_deliveries"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        if obj is None:
            return self.fieldsets[:-1]
        return self.fieldsets

    # -- display ---------------------------------------------------------------------------

    @admin.display(description=_("thresholds"))
    def thresholds(self, obj: AlertChannel) -> str:
        parts = []
        if obj.on_suspension:
            parts.append(gettext("suspension"))
        if obj.failures_per_hour:
            parts.append(gettext("%(n)s failures/hour") % {"n": obj.failures_per_hour})
        if obj.run_minutes:
            parts.append(gettext("run > %(n)s min") % {"n": obj.run_minutes})
        if obj.api_usage_percent:
            parts.append(gettext("API ≥ %(n)s%%") % {"n": obj.api_usage_percent})
        return ", ".join(parts) or "—"

    @admin.display(description=_("stored webhook URL"))
    def stored_webhook_url(self, obj: AlertChannel) -> str:
        return masked(obj.webhook_url) if obj and obj.webhook_url else gettext("(none)")

    @admin.display(description=_("stored signing secret"))
    def signing_secret_state(self, obj: AlertChannel) -> str:
        return gettext("(set)") if obj and obj.signing_secret else gettext("(none)")

    def get_queryset(self, request: HttpRequest) -> Any:
        # The list's "last test alert" column: every channel's test alerts in one query.
        tests = AlertDelivery.objects.filter(is_test=True).order_by("-created_at", "-id")
        return super().get_queryset(request).prefetch_related(Prefetch("deliveries", tests, to_attr="test_deliveries"))

    @admin.display(description=_("last test alert"))
    def last_test_outcome(self, obj: AlertChannel) -> str:
        prefetched = getattr(obj, "test_deliveries", None)
        if prefetched is not None:
            delivery = prefetched[0] if prefetched else None
        else:
            delivery = last_test(obj) if obj and obj.pk else None
        text = outcome_text(delivery) if delivery else gettext("never sent")
        pending = bool(delivery and delivery.status in PENDING)
        status_url = reverse(admin_urlname(obj._meta, "test_status"), args=[obj.pk]) if obj and obj.pk else ""
        return format_html(
            '<span class="alert-test-outcome" data-status-url="{}" data-pending="{}" data-delivery="{}">{}</span>',
            status_url,
            "1" if pending else "",
            delivery.pk if delivery else "",
            text,
        )

    @admin.display(description=_("recent deliveries"))
    def recent_deliveries(self, obj: AlertChannel) -> str:
        rows = list(obj.deliveries.all()[:10]) if obj and obj.pk else []
        if not rows:
            return gettext("none yet")
        body = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td><span data-delivery="{}">{}</span></td></tr>',
            (
                (
                    formats.date_format(d.created_at, "SHORT_DATETIME_FORMAT"),
                    gettext("Test alert") if d.is_test else condition_label(d.condition),
                    d.state,
                    d.pk,
                    outcome_text(d),
                )
                for d in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            gettext("When"),
            gettext("Condition"),
            gettext("State"),
            gettext("Outcome"),
            body,
        )

    # -- writes through the audited service --------------------------------------------------

    def save_model(self, request: HttpRequest, obj: AlertChannel, form: AlertChannelForm, change: bool) -> None:
        target = AlertChannel.objects.get(pk=obj.pk) if change else AlertChannel()
        changes = {name: form.cleaned_data[name] for name in FIELDS if name in form.cleaned_data}
        alert_channel_save(channel=target, changes=changes, secrets=form.secrets(), actor=request.user)
        obj.pk = target.pk

    def delete_model(self, request: HttpRequest, obj: AlertChannel) -> None:
        alert_channel_delete(channel=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for channel in queryset:
            alert_channel_delete(channel=channel, actor=request.user)

    # -- the test alert ----------------------------------------------------------------------

    def get_urls(self) -> list:
        opts = self.model._meta
        view = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/test/",
                view(require_POST(self.test_view)),
                name=f"{opts.app_label}_{opts.model_name}_test",
            ),
            path(
                "<int:object_id>/test/status/",
                view(self.test_status_view),
                name=f"{opts.app_label}_{opts.model_name}_test_status",
            ),
            *super().get_urls(),
        ]

    def _channel(self, request: HttpRequest, object_id: int, *, change: bool) -> AlertChannel:
        allowed = self.has_change_permission(request) if change else self.has_view_permission(request)
        if not allowed:
            raise PermissionDenied
        return get_object_or_404(AlertChannel, pk=object_id)

    def test_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        channel = self._channel(request, object_id, change=True)
        alert_channel_test(channel=channel, actor=request.user)
        messages.info(
            request,
            gettext("A test alert to “%(channel)s” was queued; its outcome shows below.") % {"channel": channel},
        )
        return HttpResponseRedirect(reverse(admin_urlname(channel._meta, "change"), args=[channel.pk]))

    def test_status_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        channel = self._channel(request, object_id, change=False)
        delivery = last_test(channel)
        return JsonResponse(
            {
                "status": delivery.status if delivery else "",
                "pending": bool(delivery and delivery.status in PENDING),
                "text": outcome_text(delivery) if delivery else gettext("never sent"),
            }
        )


def outcome_text(delivery: AlertDelivery) -> str:
    """A delivery's outcome in words: delivered, failed with its error category, or pending."""
    tries = len(delivery.attempts)
    when = formats.date_format(delivery.delivered_at or delivery.created_at, "SHORT_DATETIME_FORMAT")
    if delivery.status == AlertDelivery.Status.DELIVERED:
        return gettext("Delivered %(when)s (attempt %(n)s)") % {"when": when, "n": tries}
    if delivery.status == AlertDelivery.Status.FAILED:
        return ngettext("Failed: %(error)s (%(n)s attempt)", "Failed: %(error)s (%(n)s attempts)", tries) % {
            "error": delivery.get_error_category_display() or gettext("unknown error"),
            "n": tries,
        }
    if delivery.status == AlertDelivery.Status.RETRYING:
        return ngettext(
            "Will retry: %(error)s (%(n)s attempt so far)", "Will retry: %(error)s (%(n)s attempts so far)", tries
        ) % {
            "error": delivery.get_error_category_display(),
            "n": tries,
        }
    return gettext("Queued %(when)s, waiting to be sent") % {"when": when}


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    """Every alert sent (or being sent) to a channel, with each attempt."""

    list_display = ["created_at", "channel", "condition", "state", "is_test", "status", "error_category"]
    list_filter = ["status", "is_test", "channel"]
    list_select_related = ["channel"]
    date_hierarchy = "created_at"
    exclude = ["payload"]
