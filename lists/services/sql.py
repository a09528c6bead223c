"""The set-based statements the writes on memberships share, built from compiled querysets.

A refresh or a static change gathers the contacts in a temporary table (:class:`_IdSet`), then
writes joins and leaves, each with its ``MembershipChange`` row, in a few statements. The names
keep their leading underscore: they are private to ``lists.services``.

The statements are formatted strings (bandit's B608, annotated on each line), but only names are
formatted in: Django's table names and the temporary table's, quoted by the connection, and
subqueries the ORM compiled. Every value goes as a parameter.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import connections
from django.db.models import QuerySet

from lists.models import Contact, ListMembership, MembershipChange

Kind = MembershipChange.Kind


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
            f"INSERT INTO {self.name} (id) SELECT * FROM ({sql}) q WHERE true ON CONFLICT (id) DO NOTHING",  # nosec B608  # quoted names only (module docstring)
            params,
        )

    def insert_contacts(self, sql: str, params: tuple) -> None:
        """Add the contacts whose id ``sql`` selects (each once, whatever the query repeats)."""
        self.cursor.execute(
            f"INSERT INTO {self.name} (id) SELECT s.id FROM {_tables()['contact']} s WHERE s.id IN ({sql})",  # nosec B608  # quoted names only (module docstring)
            params,
        )

    def discard(self, queryset: QuerySet) -> None:
        sql, params = _compile(queryset.order_by().values_list("pk"))
        self.cursor.execute(f"DELETE FROM {self.name} WHERE id IN ({sql})", params)  # nosec B608  # quoted names only (module docstring)

    def discard_members(self, list_id: int) -> None:
        """Keep only the contacts that are not members of the list yet: those who join."""
        self.cursor.execute(
            f"DELETE FROM {self.name} WHERE id IN "  # nosec B608  # quoted names only (module docstring)
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
            f"WITH j AS (INSERT INTO {t['membership']} (contact_list_id, contact_id, added_at) "  # nosec B608  # quoted names only (module docstring)
            f"SELECT %s, s.id, %s FROM {ids.name} s RETURNING contact_id) "
            f"INSERT INTO {t['change']} (contact_list_id, contact_id, kind, at, list_version) "
            f"SELECT %s, j.contact_id, %s, %s, %s FROM j",
            (list_id, when, list_id, Kind.JOINED.value, when, version),
        )
        return cursor.rowcount
    cursor.execute(
        f"INSERT INTO {t['change']} (contact_list_id, contact_id, kind, at, list_version) "  # nosec B608  # quoted names only (module docstring)
        f"SELECT %s, s.id, %s, %s, %s FROM {ids.name} s",
        (list_id, Kind.JOINED.value, when, version),
    )
    cursor.execute(
        f"INSERT INTO {t['membership']} (contact_list_id, contact_id, added_at) SELECT %s, s.id, %s FROM {ids.name} s",  # nosec B608  # quoted names only (module docstring)
        (list_id, when),
    )
    return cursor.rowcount


def _record_leaves(cursor, *, list_id: int, version: int, at: datetime, condition_sql: str, params: tuple) -> int:
    """Remove the members for which ``condition_sql`` (about ``m.contact_id``) holds."""
    t = _tables()
    cursor.execute(
        f"INSERT INTO {t['change']} (contact_list_id, contact_id, kind, at, list_version) "  # nosec B608  # quoted names only (module docstring)
        f"SELECT %s, m.contact_id, %s, %s, %s FROM {t['membership']} m "
        f"WHERE m.contact_list_id = %s AND {condition_sql}",
        (list_id, Kind.LEFT.value, _db_datetime(at), version, list_id, *params),
    )
    # DELETE cannot take an alias everywhere: the condition is rewritten on the table name.
    condition = condition_sql.replace("m.contact_id", f"{t['membership']}.contact_id")
    cursor.execute(
        f"DELETE FROM {t['membership']} WHERE contact_list_id = %s AND {condition}",  # nosec B608  # quoted names only (module docstring)
        (list_id, *params),
    )
    return cursor.rowcount


def _count_members(cursor, list_id: int) -> int:
    cursor.execute(f"SELECT COUNT(*) FROM {_tables()['membership']} WHERE contact_list_id = %s", (list_id,))  # nosec B608  # quoted names only (module docstring)
    return int(cursor.fetchone()[0])


def _eligible_contacts() -> QuerySet[Contact]:
    # Contacts archived in HubSpot are deleted there: they belong to no active list.
    return Contact.objects.filter(archived=False)
