"""Runs: the one running now, the latest ones, and the progress every page polls."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from sync.models import SyncRun


def current_run() -> SyncRun | None:
    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING).order_by("-started_at", "-id").first()


def recent_runs(*, limit: int = 15) -> list[SyncRun]:
    return list(SyncRun.objects.select_related("triggered_by", "contact_list").order_by("-started_at", "-id")[:limit])


def run_duration(run: SyncRun, *, now: dt.datetime | None = None) -> dt.timedelta:
    end = run.finished_at or now or timezone.now()
    return max(dt.timedelta(0), end - run.started_at)


def run_duration_text(run: SyncRun, *, now: dt.datetime | None = None) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour."""
    seconds = int(run_duration(run, now=now).total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def run_progress(run: SyncRun, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """A run as every progress bar reads it (the health page, a resync on the settings page):
    JSON-serialisable, the one shape ``sync:run_progress`` answers."""
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "trigger": str(run.get_trigger_display()),
        "phase": run.phase,
        "done": run.progress_done,
        "total": run.progress_total,
        "percent": run.progress_percent,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "skipped": run.skipped,
        "failed": run.failed,
        "salesforce_api_calls": run.salesforce_api_calls,
        "hubspot_api_calls": run.hubspot_api_calls,
        "seconds": int(run_duration(run, now=now).total_seconds()),
        "finished": run.status != SyncRun.Status.RUNNING,
        "text": _("%(done)s of %(total)s contacts processed")
        % {"done": run.progress_done, "total": run.progress_total},
    }
