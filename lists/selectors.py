"""Reads on lists: memberships, dependency order between lists, criteria checked against the
stored properties and lists, the editor's live preview."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from lists.criteria import (
    AndBranch,
    FilterExplanation,
    OrBranch,
    check_filter_branch,
    explain,
    iter_filters,
    referenced_ids_of_json,
    referenced_list_ids,
    to_q,
)
from lists.criteria.nodes import where
from lists.models import Contact, ContactList, ContactProperty, ListMembership

# --------------------------------------------------------------------------------------------
# Memberships


def lists_for_contact(*, contact: Contact) -> QuerySet[ContactList]:
    """The lists the contact is a member of, by name."""
    return ContactList.objects.filter(memberships__contact=contact).order_by("name", "pk")


def list_members(*, contact_list: ContactList) -> QuerySet[Contact]:
    """The members of a list, oldest contact first (the primary key order is indexed)."""
    return Contact.objects.filter(memberships__contact_list=contact_list).order_by("pk")


def active_lists_with_counts() -> QuerySet[ContactList]:
    """Active lists by name; ``size`` is their member count, kept by every write on members.

    Counting memberships here instead would read every membership row of every list on each
    display of the settings page.
    """
    return ContactList.objects.filter(processing_type=ContactList.ProcessingType.DYNAMIC).order_by("name", "pk")


# --------------------------------------------------------------------------------------------
# Dependencies between lists (IN_LIST filters)


def _walk_branches(branch: Any) -> Iterator[dict]:
    if not isinstance(branch, dict):
        return
    yield branch
    for child in branch.get("filterBranches") or []:
        yield from _walk_branches(child)


def _json_filters(filter_branch: Any) -> Iterator[dict]:
    for branch in _walk_branches(filter_branch):
        for item in branch.get("filters") or []:
            if isinstance(item, dict):
                yield item


# The ids of the lists a definition refers to (IN_LIST / NOT_IN_LIST), read from the JSON itself so
# that a definition the engine now refuses (a property deleted since) still shows its dependencies.
referenced_ids_of = referenced_ids_of_json


def _active_lists() -> list[ContactList]:
    # Lists whose membership HubSpot computes have no criteria here: nothing depends on them locally.
    return list(ContactList.objects.evaluated_here().order_by("pk"))


def lists_referencing(*, contact_list: ContactList) -> list[ContactList]:
    """Active lists whose criteria name ``contact_list`` directly."""
    return [other for other in _active_lists() if contact_list.pk in referenced_ids_of(other.filter_branch)]


def list_dependents(*, contact_list: ContactList) -> list[ContactList]:
    """Every active list that depends on ``contact_list``, directly or through other lists."""
    lists = _active_lists()
    users: dict[int, list[ContactList]] = {}
    for other in lists:
        for ref in referenced_ids_of(other.filter_branch):
            users.setdefault(ref, []).append(other)
    found: dict[int, ContactList] = {}
    todo = [contact_list.pk]
    while todo:
        for user in users.get(todo.pop(), []):
            if user.pk not in found and user.pk != contact_list.pk:
                found[user.pk] = user
                todo.append(user.pk)
    return list(found.values())


def list_dependency_order(*, lists: Iterable[ContactList] | None = None) -> list[ContactList]:
    """``lists`` (default: every active list) sorted so that a list comes after those it uses.

    Only dependencies inside the given set order them; ties keep primary-key order. A cycle
    (refused by validation, so only from data written behind its back) cannot stall the sort:
    its lists come last, in primary-key order.
    """
    items = sorted(_active_lists() if lists is None else lists, key=lambda cl: cl.pk)
    by_id = {cl.pk: cl for cl in items}
    needs = {cl.pk: referenced_ids_of(cl.filter_branch) & by_id.keys() - {cl.pk} for cl in items}
    ordered: list[ContactList] = []
    placed: set[int] = set()
    while len(placed) < len(items):
        ready = [pk for pk in by_id if pk not in placed and needs[pk] <= placed]
        if not ready:
            ready = [pk for pk in by_id if pk not in placed]
        for pk in ready:
            placed.add(pk)
            ordered.append(by_id[pk])
    return ordered


def lists_using_rolling_dates() -> list[ContactList]:
    """Active lists whose criteria are relative to today: they drift and are refreshed daily."""
    return [
        cl
        for cl in _active_lists()
        if any(
            isinstance(item.get("operation"), dict) and item["operation"].get("operationType") == "ROLLING_DATE_RANGE"
            for item in _json_filters(cl.filter_branch)
        )
    ]


# --------------------------------------------------------------------------------------------
# Criteria against the stored properties and lists


def filters_explained(
    *, contact: Contact, branch: OrBranch, list_ids: set[int] | None = None, now: datetime | None = None
) -> list[FilterExplanation]:
    """Each filter of ``branch`` for ``contact`` now: its verdict, in words, and the value it read.
    ``list_ids``: the lists the contact is in (read when not given)."""
    if list_ids is None:
        list_ids = set(contact.memberships.values_list("contact_list_id", flat=True))
    return explain(
        branch,
        properties=contact.properties or {},
        list_ids=list_ids,
        now=now or timezone.now(),
        schema=ContactProperty.objects.schema(),
        list_names=dict(ContactList.objects.filter(pk__in=referenced_list_ids(branch)).values_list("pk", "name")),
    )


def criteria_check(*, filter_branch: object, list_id: int | None = None) -> OrBranch:
    """Parse and validate criteria against the stored property schema and lists (``list_id``:
    the list they are for, to refuse cycles); raise ``ValidationError`` with the engine's messages.

    Returns the branch annotated with the schema facts that make its SQL faster.
    """
    return check_filter_branch(
        filter_branch,
        schema=ContactProperty.objects.schema(),
        list_ids=ContactList.objects.list_graph(),
        list_id=list_id,
    )


# --------------------------------------------------------------------------------------------
# Live preview


@dataclass(frozen=True)
class FilterCount:
    """How many contacts pass one filter alone.

    ``path`` and ``position`` locate the filter as the criteria engine does in its messages
    (1-based: ``(2,)`` and ``1`` is "Group 2, filter 1"); ``label`` says it in words.
    """

    path: tuple[int, ...]
    position: int
    label: str
    count: int


@dataclass(frozen=True)
class Preview:
    """``estimated``: counted on a sample of the contacts and scaled (big databases), not exact."""

    total: int
    contacts: list[Contact]
    filter_counts: list[FilterCount]
    estimated: bool = False


# Up to this span of contact ids the preview counts exactly (one pass over the table, about as
# long as the refresh itself); above it, on a fixed sample of PREVIEW_SAMPLE_IDS ids taken in
# PREVIEW_SAMPLE_WINDOWS evenly spread id ranges, read through the primary key. A fixed sample
# keeps the figures steady from one keystroke to the next.
PREVIEW_EXACT_MAX_IDS = 100_000
PREVIEW_SAMPLE_IDS = 50_000
PREVIEW_SAMPLE_WINDOWS = 25


def list_preview(
    *,
    filter_branch: dict,
    limit: int = 10,
    now: datetime | None = None,
    list_id: int | None = None,
    exact: bool | None = None,
) -> Preview:
    """Validate criteria being edited and count who they would select, without saving anything.

    Raises ``ValidationError`` with the engine's messages. The total and every per-filter count
    come from ONE aggregate query, each filter evaluated per row; the first contacts from a
    second query that walks the primary key and stops after ``limit`` matches. ``exact=None``
    counts exactly on small databases and estimates from a sample on big ones (``estimated``).
    """
    now = now or timezone.now()
    branch = criteria_check(filter_branch=filter_branch, list_id=list_id)
    memberships = ListMembership.objects.all()
    q = to_q(branch, now=now, memberships=memberships)
    filters = list(iter_filters(branch))
    aggregates: dict[str, Any] = {"total": Count("pk", filter=q)}
    for i, item in enumerate(filters):
        alone = OrBranch(branches=(AndBranch(filters=(item,)),))
        aggregates[f"f{i}"] = Count("pk", filter=to_q(alone, now=now, memberships=memberships))
    contacts = Contact.objects.filter(archived=False)

    scale = 1.0
    # Two queries: SQLite reads MIN() or MAX() alone from the primary key, both together by a scan.
    lo = Contact.objects.order_by("pk").values_list("pk", flat=True).first()
    hi = Contact.objects.order_by("-pk").values_list("pk", flat=True).first()
    span = 0 if lo is None or hi is None else hi - lo + 1
    estimated = span > PREVIEW_EXACT_MAX_IDS if exact is None else not exact
    if estimated and span > PREVIEW_SAMPLE_IDS:
        width = PREVIEW_SAMPLE_IDS // PREVIEW_SAMPLE_WINDOWS
        step = span // PREVIEW_SAMPLE_WINDOWS
        window = Q()
        for k in range(PREVIEW_SAMPLE_WINDOWS):
            start = lo + k * step
            window |= Q(pk__gte=start, pk__lt=start + width)
        contacts = contacts.filter(window)
        scale = span / (width * PREVIEW_SAMPLE_WINDOWS)
    else:
        estimated = False

    counts = contacts.aggregate(**aggregates)
    first = list(contacts.filter(q).order_by("pk")[:limit]) if limit > 0 else []
    return Preview(
        total=round((counts["total"] or 0) * scale),
        contacts=first,
        filter_counts=[
            FilterCount(
                path=item.path,
                position=item.position,
                label=where(item.path, item.position, getattr(item, "property", None)),
                count=round((counts[f"f{i}"] or 0) * scale),
            )
            for i, item in enumerate(filters)
        ],
        estimated=estimated,
    )


__all__ = [
    "FilterCount",
    "Preview",
    "active_lists_with_counts",
    "criteria_check",
    "list_dependency_order",
    "list_dependents",
    "list_members",
    "list_preview",
    "lists_for_contact",
    "lists_referencing",
    "lists_using_rolling_dates",
    "referenced_ids_of",
]
