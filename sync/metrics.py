"""The sync's figures for Prometheus, computed when scraped (a ``prometheus_client`` collector:
nothing is counted in process memory, so every web process answers the same).

Cheap whatever the size of the log: every query is indexed and most read a handful of rows.
The two counter families (``inclusion_sync_records_total`` and the run duration histogram) need
every record and run ever made, which a scrape cannot count each time (a GROUP BY over a million
records takes about a second on SQLite), and which the retention sweep deletes after
``SYNC_RECORD_RETENTION_DAYS`` (a count of the stored records would go down: not a counter,
whose value "can only increase or be reset to zero on restart", and a histogram's buckets are
cumulative counters too: https://prometheus.io/docs/concepts/metric_types/).
So a run is *folded* once it is over: its records counted by direction and action (through the
``run`` index), its duration put in its bucket, the totals kept in the shared cache with the id
of the last run folded. A scrape adds to those totals the runs after that id only (the ones
still going, and any finished after the oldest still going): a few runs, not the whole log.

The totals are derived data: if the cache loses them, the next scrape folds every run again
from the records still stored (once; a counter reset, as after a process restart, for records
already swept). Two scrapes at once fold the same runs into the same totals; the slower one may
write back an earlier state, which the next scrape folds forward again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from integration.models import SyncSettings
from lists.models import ContactList
from sync.models import PendingSync, SyncRecord, SyncRun

TOTALS_KEY = "sync-metrics:folded-totals:v1"
# Upper bounds of the run duration histogram's buckets, in seconds: from a quiet poll (a second
# or two) to a first sync of a big list (hours).
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0)
# Runs that end with something done: a skipped run (sync turned off) took no time to speak of.
TIMED_STATUSES = (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL, SyncRun.Status.FAILED)
# A run still marked running this long after it started is folded as it stands (its worker died
# without anyone closing it), so one such run cannot hold every later run in the live part.
ABANDONED_AFTER = timedelta(hours=24)


def _empty_totals() -> dict:
    return {"through": 0, "records": {}, "buckets": [0] * len(DURATION_BUCKETS), "count": 0, "sum": 0.0}


class _Tally:
    """Records by (direction, action) and run durations: a folded state plus what is added to it."""

    def __init__(self, state: dict) -> None:
        self.records: Counter[tuple[str, str]] = Counter(
            {tuple(key.split("|", 1)): n for key, n in state["records"].items()}
        )
        self.buckets = list(state["buckets"])
        self.count = state["count"]
        self.sum = state["sum"]

    def add_records(self, rows: list[tuple[str, str, int]]) -> None:
        for direction, action, n in rows:
            self.records[(direction, action)] += n

    def add_duration(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        for i, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1
        self.count += 1
        self.sum += seconds

    def state(self, through: int) -> dict:
        return {
            "through": through,
            "records": {f"{d}|{a}": n for (d, a), n in self.records.items()},
            "buckets": self.buckets,
            "count": self.count,
            "sum": self.sum,
        }


def _tail(through: int, *, now: datetime) -> tuple[int, _Tally, _Tally]:
    """Runs after ``through``: the ones that can be folded for good (a prefix of ended or
    abandoned runs), and the others (counted live). Returns the new fold point, the folded
    part's additions and the live part."""
    runs = list(
        SyncRun.objects.filter(pk__gt=through).order_by("pk").values_list("pk", "status", "started_at", "finished_at")
    )
    records: dict[int, list[tuple[str, str, int]]] = {}
    rows = (
        SyncRecord.objects.filter(run_id__gt=through)
        # A field skipped (an owner with no match), not a record: as the run's own counters.
        .exclude(skip_reason=SyncRecord.SkipReason.OWNER_UNMATCHED)
        .values_list("run_id", "direction", "action")
        .annotate(n=Count("id"))
        .order_by()
    )
    for run_id, direction, action, n in rows:
        records.setdefault(run_id, []).append((direction, action, n))
    folded, live = _Tally(_empty_totals()), _Tally(_empty_totals())
    new_through, folding = through, True
    for pk, status, started_at, finished_at in runs:
        over = status != SyncRun.Status.RUNNING or (started_at is not None and now - started_at > ABANDONED_AFTER)
        folding = folding and over
        tally = folded if folding else live
        tally.add_records(records.get(pk, []))
        if finished_at is not None and started_at is not None and status in TIMED_STATUSES:
            tally.add_duration((finished_at - started_at).total_seconds())
        if folding:
            new_through = pk
    return new_through, folded, live


def _combined(base: _Tally, *parts: _Tally) -> _Tally:
    for part in parts:
        base.records.update(part.records)
        base.buckets = [a + b for a, b in zip(base.buckets, part.buckets, strict=True)]
        base.count += part.count
        base.sum += part.sum
    return base


def sync_totals(*, now: datetime | None = None) -> _Tally:
    """Every record and run duration so far: the folded totals from the cache, brought up to date."""
    now = now or timezone.now()
    state = cache.get(TOTALS_KEY) or _empty_totals()
    new_through, folded, live = _tail(state["through"], now=now)
    totals = _combined(_Tally(state), folded)
    if new_through != state["through"]:
        cache.set(TOTALS_KEY, totals.state(new_through), timeout=None)
    return _combined(totals, live)


def _list_members() -> Iterator[tuple[str, str, str, int]]:
    inclusion_id = SyncSettings.objects.filter(pk=1).values_list("inclusion_list_id", flat=True).first()
    for pk, name, size in ContactList.objects.order_by("pk").values_list("pk", "name", "size"):
        yield str(pk), name, "true" if pk == inclusion_id else "false", size


class SyncCollector:
    """The metrics of ``/metrics`` (config/metrics.py), read from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        pending = GaugeMetricFamily("inclusion_sync_pending", "Contacts queued for sending to Salesforce.")
        pending.add_metric([], PendingSync.objects.count())
        yield pending

        totals = sync_totals(now=now)
        records = CounterMetricFamily(
            "inclusion_sync_records",
            "Sync log records by direction and action (records of every run, never decreasing).",
            labels=["direction", "action"],
        )
        for direction in SyncRecord.Direction.values:
            for action in SyncRecord.Action.values:
                records.add_metric([direction, action], totals.records.get((direction, action), 0))
        yield records

        duration = HistogramMetricFamily(
            "inclusion_sync_run_duration_seconds",
            "Duration of finished sync runs (succeeded, partial or failed).",
        )
        buckets = [(repr(bound), n) for bound, n in zip(DURATION_BUCKETS, totals.buckets, strict=True)]
        duration.add_metric([], [*buckets, ("+Inf", totals.count)], sum_value=totals.sum)
        yield duration

        calls = SyncRun.objects.api_calls_last_24h(now=now)
        for side, label, value in (
            ("salesforce", "Salesforce", calls.salesforce),
            ("hubspot", "HubSpot", calls.hubspot),
        ):
            gauge = GaugeMetricFamily(
                f"inclusion_sync_{side}_api_calls_24h",
                f"{label} API calls spent by the sync runs of the last 24 hours.",
            )
            gauge.add_metric([], value)
            yield gauge

        last = GaugeMetricFamily(
            "inclusion_sync_last_run_timestamp_seconds",
            "When the latest sync run to finish ended (Unix time; absent before the first).",
        )
        finished = (
            SyncRun.objects.filter(finished_at__isnull=False)
            .order_by("-started_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if finished is not None:
            last.add_metric([], finished.timestamp())
        yield last

        members = GaugeMetricFamily(
            "inclusion_sync_list_members",
            'Members of each contact list (inclusion="true" for the sync\'s inclusion list).',
            labels=["list_id", "list", "inclusion"],
        )
        for list_id, name, inclusion, size in _list_members():
            members.add_metric([list_id, name, inclusion], size)
        yield members
