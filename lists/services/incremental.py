"""Incremental update: re-evaluate the COMPLETE active lists for a batch of changed contacts.

What the HubSpot pull and the webhooks call after storing contacts; a full refresh
(:mod:`lists.services.refresh`) stays the reference it must agree with.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connections, transaction
from django.db.models import Case, Exists, OuterRef, Q, Value, When
from django.utils import timezone

from lists.criteria import AndBranch, InListFilter, OrBranch, parse, to_q
from lists.models import Contact, ContactList, ListMembership, MembershipChange
from lists.selectors import list_dependency_order, referenced_ids_of
from lists.services.sql import _db_datetime, _qn, _tables

# Contacts evaluated per statement by the incremental update (bound parameters stay few).
INCREMENTAL_BATCH = 500

Status = ContactList.ProcessingStatus
Kind = MembershipChange.Kind


@dataclass
class MembershipDelta:
    """Who joined and who left which list (list id -> contact ids)."""

    joined: dict[int, set[int]] = field(default_factory=dict)
    left: dict[int, set[int]] = field(default_factory=dict)

    def joined_list(self, list_id: int) -> set[int]:
        return self.joined.get(list_id, set())

    def left_list(self, list_id: int) -> set[int]:
        return self.left.get(list_id, set())

    def __bool__(self) -> bool:
        return bool(self.joined or self.left)


_parsed_cache: dict[str, Any] = {}


def _parsed(filter_branch: dict) -> Any:
    # COMPLETE lists were validated when they were refreshed; parsing again per batch of
    # changed contacts would cost more than the evaluation itself.
    key = json.dumps(filter_branch, sort_keys=True)
    branch = _parsed_cache.get(key)
    if branch is None:
        if len(_parsed_cache) > 1000:
            _parsed_cache.clear()
        branch = _parsed_cache[key] = parse(filter_branch)
    return branch


def memberships_update_for_contacts(*, contact_ids: Collection[int], now: datetime | None = None) -> MembershipDelta:
    """Re-evaluate every COMPLETE active list for these contacts only, in dependency order.

    Lists are taken level by level (a list's level is one more than that of the lists it uses):
    one query evaluates all the lists of a level for the batch, their changes are written with
    a few ``executemany`` statements, and only then is the next level, which reads them, evaluated.
    """
    delta = MembershipDelta()
    ids = sorted({int(i) for i in contact_ids})
    if not ids:
        return delta
    now = now or timezone.now()
    with transaction.atomic():
        # Every active list is locked, in id order, not only the COMPLETE ones: a refresh
        # publishing meanwhile waits, then sees these contacts as touched (below) and
        # re-checks them, so a change made during a refresh is never lost.
        lists = [
            cl
            for cl in ContactList.objects.select_for_update().evaluated_here().order_by("pk")
            if cl.processing_status == Status.COMPLETE
        ]
        # Callers may have saved these contacts with bulk_update, which leaves auto_now alone.
        touched_at = timezone.now()  # wall clock, whatever ``now`` the criteria are evaluated at
        for start in range(0, len(ids), INCREMENTAL_BATCH):
            Contact.objects.filter(pk__in=ids[start : start + INCREMENTAL_BATCH]).update(updated_at=touched_at)
        for level in _levels(lists):
            changes = _evaluate_level(level, ids, now=now)
            _write_changes(level, changes, at=now)
            for list_id, (joins, leaves) in changes.items():
                if joins:
                    delta.joined[list_id] = set(joins)
                if leaves:
                    delta.left[list_id] = set(leaves)
    return delta


def _levels(lists: list[ContactList]) -> list[list[ContactList]]:
    ordered = list_dependency_order(lists=lists)
    ids = {cl.pk for cl in ordered}
    level_of: dict[int, int] = {}
    for cl in ordered:
        uses = (referenced_ids_of(cl.filter_branch) & ids) - {cl.pk}
        level_of[cl.pk] = 1 + max((level_of.get(u, 0) for u in uses), default=-1)
    levels: dict[int, list[ContactList]] = {}
    for cl in ordered:
        levels.setdefault(level_of[cl.pk], []).append(cl)
    return [levels[k] for k in sorted(levels)]


def _probe_q(branch: Any, *, now: datetime) -> Q:
    """``to_q`` for a handful of contacts: IN_LIST filters probe the membership index per contact.

    The engine compiles IN_LIST to ``id IN (SELECT contact_id ... WHERE list = N)``, right for a
    full refresh (one pass over the list) but, for 100 changed contacts, a read of every member
    of the list used, on each update. ``EXISTS`` on the (list, contact) unique index reads one
    entry per contact instead. Property filters stay the engine's; the hypothesis test checks
    that both forms select the same contacts.
    """
    if isinstance(branch, OrBranch):
        result = Q(pk__in=[])  # an OR of nothing is false
        for i, sub in enumerate(branch.branches):
            result = _probe_q(sub, now=now) if i == 0 else result | _probe_q(sub, now=now)
        return result
    result = Q()
    for item in branch.filters:
        if isinstance(item, InListFilter):
            member = Q(Exists(ListMembership.objects.filter(contact_list_id=item.list_id, contact_id=OuterRef("pk"))))
            result &= member if item.operator == "IN_LIST" else ~member
        else:
            result &= to_q(OrBranch(branches=(AndBranch(filters=(item,)),)), now=now)
    for sub in branch.branches:
        result &= _probe_q(sub, now=now)
    return result


def _evaluate_level(
    level: list[ContactList], ids: list[int], *, now: datetime
) -> dict[int, tuple[list[int], list[int]]]:
    """For each list of the level: (contacts joining, contacts leaving)."""
    names = {cl.pk: f"m{cl.pk}" for cl in level}
    annotations = {
        names[cl.pk]: Case(
            When(Q(archived=False) & _probe_q(_parsed(cl.filter_branch), now=now), then=Value(True)),
            default=Value(False),
        )
        for cl in level
    }
    changes: dict[int, tuple[list[int], list[int]]] = {cl.pk: ([], []) for cl in level}
    for start in range(0, len(ids), INCREMENTAL_BATCH):
        batch = ids[start : start + INCREMENTAL_BATCH]
        current = set(
            ListMembership.objects.filter(contact_id__in=batch, contact_list_id__in=list(names)).values_list(
                "contact_list_id", "contact_id"
            )
        )
        rows = (
            Contact.objects.filter(pk__in=batch).annotate(**annotations).order_by().values_list("pk", *names.values())
        )
        for pk, *matched in rows:
            for cl, match in zip(level, matched, strict=True):
                member = (cl.pk, pk) in current
                if match and not member:
                    changes[cl.pk][0].append(pk)
                elif member and not match:
                    changes[cl.pk][1].append(pk)
    return changes


def _write_changes(level: list[ContactList], changes: dict[int, tuple[list[int], list[int]]], *, at: datetime) -> None:
    versions = {cl.pk: cl.version for cl in level}
    joined = [(list_id, pk) for list_id, (joins, _leaves) in changes.items() for pk in joins]
    left = [(list_id, pk) for list_id, (_joins, leaves) in changes.items() for pk in leaves]
    if not joined and not left:
        return
    t = _tables()
    when = _db_datetime(at)
    with connections["default"].cursor() as cursor:
        if left:
            cursor.executemany(f"DELETE FROM {t['membership']} WHERE contact_list_id = %s AND contact_id = %s", left)  # nosec B608  # quoted table names only; values are parameters
        if joined:
            cursor.executemany(
                f"INSERT INTO {t['membership']} (contact_list_id, contact_id, added_at) VALUES (%s, %s, %s)",  # nosec B608  # quoted table names only; values are parameters
                [(list_id, pk, when) for list_id, pk in joined],
            )
        cursor.executemany(
            f"INSERT INTO {t['change']} (contact_list_id, contact_id, kind, at, list_version) VALUES (%s, %s, %s, %s, %s)",  # nosec B608  # quoted table names only; values are parameters
            [(list_id, pk, Kind.LEFT.value, when, versions[list_id]) for list_id, pk in left]
            + [(list_id, pk, Kind.JOINED.value, when, versions[list_id]) for list_id, pk in joined],
        )
        cursor.executemany(
            f"UPDATE {_qn(ContactList._meta.db_table)} SET size = size + %s WHERE id = %s",  # nosec B608  # quoted table names only; values are parameters
            [(len(joins) - len(leaves), list_id) for list_id, (joins, leaves) in changes.items() if joins or leaves],
        )
