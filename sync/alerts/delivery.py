"""Sending one alert to one channel, from a background job, with retries.

Each run of ``alert_delivery_send`` is one attempt. It first claims the delivery (a conditional
UPDATE: two workers handed the same delivery send it once), sends, and records the attempt's
outcome in ``AlertDelivery.attempts``. A failure that may pass (no connection, a timeout, a 5xx,
a 429) is tried again after a growing delay (``RETRY_DELAYS``), up to ``MAX_ATTEMPTS``; one that
will not (a 4xx, a URL no longer allowed, recipients refused) fails at once.

Slack incoming webhooks answer 200 ``ok``; 400 ``invalid_payload``, 403 ``action_prohibited``,
404 ``channel_not_found``/``no_service`` and 410 ``channel_is_archived`` are permanent; 500 is
Slack's own trouble (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks).
The message is ``{"text": ..., "blocks": [...]}``: ``text`` is the notification's fallback when
blocks are given (https://api.slack.com/messaging/webhooks, "Adding rich content").

A generic webhook receives ``webhook_body`` as JSON; with a signing secret, the header
``X-Sync-Signature: sha256=<hex>`` is the HMAC-SHA256 of the exact body bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import smtplib
from dataclasses import dataclass
from typing import Any

import requests
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from sync.alerts.endpoints import webhook_url_problem
from sync.models import AlertChannel, AlertDelivery

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Seconds to wait before the 2nd, 3rd, 4th and 5th attempts.
RETRY_DELAYS = (30, 120, 600, 1800)
# How long an attempt may hold its claim: a worker killed mid-send frees the delivery after this.
CLAIM_SECONDS = 120
TIMEOUT = (5, 15)  # connect, read
TASK = "sync.tasks.alert_deliver_task"
INTEGRATION = "hubspot-salesforce"

Status = AlertDelivery.Status
Category = AlertDelivery.ErrorCategory


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    category: str = ""
    retryable: bool = False
    detail: str = ""
    status_code: int | None = None
    retry_after: int | None = None


def webhook_body(delivery: AlertDelivery, *, sent_at: dt.datetime) -> dict[str, Any]:
    """The documented JSON a generic webhook receives."""
    payload = delivery.payload or {}
    return {
        "event": "test" if delivery.is_test else ("resolved" if delivery.state == "ok" else "alert"),
        "condition": delivery.condition,
        "state": delivery.state,
        "value": payload.get("value"),
        "threshold": payload.get("threshold"),
        "integration": INTEGRATION,
        "link": payload.get("link", ""),
        "sent_at": sent_at.isoformat(),
        "subject": delivery.subject,
        "message": delivery.body,
    }


def slack_body(delivery: AlertDelivery) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(delivery.subject)}*"}},
        # Section text is limited to 3000 characters.
        {"type": "section", "text": {"type": "mrkdwn", "text": _escape(delivery.body)[:2900] or " "}},
    ]
    return {"text": delivery.subject, "blocks": blocks}


def _escape(text: str) -> str:
    # Slack's mrkdwn treats &, < and > as control characters
    # (https://api.slack.com/reference/surfaces/formatting#escaping).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(channel: AlertChannel, body: dict[str, Any]) -> Outcome:
    problem = webhook_url_problem(channel.webhook_url, kind=channel.kind, allow_custom=channel.allow_custom_endpoint)
    if problem:
        return Outcome(False, Category.INVALID_URL, detail=problem)
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "inclusion-gate-alerts"}
    if channel.kind == AlertChannel.Kind.WEBHOOK and channel.signing_secret:
        headers["X-Sync-Signature"] = signature(channel.signing_secret, data)
    try:
        # No redirects: the URL vetted is the only one the alert (and its secret) goes to.
        response = requests.post(
            channel.webhook_url, data=data, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
    except requests.Timeout:
        return Outcome(False, Category.TIMEOUT, retryable=True, detail="timeout")
    except requests.ConnectionError as exc:
        return Outcome(False, Category.CONNECTION, retryable=True, detail=type(exc).__name__)
    except requests.RequestException as exc:
        return Outcome(False, Category.OTHER, detail=type(exc).__name__)
    code = response.status_code
    text = response.text[:200]
    if 200 <= code < 300:
        return Outcome(True, status_code=code)
    if code == 429:
        return Outcome(False, Category.RATE_LIMITED, True, text, code, _retry_after(response))
    if code >= 500:
        return Outcome(False, Category.SERVER_ERROR, True, text, code)
    if code in (404, 410):
        return Outcome(False, Category.NOT_FOUND, False, text, code)
    return Outcome(False, Category.REJECTED, False, text, code)


def _retry_after(response: requests.Response) -> int | None:
    try:
        return max(0, min(int(response.headers.get("Retry-After", "")), RETRY_DELAYS[-1]))
    except ValueError:
        return None


def _email(channel: AlertChannel, delivery: AlertDelivery) -> Outcome:
    try:
        send_mail(delivery.subject, delivery.body, None, channel.recipient_list())
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(False, Category.EMAIL, detail=f"recipients refused: {len(exc.recipients)}")
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, Category.EMAIL, retryable=True, detail=type(exc).__name__)
    return Outcome(True)


def attempt(channel: AlertChannel, delivery: AlertDelivery, *, now: dt.datetime) -> Outcome:
    if channel.kind == AlertChannel.Kind.EMAIL:
        return _email(channel, delivery)
    if channel.kind == AlertChannel.Kind.SLACK:
        return _post(channel, slack_body(delivery))
    return _post(channel, webhook_body(delivery, sent_at=now))


def _claim(delivery_id: int, now: dt.datetime) -> bool:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return bool(
        AlertDelivery.objects.filter(
            due, pk=delivery_id, status__in=[Status.QUEUED, Status.RETRYING, Status.SENDING]
        ).update(status=Status.SENDING, next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS))
    )


def alert_delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """One attempt at ``delivery_id``; returns its status afterwards (unchanged when the
    delivery is not due, already delivered or being sent by another worker)."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return AlertDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first() or ""
    delivery = AlertDelivery.objects.select_related("channel").get(pk=delivery_id)
    channel = delivery.channel
    if not channel.enabled and not delivery.is_test:
        outcome = Outcome(False, Category.OTHER, detail="channel disabled")
    else:
        try:
            outcome = attempt(channel, delivery, now=now)
        except Exception as exc:  # an unforeseen error is recorded, not retried forever
            logger.exception("Alert delivery %s failed", delivery_id)
            outcome = Outcome(False, Category.OTHER, detail=type(exc).__name__)
    number = len(delivery.attempts) + 1
    delivery.attempts = [
        *delivery.attempts,
        {
            "at": now.isoformat(),
            "delivered": outcome.delivered,
            "category": outcome.category,
            "status_code": outcome.status_code,
            "detail": outcome.detail,
        },
    ]
    delivery.error_category = outcome.category
    if outcome.delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = Status.DELIVERED, now, None
    elif outcome.retryable and number < MAX_ATTEMPTS:
        wait = max(RETRY_DELAYS[number - 1], outcome.retry_after or 0)
        delivery.status, delivery.next_attempt_at = Status.RETRYING, now + dt.timedelta(seconds=wait)
    else:
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
    delivery.save(update_fields=["attempts", "error_category", "status", "delivered_at", "next_attempt_at"])
    if delivery.status == Status.RETRYING:
        retry_schedule(delivery)
    return delivery.status


def enqueue(delivery_id: int) -> None:
    async_task(TASK, delivery_id, task_name=f"alert-delivery-{delivery_id}")


def retry_schedule(delivery: AlertDelivery) -> None:
    """A one-off django-q2 schedule at the next attempt's time (the alerts check also picks up
    any retry whose schedule was lost: ``overdue_resend``)."""
    if Conf.SYNC:
        return  # inline mode (tests): no scheduler runs; the test drives the next attempt
    schedule(
        TASK,
        delivery.pk,
        name=f"alert-delivery-{delivery.pk}-attempt-{len(delivery.attempts) + 1}",
        schedule_type=Schedule.ONCE,
        next_run=delivery.next_attempt_at,
    )


def overdue_resend(*, now: dt.datetime, grace: dt.timedelta = dt.timedelta(minutes=2)) -> list[int]:
    """Deliveries whose next attempt (or claim) is overdue by more than ``grace``: queued again."""
    before = now - grace
    never_tried = Q(status=Status.QUEUED, next_attempt_at__isnull=True, created_at__lte=before)
    due = Q(status__in=[Status.QUEUED, Status.RETRYING, Status.SENDING], next_attempt_at__lte=before)
    overdue = list(AlertDelivery.objects.filter(never_tried | due).values_list("pk", flat=True)[:100])
    for pk in overdue:
        enqueue(pk)
    return overdue
