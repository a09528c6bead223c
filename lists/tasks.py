"""django-q2 entry points for lists: thin, they take ids and call one service."""

from __future__ import annotations

import logging

from lists import services
from lists.models import ContactList

logger = logging.getLogger(__name__)


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
    """Daily (``sync.schedules``): lists with ROLLING_DATE_RANGE filters drift as days pass, without any contact change."""
    return len(services.lists_refresh_rolling())
