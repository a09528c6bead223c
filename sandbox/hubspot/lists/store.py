"""``HubSpotLists``: contact lists in the HubSpot store's file, for the API handlers and for tests.

::

    lists = HubSpotLists(store)                # or app.lists of make_app()
    row = lists.create(name="Customers", processing_type="DYNAMIC", filter_branch={...})
    lists.members(row["id"])                   # [contact ids], memberships brought up to date
    lists.set_processing_ms(5_000)             # processing takes 5 s from now on (default 0)
    lists.hold(row["id"])                      # PROCESSING until lists.hold(row["id"], False)
    lists.set_computed_members(list_id, ids)   # what HubSpot computed, for filters not evaluated here

Every read first brings memberships up to date (:meth:`settle`, see :mod:`.engine`), so a
contact written a moment ago, through the API or ``bulk_insert``, is already in or out.
Refusals raise :class:`ListError` (status, message, context), which the handlers answer in
HubSpot's error shape. Memberships: :class:`.members.MembershipMethods`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sandbox.hubspot.lists import engine
from sandbox.hubspot.lists.common import ListError, not_found, now_ms
from sandbox.hubspot.lists.definition import Definition, DefinitionError, parse_definition
from sandbox.hubspot.lists.evaluate import fold
from sandbox.hubspot.lists.members import MembershipMethods

PROCESSING_TYPES = ("MANUAL", "DYNAMIC", "SNAPSHOT")
MAX_NAME_LENGTH = 256
SEARCH_SORTS = ("listId", "name", "createdAt", "updatedAt")
_SORT_COLUMNS = {"listId": "id", "name": "name_key", "createdAt": "created_ms", "updatedAt": "updated_ms"}


__all__ = ["HubSpotLists", "ListError", "now_ms"]


def definition_refused(exc: DefinitionError) -> ListError:
    where = {location: [] for location, _message in exc.errors}
    for location, message in exc.errors:
        where[location].append(message)
    return ListError(
        400,
        "Invalid filter branch: " + "; ".join(f"{location}: {message}" for location, message in exc.errors),
        where,
        errors=[{"message": message, "in": location, "code": "INVALID_FILTER"} for location, message in exc.errors],
    )


class HubSpotLists(MembershipMethods):
    def __init__(self, store: Any) -> None:
        """``store``: the ``HubSpotStore`` whose file holds the lists (``read()``, ``write()``,
        ``properties``)."""
        self.store = store

    # -- settings and processing ---------------------------------------------------------

    def processing_ms(self) -> int:
        row = (
            self.store.read().execute("SELECT value FROM contact_list_setting WHERE name = 'processing_ms'").fetchone()
        )
        return int(row[0]) if row else 0

    def set_processing_ms(self, value: int | None) -> None:
        """How long a list processes after a definition change (None or 0: no delay)."""
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError("processing_ms must be a whole number of milliseconds, 0 or more.")
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO contact_list_setting (name, value) VALUES ('processing_ms', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (str(value or 0),),
            )

    def settle(self) -> None:
        """Bring memberships up to date: lists whose processing is due, then changed contacts."""
        now = now_ms()
        if not engine.work_pending(self.store.read(), now):
            return
        properties = self.store.properties
        with self.store.write() as conn:
            engine.complete_due(conn, properties, now)
        while True:
            with self.store.write() as conn:
                if not engine.drain_queue(conn, properties, now):
                    break

    def hold(self, list_id: int | str, hold: bool = True) -> sqlite3.Row:
        """Keep a list ``PROCESSING`` (its members frozen) until released; released, it processes
        again at once (a DYNAMIC list is evaluated afresh, a SNAPSHOT not yet taken is taken)."""
        row = self._live(list_id, settle=False)  # a list created a moment ago stays unprocessed
        with self.store.write() as conn:
            if hold:
                conn.execute(
                    "UPDATE contact_list SET hold = 1, process_at_ms = COALESCE(process_at_ms, ?) WHERE id = ?",
                    (now_ms(), row["id"]),
                )
            else:
                conn.execute("UPDATE contact_list SET hold = 0 WHERE id = ?", (row["id"],))
        return self.get(row["id"])

    # -- reads ---------------------------------------------------------------------------

    def get(self, list_id: int | str, *, deleted: bool = False, settle: bool = True) -> sqlite3.Row:
        """The list (``deleted=True``: also a deleted one); ``ListError`` 404 otherwise."""
        if settle:
            self.settle()
        ident = _ident(list_id)
        row = self.store.read().execute("SELECT * FROM contact_list WHERE id = ?", (ident,)).fetchone()
        if row is None or (row["deleted_ms"] is not None and not deleted):
            raise not_found(list_id)
        return row

    def get_many(self, list_ids: list[str]) -> list[sqlite3.Row]:
        """The live lists among ``list_ids``, in the order asked (unknown ids left out)."""
        self.settle()
        found = []
        for raw in list_ids:
            try:
                ident = _ident(raw)
            except ListError:
                continue
            row = (
                self.store.read()
                .execute("SELECT * FROM contact_list WHERE id = ? AND deleted_ms IS NULL", (ident,))
                .fetchone()
            )
            if row is not None and row not in found:
                found.append(row)
        return found

    def by_name(self, name: str) -> sqlite3.Row | None:
        """The live list with this name, ignoring case."""
        self.settle()
        return (
            self.store.read()
            .execute("SELECT * FROM contact_list WHERE name_key = ? AND deleted_ms IS NULL", (_name_key(name),))
            .fetchone()
        )

    def search(
        self,
        *,
        query: str = "",
        processing_types: list[str] | None = None,
        list_ids: list[int] | None = None,
        offset: int = 0,
        count: int = 20,
        sort: str | None = None,
    ) -> tuple[list[sqlite3.Row], int]:
        """Live lists whose name contains ``query`` (ignoring case): one page and the total."""
        self.settle()
        clauses, params = ["deleted_ms IS NULL"], []
        if query:
            clauses.append("instr(name_key, ?) > 0")
            params.append(_name_key(query))
        if processing_types:
            clauses.append(f"processing_type IN ({','.join('?' * len(processing_types))})")
            params += processing_types
        if list_ids is not None:
            clauses.append(f"id IN ({','.join('?' * len(list_ids))})" if list_ids else "0")
            params += list_ids
        order = "id ASC"
        if sort:
            descending = sort.startswith("-")
            column = _SORT_COLUMNS[sort.lstrip("-")]
            order = f"{column} {'DESC' if descending else 'ASC'}, id ASC"
        where = " AND ".join(clauses)
        conn = self.store.read()
        total = conn.execute(f"SELECT COUNT(*) FROM contact_list WHERE {where}", params).fetchone()[0]  # noqa: S608
        rows = conn.execute(
            f"SELECT * FROM contact_list WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",  # noqa: S608
            [*params, count, offset],
        ).fetchall()
        return rows, total

    def reference_count(self, list_id: int) -> int:
        """How many live lists name this one in IN_LIST filters."""
        return (
            self.store.read()
            .execute(
                "SELECT COUNT(*) FROM contact_list_ref r JOIN contact_list l ON l.id = r.list_id "
                "WHERE r.ref_list_id = ? AND l.deleted_ms IS NULL",
                (list_id,),
            )
            .fetchone()[0]
        )

    # -- definition writes ---------------------------------------------------------------

    def create(
        self,
        *,
        name: str,
        processing_type: str,
        filter_branch: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> sqlite3.Row:
        """A new contact list (``extra``: listPermissions, membershipSettings, listFolderId,
        customProperties, kept as given). DYNAMIC and SNAPSHOT lists need a filter branch and
        start ``PROCESSING``; a MANUAL list has none and is ``COMPLETE`` at once."""
        if processing_type not in PROCESSING_TYPES:
            raise ListError(
                400,
                f"processingType must be one of {', '.join(PROCESSING_TYPES)}, not {processing_type!r}.",
                {"processingType": [str(processing_type)]},
            )
        if processing_type == "MANUAL" and filter_branch is not None:
            raise ListError(400, "A MANUAL list has no filters: leave filterBranch out.", {"filterBranch": ["MANUAL"]})
        if processing_type != "MANUAL" and filter_branch is None:
            raise ListError(400, f"A {processing_type} list needs a filterBranch.", {"filterBranch": ["required"]})
        name = _check_name(name)
        now = now_ms()
        with self.store.write() as conn:
            self._check_name_free(conn, name)
            definition = self._definition(conn, filter_branch) if filter_branch is not None else None
            list_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM contact_list").fetchone()[0]
            manual = processing_type == "MANUAL"
            conn.execute(
                "INSERT INTO contact_list (id, name, name_key, processing_type, filter_branch, evaluable, "
                "time_relative, processing_status, process_at_ms, created_ms, updated_ms, filters_updated_ms, extra) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    list_id,
                    name,
                    _name_key(name),
                    processing_type,
                    json.dumps(definition.branch) if definition else None,
                    int(bool(definition and definition.evaluable)),
                    int(bool(definition and definition.time_relative)),
                    "COMPLETE" if manual else "PROCESSING",
                    None if manual else now + self.processing_ms(),
                    now,
                    now,
                    now,
                    json.dumps(extra or {}),
                ),
            )
            if definition:
                _store_references(conn, list_id, definition)
            return conn.execute("SELECT * FROM contact_list WHERE id = ?", (list_id,)).fetchone()

    def update_filters(self, list_id: int | str, filter_branch: Any) -> sqlite3.Row:
        """A DYNAMIC list's new definition: ``listVersion`` + 1, ``PROCESSING`` again."""
        row = self._live(list_id)
        if row["processing_type"] != "DYNAMIC":
            raise ListError(
                400,
                f"Only the filters of a DYNAMIC list can be updated; list {row['id']} is {row['processing_type']}.",
                {"processingType": [row["processing_type"]]},
            )
        now = now_ms()
        with self.store.write() as conn:
            definition = self._definition(conn, filter_branch, own_id=row["id"])
            conn.execute(
                "UPDATE contact_list SET filter_branch = ?, evaluable = ?, time_relative = ?, "
                "list_version = list_version + 1, processing_status = 'PROCESSING', process_at_ms = ?, "
                "updated_ms = ?, filters_updated_ms = ? WHERE id = ?",
                (
                    json.dumps(definition.branch),
                    int(definition.evaluable),
                    int(definition.time_relative),
                    now + self.processing_ms(),
                    now,
                    now,
                    row["id"],
                ),
            )
            conn.execute("DELETE FROM contact_list_ref WHERE list_id = ?", (row["id"],))
            _store_references(conn, row["id"], definition)
            return conn.execute("SELECT * FROM contact_list WHERE id = ?", (row["id"],)).fetchone()

    def rename(self, list_id: int | str, name: str) -> sqlite3.Row:
        """A new name (unique, ignoring case): ``listVersion`` + 1."""
        row = self._live(list_id)
        name = _check_name(name)
        with self.store.write() as conn:
            self._check_name_free(conn, name, own_id=row["id"])
            conn.execute(
                "UPDATE contact_list SET name = ?, name_key = ?, list_version = list_version + 1, updated_ms = ? "
                "WHERE id = ?",
                (name, _name_key(name), now_ms(), row["id"]),
            )
            return conn.execute("SELECT * FROM contact_list WHERE id = ?", (row["id"],)).fetchone()

    def delete(self, list_id: int | str) -> None:
        """Delete a list (restorable): it leaves searches and fetches; IN_LIST filters naming it
        then find no members."""
        row = self._live(list_id)
        with self.store.write() as conn:
            conn.execute("UPDATE contact_list SET deleted_ms = ? WHERE id = ?", (now_ms(), row["id"]))
            engine.requeue_members(conn, row["id"])

    def restore(self, list_id: int | str) -> sqlite3.Row:
        """Bring a deleted list back (a DYNAMIC list processes again)."""
        row = self.get(list_id, deleted=True)
        if row["deleted_ms"] is None:
            raise ListError(400, f"List {row['id']} is not deleted.", {"listId": [str(row["id"])]})
        now = now_ms()
        with self.store.write() as conn:
            self._check_name_free(conn, row["name"], own_id=row["id"])
            dynamic = row["processing_type"] == "DYNAMIC"
            conn.execute(
                "UPDATE contact_list SET deleted_ms = NULL, updated_ms = ?, "
                "processing_status = CASE WHEN ? THEN 'PROCESSING' ELSE processing_status END, "
                "process_at_ms = CASE WHEN ? THEN ? ELSE process_at_ms END WHERE id = ?",
                (now, dynamic, dynamic, now + self.processing_ms(), row["id"]),
            )
            engine.requeue_members(conn, row["id"])
            return conn.execute("SELECT * FROM contact_list WHERE id = ?", (row["id"],)).fetchone()

    # -- helpers -------------------------------------------------------------------------

    def _live(self, list_id: int | str, *, settle: bool = True) -> sqlite3.Row:
        return self.get(list_id, settle=settle)

    def _definition(self, conn: sqlite3.Connection, data: Any, own_id: int | None = None) -> Definition:
        def list_exists(ident: int) -> bool:
            found = conn.execute("SELECT deleted_ms FROM contact_list WHERE id = ?", (ident,)).fetchone()
            return found is not None and found[0] is None

        def depends_on(ident: int) -> set[int]:
            seen: set[int] = set()
            todo = [ident]
            while todo:
                current = todo.pop()
                for (ref,) in conn.execute("SELECT ref_list_id FROM contact_list_ref WHERE list_id = ?", (current,)):
                    if ref not in seen:
                        seen.add(ref)
                        todo.append(ref)
            return seen

        try:
            return parse_definition(
                data, properties=self.store.properties, list_exists=list_exists, depends_on=depends_on, own_id=own_id
            )
        except DefinitionError as exc:
            raise definition_refused(exc)

    @staticmethod
    def _check_name_free(conn: sqlite3.Connection, name: str, own_id: int | None = None) -> None:
        taken = conn.execute(
            "SELECT id FROM contact_list WHERE name_key = ? AND deleted_ms IS NULL AND id != ?",
            (_name_key(name), own_id or 0),
        ).fetchone()
        if taken is not None:
            raise ListError(
                400,
                f"A list named {name!r} already exists (list {taken[0]}): list names are unique.",
                {"name": [name]},
            )


def _ident(list_id: int | str) -> int:
    text = str(list_id).strip()
    if not text.isdigit() or len(text) > 18:
        raise ListError(400, f"{list_id!r} is not a valid list id.", {"listId": [str(list_id)]})
    return int(text)


def _name_key(name: str) -> str:
    return fold(name.strip())


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ListError(400, "The list needs a name.", {"name": ["required"]})
    if len(name) > MAX_NAME_LENGTH:
        raise ListError(400, f"A list name is at most {MAX_NAME_LENGTH} characters.", {"name": [name[:40]]})
    return name.strip()


def _store_references(conn: sqlite3.Connection, list_id: int, definition: Definition) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO contact_list_ref (list_id, ref_list_id) VALUES (?, ?)",
        [(list_id, ref) for ref in sorted(definition.references)],
    )
