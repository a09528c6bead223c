"""The Salesforce sandbox's state: one SQLite file (records, tokens, API usage, Bulk jobs, settings)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.lookups import RecordLookups
from sandbox.salesforce.org import (
    DEFAULT_LEAD_RULE,
    DEFAULT_USERS,
    INTEGRATION_USER_ID,
    LEAD_RULE_ID,
    LEAD_RULE_NAME,
    RULE_SETTING,
    clean_rule_setting,
)
from sandbox.salesforce.schema import EMAIL_RE, OBJECTS, Field, SObject
from sandbox.store import SQLiteStore

SETTINGS_TTL_SECONDS = 1.0

DEFAULT_SETTINGS: dict[str, Any] = {
    # Salesforce's standard duplicate rules are off in a fresh sandbox; tests switch them on.
    "duplicate_rule": False,
    # An Enterprise org with a handful of licences; the app's own allocation is lower.
    "daily_api_max": 100_000,
    "query_batch_size": 2000,
    # Lets demos and tests see InProgress for a while; 0 in normal use.
    "bulk_processing_delay_ms": 0,
    "bulk_shuffle_results": True,
    "access_token_ttl_seconds": 7200,
    # When set (PEM), JWT bearer assertions must be signed by the matching private key.
    "jwt_public_key": "",
    # {client_id: client_secret}; empty means any non-empty pair is accepted.
    "oauth_clients": {},
    # {"active": bool, "entries": [{"country": ..., "ownerEmail": ...}]} (see ``org``).
    RULE_SETTING: DEFAULT_LEAD_RULE,
}


def _column_sql(f: Field) -> str:
    if f.name == "Id":
        return '"Id" TEXT PRIMARY KEY COLLATE BINARY'
    if f.type in ("int", "boolean"):
        sql_type = "INTEGER"
    elif f.type in ("double", "currency"):
        sql_type = "REAL"
    elif f.type == "datetime":
        sql_type = "TEXT"
    else:
        # Salesforce compares text case-insensitively in SOQL filters and for unique keys.
        sql_type = "TEXT COLLATE NOCASE"
    not_null = " NOT NULL DEFAULT 0" if f.type == "boolean" else ""
    return f'"{f.name}" {sql_type}{not_null}'


def _object_table(sobject: SObject) -> str:
    columns = ", ".join(_column_sql(f) for f in sobject.stored_fields)
    # Keyed by Id, without a rowid: one B-tree per row instead of the table plus an Id index.
    # Ids are allocated in increasing order (fixed width, base 62 in ASCII order), so inserts
    # append and "ORDER BY Id" is the order of creation.
    return f'CREATE TABLE IF NOT EXISTS "{sobject.name}" ({columns}) WITHOUT ROWID;'


def _object_indexes(sobject: SObject) -> dict[str, tuple[list[str], str]]:
    """``{index name: (its columns, CREATE statement)}``: created once the table has every column
    (see ``SalesforceStore._upgrade_tables``).

    An external id's index holds live records only, and ``IsDeleted`` too: a lookup by key
    (``... WHERE key IN (...) AND "IsDeleted" = 0``) then reads the index alone, where without it
    SQLite reads each record as well to test ``IsDeleted``."""
    table = sobject.name
    indexes = {}
    for f in sobject.external_id_fields:
        unique = "UNIQUE " if f.unique else ""
        name = f"{table}_{f.name}"
        indexes[name] = (
            [f.name, "IsDeleted"],
            f'CREATE {unique}INDEX IF NOT EXISTS "{name}" ON "{table}" ("{f.name}", "IsDeleted") WHERE "IsDeleted" = 0;',
        )
    return indexes


def _schema() -> str:
    parts = [
        "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
        "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        "CREATE TABLE IF NOT EXISTS api_usage (day TEXT PRIMARY KEY, used INTEGER NOT NULL);",
        """CREATE TABLE IF NOT EXISTS tokens (
            token TEXT PRIMARY KEY, kind TEXT NOT NULL, client_id TEXT, username TEXT,
            issued_at REAL NOT NULL, expires_at REAL, revoked INTEGER NOT NULL DEFAULT 0);""",
        """CREATE TABLE IF NOT EXISTS bulk_jobs (
            id TEXT PRIMARY KEY, object TEXT NOT NULL, operation TEXT NOT NULL, external_id_field TEXT,
            state TEXT NOT NULL, line_ending TEXT NOT NULL, column_delimiter TEXT NOT NULL,
            content_type TEXT NOT NULL, api_version TEXT NOT NULL, created_date TEXT NOT NULL,
            system_modstamp TEXT NOT NULL, processed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0, error_message TEXT, processing_ms INTEGER NOT NULL DEFAULT 0,
            assignment_rule_id TEXT);""",
        """CREATE TABLE IF NOT EXISTS bulk_job_data (
            job_id TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (job_id, seq));""",
        """CREATE TABLE IF NOT EXISTS bulk_job_results (
            job_id TEXT NOT NULL, kind TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (job_id, kind));""",
    ]
    # Only the tables: an index named a column an older file lacks would index a constant (SQLite
    # reads an unknown double-quoted name as a string), so indexes come after the upgrade.
    parts.extend(_object_table(sobject) for sobject in OBJECTS.values())
    return "\n".join(parts)


USAGE_FLUSH_SECONDS = 0.5


class _UsageState:
    """Today's API usage: ``stored`` as last read from the file, plus calls not written yet."""

    def __init__(self, day: str) -> None:
        self.day = day
        self.lock = threading.Lock()
        self.stored: int | None = None
        self.pending = 0
        self.flushed_at = 0.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_datetime(value: datetime) -> str:
    """A datetime as the store keeps it: UTC text in Salesforce's format (``2026-01-01T00:00:00.000+0000``)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def quoted(name: str) -> str:
    """A column or table name as an SQL identifier."""
    return '"' + name + '"'


def today() -> str:
    return utc_now().date().isoformat()


class SalesforceStore(SQLiteStore):
    SCHEMA = _schema()
    TABLES = (
        "counters",
        "settings",
        "api_usage",
        "tokens",
        "bulk_jobs",
        "bulk_job_data",
        "bulk_job_results",
        *(sobject.name for sobject in OBJECTS.values()),
    )

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._settings_lock = threading.Lock()
        self._settings_cache: dict[str, Any] | None = None
        self._settings_loaded = 0.0
        self._usage = _UsageState(today())
        # Lookups by Email and LastModifiedDate go through these maps rather than indexes.
        self.lookups = RecordLookups(
            self,
            [sobject.name for sobject in OBJECTS.values()],
            [sobject.name for sobject in OBJECTS.values() if "Email" in sobject.by_name],
        )
        self._upgrade_tables()
        with self.write() as conn:
            self._seed_org(conn)

    def _upgrade_tables(self) -> None:
        """A sandbox file from an older version gains the fields added since, its record tables
        are rebuilt without rowid (its data stays, in creation order), and its indexes are made
        as this version has them."""
        with self.write() as conn:
            jobs = {row["name"] for row in conn.execute("PRAGMA table_info(bulk_jobs)")}
            if "assignment_rule_id" not in jobs:
                conn.execute("ALTER TABLE bulk_jobs ADD COLUMN assignment_rule_id TEXT")
            for sobject in OBJECTS.values():
                table = sobject.name
                # Replaced by the in-memory maps of ``lookups``.
                conn.execute(f'DROP INDEX IF EXISTS "{table}_email"')
                conn.execute(f'DROP INDEX IF EXISTS "{table}_lastmodified"')
                present = {row["name"] for row in conn.execute(f'PRAGMA table_info("{table}")')}
                added = [f for f in sobject.stored_fields if f.name not in present]
                for f in added:
                    conn.execute(f'ALTER TABLE "{table}" ADD COLUMN {_column_sql(f)}')
                    if f.name == "OwnerId" and present:
                        # Records made before owners existed are the integration user's.
                        conn.execute(f'UPDATE "{table}" SET "OwnerId" = ?', (INTEGRATION_USER_ID,))
                row = conn.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
                ).fetchone()
                if "WITHOUT ROWID" not in row["sql"].upper():
                    columns = ", ".join(f'"{f.name}"' for f in sobject.stored_fields)
                    # A boolean is never null (a file without the constraint may hold some).
                    values = ", ".join(
                        f'COALESCE("{f.name}", 0)' if f.type == "boolean" else f'"{f.name}"'
                        for f in sobject.stored_fields
                    )
                    # Dropping the old table drops its indexes (SystemModstamp's included).
                    conn.execute(f'ALTER TABLE "{table}" RENAME TO "{table}__rowid"')
                    conn.execute(_object_table(sobject))
                    conn.execute(
                        f'INSERT INTO "{table}" ({columns}) SELECT {values} FROM "{table}__rowid" ORDER BY rowid'
                    )
                    conn.execute(f'DROP TABLE "{table}__rowid"')
                for name, (columns, statement) in _object_indexes(sobject).items():
                    # An index of an older version is rebuilt: on other columns, or on a column
                    # the file lacked yet, which SQLite took for a constant (and, once the column
                    # is there, for the column with the constant's entries).
                    existing = [column["name"] for column in conn.execute(f'PRAGMA index_info("{name}")')]
                    if existing and existing != columns:
                        conn.execute(f'DROP INDEX "{name}"')
                    conn.execute(statement)
                    if added:
                        conn.execute(f'REINDEX "{name}"')

    # -- settings ---------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        with self._settings_lock:
            # Re-read now and then: ``sandbox_reset`` may empty the file from another process.
            if self._settings_cache is None or time.monotonic() - self._settings_loaded > SETTINGS_TTL_SECONDS:
                self._settings_loaded = time.monotonic()
                rows = self.read().execute("SELECT key, value FROM settings").fetchall()
                values = dict(DEFAULT_SETTINGS)
                values.update({row["key"]: json.loads(row["value"]) for row in rows})
                self._settings_cache = values
            return dict(self._settings_cache)

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(DEFAULT_SETTINGS) - {"api_usage_used"}
        if unknown:
            raise ValueError(f"Unknown sandbox settings: {', '.join(sorted(unknown))}.")
        with self.write() as conn:
            if RULE_SETTING in changes:
                emails = {str(row[0]).lower() for row in conn.execute('SELECT "Email" FROM "User"')}
                rule = clean_rule_setting(changes[RULE_SETTING], self.settings()[RULE_SETTING], emails)
                changes = {**changes, RULE_SETTING: rule}
                conn.execute(
                    'UPDATE "AssignmentRule" SET "Active" = ? WHERE "Id" = ?', (int(rule["active"]), LEAD_RULE_ID)
                )
            for key, value in changes.items():
                if key == "api_usage_used":
                    conn.execute(
                        "INSERT INTO api_usage (day, used) VALUES (?, ?) "
                        "ON CONFLICT(day) DO UPDATE SET used = excluded.used",
                        (today(), int(value)),
                    )
                    continue
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, json.dumps(value)),
                )
        with self._settings_lock:
            self._settings_cache = None
        if "api_usage_used" in changes:
            self._forget_usage()
        return self.settings()

    def after_reset(self, conn: sqlite3.Connection) -> None:
        with self._settings_lock:
            self._settings_cache = None
        self._forget_usage()
        self.lookups.forget()
        self._seed_org(conn)

    # -- the org: users and the lead assignment rule ----------------------------------------

    def _seed_org(self, conn: sqlite3.Connection) -> None:
        """The users and the assignment rule of a fresh sandbox (``org``), unless already there."""
        if conn.execute('SELECT 1 FROM "User" LIMIT 1').fetchone() is None:
            for number, user in enumerate(DEFAULT_USERS, start=1):
                self._insert_user(
                    conn, ids.make_id(ids.KEY_PREFIXES["User"], number), user.email, user.first_name, user.last_name
                )
                if not user.active:
                    conn.execute('UPDATE "User" SET "IsActive" = 0 WHERE "Email" = ?', (user.email,))
            self.counter_set(conn, "User", max(self.counter(conn, "User"), len(DEFAULT_USERS)))
        if conn.execute('SELECT 1 FROM "AssignmentRule" WHERE "Id" = ?', (LEAD_RULE_ID,)).fetchone() is None:
            now = format_datetime(utc_now())
            active = bool(self.settings()[RULE_SETTING]["active"])
            conn.execute(
                'INSERT INTO "AssignmentRule" ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", '
                '"Name", "SobjectType", "Active") VALUES (?, 0, ?, ?, ?, ?, \'Lead\', ?)',
                (LEAD_RULE_ID, now, now, now, LEAD_RULE_NAME, int(active)),
            )
            self.counter_set(conn, "AssignmentRule", max(self.counter(conn, "AssignmentRule"), 1))

    def _insert_user(self, conn: sqlite3.Connection, user_id: str, email: str, first: str | None, last: str) -> None:
        now = format_datetime(utc_now())
        name = f"{first or ''} {last}".strip()
        conn.execute(
            'INSERT INTO "User" ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", "Username", '
            '"Email", "FirstName", "LastName", "Name", "IsActive") VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, 1)',
            (user_id, now, now, now, email, email, first, last, name),
        )
        self.lookups.written(conn, "User", now, [user_id], [(user_id, email)])

    def add_user(self, *, email: str, first_name: str | None, last_name: str, is_active: bool = True) -> str:
        """A new user of the org (its Username is its email); returns its id. ``ValueError`` for
        an invalid email, a missing last name or an email another user has."""
        if not isinstance(email, str) or len(email) > 80 or not EMAIL_RE.match(email):
            raise ValueError(f"Email: invalid email address: {email}")
        if not isinstance(last_name, str) or not last_name.strip() or len(last_name) > 80:
            raise ValueError("Required fields are missing: [LastName]")
        if first_name is not None and (not isinstance(first_name, str) or len(first_name) > 40):
            raise ValueError("FirstName: a text of at most 40 characters.")
        with self.write() as conn:
            taken = conn.execute('SELECT 1 FROM "User" WHERE "Username" = ?', (email,)).fetchone()
            if taken is not None:
                raise ValueError(f"Duplicate Username: {email} is another user's.")
            user_id = ids.make_id(ids.KEY_PREFIXES["User"], self.allocate(conn, "User", 1))
            self._insert_user(conn, user_id, email, first_name or None, last_name)
            if not is_active:
                self.set_user_active(user_id, False)
        return user_id

    def set_user_active(self, user_id: str, active: bool) -> None:
        """(De)activate a user; ``KeyError`` when there is no such user."""
        record_id = ids.normalize(user_id) if isinstance(user_id, str) else None
        now = format_datetime(utc_now())
        with self.write() as conn:
            updated = conn.execute(
                'UPDATE "User" SET "IsActive" = ?, "LastModifiedDate" = ?, "SystemModstamp" = ? WHERE "Id" = ?',
                (int(active), now, now, record_id),
            ).rowcount
            if not updated:
                raise KeyError(user_id)
            self.lookups.written(conn, "User", now, [record_id])  # type: ignore[list-item]

    # -- API usage --------------------------------------------------------------------------
    #
    # Counting is on the path of every request, so it is kept in memory and written behind
    # (at most every USAGE_FLUSH_SECONDS) as increments: a ``sandbox_reset`` run by another
    # process zeroes the row and later increments add to the zero, as they should.

    def _usage_state(self) -> _UsageState:
        state = self._usage
        if state.day != today():
            state = self._usage = _UsageState(today())
        return state

    def _flush_usage(self, state: _UsageState) -> None:
        """Write pending calls and re-read the stored count; call with ``state.lock`` held."""
        with self.write() as conn:
            if state.pending:
                conn.execute(
                    "INSERT INTO api_usage (day, used) VALUES (?, ?) "
                    "ON CONFLICT(day) DO UPDATE SET used = used + excluded.used",
                    (state.day, state.pending),
                )
            row = conn.execute("SELECT used FROM api_usage WHERE day = ?", (state.day,)).fetchone()
        state.stored = row["used"] if row else 0
        state.pending = 0
        state.flushed_at = time.monotonic()

    def consume_api_call(self) -> tuple[int, int, bool]:
        """Count one API request: (used, max, allowed). A refused call is not counted."""
        limit = int(self.settings()["daily_api_max"])
        state = self._usage_state()
        with state.lock:
            if state.stored is None or time.monotonic() - state.flushed_at > USAGE_FLUSH_SECONDS:
                self._flush_usage(state)
            used = (state.stored or 0) + state.pending
            if used >= limit:
                return used, limit, False
            state.pending += 1
            return used + 1, limit, True

    def api_usage(self) -> tuple[int, int]:
        limit = int(self.settings()["daily_api_max"])
        state = self._usage_state()
        with state.lock:
            self._flush_usage(state)
            return state.stored or 0, limit

    def _forget_usage(self) -> None:
        # A new state object rather than a reset under its lock: callers may hold the store's
        # write lock here, and the usage lock is always taken before it, never after.
        self._usage = _UsageState(today())

    # -- counters ---------------------------------------------------------------------------

    @staticmethod
    def counter(conn: sqlite3.Connection, name: str) -> int:
        """Counter ``name``'s value (0 before it is first set)."""
        row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return row["value"] if row is not None else 0

    @staticmethod
    def counter_set(conn: sqlite3.Connection, name: str, value: int) -> None:
        conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def allocate(self, conn: sqlite3.Connection, name: str, count: int) -> int:
        """Reserve ``count`` consecutive numbers; returns the first. Call inside ``write()``."""
        first = self.counter(conn, name) + 1
        self.counter_set(conn, name, first + count - 1)
        return first
