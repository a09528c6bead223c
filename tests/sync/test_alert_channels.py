"""Alert channels: each kind delivers (Slack and webhooks to a local HTTP server, email to the
outbox) with its documented payload, through the background job that retries what may pass,
with each channel's own thresholds, once per change of state."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
from django.core import mail
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule

from integration.models import ConnectionStatus, SalesforceConnection, SyncSettings
from sync.alerts import alerts_check
from sync.alerts.delivery import MAX_ATTEMPTS, alert_delivery_send
from sync.models import AlertChannel, AlertChannelState, AlertDelivery, AlertState, SyncRun
from tests.sync.alert_receiver import Receiver
from tests.sync.factories import SyncRecordFactory, SyncRunFactory

pytestmark = pytest.mark.django_db
Status = AlertDelivery.Status


@pytest.fixture
def inline_queue(settings, monkeypatch):
    """django-q2 runs each task at once, in this process (it reads its configuration at import)."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SYNC_PUBLIC_URL = "https://sync.example.com"


@pytest.fixture
def check(django_capture_on_commit_callbacks):
    """``alerts_check`` with the jobs it queues run when its transactions commit."""

    def run(**kwargs) -> list[str]:
        with django_capture_on_commit_callbacks(execute=True):
            return alerts_check(**kwargs)

    return run


def channel(name: str, kind: str = AlertChannel.Kind.EMAIL, **fields) -> AlertChannel:
    defaults = {"failures_per_hour": None, "on_suspension": False}
    if kind == AlertChannel.Kind.EMAIL:
        defaults["recipients"] = f"{name}@example.com"
    else:
        defaults["allow_custom_endpoint"] = True  # the local receiver is plain http on 127.0.0.1
    return AlertChannel.objects.create(name=name, kind=kind, **{**defaults, **fields})


def suspend(reason: str = "INVALID_SESSION_ID: Session expired or invalid") -> None:
    SalesforceConnection.load()
    SalesforceConnection.objects.update(status=ConnectionStatus.SUSPENDED, status_reason=reason)


def resume() -> None:
    SalesforceConnection.objects.update(status=ConnectionStatus.CONNECTED, status_reason="")


# -- each kind of channel delivers its payload --------------------------------------------------


def test_an_email_channel_mails_its_recipients(inline_queue, check):
    channel("ops", recipients="ops@example.com, oncall@example.com", on_suspension=True)
    suspend()
    assert check() == ["connection"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.com", "oncall@example.com"]
    assert "Suspended" in message.subject and "https://sync.example.com/admin/sync/health/" in message.body
    delivery = AlertDelivery.objects.get()
    assert delivery.status == Status.DELIVERED and len(delivery.attempts) == 1


def test_a_slack_channel_posts_text_and_blocks_to_its_incoming_webhook(inline_queue, check):
    with Receiver(200) as slack:
        channel("slack", AlertChannel.Kind.SLACK, webhook_url=slack.url, on_suspension=True)
        suspend()
        assert check() == ["connection"]
    assert len(slack.received) == 1
    request = slack.received[0]
    assert request["path"] == "/services/T000/B000/XXXX"
    assert request["headers"]["content-type"].startswith("application/json")
    body = slack.json()
    assert body["text"].startswith("[Sync] Suspended")
    assert [block["type"] for block in body["blocks"]] == ["section", "section"]
    assert "Reconnect" in body["blocks"][1]["text"]["text"]
    assert "https://sync.example.com/admin/sync/health/" in body["blocks"][1]["text"]["text"]


def test_a_webhook_gets_the_documented_json_signed_with_the_channel_secret(inline_queue, check):
    SyncSettings.objects.update_or_create(pk=1, defaults={"daily_api_allocation": 100})
    SyncRunFactory(salesforce_api_calls=85)
    with Receiver(204, path="/hooks/alerts") as hook:
        channel("pager", AlertChannel.Kind.WEBHOOK, webhook_url=hook.url, signing_secret="s3cret", api_usage_percent=80)
        assert check() == ["api_usage"]
    body = hook.json()
    assert set(body) == {
        "event", "condition", "state", "value", "threshold", "integration", "link", "sent_at", "subject", "message",
    }  # fmt: skip
    assert (body["event"], body["condition"], body["state"]) == ("alert", "api_usage", "over")
    assert (body["value"], body["threshold"]) == (85, 80)
    assert body["integration"] == "hubspot-salesforce"
    assert body["link"] == "https://sync.example.com/admin/sync/health/"
    assert dt.datetime.fromisoformat(body["sent_at"]).tzinfo is not None
    expected = "sha256=" + hmac.new(b"s3cret", hook.received[0]["raw"], hashlib.sha256).hexdigest()
    assert hook.received[0]["headers"]["x-sync-signature"] == expected


def test_a_webhook_without_a_secret_is_not_signed(inline_queue, check):
    with Receiver(200, path="/hook") as hook:
        channel("plain", AlertChannel.Kind.WEBHOOK, webhook_url=hook.url, on_suspension=True)
        suspend()
        check()
    assert "x-sync-signature" not in hook.received[0]["headers"]


# -- retries -------------------------------------------------------------------------------------


def test_a_server_error_is_retried_and_the_alert_delivered_once(inline_queue, check):
    with Receiver(500, 200) as slack:
        channel("slack", AlertChannel.Kind.SLACK, webhook_url=slack.url, on_suspension=True)
        suspend()
        check()
        delivery = AlertDelivery.objects.get()
        assert delivery.status == Status.RETRYING and delivery.error_category == "server_error"
        assert delivery.next_attempt_at > timezone.now()
        # Not due yet: nothing is sent.
        assert alert_delivery_send(delivery_id=delivery.pk) == Status.RETRYING
        assert alert_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at) == Status.DELIVERED
        assert alert_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at) == Status.DELIVERED
    assert len(slack.received) == 2
    delivery.refresh_from_db()
    assert [(a["delivered"], a["status_code"], a["category"]) for a in delivery.attempts] == [
        (False, 500, "server_error"),
        (True, 200, ""),
    ]


def test_rate_limiting_and_connection_errors_are_retried(inline_queue, check):
    with Receiver(429, 200) as slack:
        channel("slack", AlertChannel.Kind.SLACK, webhook_url=slack.url, on_suspension=True)
        suspend()
        check()
        delivery = AlertDelivery.objects.get()
        assert (delivery.status, delivery.error_category) == (Status.RETRYING, "rate_limited")
    # The receiver is gone: the next attempt cannot connect, and is retried too.
    alert_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error_category) == (Status.RETRYING, "connection")


def test_a_refusal_is_not_retried(inline_queue, check):
    with Receiver(400) as slack:
        channel("slack", AlertChannel.Kind.SLACK, webhook_url=slack.url, on_suspension=True)
        suspend()
        check()
        delivery = AlertDelivery.objects.get()
        assert alert_delivery_send(delivery_id=delivery.pk, now=timezone.now() + dt.timedelta(days=1)) == Status.FAILED
    assert len(slack.received) == 1
    assert (delivery.status, delivery.error_category, delivery.next_attempt_at) == (Status.FAILED, "rejected", None)


def test_attempts_are_bounded(inline_queue, check):
    with Receiver(503) as slack:
        channel("slack", AlertChannel.Kind.SLACK, webhook_url=slack.url, on_suspension=True)
        suspend()
        check()
        delivery = AlertDelivery.objects.get()
        later = timezone.now()
        for _ in range(MAX_ATTEMPTS + 3):
            later += dt.timedelta(hours=1)
            alert_delivery_send(delivery_id=delivery.pk, now=later)
    delivery.refresh_from_db()
    assert len(slack.received) == MAX_ATTEMPTS == len(delivery.attempts)
    assert (delivery.status, delivery.error_category) == (Status.FAILED, "server_error")


def test_a_retry_is_scheduled_with_the_background_scheduler(settings):
    settings.SYNC_PUBLIC_URL = ""
    with Receiver(500) as slack:
        ch = channel("slack", AlertChannel.Kind.SLACK, webhook_url=slack.url, on_suspension=True)
        delivery = AlertDelivery.objects.create(channel=ch, condition="connection", state="x", subject="s")
        alert_delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    retry = Schedule.objects.get(func="sync.tasks.alert_deliver_task")
    assert (retry.schedule_type, retry.args, retry.next_run) == (
        Schedule.ONCE,
        f"({delivery.pk},)",
        delivery.next_attempt_at,
    )


def test_an_overdue_retry_is_queued_again_by_the_next_check(monkeypatch):
    queued = []
    monkeypatch.setattr("sync.alerts.delivery.async_task", lambda func, pk, **kw: queued.append((func, pk)))
    ch = channel("ops", on_suspension=True)
    late = AlertDelivery.objects.create(
        channel=ch, condition="c", state="x", subject="s", status=Status.RETRYING,
        next_attempt_at=timezone.now() - dt.timedelta(minutes=10),
    )  # fmt: skip
    AlertDelivery.objects.create(
        channel=ch, condition="c", state="x", subject="s", status=Status.RETRYING,
        next_attempt_at=timezone.now() + dt.timedelta(minutes=10),
    )  # fmt: skip
    alerts_check()
    assert queued == [("sync.tasks.alert_deliver_task", late.pk)]


def test_an_unforeseen_error_is_recorded_and_not_retried(inline_queue, check, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr("sync.alerts.delivery.send_mail", broken)
    channel("ops", on_suspension=True)
    suspend()
    check()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.error_category, len(delivery.attempts)) == (Status.FAILED, "other", 1)


def test_a_delivery_being_sent_is_not_sent_again_by_a_second_worker(inline_queue):
    ch = channel("ops", on_suspension=True)
    delivery = AlertDelivery.objects.create(
        channel=ch, condition="connection", state="x", subject="s", status=Status.SENDING,
        next_attempt_at=timezone.now() + dt.timedelta(minutes=1),
    )  # fmt: skip
    assert alert_delivery_send(delivery_id=delivery.pk) == Status.SENDING
    assert mail.outbox == []
    # A worker killed mid-send: once its claim has expired, the delivery is sent.
    later = timezone.now() + dt.timedelta(minutes=2)
    assert alert_delivery_send(delivery_id=delivery.pk, now=later) == Status.DELIVERED
    assert len(mail.outbox) == 1


# -- thresholds per channel and one alert per change ------------------------------------------


def test_each_channel_has_its_own_failure_threshold(inline_queue, check):
    channel("strict", failures_per_hour=3)
    channel("lenient", failures_per_hour=10)
    SyncRecordFactory.create_batch(4, failed=True)
    SyncRecordFactory.create_batch(20, failed=True, at=timezone.now() - dt.timedelta(hours=2))  # not this hour
    assert check() == ["failures"]
    assert [m.to for m in mail.outbox] == [["strict@example.com"]]
    assert "3 or more records are failing" in mail.outbox[0].subject


def test_a_channel_not_subscribed_to_a_condition_hears_nothing_of_it(inline_queue, check):
    channel("suspensions", on_suspension=True)
    channel("failures only", failures_per_hour=1)
    suspend()
    check()
    assert [m.to for m in mail.outbox] == [["suspensions@example.com"]]


def test_one_alert_when_a_condition_starts_and_one_when_it_clears(inline_queue, check):
    channel("ops", on_suspension=True)
    assert check() == []  # normal at first: nothing to end
    suspend()
    assert check() == ["connection"]
    assert check() == []
    assert check() == []
    resume()
    assert check() == ["connection"]
    assert check() == []
    assert [m.subject for m in mail.outbox] == [mail.outbox[0].subject, "[Sync] Running again"]
    assert AlertChannelState.objects.get(condition="connection").state == "ok"


def test_a_disabled_channel_is_not_alerted(inline_queue, check):
    channel("off", on_suspension=True, enabled=False)
    suspend()
    assert check() == []
    assert mail.outbox == [] and not AlertDelivery.objects.exists()


def test_a_run_running_too_long_alerts_then_clears_when_it_finishes(inline_queue, check):
    channel("ops", run_minutes=30)
    run = SyncRunFactory(running=True, at=timezone.now() - dt.timedelta(minutes=20))
    assert check() == []
    assert check(now=timezone.now() + dt.timedelta(minutes=15)) == ["run_time"]
    assert f"Run {run.pk} has been running" in mail.outbox[0].subject
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())
    assert check() == ["run_time"]
    assert "No run is overdue" in mail.outbox[1].subject


def test_a_new_threshold_is_judged_afresh(inline_queue, check):
    from sync.alerts.channels import alert_channel_save

    ch = channel("ops", failures_per_hour=5)
    SyncRecordFactory.create_batch(3, failed=True)
    assert check() == []
    alert_channel_save(channel=ch, changes={"failures_per_hour": 2}, secrets={}, actor=None)
    assert check() == ["failures"]


def test_a_check_that_changes_nothing_costs_the_same_for_one_channel_or_twenty(monkeypatch):
    """Each figure is read once per check and the last states in one query: only a change is
    locked and written."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr("sync.alerts.delivery.async_task", lambda *args, **kwargs: None)
    SyncRecordFactory.create_batch(3, failed=True)

    def steady_queries() -> int:
        alerts_check()
        with CaptureQueriesContext(connection) as queries:
            assert alerts_check() == []
        assert not [q for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]
        return len(queries)

    channel("first", failures_per_hour=2, run_minutes=30, api_usage_percent=80, on_suspension=True)
    one = steady_queries()
    for i in range(19):
        channel(f"more {i}", failures_per_hour=2 + i % 3, run_minutes=30, api_usage_percent=80, on_suspension=True)
    assert steady_queries() == one + 2  # the failure count at two more thresholds


# -- before any channel exists: the environment's email, as before -----------------------------


def test_without_channels_the_environment_recipients_are_emailed(settings, check):
    settings.SYNC_ALERT_EMAILS = ["env@example.com"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    suspend()
    assert check() == ["connection"]
    assert mail.outbox[0].to == ["env@example.com"]
    assert AlertState.objects.get(key="connection").state != "ok"
    assert not AlertDelivery.objects.exists()


def test_the_migration_turns_the_environment_recipients_into_an_email_channel(settings):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("sync.migrations.0012_alert_channels")
    settings.SYNC_ALERT_EMAILS = ["a@example.com", "b@example.com"]
    settings.SYNC_ALERT_FAILURE_THRESHOLD = 7
    migration.email_channel_from_environment(apps, None)
    created = AlertChannel.objects.get()
    assert (created.kind, created.recipient_list(), created.failures_per_hour, created.on_suspension) == (
        "email",
        ["a@example.com", "b@example.com"],
        7,
        True,
    )
    migration.email_channel_from_environment(apps, None)  # once only
    assert AlertChannel.objects.count() == 1
