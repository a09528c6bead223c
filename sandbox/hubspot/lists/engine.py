"""List processing, as HubSpot does it in the background: "Whenever a record changes, it is
reevaluated against the list's filters and either added to or removed from it"
(https://developers.hubspot.com/docs/guides/api/crm/lists/overview, "List processing types").

- A definition change (create, filter update, restore, the end of a test's hold) makes the list
  ``PROCESSING`` until ``process_at_ms`` (now + the ``processing_ms`` setting, 0 by default); the
  first look at the lists after that evaluates it against every contact (a DYNAMIC list; a
  SNAPSHOT list only once, its first time) and marks it ``COMPLETE``. Until then it keeps its
  previous members, as HubSpot's lists do while they process.
- A contact change is queued by the schema's triggers; :func:`drain_queue` re-evaluates each
  queued contact against every COMPLETE, evaluable DYNAMIC list, lists before the lists whose
  IN_LIST filters name them, so one pass settles chains of lists. An archived contact leaves
  every list, whatever its type.
- A membership change of a list others name in IN_LIST filters (a manual add, a full evaluation,
  the control endpoint) queues the contacts it moved, so those lists follow.
- A DYNAMIC list with a rolling date filter is evaluated again once ``ROLLING_REFRESH_MS`` has
  passed since its last evaluation: its members move with the clock, not with the contacts.
- Lists the sandbox does not evaluate (other filter types) change only through the control
  endpoint (:meth:`.store.HubSpotLists.set_computed_members`) and by archived contacts leaving.

Every function here runs inside the caller's write transaction (``conn``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from sandbox.hubspot.lists.evaluate import ContactView, Predicate, compile_definition
from sandbox.hubspot.schema import PropertyDef

QUEUE_CHUNK = 2_000  # queued contacts handled in one transaction
ROLLING_REFRESH_MS = 60_000
_IN_CHUNK = 500  # ids in one SQL IN (...)

_LIVE_DYNAMIC = "processing_type = 'DYNAMIC' AND deleted_ms IS NULL AND evaluable = 1"


def _chunks(ids: list[int], size: int = _IN_CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _marks(ids: list[int]) -> str:
    return ",".join("?" * len(ids))


# -- what is due -----------------------------------------------------------------------------


def work_pending(conn: sqlite3.Connection, now: int) -> bool:
    """Whether anything waits: queued contacts, a processing list now due, a rolling refresh."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM contact_list_queue) "
        "OR EXISTS (SELECT 1 FROM contact_list WHERE deleted_ms IS NULL AND hold = 0 "
        "           AND process_at_ms IS NOT NULL AND process_at_ms <= ?) "
        f"OR EXISTS (SELECT 1 FROM contact_list WHERE {_LIVE_DYNAMIC} AND hold = 0 AND time_relative = 1 "  # noqa: S608
        "           AND process_at_ms IS NULL AND evaluated_ms < ?)",
        (now, now - ROLLING_REFRESH_MS),
    ).fetchone()
    return bool(row[0])


def complete_due(conn: sqlite3.Connection, properties: dict[str, PropertyDef], now: int) -> None:
    """Finish the processing of every list now due (evaluating it when it is its job)."""
    due = conn.execute(
        "SELECT * FROM contact_list WHERE deleted_ms IS NULL AND hold = 0 "
        "AND process_at_ms IS NOT NULL AND process_at_ms <= ? ORDER BY id",
        (now,),
    ).fetchall()
    for row in due:
        evaluate = row["evaluable"] and (
            row["processing_type"] == "DYNAMIC"
            or (row["processing_type"] == "SNAPSHOT" and row["evaluated_ms"] is None)
        )
        if evaluate:
            evaluate_list(conn, row, properties, now)
        conn.execute(
            "UPDATE contact_list SET processing_status = 'COMPLETE', process_at_ms = NULL WHERE id = ?", (row["id"],)
        )
    stale = conn.execute(
        f"SELECT * FROM contact_list WHERE {_LIVE_DYNAMIC} AND hold = 0 AND time_relative = 1 "  # noqa: S608
        "AND process_at_ms IS NULL AND evaluated_ms < ? ORDER BY id",
        (now - ROLLING_REFRESH_MS,),
    ).fetchall()
    for row in stale:
        evaluate_list(conn, row, properties, now)


def evaluate_list(conn: sqlite3.Connection, row: sqlite3.Row, properties: dict[str, PropertyDef], now: int) -> None:
    """Evaluate one list against every live contact and make its membership that."""
    predicate = compile_definition(json.loads(row["filter_branch"]), properties)
    cache: dict[int, set[int]] = {}

    def member(list_id: int, contact_id: int) -> bool:
        if list_id not in cache:
            cache[list_id] = all_members(conn, list_id)
        return contact_id in cache[list_id]

    wanted = {
        contact_id
        for contact_id, props, created, updated in conn.execute(
            "SELECT id, props, created_ms, updated_ms FROM contact WHERE archived = 0"
        )
        if predicate(ContactView(contact_id, props, created, updated), member, now)
    }
    current = all_members(conn, row["id"])
    add_members(conn, row["id"], sorted(wanted - current), now)
    remove_members(conn, row["id"], sorted(current - wanted), now)
    conn.execute("UPDATE contact_list SET evaluated_ms = ? WHERE id = ?", (now, row["id"]))


# -- changed contacts ------------------------------------------------------------------------


def drain_queue(conn: sqlite3.Connection, properties: dict[str, PropertyDef], now: int) -> bool:
    """Handle up to ``QUEUE_CHUNK`` queued contacts; whether some were waiting."""
    ids = [r[0] for r in conn.execute("SELECT contact_id FROM contact_list_queue LIMIT ?", (QUEUE_CHUNK,))]
    if not ids:
        return False
    live: dict[int, ContactView] = {}
    for chunk in _chunks(ids):
        for r in conn.execute(
            f"SELECT id, props, created_ms, updated_ms FROM contact WHERE archived = 0 AND id IN ({_marks(chunk)})",  # noqa: S608
            chunk,
        ):
            live[r[0]] = ContactView(r[0], r[1], r[2], r[3])
    gone = [contact_id for contact_id in ids if contact_id not in live]
    if gone:
        _leave_every_list(conn, gone, now)
    if live:
        _reevaluate(conn, live, properties, now)
    for chunk in _chunks(ids):
        conn.execute(f"DELETE FROM contact_list_queue WHERE contact_id IN ({_marks(chunk)})", chunk)  # noqa: S608
    return True


def _leave_every_list(conn: sqlite3.Connection, contact_ids: list[int], now: int) -> None:
    by_list: dict[int, list[int]] = {}
    for chunk in _chunks(contact_ids):
        for list_id, contact_id in conn.execute(
            f"SELECT list_id, contact_id FROM contact_list_member WHERE contact_id IN ({_marks(chunk)})",  # noqa: S608
            chunk,
        ):
            by_list.setdefault(list_id, []).append(contact_id)
    for list_id, members in by_list.items():
        remove_members(conn, list_id, members, now, requeue=False)


def _reevaluate(
    conn: sqlite3.Connection, live: dict[int, ContactView], properties: dict[str, PropertyDef], now: int
) -> None:
    rows = conn.execute(
        f"SELECT * FROM contact_list WHERE {_LIVE_DYNAMIC} AND hold = 0 AND process_at_ms IS NULL"  # noqa: S608
    ).fetchall()
    ids = sorted(live)
    cache: dict[int, set[int]] = {}

    def members_among(list_id: int) -> set[int]:
        if list_id not in cache:
            cache[list_id] = _members_among(conn, list_id, ids)
        return cache[list_id]

    def member(list_id: int, contact_id: int) -> bool:
        return contact_id in members_among(list_id)

    for row in dependency_order(conn, rows):
        predicate: Predicate = compile_definition(json.loads(row["filter_branch"]), properties)
        wanted = {contact_id for contact_id, contact in live.items() if predicate(contact, member, now)}
        current = members_among(row["id"])
        add_members(conn, row["id"], sorted(wanted - current), now, requeue=False)
        remove_members(conn, row["id"], sorted(current - wanted), now, requeue=False)
        cache[row["id"]] = wanted


def dependency_order(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[sqlite3.Row]:
    """``rows`` with every list after the lists (among them) its IN_LIST filters name."""
    by_id = {row["id"]: row for row in rows}
    needs: dict[int, set[int]] = {list_id: set() for list_id in by_id}
    for list_id, ref in conn.execute("SELECT list_id, ref_list_id FROM contact_list_ref"):
        if list_id in by_id and ref in by_id:
            needs[list_id].add(ref)
    ordered: list[sqlite3.Row] = []
    done: set[int] = set()
    while needs:
        ready = sorted(list_id for list_id, refs in needs.items() if refs <= done)
        if not ready:  # a cycle cannot be stored; never loop on one
            ready = sorted(needs)
        for list_id in ready:
            ordered.append(by_id[list_id])
            done.add(list_id)
            del needs[list_id]
    return ordered


# -- membership writes -----------------------------------------------------------------------


def all_members(conn: sqlite3.Connection, list_id: int) -> set[int]:
    """Every member of a live list (none for a deleted one, which IN_LIST filters then read)."""
    deleted = conn.execute("SELECT deleted_ms FROM contact_list WHERE id = ?", (list_id,)).fetchone()
    if deleted is None or deleted[0] is not None:
        return set()
    return {r[0] for r in conn.execute("SELECT contact_id FROM contact_list_member WHERE list_id = ?", (list_id,))}


def _members_among(conn: sqlite3.Connection, list_id: int, ids: list[int]) -> set[int]:
    deleted = conn.execute("SELECT deleted_ms FROM contact_list WHERE id = ?", (list_id,)).fetchone()
    if deleted is None or deleted[0] is not None:
        return set()
    found: set[int] = set()
    for chunk in _chunks(ids):
        found.update(
            r[0]
            for r in conn.execute(
                f"SELECT contact_id FROM contact_list_member WHERE list_id = ? AND contact_id IN ({_marks(chunk)})",  # noqa: S608
                [list_id, *chunk],
            )
        )
    return found


def add_members(conn: sqlite3.Connection, list_id: int, ids: list[int], now: int, *, requeue: bool = True) -> list[int]:
    """Add the contacts not yet members (``ids`` must exist); the ids added."""
    added = sorted(set(ids) - _members_among_any(conn, list_id, ids)) if ids else []
    if not added:
        return []
    conn.executemany(
        "INSERT INTO contact_list_member (list_id, contact_id, added_ms) VALUES (?, ?, ?)",
        [(list_id, contact_id, now) for contact_id in added],
    )
    conn.execute("UPDATE contact_list SET size = size + ?, last_added_ms = ? WHERE id = ?", (len(added), now, list_id))
    if requeue:
        _requeue_for_dependents(conn, list_id, added)
    return added


def remove_members(
    conn: sqlite3.Connection, list_id: int, ids: list[int], now: int, *, requeue: bool = True
) -> list[int]:
    """Remove the contacts that are members; the ids removed."""
    removed = sorted(_members_among_any(conn, list_id, ids))
    if not removed:
        return []
    for chunk in _chunks(removed):
        conn.execute(
            f"DELETE FROM contact_list_member WHERE list_id = ? AND contact_id IN ({_marks(chunk)})",  # noqa: S608
            [list_id, *chunk],
        )
    conn.execute(
        "UPDATE contact_list SET size = size - ?, last_removed_ms = ? WHERE id = ?", (len(removed), now, list_id)
    )
    if requeue:
        _requeue_for_dependents(conn, list_id, removed)
    return removed


def _members_among_any(conn: sqlite3.Connection, list_id: int, ids: list[int]) -> set[int]:
    """Like ``_members_among`` but for a deleted list too (its rows are still there)."""
    found: set[int] = set()
    for chunk in _chunks(sorted(set(ids))):
        found.update(
            r[0]
            for r in conn.execute(
                f"SELECT contact_id FROM contact_list_member WHERE list_id = ? AND contact_id IN ({_marks(chunk)})",  # noqa: S608
                [list_id, *chunk],
            )
        )
    return found


def _requeue_for_dependents(conn: sqlite3.Connection, list_id: int, ids: list[int]) -> None:
    named = conn.execute(
        "SELECT 1 FROM contact_list_ref r JOIN contact_list l ON l.id = r.list_id "
        "WHERE r.ref_list_id = ? AND l.deleted_ms IS NULL LIMIT 1",
        (list_id,),
    ).fetchone()
    if named:
        conn.executemany("INSERT OR IGNORE INTO contact_list_queue (contact_id) VALUES (?)", [(i,) for i in ids])


def requeue_members(conn: sqlite3.Connection, list_id: int) -> None:
    """Queue every member of a list whose membership others read changed as a whole (deleted,
    restored): the lists naming it follow."""
    ids = [r[0] for r in conn.execute("SELECT contact_id FROM contact_list_member WHERE list_id = ?", (list_id,))]
    _requeue_for_dependents(conn, list_id, ids)
