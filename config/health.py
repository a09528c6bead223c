"""``GET /healthz``: whether this deployment can do its job, for a load balancer or a monitor.

200 ``{"status": "ok", "checks": {...}}`` when all three checks pass, else 503 with
``"status": "error"``, each check's answer and the names of the failing ones in ``failing`` (not
the ones skipped because the database is down):

- ``database``: a connection opens and answers ``SELECT 1``;
- ``migrations``: every migration on disk is applied (a deploy that forgot ``migrate``);
- ``worker``: a background worker showed a heartbeat recently. Every scheduled sync cycle starts
  a ``SyncRun`` (even when the sync is turned off, as a skipped run) with ``heartbeat_at``, and a
  long run moves ``heartbeat_at`` on as it publishes progress; the freshest of those is the
  worker's heartbeat. It is stale after ``HEALTH_WORKER_MAX_AGE_SECONDS`` (default 600 s: ten
  cycles at the default one-minute polling interval, and within the 15 minutes after which the
  engine itself takes a silent run's worker for dead), and never sooner than three polling
  intervals, so a longer interval set on the settings page does not turn the check red.

No authentication and nothing beyond the checks: no counts, versions or error texts (the
exception is logged, not shown). Never a 500: a check that raises is a failing check; when the
database does not answer, the checks that need it are ``skipped``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from integration.models import SyncSettings
from sync.models import SyncRun

logger = logging.getLogger(__name__)

OK = "ok"
SKIPPED = "skipped"


def database_check() -> str:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def migrations_check() -> str:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return "unapplied" if plan else OK


def worker_heartbeat() -> datetime | None:
    """The freshest heartbeat of any worker: the latest run's (start, progress or end) and any
    running run's progress. Two indexed queries (``started_at``, ``status``)."""
    latest = SyncRun.objects.order_by("-started_at").values_list("started_at", "heartbeat_at", "finished_at").first()
    running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).aggregate(beat=Max("heartbeat_at"))["beat"]
    beats = [moment for moment in (*(latest or ()), running) if moment is not None]
    return max(beats, default=None)


def worker_max_age() -> timedelta:
    # Read, not SyncSettings.load(): a health check writes nothing (load() creates the row).
    minutes = SyncSettings.objects.filter(pk=1).values_list("polling_interval_minutes", flat=True).first() or 1
    return timedelta(seconds=max(settings.HEALTH_WORKER_MAX_AGE_SECONDS, 3 * 60 * minutes))


def worker_check(*, now: datetime | None = None) -> str:
    beat = worker_heartbeat()
    if beat is None:
        return "no heartbeat"
    return OK if (now or timezone.now()) - beat <= worker_max_age() else "stale"


CHECKS = (("database", database_check), ("migrations", migrations_check), ("worker", worker_check))


def health_checks() -> dict[str, str]:
    """Each check's answer, in order: ``ok``, why it fails, or ``skipped``."""
    answers: dict[str, str] = {}
    for name, check in CHECKS:
        if answers.get("database", OK) != OK:
            answers[name] = SKIPPED
            continue
        try:
            answers[name] = check()
        except Exception:  # noqa: BLE001 - any failure is the check's answer, never a 500
            logger.exception("health check %s failed", name)
            answers[name] = "unreachable" if name == "database" else "error"
    return answers


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health_checks()
    failing = [name for name, answer in checks.items() if answer not in (OK, SKIPPED)]
    if failing:
        return JsonResponse({"status": "error", "checks": checks, "failing": failing}, status=503)
    return JsonResponse({"status": "ok", "checks": checks})
