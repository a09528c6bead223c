"""Writes to alert channels, each audited in the same transaction (``SettingChange``, as the
settings page does), and the test alert.

The audit names a channel's fields ``alert_channel.<id>.<field>`` with the channel's name in
``detail``; the webhook URL and the signing secret are never written there, only "(set)",
"(changed)" or "(cleared)".
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from integration.models import SettingChange
from integration.services.audit import changes_apply
from sync.alerts.conditions import link
from sync.alerts.delivery import enqueue
from sync.models import AlertChannel, AlertChannelState, AlertDelivery

SECRET_FIELDS = ("webhook_url", "signing_secret")
# A threshold changed: that condition's state is forgotten, so the channel is told afresh at
# the next check if the condition holds under the new threshold.
THRESHOLD_FIELDS = {
    "on_suspension": "connection",
    "failures_per_hour": "failures",
    "run_minutes": "run_time",
    "api_usage_percent": "api_usage",
}
TEST = "test"


def _display(value: Any) -> str:
    return "" if value is None else str(value)


def alert_channel_save(
    *, channel: AlertChannel, changes: dict[str, Any], secrets: dict[str, str | None], actor: Any
) -> list[SettingChange]:
    """Create or update ``channel`` with ``changes`` (plain fields) and ``secrets`` (a value to
    set, ``""`` to clear, None to keep). Returns the audit rows written."""
    with transaction.atomic():
        created = channel.pk is None
        row = channel if created else AlertChannel.objects.select_for_update().get(pk=channel.pk)
        prefix = "alert_channel.new." if created else f"alert_channel.{row.pk}."
        detail = {"channel": changes.get("name", row.name), **({"created": True} if created else {})}
        audit = changes_apply(row, changes, actor=actor, prefix=prefix, display=_display, detail=detail)
        for name, value in secrets.items():
            if value is None or value == getattr(row, name):
                continue
            old_value = _("(set)") if getattr(row, name) else ""
            setattr(row, name, value)
            new_value = _("(changed)") if value else _("(cleared)")
            audit.append(
                SettingChange(
                    actor=actor, setting=f"{prefix}{name}", old_value=old_value, new_value=new_value, detail=detail
                )
            )
        if not audit and not created:
            return []
        row.full_clean()
        row.save()
        for entry in audit:
            entry.setting = entry.setting.replace("alert_channel.new.", f"alert_channel.{row.pk}.")
        if created:
            audit.insert(
                0,
                SettingChange(
                    actor=actor,
                    setting=f"alert_channel.{row.pk}",
                    old_value="",
                    new_value=f"{row.name} ({row.get_kind_display()})",
                    detail=detail,
                ),
            )
        SettingChange.objects.bulk_create(audit)
        changed = {entry.setting.rsplit(".", 1)[-1] for entry in audit}
        reset = [condition for name, condition in THRESHOLD_FIELDS.items() if name in changed]
        if reset and not created:
            AlertChannelState.objects.filter(channel=row, condition__in=reset).delete()
    if row is not channel:
        channel.refresh_from_db()
    return audit


def alert_channel_delete(*, channel: AlertChannel, actor: Any) -> None:
    with transaction.atomic():
        SettingChange.objects.create(
            actor=actor,
            setting=f"alert_channel.{channel.pk}",
            old_value=f"{channel.name} ({channel.get_kind_display()})",
            new_value=_("(deleted)"),
            detail={"channel": channel.name},
        )
        channel.delete()


def alert_channel_test(*, channel: AlertChannel, actor: Any) -> AlertDelivery:
    """Queue a test alert to ``channel`` (enabled or not): its outcome shows on the channel's page."""
    name = getattr(actor, "get_username", lambda: "")()
    # In the deployment's language, as the alerts themselves are.
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        delivery = AlertDelivery.objects.create(
            channel=channel,
            condition=TEST,
            state=TEST,
            is_test=True,
            subject=_("[Sync] Test alert"),
            body=_(
                "This is a test alert sent from the alert channel “%(channel)s” by %(user)s. "
                "If you can read it, alerts reach this channel."
            )
            % {"channel": channel.name, "user": name or "?"},
            payload={"value": None, "threshold": None, "link": link("sync:health")},
        )
        SettingChange.objects.create(
            actor=actor,
            setting=f"alert_channel.{channel.pk}.test",
            old_value="",
            new_value=_("test alert queued"),
            detail={"channel": channel.name, "delivery": delivery.pk},
        )
        transaction.on_commit(lambda: enqueue(delivery.pk))
    return delivery


def last_test(channel: AlertChannel) -> AlertDelivery | None:
    return channel.deliveries.filter(is_test=True).order_by("-created_at", "-id").first()
