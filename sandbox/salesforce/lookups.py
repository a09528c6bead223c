"""Candidate record ids, kept in memory: the Salesforce sandbox's stand-in for SQLite indexes on
Email and LastModifiedDate.

Why not indexes: emails arrive in no particular order, so an index on Email costs every insert a
write into a random page of a B-tree, and every commit the copy of those pages to the WAL; an
index on LastModifiedDate costs every update the move of an entry. Together they were about 40 %
of the emulator's time writing records (``bench/bench_collections_upsert.py``); a dict entry and
a list append cost a fraction of a microsecond.

How lookups stay exact: a query that narrows on Email (SOQL ``Email = '…'`` or ``Email IN (…)``,
a REST idLookup by Email, an upsert keyed on Email, the duplicate rule) or on a lower bound of
LastModifiedDate (``LastModifiedDate > …`` or ``>= …``, the incremental pull) asks for
*candidate* ids and keeps its own SQL condition, now evaluated on those rows only. The result is
exact as long as the candidates include every match. They may include more (a record whose email
has changed, an older write of a record, a write rolled back), never fewer:

- ``by_email``: ids under the lower-cased email of every write. SQLite's ``NOCASE`` folds ASCII
  letters only; lowering everything can only put more ids under a key, never fewer.
- ``stamps``/``stamp_ids``: one entry per write, in LastModifiedDate order (writes stamp the
  current time). A record's current LastModifiedDate is its latest entry, so every record
  modified since T has an entry at or after T. Older entries are dropped now and then.

Consistency: every write of records stores a new random ``records_version`` in ``counters`` in
its own transaction; the maps remember the version they reflect. A lookup reads the version in
its own snapshot and rebuilds the maps (one scan) when it differs: after a write by another store
or process on the same file (``sandbox_reset``, a second server), or a rolled-back write.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store imports this module: only its type is needed here
    from sandbox.salesforce.store import SalesforceStore

VERSION_COUNTER = "records_version"

# The SQL narrowing a query to candidates (one parameter: a JSON list of ids).
CANDIDATES_SQL = '"Id" IN (SELECT value FROM json_each(?))'

# Beyond this many candidates a query scans the table instead (as fast, and no list to pass).
MAX_CANDIDATES = 20_000


@dataclass(slots=True)
class _ObjectMaps:
    # Tuples rather than lists: the garbage collector stops tracking tuples of strings (and then
    # the dict holding only those), so 100,000 entries cost its passes nothing.
    by_email: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stamps: list[str] = field(default_factory=list)
    stamp_ids: list[str] = field(default_factory=list)
    # Length of ``stamps`` after the last compaction (one entry per record).
    compacted: int = 0

    def add_write(self, stamp: str, record_ids: list[str]) -> None:
        stamps, stamp_ids = self.stamps, self.stamp_ids
        if not stamps or stamps[-1] <= stamp:
            stamps.extend([stamp] * len(record_ids))
            stamp_ids.extend(record_ids)
        else:  # the clock went back: keep the entries in order
            for record_id in record_ids:
                at = bisect_right(stamps, stamp)
                stamps.insert(at, stamp)
                stamp_ids.insert(at, record_id)
        if len(stamps) > 2 * self.compacted + 10_000:
            self.compact()

    def compact(self) -> None:
        """Keep each record's latest entry only."""
        seen: set[str] = set()
        kept: list[tuple[str, str]] = []
        for stamp, record_id in zip(reversed(self.stamps), reversed(self.stamp_ids), strict=True):
            if record_id not in seen:
                seen.add(record_id)
                kept.append((stamp, record_id))
        kept.reverse()
        self.stamps = [stamp for stamp, _ in kept]
        self.stamp_ids = [record_id for _, record_id in kept]
        self.compacted = len(kept)


class RecordLookups:
    def __init__(self, store: SalesforceStore, object_names: Iterable[str], email_objects: Iterable[str]) -> None:
        """Maps for ``object_names``; ``email_objects``: those of them with an Email field."""
        self.store = store
        self.object_names = tuple(object_names)
        self.email_objects = frozenset(email_objects)
        self._lock = threading.Lock()
        self._maps: dict[str, _ObjectMaps] | None = None
        self._version: int | None = None

    @staticmethod
    def _read_version(conn: sqlite3.Connection) -> int | None:
        row = conn.execute("SELECT value FROM counters WHERE name = ?", (VERSION_COUNTER,)).fetchone()
        return row[0] if row is not None else None

    def _current(self, version: int | None) -> dict[str, _ObjectMaps] | None:
        with self._lock:
            return self._maps if self._maps is not None and self._version == version else None

    def _object(self, conn: sqlite3.Connection, object_name: str) -> _ObjectMaps:
        maps = self._current(self._read_version(conn))
        if maps is None:
            # Stale: wait for a write in flight to commit (it updates the maps first), then
            # rebuild unless that made the maps current.
            with self.store.write_lock:
                version = self._read_version(conn)
                maps = self._current(version)
                if maps is None:
                    maps = self._build(conn)
                    with self._lock:
                        self._maps, self._version = maps, version
        return maps[object_name]

    def _build(self, conn: sqlite3.Connection) -> dict[str, _ObjectMaps]:
        maps: dict[str, _ObjectMaps] = {}
        cursor = conn.cursor()
        cursor.row_factory = None
        for name in self.object_names:
            found = _ObjectMaps()
            stamped = []
            email = '"Email"' if name in self.email_objects else "NULL"
            sql = f'SELECT "Id", {email}, "LastModifiedDate" FROM "{name}"'
            for record_id, email, stamp in cursor.execute(sql):
                if email is not None:
                    key = str(email).lower()
                    found.by_email[key] = (*found.by_email.get(key, ()), record_id)
                if stamp is not None:
                    stamped.append((str(stamp), record_id))
            stamped.sort()
            found.stamps = [stamp for stamp, _ in stamped]
            found.stamp_ids = [record_id for _, record_id in stamped]
            found.compacted = len(stamped)
            maps[name] = found
        return maps

    # -- lookups ----------------------------------------------------------------------------

    def email_candidates(self, conn: sqlite3.Connection, object_name: str, emails: Iterable[str]) -> list[str]:
        """Ids of ``object_name`` records (deleted ones included) that may have one of ``emails``."""
        by_email = self._object(conn, object_name).by_email
        found: list[str] = []
        for email in {str(e).lower() for e in emails}:
            found.extend(by_email.get(email, ()))
        return found

    def modified_candidates(
        self, conn: sqlite3.Connection, object_name: str, stamp: str, *, inclusive: bool
    ) -> list[str] | None:
        """Ids of records that may have a LastModifiedDate after ``stamp`` (or at it, when
        ``inclusive``); ``None`` when there are more than ``MAX_CANDIDATES``."""
        found = self._object(conn, object_name)
        start = (bisect_left if inclusive else bisect_right)(found.stamps, stamp)
        if len(found.stamps) - start > MAX_CANDIDATES:
            return None
        return list(dict.fromkeys(found.stamp_ids[start:]))

    def for_query(self, conn: sqlite3.Connection, object_name: str) -> QueryCandidates:
        """The lookups of one SOQL query (``soql.compile_query(candidates=...)``)."""
        return QueryCandidates(self, conn, object_name)

    @staticmethod
    def param(candidates: list[str]) -> str:
        """Candidates as the parameter of ``CANDIDATES_SQL``."""
        return json.dumps(candidates)

    def email_param(self, conn: sqlite3.Connection, object_name: str, emails: Iterable[str]) -> str:
        return self.param(self.email_candidates(conn, object_name, emails))

    # -- writes -----------------------------------------------------------------------------

    def written(
        self,
        conn: sqlite3.Connection,
        object_name: str,
        stamp: str,
        record_ids: list[str],
        emails: Iterable[tuple[str, str | None]] = (),
    ) -> None:
        """Record a write in the open transaction of ``conn`` (which holds the store's write
        lock): ``record_ids`` got LastModifiedDate ``stamp``, and ``emails`` are ``(id, email)``
        pairs of the records whose Email was set (``None`` adds nothing)."""
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
            found = self._maps[object_name]
            by_email = found.by_email
            for record_id, email in emails:
                if email is None:
                    continue
                key = email.lower()
                ids = by_email.get(key, ())
                if record_id not in ids:
                    by_email[key] = (*ids, record_id)
            found.add_write(stamp, record_ids)
            self._version = new

    def forget(self) -> None:
        with self._lock:
            self._maps = None


@dataclass(slots=True)
class QueryCandidates:
    lookups: RecordLookups
    conn: sqlite3.Connection
    object_name: str

    def email(self, emails: list[str]) -> list[str]:
        return self.lookups.email_candidates(self.conn, self.object_name, emails)

    def modified(self, stamp: str, inclusive: bool) -> list[str] | None:
        return self.lookups.modified_candidates(self.conn, self.object_name, stamp, inclusive=inclusive)
