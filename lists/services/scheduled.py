"""Scheduled work: the refreshes that follow time (rolling dates) and schema changes."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from lists.criteria import CriteriaError, parse, referenced_properties
from lists.models import ContactList
from lists.selectors import list_dependents, lists_using_rolling_dates
from lists.services.refresh import _refresh_in_order


def lists_refresh_rolling(*, now: datetime | None = None) -> list[ContactList]:
    """Refresh the active lists whose criteria are relative to today (rolling date ranges)."""
    return _refresh_with_dependents(lists_using_rolling_dates(), now=now)


def lists_refresh_using_properties(*, names: Collection[str], now: datetime | None = None) -> list[ContactList]:
    """Refresh the active lists whose criteria use any of these properties, and their dependents.

    For the HubSpot pull when the property schema changes: the incremental update reads the
    criteria as they were validated, so a property deleted or retyped in HubSpot only turns the
    lists using it FAILED (with its name) once they are refreshed.
    """
    wanted = set(names)
    using = []
    for cl in ContactList.objects.evaluated_here().order_by("pk"):
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
