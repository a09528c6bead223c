"""GET /healthz: 200 when the database answers, every migration is applied and a worker showed a
heartbeat recently; 503 naming the failing check otherwise, never a 500, no login, no data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from integration.models import SyncSettings
from sync.models import SyncRun
from tests.sync.factories import SyncRunFactory

pytestmark = pytest.mark.django_db

URL = "/healthz"


def worker_beat(*, minutes_ago: float, running: bool = False, started_minutes_ago: float | None = None) -> SyncRun:
    """A run as a worker leaves it: started, with its last heartbeat ``minutes_ago``."""
    now = timezone.now()
    started = now - timedelta(minutes=started_minutes_ago if started_minutes_ago is not None else minutes_ago)
    beat = now - timedelta(minutes=minutes_ago)
    run = SyncRunFactory(running=running) if running else SyncRunFactory()
    SyncRun.objects.filter(pk=run.pk).update(
        started_at=started, heartbeat_at=beat, finished_at=None if running else beat
    )
    return run


def health(client):
    response = client.get(URL)
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_all_checks_pass_with_a_recent_worker_heartbeat(client):
    worker_beat(minutes_ago=1)
    status, body = health(client)
    assert status == 200
    assert body == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "worker": "ok"}}


def test_no_worker_heartbeat_ever_is_a_503_naming_the_worker(client):
    status, body = health(client)
    assert status == 503
    assert body["status"] == "error"
    assert body["failing"] == ["worker"]
    assert body["checks"] == {"database": "ok", "migrations": "ok", "worker": "no heartbeat"}


def test_a_stale_heartbeat_is_a_503_naming_the_worker(client):
    worker_beat(minutes_ago=11)  # the default limit is 10 minutes
    status, body = health(client)
    assert status == 503
    assert body["failing"] == ["worker"] and body["checks"]["worker"] == "stale"


def test_the_limit_comes_from_the_environment(client, settings):
    worker_beat(minutes_ago=3)
    settings.HEALTH_WORKER_MAX_AGE_SECONDS = 120
    assert health(client)[0] == 503
    settings.HEALTH_WORKER_MAX_AGE_SECONDS = 240
    assert health(client)[0] == 200


def test_a_long_polling_interval_stretches_the_limit_to_three_intervals(client):
    # Polling every 10 minutes: the worker starts a run every 10 minutes, 25 minutes is fine.
    SyncSettings.objects.update_or_create(pk=1, defaults={"polling_interval_minutes": 10})
    worker_beat(minutes_ago=25)
    assert health(client)[0] == 200
    SyncRun.objects.all().delete()
    worker_beat(minutes_ago=31)
    assert health(client)[0] == 503


def test_a_long_run_that_keeps_reporting_progress_keeps_the_worker_healthy(client):
    # Started two hours ago (an initial sync), still publishing progress.
    worker_beat(minutes_ago=1, running=True, started_minutes_ago=120)
    # A later run (e.g. a resync started from the page) that has not moved since.
    worker_beat(minutes_ago=30, started_minutes_ago=30)
    assert health(client)[0] == 200


def test_an_unapplied_migration_is_a_503_naming_migrations(client):
    worker_beat(minutes_ago=1)
    MigrationRecorder(connection).record_unapplied("config", "0002_cache_table")
    status, body = health(client)
    assert status == 503
    assert body["failing"] == ["migrations"]
    assert body["checks"]["migrations"] == "unapplied"


def test_a_database_that_does_not_answer_is_a_503_naming_the_database(client):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    with connection.execute_wrapper(refuse):
        status, body = health(client)
    assert status == 503
    assert body["failing"] == ["database"]
    assert body["checks"] == {"database": "unreachable", "migrations": "skipped", "worker": "skipped"}


def test_a_check_that_crashes_is_a_failing_check_not_a_500(client, monkeypatch):
    worker_beat(minutes_ago=1)

    def crash():
        raise RuntimeError("boom")

    monkeypatch.setattr("config.health.CHECKS", (("database", lambda: "ok"), ("worker", crash)))
    status, body = health(client)
    assert status == 503
    assert body == {"status": "error", "checks": {"database": "ok", "worker": "error"}, "failing": ["worker"]}
    assert "boom" not in str(body)


def test_it_needs_no_login_shows_nothing_else_and_is_never_cached(client):
    worker_beat(minutes_ago=1)
    response = client.get(URL)
    assert response.status_code == 200
    assert set(response.json()) == {"status", "checks"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert client.head(URL).status_code == 200
    assert client.post(URL).status_code == 405
