"""Email alerts (once per change of state), the retention sweep and the ops schedules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone
from django_q.models import Schedule

from integration.models import ConnectionStatus, SalesforceConnection
from sync.alerts import AlertState, alerts_check, recipients
from sync.models import SyncRecord, SyncRun
from sync.retention import records_sweep
from sync.schedules import ensure_schedules
from tests.sync.factories import SyncRecordFactory, SyncRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert_settings(settings):
    settings.SYNC_ALERT_EMAILS = ["ops@example.com"]
    settings.SYNC_ALERT_FAILURE_THRESHOLD = 3
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


def suspend(reason: str) -> None:
    SalesforceConnection.load()
    SalesforceConnection.objects.update(status=ConnectionStatus.SUSPENDED, status_reason=reason)


def test_nothing_is_sent_while_everything_is_normal(alert_settings):
    assert alerts_check() == []
    assert alerts_check() == []
    assert mail.outbox == []


def test_suspension_alerts_once_then_once_more_when_it_is_over(alert_settings):
    suspend("INVALID_SESSION_ID: Session expired or invalid")
    assert alerts_check() == ["connection"]
    assert alerts_check() == []  # same state: no second email
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.com"]
    assert "authentication failed" in message.subject
    assert "Reconnect" in message.body and "/admin/sync/health/" in message.body

    SalesforceConnection.objects.update(status=ConnectionStatus.CONNECTED, status_reason="")
    assert alerts_check() == ["connection"]
    assert "Running again" in mail.outbox[1].subject
    assert alerts_check() == []
    assert AlertState.objects.get(key="connection").state == "ok"


def test_a_different_suspension_is_a_new_state(alert_settings):
    suspend("INVALID_SESSION_ID")
    alerts_check()
    suspend("API_DISABLED_FOR_ORG: API is not enabled for this Organization")
    assert alerts_check() == ["connection"]
    assert "API access disabled" in mail.outbox[-1].subject


def test_failures_over_the_threshold_alert_once(alert_settings):
    SyncRecordFactory.create_batch(2, failed=True)
    assert alerts_check() == []
    SyncRecordFactory(failed=True)
    assert alerts_check() == ["failures"]
    SyncRecordFactory.create_batch(5, failed=True)
    assert alerts_check() == []
    assert len(mail.outbox) == 1 and "3 or more records are failing" in mail.outbox[0].subject

    SyncRecord.objects.update(ignored=True)
    assert alerts_check() == ["failures"]
    assert "back under the threshold" in mail.outbox[1].subject


def test_a_failed_send_is_retried_at_the_next_check(alert_settings, monkeypatch):
    import sync.alerts as alerts

    suspend("INVALID_SESSION_ID")

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(alerts, "send_mail", broken)
    with pytest.raises(ConnectionRefusedError):
        alerts_check()
    assert not AlertState.objects.filter(key="connection").exclude(state="ok").exists()
    monkeypatch.undo()
    assert alerts_check() == ["connection"]


def test_recipients_fall_back_to_admins_then_superusers(settings, django_user_model):
    settings.SYNC_ALERT_EMAILS = None
    settings.ADMINS = [("Ops", "admins@example.com")]
    assert recipients() == ["admins@example.com"]
    settings.ADMINS = []
    django_user_model.objects.create_superuser("root", "root@example.com", "x-password-123")
    assert recipients() == ["root@example.com"]


# -- retention ------------------------------------------------------------------------------


def test_sweep_deletes_old_records_in_batches_and_keeps_runs(settings):
    settings.SYNC_RECORD_RETENTION_DAYS = 10
    now = timezone.now()
    run = SyncRunFactory(created=7, failed=2, at=now - dt.timedelta(days=20))
    old = SyncRecordFactory.create_batch(7, run=run, at=now - dt.timedelta(days=11))
    kept = SyncRecordFactory(run=run, at=now - dt.timedelta(days=9))

    assert records_sweep(now=now, batch_size=3) == 7

    assert not SyncRecord.objects.filter(pk__in=[r.pk for r in old]).exists()
    assert SyncRecord.objects.filter(pk=kept.pk).exists()
    run = SyncRun.objects.get(pk=run.pk)
    assert (run.created, run.failed) == (7, 2)


def test_sweep_defaults_to_30_days(settings):
    del settings.SYNC_RECORD_RETENTION_DAYS  # not configured at all
    now = timezone.now()
    SyncRecordFactory(at=now - dt.timedelta(days=31))
    young = SyncRecordFactory(at=now - dt.timedelta(days=29))
    assert records_sweep(now=now) == 1
    assert list(SyncRecord.objects.values_list("pk", flat=True)) == [young.pk]


def test_sweep_with_zero_days_keeps_everything(settings):
    settings.SYNC_RECORD_RETENTION_DAYS = 0
    SyncRecordFactory(at=timezone.now() - dt.timedelta(days=400))
    assert records_sweep() == 0 and SyncRecord.objects.count() == 1


def test_schedules_are_created_once():
    first = ensure_schedules()
    again = ensure_schedules()
    assert [s.pk for s in first] == [s.pk for s in again]
    funcs = set(Schedule.objects.values_list("func", flat=True))
    assert {"sync.tasks.records_sweep_task", "sync.tasks.alerts_check_task"} <= funcs
    assert Schedule.objects.filter(func="sync.tasks.records_sweep_task").count() == 1
