"""Full refresh: recompute a list's membership from its criteria, then the lists using it.

Membership is computed in the database, set-based: a refresh evaluates the criteria once per
chunk of contact ids into a temporary table, then publishes the difference (joins, leaves and
their ``MembershipChange`` rows) in one transaction, so readers see either the previous
membership or the new one, never a half-built list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lists.criteria import CriteriaError, referenced_list_ids, to_q
from lists.models import Contact, ContactList, ListMembership
from lists.selectors import criteria_check, list_dependency_order, list_dependents
from lists.services.edit import _copy_state
from lists.services.sql import _count_members, _eligible_contacts, _IdSet, _record_joins, _record_leaves

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]

# Contacts evaluated per statement during a full refresh; each chunk reports progress.
REFRESH_CHUNK_IDS = 100_000
# A contact saved by a transaction that began this long before a refresh started may have
# been read with its old values; the refresh re-evaluates such recently touched contacts.
SNAPSHOT_MARGIN = timedelta(minutes=2)

Status = ContactList.ProcessingStatus


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
    if not contact_list.evaluated_here:
        # HubSpot computes this list's membership: hubspot_lists_pull mirrors it.
        return RefreshOutcome(contact_list, published=False, status_before=status_before)
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
    branch = criteria_check(filter_branch=contact_list.filter_branch, list_id=contact_list.pk)
    _check_referenced_lists(contact_list, branch)
    matching = _eligible_contacts().filter(to_q(branch, now=now, memberships=ListMembership.objects.all()))
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
            condition_sql=f"NOT EXISTS (SELECT 1 FROM {ids.name} t WHERE t.id = m.contact_id)",  # nosec B608  # the temporary table's quoted name only
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
