"""Record ids by Email, in memory: the Salesforce sandbox's stand-in for an SQLite index on Email.

Why not an index: emails arrive in no particular order, so an index on Email costs every insert
a write into a random page of a B-tree, and every commit the copy of those pages to the WAL.
That was a third of the emulator's time creating records (``bench/bench_collections_upsert.py``);
a dict entry costs a fraction of a microsecond.

How lookups stay exact: a lookup by Email (SOQL ``Email = '…'`` or ``Email IN (…)``, a REST
idLookup by Email, an upsert keyed on Email, the duplicate rule) asks this map for *candidate*
ids and keeps its own SQL condition on Email, now evaluated on those rows only. So the result is
exact as long as the candidates include every match. The map may hold more ids than match (a
record whose email has changed since, a write rolled back), never fewer:

- a write of records adds its ids under their new emails in the same transaction, and stores a
  new random ``records_version`` in ``counters``;
- the map remembers the version it reflects; a lookup reads the version in its own snapshot and
  rebuilds the map (one scan of ``Id, Email``) when it differs. That happens after a write by
  another store or process on the same file (``sandbox_reset``, a second server), and after a
  rolled-back write.

Keys are ``str.lower()`` of the email: SQLite's ``NOCASE`` folds ASCII letters only, and lowering
everything else too can only put more ids under a key, never fewer.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integration.sandbox.salesforce.store import SalesforceStore

VERSION_COUNTER = "records_version"

# The SQL narrowing a lookup by Email to its candidates (one parameter: a JSON list of ids).
CANDIDATES_SQL = '"Id" IN (SELECT value FROM json_each(?))'


class EmailIds:
    def __init__(self, store: SalesforceStore, object_names: Iterable[str]) -> None:
        self.store = store
        self.object_names = tuple(object_names)
        self._lock = threading.Lock()
        self._maps: dict[str, dict[str, list[str]]] | None = None
        self._version: int | None = None

    @staticmethod
    def _read_version(conn: sqlite3.Connection) -> int | None:
        row = conn.execute("SELECT value FROM counters WHERE name = ?", (VERSION_COUNTER,)).fetchone()
        return row[0] if row is not None else None

    def _current(self, version: int | None) -> dict[str, dict[str, list[str]]] | None:
        with self._lock:
            return self._maps if self._maps is not None and self._version == version else None

    def candidates(self, conn: sqlite3.Connection, object_name: str, emails: Iterable[str]) -> list[str]:
        """Ids of ``object_name`` records (deleted ones included) that may have one of ``emails``."""
        maps = self._current(self._read_version(conn))
        if maps is None:
            # Stale: wait for a write in flight to commit (it updates the map first), then
            # rebuild unless that made the map current.
            with self.store.write_lock:
                version = self._read_version(conn)
                maps = self._current(version)
                if maps is None:
                    maps = self._build(conn)
                    with self._lock:
                        self._maps, self._version = maps, version
        by_email = maps[object_name]
        found: list[str] = []
        for email in {str(e).lower() for e in emails}:
            found.extend(by_email.get(email, ()))
        return found

    def candidates_param(self, conn: sqlite3.Connection, object_name: str, emails: Iterable[str]) -> str:
        """``candidates()`` as the parameter of ``CANDIDATES_SQL``."""
        return json.dumps(self.candidates(conn, object_name, emails))

    def _build(self, conn: sqlite3.Connection) -> dict[str, dict[str, list[str]]]:
        maps: dict[str, dict[str, list[str]]] = {}
        cursor = conn.cursor()
        cursor.row_factory = None
        for name in self.object_names:
            by_email: dict[str, list[str]] = {}
            for record_id, email in cursor.execute(f'SELECT "Id", "Email" FROM "{name}" WHERE "Email" IS NOT NULL'):
                by_email.setdefault(str(email).lower(), []).append(record_id)
            maps[name] = by_email
        return maps

    def written(self, conn: sqlite3.Connection, object_name: str, pairs: Iterable[tuple[str, str | None]]) -> None:
        """Record ``(id, email)`` pairs written in the open transaction of ``conn`` (which holds
        the store's write lock); an email of ``None`` adds nothing."""
        old = self._read_version(conn)
        new = secrets.randbits(62)
        conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (VERSION_COUNTER, new),
        )
        with self._lock:
            if self._maps is None or self._version != old:
                self._maps = None  # rebuilt by the next lookup
                return
            by_email = self._maps[object_name]
            for record_id, email in pairs:
                if email is None:
                    continue
                ids = by_email.setdefault(email.lower(), [])
                if record_id not in ids:
                    ids.append(record_id)
            self._version = new

    def forget(self) -> None:
        with self._lock:
            self._maps = None
