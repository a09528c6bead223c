"""Every periodic job, declared once and created idempotently on each migrate.

``Schedule.name`` is not unique in django-q2, so each schedule is found by name with
``update_or_create``: running this again (every deploy, every test database flush) changes what
the registry says and nothing else. ``next_run`` is only set when a schedule is created, so a
redeploy never pushes back a run already planned. The sync's polling interval is a setting on
the settings page; the cycle task itself brings its schedule up to date
(``sync_schedule_follow_settings``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.utils import timezone
from django_q.models import Schedule

from integration.models import SyncSettings

SYNC_SCHEDULE = "salesforce-sync-cycle"
RECORDS_SWEEP_SCHEDULE = "sync: sweep old sync records"
ALERTS_SCHEDULE = "sync: email alerts"
ROLLING_SCHEDULE = "lists: daily refresh of rolling-date lists"


def polling_minutes() -> int:
    return max(1, SyncSettings.load().polling_interval_minutes)


def after_midnight(now: datetime) -> datetime:
    """Shortly after the next midnight UTC, when "N days ago" moves on."""
    return datetime.combine(now.date() + timedelta(days=1), time(0, 5), tzinfo=UTC)


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str  # a django-q2 entry point in <app>/tasks.py
    schedule_type: str  # Schedule.MINUTES or Schedule.DAILY
    minutes: Callable[[], int] | int | None = None
    args: str | None = None
    first_run: Callable[[datetime], datetime] | None = None

    def defaults(self) -> dict:
        minutes = self.minutes() if callable(self.minutes) else self.minutes
        return {
            "func": self.func,
            "args": self.args,
            "schedule_type": self.schedule_type,
            "minutes": minutes,
            "repeats": -1,
        }


SCHEDULES: tuple[ScheduleSpec, ...] = (
    ScheduleSpec(SYNC_SCHEDULE, "sync.tasks.sync_cycle_task", Schedule.MINUTES, polling_minutes, args="'schedule'"),
    # Records older than SYNC_RECORD_RETENTION_DAYS; run counters are kept.
    ScheduleSpec(RECORDS_SWEEP_SCHEDULE, "sync.tasks.records_sweep_task", Schedule.DAILY),
    # One alert per change of state (suspension, failures over the threshold).
    ScheduleSpec(ALERTS_SCHEDULE, "sync.tasks.alerts_check_task", Schedule.MINUTES, 5),
    # Lists whose criteria use "N days ago" drift as days pass, without any contact changing.
    ScheduleSpec(ROLLING_SCHEDULE, "lists.tasks.lists_refresh_rolling_task", Schedule.DAILY, first_run=after_midnight),
)


def ensure_schedules(*, now: datetime | None = None) -> list[Schedule]:
    """Create or bring up to date every schedule of ``SCHEDULES``; safe to call on every deploy."""
    now = now or timezone.now()
    out = []
    for spec in SCHEDULES:
        defaults = spec.defaults()
        create_defaults = {**defaults, "next_run": spec.first_run(now)} if spec.first_run else None
        schedule, _created = Schedule.objects.update_or_create(
            name=spec.name, defaults=defaults, create_defaults=create_defaults
        )
        out.append(schedule)
    return out


def sync_schedule_follow_settings() -> None:
    """The polling interval is a setting on the connected-app page: the periodic cycle picks a
    change up itself."""
    minutes = polling_minutes()
    Schedule.objects.filter(name=SYNC_SCHEDULE).exclude(minutes=minutes).update(minutes=minutes)
