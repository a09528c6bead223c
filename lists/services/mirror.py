"""Lists that live in HubSpot: their criteria translated between HubSpot's list ids and ours,
and a membership replaced by the one HubSpot computed.

HubSpot's ``IN_LIST`` filters name HubSpot list ids; the criteria engine here names
``ContactList`` primary keys. A definition read from HubSpot is stored with our ids when every
list it names is known here (and is then evaluated here); a definition published from here goes
to HubSpot with HubSpot's ids. A membership HubSpot computed (filters this product cannot
evaluate, static lists) is written as the difference with the current one, with the same
``MembershipChange`` rows as any other change, so the inclusion list's "joined the list" trigger
works alike whoever computed the membership.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lists.criteria.guard import check_json
from lists.models import Contact, ContactList
from lists.services.sql import _compile, _count_members, _IdSet, _record_joins, _record_leaves

Status = ContactList.ProcessingStatus


class UnmappedList(Exception):
    """An IN_LIST filter names a list the other side does not know."""

    def __init__(self, list_id: Any) -> None:
        super().__init__(str(list_id))
        self.list_id = list_id


def _in_list_filters(branch: Any) -> Iterable[dict]:
    stack = [branch]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("filterType") == "IN_LIST":
                yield node
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))


def _translate(branch: dict, ids: Mapping[str, Any]) -> dict:
    check_json(branch)  # bounded depth and size before anything walks it
    result = copy.deepcopy(branch)
    for item in _in_list_filters(result):
        key = str(item.get("listId", "")).strip()
        if key not in ids:
            raise UnmappedList(item.get("listId"))
        item["listId"] = str(ids[key])
    return result


def criteria_from_hubspot(branch: dict, local_of: Mapping[str, int]) -> dict:
    """HubSpot's ``filterBranch`` with our list ids (``local_of``: HubSpot list id -> pk)."""
    return _translate(branch, local_of)


def criteria_to_hubspot(branch: dict, hubspot_of: Mapping[int, str]) -> dict:
    """Our criteria with HubSpot's list ids (``hubspot_of``: pk -> HubSpot list id)."""
    return _translate(branch, {str(pk): hs_id for pk, hs_id in hubspot_of.items()})


def hubspot_list_ids() -> dict[str, int]:
    """HubSpot list id -> pk, for every list linked to HubSpot and not deleted there."""
    return dict(
        ContactList.objects.exclude(hubspot_list_id="")
        .filter(hubspot_deleted_at__isnull=True)
        .values_list("hubspot_list_id", "pk")
    )


def mirrored_members_replace(
    *, contact_list: ContactList, contact_ids: Iterable[int], now: datetime | None = None
) -> tuple[set[int], set[int]]:
    """Make ``contact_ids`` the list's members; returns (joined, left) contact ids.

    Only the difference is written, with its ``MembershipChange`` rows, in one transaction; the
    list is COMPLETE with its new size afterwards."""
    now = now or timezone.now()
    wanted = sorted({int(i) for i in contact_ids})
    with transaction.atomic(), connections["default"].cursor() as cursor:
        locked = ContactList.objects.select_for_update().get(pk=contact_list.pk)
        current = set(locked.memberships.values_list("contact_id", flat=True))
        joined = set(wanted) - current
        left = current - set(wanted)
        if joined:
            ids = _IdSet(cursor)
            ordered = sorted(joined)
            for start in range(0, len(ordered), 5000):
                sql, params = _compile(Contact.objects.filter(pk__in=ordered[start : start + 5000]).values_list("pk"))
                ids.insert_contacts(sql, params)
            _record_joins(cursor, list_id=locked.pk, version=locked.version, at=now, ids=ids)
            ids.drop()
        ordered_left = sorted(left)
        for start in range(0, len(ordered_left), 5000):
            chunk = ordered_left[start : start + 5000]
            marks = ", ".join(["%s"] * len(chunk))
            _record_leaves(
                cursor,
                list_id=locked.pk,
                version=locked.version,
                at=now,
                condition_sql=f"m.contact_id IN ({marks})",
                params=tuple(chunk),
            )
        size = _count_members(cursor, locked.pk)
        ContactList.objects.filter(pk=locked.pk).update(
            size=size, processing_status=Status.COMPLETE, error="", progress=100, processed_at=now
        )
    contact_list.refresh_from_db()
    return joined, left


def deleted_in_hubspot_message() -> str:
    return _("This list was deleted in HubSpot: it gates nobody in until it is restored there or replaced here.")
