"""Static lists: members added and removed by hand, with their ``MembershipChange`` rows."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lists.models import Contact, ContactList
from lists.services.edit import _copy_state
from lists.services.sql import _compile, _count_members, _IdSet, _record_joins, _record_leaves

logger = logging.getLogger(__name__)

Status = ContactList.ProcessingStatus

# Contacts given by a queryset, or as rows or ids.
Contacts = QuerySet[Contact] | Iterable[Contact | int]
Now = datetime | None


def _require_static(contact_list: ContactList) -> None:
    if contact_list.processing_type != ContactList.ProcessingType.MANUAL:
        raise ValidationError(
            _("“%(name)s” is an active list: its members follow its criteria and cannot be added or removed by hand.")
            % {"name": contact_list.name}
        )


def _id_sources(contacts: QuerySet[Contact] | Iterable[Contact | int]) -> Iterable[tuple[str, tuple]]:
    """SQL selecting one ``id`` column per chunk of the given contacts."""
    if isinstance(contacts, QuerySet):
        yield _compile(contacts.order_by().values_list("pk"))
        return
    ids = sorted({c if isinstance(c, int) else c.pk for c in contacts})
    for start in range(0, len(ids), 5000):
        yield _compile(Contact.objects.filter(pk__in=ids[start : start + 5000]).order_by().values_list("pk"))


def static_members_add(*, contact_list: ContactList, contacts: Contacts, actor: Any = None, now: Now = None) -> int:
    """Add contacts to a static list; returns how many were not members yet."""
    return _static_change(contact_list=contact_list, contacts=contacts, actor=actor, now=now, add=True)


def static_members_remove(*, contact_list: ContactList, contacts: Contacts, actor: Any = None, now: Now = None) -> int:
    """Remove contacts from a static list; returns how many were members."""
    return _static_change(contact_list=contact_list, contacts=contacts, actor=actor, now=now, add=False)


def _static_change(*, contact_list: ContactList, contacts: Contacts, actor: Any, now: Now, add: bool) -> int:
    _require_static(contact_list)
    now = now or timezone.now()
    count = 0
    with transaction.atomic(), connections["default"].cursor() as cursor:
        locked = ContactList.objects.select_for_update().get(pk=contact_list.pk)
        _require_static(locked)
        if add:
            # Gathered first, as in a refresh, so that the inserts need not check membership.
            # An error rolls the temporary table back with the rest (DDL is transactional).
            ids = _IdSet(cursor)
            for sql, params in _id_sources(contacts):
                ids.insert_contacts(sql, params)
            ids.discard_members(locked.pk)
            count = _record_joins(cursor, list_id=locked.pk, version=locked.version, at=now, ids=ids)
            ids.drop()
        else:
            for sql, params in _id_sources(contacts):
                count += _record_leaves(
                    cursor,
                    list_id=locked.pk,
                    version=locked.version,
                    at=now,
                    condition_sql=f"m.contact_id IN ({sql})",
                    params=params,
                )
        locked.size = _count_members(cursor, locked.pk)
        locked.processing_status = Status.COMPLETE
        locked.processed_at = now
        locked.save(update_fields=["size", "processing_status", "processed_at", "updated_at"])
    _copy_state(locked, contact_list)
    logger.info("static list %s: %s contacts %s by %s", locked.pk, count, "added" if add else "removed", actor)
    return count
