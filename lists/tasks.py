"""django-q2 entry points for lists: thin, they take ids and call one service."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

from lists import services
from lists.models import ContactList

logger = logging.getLogger(__name__)

ROLLING_SCHEDULE_NAME = "lists: daily refresh of rolling-date lists"


def list_refresh_task(list_id: int, version: int | None = None) -> str | None:
    """Refresh one list. A task queued for criteria since replaced does nothing: the newer
    version has its own task."""
    contact_list = ContactList.objects.filter(pk=list_id).first()
    if contact_list is None:
        logger.info("list %s was deleted before its refresh ran", list_id)
        return None
    if version is not None and contact_list.version != version:
        logger.info("refresh of list %s v%s skipped: now at v%s", list_id, version, contact_list.version)
        return None
    return services.list_refresh(contact_list=contact_list).processing_status


def lists_refresh_rolling_task() -> int:
    """Daily: lists with ROLLING_DATE_RANGE filters drift as days pass, without any contact change."""
    return len(services.lists_refresh_rolling())


def ensure_schedules(*, now: datetime | None = None) -> None:
    """Create (or bring up to date) the daily schedule; safe to call on every deploy."""
    from django_q.models import Schedule

    now = now or timezone.now()
    # Shortly after midnight UTC, when "N days ago" moves on.
    first_run = datetime.combine(now.date() + timedelta(days=1), time(0, 5), tzinfo=UTC)
    Schedule.objects.update_or_create(
        name=ROLLING_SCHEDULE_NAME,
        defaults={
            "func": "lists.tasks.lists_refresh_rolling_task",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
        },
        # Re-running must not push back a run that is already planned.
        create_defaults={
            "func": "lists.tasks.lists_refresh_rolling_task",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
            "next_run": first_run,
        },
    )
