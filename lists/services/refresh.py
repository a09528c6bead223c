"""Writes on lists: create, edit, delete, refresh in full, update incrementally, static members.

Membership is computed in the database, set-based: a refresh evaluates the criteria once per
chunk of contact ids into a temporary table, then publishes the difference (joins, leaves and
their ``MembershipChange`` rows) in one transaction, so readers see either the previous
membership or the new one, never a half-built list.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Collection, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.deletion import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from lists.criteria import AndBranch, CriteriaError, InListFilter, OrBranch, check_filter_branch, parse, to_q
from lists.models import Contact, ContactList, ListMembership, MembershipChange
from lists.selectors import (
    list_dependency_order,
    list_dependents,
    lists_referencing,
    lists_using_rolling_dates,
    referenced_ids_of,
)
from lists.usage import use_protecting

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]

# Contacts evaluated per statement during a full refresh; each chunk reports progress.
REFRESH_CHUNK_IDS = 100_000
# Contacts evaluated per statement by the incremental update (bound parameters stay few).
INCREMENTAL_BATCH = 500
# A contact saved by a transaction that began this long before a refresh started may have
# been read with its old values; the refresh re-evaluates such recently touched contacts.
SNAPSHOT_MARGIN = timedelta(minutes=2)

Status = ContactList.ProcessingStatus
Kind = MembershipChange.Kind


# --------------------------------------------------------------------------------------------
# Create, edit, delete


def _enqueue_refresh(contact_list: ContactList) -> None:
    list_id, version = contact_list.pk, contact_list.version

    def enqueue() -> None:
        from django_q.tasks import async_task

        async_task(
            "lists.tasks.list_refresh_task",
            list_id,
            version,
            task_name=f"list_refresh:{list_id}:v{version}",
            group="lists",
        )

    transaction.on_commit(enqueue)


def list_create(*, name: str, processing_type: str, filter_branch: dict | None, actor: Any = None) -> ContactList:
    """Create a list. An active list starts PROCESSING and its refresh is queued."""
    is_active = processing_type == ContactList.ProcessingType.DYNAMIC
    contact_list = ContactList(
        name=name,
        processing_type=processing_type,
        filter_branch=filter_branch if is_active else filter_branch or None,
        processing_status=Status.PROCESSING if is_active else Status.COMPLETE,
        size=0,
        progress=0,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    if not is_active:
        contact_list.processed_at = timezone.now()
        contact_list.progress = 100
    contact_list.full_clean()
    with transaction.atomic():
        contact_list.save()
        if is_active:
            _enqueue_refresh(contact_list)
    logger.info("list %s created by %s", contact_list.pk, actor)
    return contact_list


def list_update(
    *,
    contact_list: ContactList,
    name: str | None = None,
    filter_branch: dict | None = None,
    actor: Any = None,
) -> ContactList:
    """Rename and/or change the criteria. New criteria bump the version and queue a refresh.

    Invalid criteria raise ``ValidationError``; nothing is stored and the instance keeps its
    previous definition.
    """
    with transaction.atomic():
        current = ContactList.objects.select_for_update().get(pk=contact_list.pk)
        # Saving the criteria of a failed list again retries it (the property it missed may be back).
        criteria_changed = filter_branch is not None and (
            filter_branch != current.filter_branch or current.processing_status == Status.FAILED
        )
        if name is not None:
            current.name = name
        # Validate on the locked copy: a refusal leaves both the row and the caller's object alone.
        if filter_branch is not None:
            current.filter_branch = filter_branch
            current.full_clean()
        else:
            # A rename alone must work even when the stored criteria no longer validate (a
            # property deleted in HubSpot): the list is FAILED, and renaming it is harmless.
            current.clean_fields()
            current.validate_constraints()
        if criteria_changed:
            current.version += 1
            current.processing_status = Status.PROCESSING
            current.progress = 0
            current.error = ""
        current.save()
        if criteria_changed:
            _enqueue_refresh(current)
    _copy_state(current, contact_list)
    logger.info("list %s updated by %s (criteria changed: %s)", contact_list.pk, actor, criteria_changed)
    return contact_list


def list_rename(*, contact_list: ContactList, name: str, actor: Any = None) -> ContactList:
    return list_update(contact_list=contact_list, name=name, actor=actor)


def list_delete(*, contact_list: ContactList) -> None:
    """Delete a list, unless the sync uses it as its inclusion list or another list uses it."""
    users = lists_referencing(contact_list=contact_list)
    if users:
        raise ValidationError(
            _(
                "“%(name)s” cannot be deleted: the list(s) %(users)s use it in their criteria. Remove those filters first."
            )
            % {"name": contact_list.name, "users": ", ".join(f"“{u.name}”" for u in users)}
        )
    try:
        with transaction.atomic():
            contact_list.delete()
    except ProtectedError as exc:
        use = use_protecting(exc.protected_objects)
        if use is not None:
            raise ValidationError(str(use.delete_refusal) % {"name": contact_list.name})
        raise ValidationError(
            _("“%(name)s” cannot be deleted: it is still used by %(users)s.")
            % {"name": contact_list.name, "users": ", ".join(str(obj) for obj in exc.protected_objects)}
        )


def _copy_state(source: ContactList, target: ContactList) -> None:
    if source is target:
        return
    for f in ContactList._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))


# --------------------------------------------------------------------------------------------
# SQL helpers: set-based statements built from compiled querysets


def _compile(queryset: QuerySet) -> tuple[str, tuple]:
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, tuple(params)


def _qn(name: str) -> str:
    return connections["default"].ops.quote_name(name)


def _tables() -> dict[str, str]:
    return {
        "contact": _qn(Contact._meta.db_table),
        "membership": _qn(ListMembership._meta.db_table),
        "change": _qn(MembershipChange._meta.db_table),
    }


def _db_datetime(value: datetime) -> Any:
    return connections["default"].ops.adapt_datetimefield_value(value)


class _IdSet:
    """A temporary table of contact ids: the result of the criteria, materialised once."""

    def __init__(self, cursor) -> None:
        self.cursor = cursor
        self.name = _qn(f"lists_tmp_{uuid.uuid4().hex[:12]}")
        vendor = connections["default"].vendor
        # INTEGER PRIMARY KEY is SQLite's rowid: the cheapest key it has.
        column = "id INTEGER PRIMARY KEY" if vendor == "sqlite" else "id bigint PRIMARY KEY"
        cursor.execute(f"CREATE TEMPORARY TABLE {self.name} ({column})")

    def insert(self, queryset: QuerySet) -> None:
        """Add the contacts ``queryset`` selects; one already there stays once (on PostgreSQL a
        contact saved between ``discard`` and this ``insert`` is in the set and selected again)."""
        sql, params = _compile(queryset.order_by().values_list("pk"))
        if connections["default"].vendor != "sqlite":
            # The query as it is: rows keep the order its plan gives them (see the note in
            # test_multi_worker: wrapped in a subquery, a different order of the members made
            # the push create both of two contacts sharing an email, now and then).
            self.cursor.execute(f"INSERT INTO {self.name} (id) {sql} ON CONFLICT (id) DO NOTHING", params)
            return
        # "WHERE true": SQLite would read the ON of ON CONFLICT as the join constraint of a
        # SELECT that has no WHERE of its own.
        self.cursor.execute(
            f"INSERT INTO {self.name} (id) SELECT * FROM ({sql}) q WHERE true ON CONFLICT (id) DO NOTHING", params
        )

    def insert_contacts(self, sql: str, params: tuple) -> None:
        """Add the contacts whose id ``sql`` selects (each once, whatever the query repeats)."""
        self.cursor.execute(
            f"INSERT INTO {self.name} (id) SELECT s.id FROM {_tables()['contact']} s WHERE s.id IN ({sql})", params
        )

    def discard(self, queryset: QuerySet) -> None:
        sql, params = _compile(queryset.order_by().values_list("pk"))
        self.cursor.execute(f"DELETE FROM {self.name} WHERE id IN ({sql})", params)

    def discard_members(self, list_id: int) -> None:
        """Keep only the contacts that are not members of the list yet: those who join."""
        self.cursor.execute(
            f"DELETE FROM {self.name} WHERE id IN "
            f"(SELECT contact_id FROM {_tables()['membership']} WHERE contact_list_id = %s)",
            (list_id,),
        )

    def drop(self) -> None:
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.name}")


def _record_joins(cursor, *, list_id: int, version: int, at: datetime, ids: _IdSet) -> int:
    """Add as members the contacts of ``ids``, none of which is a member yet (``discard_members``).

    The inserts read no membership: an anti-join against the table being written is, on
    PostgreSQL with statistics that still call it empty, a nested loop rescanning it per row
    (57k joins: 25 s instead of 0.5 s).
    """
    t = _tables()
    when = _db_datetime(at)
    if connections["default"].vendor == "postgresql":
        # One statement writing each contact's two rows in turn: their deferred foreign-key
        # checks then run back to back at commit, the second on a cached page and a row already
        # locked, which saves a fifth of the commit of two INSERTs (57k joins: 1.4 s -> 1.1 s).
        cursor.execute(
            f"WITH j AS (INSERT INTO {t['membership']} (contact_list_id, contact_id, added_at) "
            f"SELECT %s, s.id, %s FROM {ids.name} s RETURNING contact_id) "
            f"INSERT INTO {t['change']} (contact_list_id, contact_id, kind, at, list_version) "
            f"SELECT %s, j.contact_id, %s, %s, %s FROM j",
            (list_id, when, list_id, Kind.JOINED.value, when, version),
        )
        return cursor.rowcount
    cursor.execute(
        f"INSERT INTO {t['change']} (contact_list_id, contact_id, kind, at, list_version) "
        f"SELECT %s, s.id, %s, %s, %s FROM {ids.name} s",
        (list_id, Kind.JOINED.value, when, version),
    )
    cursor.execute(
        f"INSERT INTO {t['membership']} (contact_list_id, contact_id, added_at) SELECT %s, s.id, %s FROM {ids.name} s",
        (list_id, when),
    )
    return cursor.rowcount


def _record_leaves(cursor, *, list_id: int, version: int, at: datetime, condition_sql: str, params: tuple) -> int:
    """Remove the members for which ``condition_sql`` (about ``m.contact_id``) holds."""
    t = _tables()
    cursor.execute(
        f"INSERT INTO {t['change']} (contact_list_id, contact_id, kind, at, list_version) "
        f"SELECT %s, m.contact_id, %s, %s, %s FROM {t['membership']} m "
        f"WHERE m.contact_list_id = %s AND {condition_sql}",
        (list_id, Kind.LEFT.value, _db_datetime(at), version, list_id, *params),
    )
    # DELETE cannot take an alias everywhere: the condition is rewritten on the table name.
    condition = condition_sql.replace("m.contact_id", f"{t['membership']}.contact_id")
    cursor.execute(
        f"DELETE FROM {t['membership']} WHERE contact_list_id = %s AND {condition}",
        (list_id, *params),
    )
    return cursor.rowcount


def _count_members(cursor, list_id: int) -> int:
    cursor.execute(f"SELECT COUNT(*) FROM {_tables()['membership']} WHERE contact_list_id = %s", (list_id,))
    return int(cursor.fetchone()[0])


def _eligible_contacts() -> QuerySet[Contact]:
    # Contacts archived in HubSpot are deleted there: they belong to no active list.
    return Contact.objects.filter(archived=False)


# --------------------------------------------------------------------------------------------
# Full refresh


@dataclass
class RefreshOutcome:
    contact_list: ContactList
    published: bool
    joined: int = 0
    left: int = 0
    status_before: str = ""

    @property
    def changed(self) -> bool:
        """Whether lists using this one may now compute differently."""
        return bool(self.joined or self.left) or self.status_before != self.contact_list.processing_status


class _Stale(Exception):
    """The list's criteria changed while it was computed: a newer refresh will publish."""


def list_refresh(
    *, contact_list: ContactList, now: datetime | None = None, progress: ProgressCallback | None = None
) -> ContactList:
    """Recompute a list's membership in full, then the lists that depend on it, in order.

    Ends COMPLETE with its size, or FAILED with the error on the list. A result computed for a
    version of the criteria that is no longer current is not published.
    """
    now = now or timezone.now()
    outcome = _refresh_one(contact_list.pk, now=now, progress=progress)
    if outcome.published and outcome.changed:
        _refresh_in_order(list_dependents(contact_list=outcome.contact_list), now=now)
    _copy_state(outcome.contact_list, contact_list)
    return contact_list


def _refresh_in_order(lists: Iterable[ContactList], *, now: datetime) -> list[RefreshOutcome]:
    # Dependents are recomputed in full: their criteria may mix the changed list with
    # properties, and a dependency chain is short.
    outcomes = []
    for cl in list_dependency_order(lists=lists):
        try:
            outcomes.append(_refresh_one(cl.pk, now=now, progress=None))
        except ContactList.DoesNotExist:
            continue  # deleted meanwhile
    return outcomes


def _refresh_one(list_id: int, *, now: datetime, progress: ProgressCallback | None) -> RefreshOutcome:
    contact_list = ContactList.objects.get(pk=list_id)
    version, status_before = contact_list.version, contact_list.processing_status
    if not contact_list.is_active_list:
        return _refresh_static(contact_list, now=now)
    try:
        outcome = _compute_and_publish(contact_list, version=version, now=now, progress=progress)
        outcome.status_before = status_before
        return outcome
    except _Stale:
        contact_list.refresh_from_db()
        return RefreshOutcome(contact_list, published=False, status_before=status_before)
    except Exception as exc:
        if not isinstance(exc, ValidationError | CriteriaError):
            logger.exception("refresh of list %s failed", list_id)
        message = _error_message(exc)
        failed = ContactList.objects.filter(pk=list_id, version=version).update(
            processing_status=Status.FAILED, error=message, progress=0, processed_at=now
        )
        contact_list.refresh_from_db()
        return RefreshOutcome(contact_list, published=bool(failed), status_before=status_before)


def _error_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    return str(exc) or exc.__class__.__name__


def _refresh_static(contact_list: ContactList, *, now: datetime) -> RefreshOutcome:
    with transaction.atomic(), connections["default"].cursor() as cursor:
        size = _count_members(cursor, contact_list.pk)
        ContactList.objects.filter(pk=contact_list.pk).update(
            size=size, processing_status=Status.COMPLETE, error="", progress=100, processed_at=now
        )
    contact_list.refresh_from_db()
    return RefreshOutcome(contact_list, published=True)


def _check_referenced_lists(contact_list: ContactList, branch) -> None:
    from lists.criteria import referenced_list_ids

    ids = referenced_list_ids(branch)
    if not ids:
        return
    failed = list(ContactList.objects.filter(pk__in=ids, processing_status=Status.FAILED).order_by("name"))
    if failed:
        raise ValidationError(
            _("These criteria use the list(s) %(names)s, which failed to process.")
            % {"names": ", ".join(f"“{f.name}”" for f in failed)}
        )


def _savepoint():
    # Inside an outer transaction (tests, callers' atomic blocks) an error must roll back to a
    # savepoint so the FAILED status can still be written; in autocommit each statement stands
    # alone and an explicit transaction would hold SQLite's write lock for nothing.
    return transaction.atomic() if connections["default"].in_atomic_block else nullcontext()


def _compute_and_publish(
    contact_list: ContactList, *, version: int, now: datetime, progress: ProgressCallback | None
) -> RefreshOutcome:
    branch = check_filter_branch(contact_list.filter_branch, list_id=contact_list.pk)
    _check_referenced_lists(contact_list, branch)
    matching = _eligible_contacts().filter(to_q(branch, now=now))
    started = timezone.now()
    with connections["default"].cursor() as cursor:
        with _savepoint():
            ids = _IdSet(cursor)
        try:
            _evaluate_in_chunks(ids, matching, list_id=contact_list.pk, version=version, progress=progress)
            locked, joined, left = _publish(
                cursor, ids, matching, list_id=contact_list.pk, version=version, now=now, started=started
            )
        finally:
            with _savepoint():
                ids.drop()
    if progress:
        progress(100)
    logger.info("list %s v%s refreshed: %s members, +%s -%s", locked.pk, version, locked.size, joined, left)
    return RefreshOutcome(locked, published=True, joined=joined, left=left)


def _evaluate_in_chunks(
    ids: _IdSet, matching: QuerySet, *, list_id: int, version: int, progress: ProgressCallback | None
) -> None:
    """Phase 1, outside the publishing transaction, so that progress is committed and seen."""
    # Two queries, not MIN() and MAX() in one: SQLite answers each alone from the primary key
    # but scans the whole table for both together.
    lo = Contact.objects.order_by("pk").values_list("pk", flat=True).first()
    hi = Contact.objects.order_by("-pk").values_list("pk", flat=True).first()
    if lo is None or hi is None:
        return
    chunks = list(range(lo, hi + 1, REFRESH_CHUNK_IDS))
    for done, start in enumerate(chunks, start=1):
        with _savepoint():
            ids.insert(matching.filter(pk__gte=start, pk__lt=start + REFRESH_CHUNK_IDS))
        if len(chunks) > 1:
            _report_progress(list_id, version, min(99, done * 100 // len(chunks)), progress)


def _publish(
    cursor, ids: _IdSet, matching: QuerySet, *, list_id: int, version: int, now: datetime, started: datetime
) -> tuple[ContactList, int, int]:
    """Phase 2, one transaction: write the difference, or nothing if the criteria changed."""
    with transaction.atomic():
        locked = ContactList.objects.select_for_update().get(pk=list_id)
        if locked.version != version:
            raise _Stale
        # Contacts saved while phase 1 ran may have been read with their old values.
        since = started - SNAPSHOT_MARGIN
        ids.discard(Contact.objects.filter(updated_at__gte=since))
        ids.insert(matching.filter(updated_at__gte=since))
        left = _record_leaves(
            cursor,
            list_id=list_id,
            version=version,
            at=now,
            condition_sql=f"NOT EXISTS (SELECT 1 FROM {ids.name} t WHERE t.id = m.contact_id)",
            params=(),
        )
        # Once the remaining members are taken out, the set holds exactly the contacts who join.
        ids.discard_members(list_id)
        joined = _record_joins(cursor, list_id=list_id, version=version, at=now, ids=ids)
        locked.size = _count_members(cursor, list_id)
        locked.processing_status = Status.COMPLETE
        locked.error = ""
        locked.progress = 100
        locked.processed_at = now
        locked.save(update_fields=["size", "processing_status", "error", "progress", "processed_at", "updated_at"])
    return locked, joined, left


def _report_progress(list_id: int, version: int, percent: int, progress: ProgressCallback | None) -> None:
    with _savepoint():
        ContactList.objects.filter(pk=list_id, version=version).update(progress=percent)
    if progress:
        progress(percent)


# --------------------------------------------------------------------------------------------
# Incremental update


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
            for cl in ContactList.objects.select_for_update()
            .filter(processing_type=ContactList.ProcessingType.DYNAMIC)
            .order_by("pk")
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
            cursor.executemany(f"DELETE FROM {t['membership']} WHERE contact_list_id = %s AND contact_id = %s", left)
        if joined:
            cursor.executemany(
                f"INSERT INTO {t['membership']} (contact_list_id, contact_id, added_at) VALUES (%s, %s, %s)",
                [(list_id, pk, when) for list_id, pk in joined],
            )
        cursor.executemany(
            f"INSERT INTO {t['change']} (contact_list_id, contact_id, kind, at, list_version) VALUES (%s, %s, %s, %s, %s)",
            [(list_id, pk, Kind.LEFT.value, when, versions[list_id]) for list_id, pk in left]
            + [(list_id, pk, Kind.JOINED.value, when, versions[list_id]) for list_id, pk in joined],
        )
        cursor.executemany(
            f"UPDATE {_qn(ContactList._meta.db_table)} SET size = size + %s WHERE id = %s",
            [(len(joins) - len(leaves), list_id) for list_id, (joins, leaves) in changes.items() if joins or leaves],
        )


# --------------------------------------------------------------------------------------------
# Static lists


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


def static_members_add(
    *,
    contact_list: ContactList,
    contacts: QuerySet[Contact] | Iterable[Contact | int],
    actor: Any = None,
    now: datetime | None = None,
) -> int:
    """Add contacts to a static list; returns how many were not members yet."""
    return _static_change(contact_list=contact_list, contacts=contacts, actor=actor, now=now, add=True)


def static_members_remove(
    *,
    contact_list: ContactList,
    contacts: QuerySet[Contact] | Iterable[Contact | int],
    actor: Any = None,
    now: datetime | None = None,
) -> int:
    """Remove contacts from a static list; returns how many were members."""
    return _static_change(contact_list=contact_list, contacts=contacts, actor=actor, now=now, add=False)


def _static_change(
    *,
    contact_list: ContactList,
    contacts: QuerySet[Contact] | Iterable[Contact | int],
    actor: Any,
    now: datetime | None,
    add: bool,
) -> int:
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


# --------------------------------------------------------------------------------------------
# Scheduled work


def lists_refresh_rolling(*, now: datetime | None = None) -> list[ContactList]:
    """Refresh the active lists whose criteria are relative to today (rolling date ranges)."""
    return _refresh_with_dependents(lists_using_rolling_dates(), now=now)


def lists_refresh_using_properties(*, names: Collection[str], now: datetime | None = None) -> list[ContactList]:
    """Refresh the active lists whose criteria use any of these properties, and their dependents.

    For the HubSpot pull when the property schema changes: the incremental update reads the
    criteria as they were validated, so a property deleted or retyped in HubSpot only turns the
    lists using it FAILED (with its name) once they are refreshed.
    """
    from lists.criteria import referenced_properties

    wanted = set(names)
    using = []
    for cl in ContactList.objects.filter(processing_type=ContactList.ProcessingType.DYNAMIC).order_by("pk"):
        try:
            used = referenced_properties(parse(cl.filter_branch))
        except (CriteriaError, ValidationError):
            continue  # unparsable: it is FAILED already and a save will retry it
        if used & wanted:
            using.append(cl)
    return _refresh_with_dependents(using, now=now)


def _refresh_with_dependents(lists: Iterable[ContactList], *, now: datetime | None) -> list[ContactList]:
    now = now or timezone.now()
    todo = {cl.pk: cl for cl in lists}
    for cl in list(todo.values()):
        todo.update((d.pk, d) for d in list_dependents(contact_list=cl))
    return [outcome.contact_list for outcome in _refresh_in_order(todo.values(), now=now)]


__all__ = [
    "MembershipDelta",
    "list_create",
    "list_delete",
    "list_refresh",
    "list_rename",
    "list_update",
    "lists_refresh_rolling",
    "lists_refresh_using_properties",
    "memberships_update_for_contacts",
    "static_members_add",
    "static_members_remove",
]
