"""Alerts: the integration is suspended, records fail, a run takes too long, the API allocation
runs low — told to the alert channels configured in the admin (email, Slack, a webhook).

One alert per change of state, never one per check: for each channel and condition the state
last alerted is stored in ``AlertChannelState`` and compared under a row lock, so two workers
checking at once queue one alert. A return to normal is announced too, so a reader knows the
earlier alert is over. Each channel has its own thresholds (``sync.alerts.conditions``); the
alerts themselves are sent by a background job that retries them (``sync.alerts.delivery``).

While no channel exists at all, alerts go by email as they did before channels existed:
``SYNC_ALERT_EMAILS`` (default ``ADMINS``, then active superusers) hear of suspensions and of
``SYNC_ALERT_FAILURE_THRESHOLD`` failures in the last hour (default 25), sent at once, the
state kept in ``AlertState``; an email that fails is tried again at the next check. The
migration that created channels turned a set ``SYNC_ALERT_EMAILS`` into an email channel.
``SYNC_PUBLIC_URL`` (e.g. ``https://sync.example.com``) puts absolute links in the alerts.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from sync.alerts.conditions import CONDITIONS, OK, Condition, Facts, Observation, every_channel
from sync.alerts.delivery import alert_delivery_send, enqueue, overdue_resend
from sync.models import AlertChannel, AlertChannelState, AlertDelivery, AlertState

DEFAULT_THRESHOLD = 25

__all__ = [
    "CONDITIONS",
    "OK",
    "AlertState",
    "Condition",
    "Observation",
    "alert_delivery_send",
    "alerts_check",
    "every_channel",
    "failure_threshold",
    "observe",
    "recipients",
]


def failure_threshold() -> int:
    return int(getattr(settings, "SYNC_ALERT_FAILURE_THRESHOLD", DEFAULT_THRESHOLD))


def recipients() -> list[str]:
    configured = getattr(settings, "SYNC_ALERT_EMAILS", None)
    if configured:
        return list(configured)
    admins = [email for _name, email in getattr(settings, "ADMINS", [])]
    if admins:
        return admins
    users = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")
    return sorted(users.values_list("email", flat=True))


def environment_channel() -> AlertChannel:
    """The channel the environment variables describe (never saved): used while no channel
    exists."""
    return AlertChannel(
        name="environment",
        kind=AlertChannel.Kind.EMAIL,
        recipients="\n".join(recipients()),
        on_suspension=True,
        failures_per_hour=failure_threshold(),
        run_minutes=None,
        api_usage_percent=None,
    )


def observe(channel: AlertChannel | None = None, *, now: dt.datetime | None = None) -> list[Observation]:
    """The current state of each condition ``channel`` hears of (by default the environment's
    channel), with the message that announces it."""
    facts = Facts(now=now or timezone.now())
    channel = channel or environment_channel()
    return _observe(channel, facts)


def _observe(channel: AlertChannel, facts: Facts) -> list[Observation]:
    out = []
    for condition in CONDITIONS:
        threshold = condition.threshold(channel)
        if threshold is None or threshold is False:
            continue
        out.append(condition.observe(facts, threshold))
    return out


def alerts_check(*, now: dt.datetime | None = None) -> list[str]:
    """Compare each condition's state with the last one each channel was alerted about; alert
    each change. Returns the keys of the conditions alerted (each once, in ``CONDITIONS`` order).

    A first check that finds everything normal sends nothing (there is no earlier alert to end).
    """
    now = now or timezone.now()
    facts = Facts(now=now)
    if not AlertChannel.objects.exists():
        return _environment_check(facts)
    alerted: set[str] = set()
    channels = list(AlertChannel.objects.filter(enabled=True).order_by("pk"))
    # Read without a lock first: most checks change nothing, and only a change is locked and
    # compared again (``_state_change``), so the usual check costs one query for every state.
    last = {
        (row.channel_id, row.condition): row.state
        for row in AlertChannelState.objects.filter(channel__in=channels).only("channel_id", "condition", "state")
    }
    for channel in channels:
        with translation.override(settings.LANGUAGE_CODE):
            observations = _observe(channel, facts)
        for obs in observations:
            if last.get((channel.pk, obs.key), OK) != obs.state and _state_change(channel, obs, facts):
                alerted.add(obs.key)
    overdue_resend(now=now)
    return [c.key for c in CONDITIONS if c.key in alerted]


def _state_change(channel: AlertChannel, obs: Observation, facts: Facts) -> bool:
    now = facts.now
    with transaction.atomic():
        AlertChannelState.objects.get_or_create(channel=channel, condition=obs.key, defaults={"state": OK})
        row = AlertChannelState.objects.select_for_update().get(channel=channel, condition=obs.key)
        if row.state == obs.state:
            return False
        row.state, row.changed_at = obs.state, now
        row.save(update_fields=["state", "changed_at"])
        delivery = AlertDelivery.objects.create(
            channel=channel,
            condition=obs.key,
            state=obs.state,
            subject=obs.subject[:300],
            body=obs.body,
            payload={"value": obs.value, "threshold": obs.threshold, "link": facts.health_link},
        )
        transaction.on_commit(lambda: enqueue(delivery.pk))
    return True


def _environment_check(facts: Facts) -> list[str]:
    """Before any channel exists: email the environment's recipients at once (see above)."""
    channel = environment_channel()
    with translation.override(settings.LANGUAGE_CODE):
        observations = _observe(channel, facts)
    sent: list[str] = []
    for obs in observations:
        with transaction.atomic():
            AlertState.objects.get_or_create(key=obs.key, defaults={"state": OK})
            row = AlertState.objects.select_for_update().get(key=obs.key)
            if row.state == obs.state:
                continue
            row.state, row.detail, row.changed_at = obs.state, obs.body, facts.now
            to = channel.recipient_list()
            if to:
                send_mail(obs.subject, obs.body, None, to)
                row.notified_at = facts.now
                sent.append(obs.key)
            row.save()
    return sent
