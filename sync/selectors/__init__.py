"""Reads of the sync: the ops view (health cards, API usage, runs, charts, the contact timeline)
and the sync's side of the settings page.

Every query here must stay fast with millions of ``SyncRecord`` rows: none scans the whole log.

- :mod:`.failures`: current failures and the health page's category cards.
- :mod:`.usage`: API calls over 24 hours against the allocation, per-hour charts.
- :mod:`.runs`: the current and latest runs, and ``run_progress`` (what every progress bar polls).
- :mod:`.suspensions`: why the integration is not syncing, with what to do.
- :mod:`.timeline`: a contact's timeline, and the explanation of its inclusion-list filters.
- :mod:`.inclusion`: the inclusion list's members and those never synced.
"""

from sync.selectors.failures import CategoryCard, category_cards, conflicts_24h, current_failures
from sync.selectors.inclusion import InclusionStats, inclusion_list_stats
from sync.selectors.runs import current_run, recent_runs, run_duration, run_duration_text, run_progress
from sync.selectors.suspensions import Suspension, connected_app_url, suspensions
from sync.selectors.timeline import (
    Change,
    ConflictRow,
    InclusionStatus,
    TimelineEvent,
    conflict_rows,
    contact_timeline,
    inclusion_explanations,
    inclusion_status,
    payload_changes,
    redact,
)
from sync.selectors.usage import ApiUsage, HourTotals, api_usage, hourly_totals

__all__ = [
    "ApiUsage",
    "CategoryCard",
    "Change",
    "ConflictRow",
    "HourTotals",
    "InclusionStats",
    "InclusionStatus",
    "Suspension",
    "TimelineEvent",
    "api_usage",
    "category_cards",
    "conflict_rows",
    "conflicts_24h",
    "connected_app_url",
    "contact_timeline",
    "current_failures",
    "current_run",
    "hourly_totals",
    "inclusion_explanations",
    "inclusion_list_stats",
    "inclusion_status",
    "payload_changes",
    "recent_runs",
    "redact",
    "run_duration",
    "run_duration_text",
    "run_progress",
    "suspensions",
]
