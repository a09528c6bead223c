"""Memberships of the lists: pages in record-id or join order, the manual changes HubSpot allows
on MANUAL and SNAPSHOT lists, the control write of what HubSpot's processing computed, and the
lists a contact is in. Mixed into :class:`.store.HubSpotLists`.

Paging (``GET /crm/v3/lists/{listId}/memberships``): "The recordIds are sorted in ascending order
if an after offset or no offset is provided. If only a before offset is provided, then the records
are sorted in descending order. The after offset parameter will take precedence over the before
offset" (``crm-lists-v3.json``). The cursors are the record id (join order: ``<added ms>-<id>``)
of the page's last record (``paging.next.after``) and first record (``paging.prev.before``), given
while records lie beyond them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.hubspot.lists import engine
from sandbox.hubspot.lists.common import ListError, now_ms

STATIC_TYPES = ("MANUAL", "SNAPSHOT")


@dataclass(frozen=True)
class Page:
    """One page of members: ``(contact id, joined ms)`` in the page's order, and the cursors."""

    members: list[tuple[int, int]]
    next_after: str | None
    prev_before: str | None


@dataclass(frozen=True)
class Change:
    """What a membership write did: record ids added, removed, and missing (no such live contact)."""

    added: list[int]
    removed: list[int]
    missing: list[str]


class MembershipMethods:
    # Provided by HubSpotLists.
    store: Any
    settle: Callable[[], None]
    get: Callable[..., sqlite3.Row]

    def members(self, list_id: int | str) -> list[int]:
        """Every member's contact id, ascending (memberships brought up to date first)."""
        row = self.get(list_id)
        return [
            r[0]
            for r in self.store.read().execute(
                "SELECT contact_id FROM contact_list_member WHERE list_id = ? ORDER BY contact_id", (row["id"],)
            )
        ]

    def page(
        self,
        list_id: int | str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int = 100,
        join_order: bool = False,
    ) -> Page:
        """A page of members by record id (``join_order``: by the time they joined, then id)."""
        row = self.get(list_id)
        key = "added_ms, contact_id" if join_order else "contact_id"
        token = after or before
        forward = bool(after) or not before
        params: list[Any] = [row["id"]]
        where = "list_id = ?"
        if token:
            bound = _cursor(token, join_order)
            where += f" AND ({key}) {'>' if forward else '<'} ({','.join('?' * len(bound))})"
            params += bound
        direction = "ASC" if forward else "DESC"
        order = ", ".join(f"{column.strip()} {direction}" for column in key.split(","))
        conn = self.store.read()
        rows = conn.execute(
            f"SELECT contact_id, added_ms FROM contact_list_member WHERE {where} ORDER BY {order} LIMIT ?",  # noqa: S608
            [*params, limit + 1],
        ).fetchall()
        members = [(r[0], r[1]) for r in rows[:limit]]
        more_beyond = len(rows) > limit
        more_behind = bool(members) and _exists_beyond(conn, row["id"], members[0], join_order, not forward)
        last = _token(members[-1], join_order) if members else None
        first = _token(members[0], join_order) if members else None
        if forward:
            return Page(members, last if more_beyond else None, first if more_behind else None)
        return Page(members, first if more_behind else None, last if more_beyond else None)

    def memberships_of(self, contact_id: int) -> list[sqlite3.Row]:
        """The live lists a contact is in: rows with ``list_id``, ``list_version``, ``added_ms``."""
        self.settle()
        return (
            self.store.read()
            .execute(
                "SELECT m.list_id, m.added_ms, l.list_version FROM contact_list_member m "
                "JOIN contact_list l ON l.id = m.list_id WHERE m.contact_id = ? AND l.deleted_ms IS NULL "
                "ORDER BY m.list_id",
                (contact_id,),
            )
            .fetchall()
        )

    # -- manual changes (MANUAL and SNAPSHOT lists) --------------------------------------

    def change(self, list_id: int | str, *, add: Sequence[Any] = (), remove: Sequence[Any] = ()) -> Change:
        """Add and remove records by id, as ``PUT .../memberships/add-and-remove`` does: members
        already in (or already out) are ignored, ids of no live contact reported missing."""
        row = self._static(list_id)
        now = now_ms()
        with self.store.write() as conn:
            to_add, missing_add = _existing(conn, add)
            to_remove, missing_remove = _existing(conn, remove)
            added = engine.add_members(conn, row["id"], to_add, now)
            removed = engine.remove_members(conn, row["id"], to_remove, now)
        return Change(added, removed, _unique([*missing_add, *missing_remove]))

    def add_from(self, list_id: int | str, source_id: int | str) -> list[int]:
        """Add every member of another list (any type); the ids added."""
        row = self._static(list_id)
        source = self.get(source_id)
        if source["id"] == row["id"]:
            raise _error(400, "The source and destination lists must be different.", {"sourceListId": [str(source_id)]})
        with self.store.write() as conn:
            ids = sorted(engine.all_members(conn, source["id"]))
            return engine.add_members(conn, row["id"], ids, now_ms())

    def remove_all(self, list_id: int | str) -> list[int]:
        row = self._static(list_id)
        with self.store.write() as conn:
            return engine.remove_members(conn, row["id"], sorted(engine.all_members(conn, row["id"])), now_ms())

    def _static(self, list_id: int | str) -> sqlite3.Row:
        row = self.get(list_id)
        if row["processing_type"] not in STATIC_TYPES:
            raise _error(
                400,
                f"List {row['id']} is a {row['processing_type']} list: its memberships follow its filters. "
                "Records can only be added to or removed from MANUAL and SNAPSHOT lists.",
                {"listId": [str(row["id"])], "processingType": [row["processing_type"]]},
            )
        return row

    # -- what HubSpot's processing computed (control) ------------------------------------

    def set_computed_members(self, list_id: int | str, contact_ids: list[Any]) -> Change:
        """Make the members of a DYNAMIC or SNAPSHOT list the sandbox does not evaluate (filters
        on form submissions, email events, page views, associations...) exactly ``contact_ids``,
        as HubSpot's processing would have found them."""
        row = self.get(list_id, settle=False)
        if row["processing_type"] == "MANUAL" or row["evaluable"]:
            kind = (
                "a MANUAL list" if row["processing_type"] == "MANUAL" else "a list whose filters the sandbox evaluates"
            )
            raise _error(
                409,
                f"List {row['id']} is {kind}: its memberships are not set through the sandbox.",
                {"listId": [str(row["id"])]},
            )
        now = now_ms()
        with self.store.write() as conn:
            wanted, missing = _existing(conn, contact_ids)
            current = engine.all_members(conn, row["id"])
            added = engine.add_members(conn, row["id"], sorted(set(wanted) - current), now)
            removed = engine.remove_members(conn, row["id"], sorted(current - set(wanted)), now)
        return Change(added, removed, missing)


def _error(status: int, message: str, context: dict[str, list[str]]) -> ListError:
    return ListError(status, message, context)


def _existing(conn: sqlite3.Connection, raw_ids: Sequence[Any]) -> tuple[list[int], list[str]]:
    """The ids of live contacts among ``raw_ids`` and, as given, the others."""
    numbers: dict[int, str] = {}
    for raw in raw_ids:
        text = str(raw).strip()
        if text.isdigit() and len(text) <= 18:
            numbers.setdefault(int(text), text)
    found: set[int] = set()
    ids = sorted(numbers)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            r[0]
            for r in conn.execute(
                f"SELECT id FROM contact WHERE archived = 0 AND id IN ({','.join('?' * len(chunk))})",  # noqa: S608
                chunk,
            )
        )
    missing = []
    for raw in raw_ids:
        text = str(raw).strip()
        if not (text.isdigit() and len(text) <= 18 and int(text) in found):
            missing.append(str(raw))
    return sorted(found), _unique(missing)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _cursor(token: str, join_order: bool) -> list[int]:
    parts = token.split("-") if join_order else [token]
    if len(parts) != (2 if join_order else 1) or not all(p.strip().isdigit() and len(p) <= 18 for p in parts):
        raise _error(400, f"{token!r} is not a valid paging offset.", {"after": [token]})
    return [int(p) for p in parts]


def _token(member: tuple[int, int], join_order: bool) -> str:
    contact_id, added_ms = member
    return f"{added_ms}-{contact_id}" if join_order else str(contact_id)


def _exists_beyond(
    conn: sqlite3.Connection, list_id: int, member: tuple[int, int], join_order: bool, greater: bool
) -> bool:
    contact_id, added_ms = member
    if join_order:
        sql = f"(added_ms, contact_id) {'>' if greater else '<'} (?, ?)"
        params: list[Any] = [added_ms, contact_id]
    else:
        sql, params = f"contact_id {'>' if greater else '<'} ?", [contact_id]
    return (
        conn.execute(
            f"SELECT 1 FROM contact_list_member WHERE list_id = ? AND {sql} LIMIT 1",  # noqa: S608
            [list_id, *params],
        ).fetchone()
        is not None
    )
