"""Helpers of the services tests (``test_services.py``, ``test_services_refresh.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from lists.models import Contact, ContactList, ListMembership
from lists.normalize import public_properties, with_folded
from lists.services import list_create
from tests.lists.factories import ContactFactory, filter_branch, property_filter

T1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T2 = T1 + timedelta(hours=5)


def country_is(value: str) -> dict:
    return filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value=value)])


def employees_over(n: int) -> dict:
    return property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=n)


def contact(country: str | None = None, employees: int | None = None, **kw) -> Contact:
    props = {}
    if country is not None:
        props["country"] = country
    if employees is not None:
        props["numemployees"] = employees
    return ContactFactory(properties=props, **kw)


def set_props(c: Contact, **props) -> None:
    # What the HubSpot pull does: replace the typed values (with the folded index) and save.
    merged = {**public_properties(c.properties), **props}
    c.properties = with_folded({k: v for k, v in merged.items() if v is not None})
    c.save()


def members(cl: ContactList) -> set[int]:
    return set(ListMembership.objects.filter(contact_list=cl).values_list("contact_id", flat=True))


def active(criteria: dict, name: str = "L") -> ContactList:
    return list_create(name=name, processing_type="DYNAMIC", filter_branch=criteria)


def membership_fills_reading_it(ctx: CaptureQueriesContext) -> list[bool]:
    """For each captured INSERT into the membership table: whether its SELECT reads that table."""
    membership = connection.ops.quote_name(ListMembership._meta.db_table)
    into = f"INSERT INTO {membership}"
    fills = [q["sql"].split(into, 1)[1].split("RETURNING")[0] for q in ctx.captured_queries if into in q["sql"]]
    return [membership in sql for sql in fills]


def after_each_call(monkeypatch, owner: object, name: str, then) -> None:
    """``owner.name`` runs as before, then ``then()``: something happens right after each call
    (another process's commit, a person's edit), replayed deterministically."""
    real = getattr(owner, name)

    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        then()
        return result

    monkeypatch.setattr(owner, name, wrapped)
