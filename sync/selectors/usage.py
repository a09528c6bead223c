"""API usage: the 24-hour figures against the allocation, and the per-hour charts.

Per-hour figures come from the run counters (a small table, kept by the retention sweep), never
from the per-record log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from integration.models import SyncSettings
from sync.models import SyncRun


@dataclass
class ApiUsage:
    allocation: int
    used_24h: int
    hubspot_24h: int
    per_hour: list[tuple[dt.datetime, int]]

    @property
    def percent(self) -> int:
        if not self.allocation:
            return 100 if self.used_24h else 0
        return round(100 * self.used_24h / self.allocation)

    @property
    def remaining(self) -> int:
        return max(0, self.allocation - self.used_24h)

    @property
    def exhausted(self) -> bool:
        return self.allocation > 0 and self.used_24h >= self.allocation


def _hour_floor(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _hours(now: dt.datetime, count: int) -> list[dt.datetime]:
    last = _hour_floor(now.astimezone(dt.UTC))
    return [last - dt.timedelta(hours=count - 1 - i) for i in range(count)]


def _per_hour(since: dt.datetime, **sums: Any) -> dict[dt.datetime, dict[str, int]]:
    rows = (
        SyncRun.objects.filter(started_at__gte=since)
        .annotate(hour=TruncHour("started_at", tzinfo=dt.UTC))
        .values("hour")
        .annotate(**{name: Sum(expr) for name, expr in sums.items()})
        .order_by()
    )
    return {row["hour"].astimezone(dt.UTC): {k: row[k] or 0 for k in sums} for row in rows}


def api_usage(*, now: dt.datetime | None = None) -> ApiUsage:
    """Salesforce calls spent by runs that started in the last 24 hours, against the allocation.

    The per-hour figures attribute a run's calls to the hour it started in.
    """
    now = now or timezone.now()
    hours = _hours(now, 24)
    buckets = _per_hour(hours[0], salesforce=F("salesforce_api_calls"), hubspot=F("hubspot_api_calls"))
    allocation = SyncSettings.objects.values_list("daily_api_allocation", flat=True).first()
    if allocation is None:
        allocation = SyncSettings._meta.get_field("daily_api_allocation").default
    window = SyncRun.objects.api_calls_last_24h(now=now)
    return ApiUsage(
        allocation=allocation,
        used_24h=window.salesforce,
        hubspot_24h=window.hubspot,
        per_hour=[(hour, buckets.get(hour, {}).get("salesforce", 0)) for hour in hours],
    )


@dataclass
class HourTotals:
    hour: dt.datetime
    synced: int
    skipped: int
    failed: int

    @property
    def total(self) -> int:
        return self.synced + self.skipped + self.failed


def hourly_totals(*, now: dt.datetime | None = None, days: int = 7) -> list[HourTotals]:
    """Synced (created + updated), skipped and failed per hour, from the run counters.

    The counters survive the retention sweep of the per-record log, so the chart covers the
    whole period even when old records are gone.
    """
    now = now or timezone.now()
    hours = _hours(now, 24 * days)
    buckets = _per_hour(hours[0], synced=F("created") + F("updated"), skipped=F("skipped"), failed=F("failed"))
    out = []
    for hour in hours:
        b = buckets.get(hour, {})
        out.append(HourTotals(hour, b.get("synced", 0), b.get("skipped", 0), b.get("failed", 0)))
    return out
