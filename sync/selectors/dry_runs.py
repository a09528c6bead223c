"""Dry runs as the pages read them: the progress shape every progress bar polls, and the rows
of the CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sync.models import DryRun

# The CSV: one line per field a record would change (one line for a record changing none).
CSV_COLUMNS = [
    ("action", gettext_lazy("action")),
    ("email", gettext_lazy("email")),
    ("name", gettext_lazy("name")),
    ("hubspot_id", gettext_lazy("HubSpot ID")),
    ("salesforce_object", gettext_lazy("Salesforce object")),
    ("salesforce_id", gettext_lazy("Salesforce ID")),
    ("field", gettext_lazy("field")),
    ("current", gettext_lazy("current Salesforce value")),
    ("new", gettext_lazy("value to write")),
    ("error_code", gettext_lazy("error code")),
    ("message", gettext_lazy("message")),
]


def dry_run_progress(dry_run: DryRun, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """A dry run in the shape of ``sync.selectors.run_progress`` (what ``sync:run_progress``
    answers and ``run_progress.js`` renders), with its own figures."""
    status_label = str(dry_run.get_status_display())
    if dry_run.interrupted:
        status_label = _("Interrupted")
        text = _("The worker stopped before the preview ended: run it again.")
    elif dry_run.status == DryRun.Status.QUEUED:
        text = _("Waiting for a worker to start the preview…")
    else:
        text = _("%(done)s of %(total)s contacts previewed") % {
            "done": dry_run.progress_done,
            "total": dry_run.progress_total,
        }
    end = dry_run.finished_at or now or timezone.now()
    start = dry_run.started_at or dry_run.created_at
    return {
        "id": dry_run.pk,
        "status": dry_run.status,
        "status_label": status_label,
        "trigger": str(dry_run.get_kind_display()),
        "phase": "",
        "done": dry_run.progress_done,
        "total": dry_run.progress_total,
        "percent": dry_run.progress_percent,
        **{name: getattr(dry_run, name) for name in DryRun.COUNTERS},
        "salesforce_api_calls": dry_run.salesforce_api_calls,
        "hubspot_api_calls": dry_run.hubspot_api_calls,
        "seconds": max(0, int((end - start).total_seconds())),
        "finished": dry_run.finished,
        "error": dry_run.error,
        "text": text,
    }


def dry_run_csv_rows(dry_run: DryRun) -> Iterator[list[Any]]:
    """The sample as CSV rows (``CSV_COLUMNS``): one per field change."""
    for row in dry_run.rows:
        base = {name: row.get(name, "") for name, _label in CSV_COLUMNS}
        base["action"] = str(dict(ACTION_LABELS).get(row["action"], row["action"]))
        changes = row.get("changes") or [{}]
        for change in changes:
            yield [
                change.get(name, "") if name in ("field", "current", "new") else base[name]
                for name, _label in CSV_COLUMNS
            ]


ACTION_LABELS = [
    ("created", gettext_lazy("Would create")),
    ("updated", gettext_lazy("Would update")),
    ("unchanged", gettext_lazy("Unchanged")),
    ("skipped", gettext_lazy("Would skip")),
    ("failed", gettext_lazy("Would fail")),
]
