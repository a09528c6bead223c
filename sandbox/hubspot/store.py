"""The HubSpot sandbox's state: contacts, the property schema, owners (:mod:`.owners`) and OAuth tokens.

One SQLite file (``HubSpotStore(path)``). A contact row keeps ``hs_object_id`` (the row id),
``createdate`` and ``lastmodifieddate`` (epoch ms) in columns, a case-folded email key for
look-ups and the other property values, already canonical strings, as a JSON document. Contact
lists (Lists v3) live in the same file, in the tables of :mod:`sandbox.hubspot.lists.schema`.

Every change of a property value is also appended to its history (:mod:`.history`) in the same
transaction, with the write's time and source (``source=``: the API's app by default).

HubSpot refuses a second contact with the same email, case-insensitively (409 ``CONFLICT``);
the API paths here enforce that. ``bulk_insert`` (used by ``sandbox_seed``) writes rows as
given; the seed gives only emails unique ignoring case, as HubSpot holds them (deliberate
duplicates live in the Salesforce sandbox, where real orgs have them).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from typing import Any

from sandbox.hubspot.history import (
    CRM_UI,
    HISTORY_SCHEMA,
    Source,
    contact_histories,
    history_backfill,
    history_record,
    history_record_rows,
    integration,
)
from sandbox.hubspot.lists.schema import LIST_SCHEMA, LIST_TABLES
from sandbox.hubspot.owners import OWNER_SCHEMA, OwnerMethods, owners_install, owners_seed, with_owner_options
from sandbox.hubspot.schema import (
    COLUMN_PROPERTIES,
    NAME_RE,
    READ_ONLY,
    InvalidValue,
    PropertyDef,
    canonical_value,
    ms_to_iso,
    parse_instant,
    standard_properties,
)
from sandbox.hubspot.search import register_functions
from sandbox.store import SQLiteStore

TOKEN_LIFETIME_S = 1800
API_SOURCE = integration("sandbox")  # the static ``Bearer sandbox`` token's app


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def email_key(value: str | None) -> str | None:
    return value.strip().casefold() if value else None


class PropertyErrors(Exception):
    """One or more property values refused; rendered as HubSpot's VALIDATION_ERROR."""

    def __init__(self, errors: list[InvalidValue]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


class EmailConflict(Exception):
    def __init__(self, existing_id: int, email: str) -> None:
        super().__init__(f"Contact already exists. Existing ID: {existing_id}")
        self.existing_id = existing_id
        self.email = email


class HubSpotStore(OwnerMethods, SQLiteStore):
    SCHEMA = """
    CREATE TABLE IF NOT EXISTS contact (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email_key TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        archived_ms INTEGER,
        props TEXT NOT NULL DEFAULT '{}'
    );
    -- No index leads with "archived": almost every row has archived = 0, and such an index
    -- tempts SQLite away from the rowid and timestamp orders that paging needs. "archived"
    -- comes last instead, so a search's COUNT(*) is answered from the index alone.
    DROP INDEX IF EXISTS contact_updated;
    DROP INDEX IF EXISTS contact_created;
    DROP INDEX IF EXISTS contact_email;
    DROP INDEX IF EXISTS contact_updated_ms;
    DROP INDEX IF EXISTS contact_created_ms;
    CREATE INDEX IF NOT EXISTS contact_email_key ON contact (email_key);
    CREATE INDEX IF NOT EXISTS contact_by_updated ON contact (updated_ms, id, archived);
    CREATE INDEX IF NOT EXISTS contact_by_created ON contact (created_ms, id, archived);
    CREATE TABLE IF NOT EXISTS property (
        name TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        definition TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS token (
        access_token TEXT PRIMARY KEY,
        refresh_token TEXT NOT NULL,
        client_id TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS token_refresh ON token (refresh_token);
    CREATE TABLE IF NOT EXISTS schema_version (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
    );
    INSERT OR IGNORE INTO schema_version (id, version) VALUES (1, 0);
    CREATE TABLE IF NOT EXISTS seed_progress (
        seed INTEGER PRIMARY KEY,
        count INTEGER NOT NULL
    );
    """
    SCHEMA += HISTORY_SCHEMA + OWNER_SCHEMA + LIST_SCHEMA  # IF NOT EXISTS: an older file gains the tables on open
    # schema_version survives a reset: it only ever grows, so every process notices the change.
    TABLES = ("contact", "property", "token", "seed_progress", "property_history", "owner", *LIST_TABLES)

    def __init__(self, path: Any) -> None:
        self._schema_lock = threading.Lock()
        self._properties: dict[str, PropertyDef] = {}
        self._schema_version = -1
        super().__init__(path)
        with self.write() as conn:
            if conn.execute("SELECT COUNT(*) FROM property").fetchone()[0] == 0:
                self._install_standard_properties(conn)
            history_backfill(conn)  # a file from before the history: its values become its history
            owners_install(conn, self._bump_schema)  # seeded owners; hubspot_owner_id in an older file
        self._load_properties()

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        register_functions(conn)
        return conn

    # -- schema -------------------------------------------------------------------------

    def _install_standard_properties(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT OR REPLACE INTO property (name, position, definition) VALUES (?, ?, ?)",
            [(p.name, i, json.dumps(p.to_json())) for i, p in enumerate(standard_properties())],
        )

    def _load_properties(self) -> None:
        conn = self.read()
        version = conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()[0]
        rows = conn.execute("SELECT definition FROM property ORDER BY position").fetchall()
        with self._schema_lock:
            loaded = {d.name: d for d in (PropertyDef.from_json(json.loads(r[0])) for r in rows)}
            self._properties = with_owner_options(conn, loaded)
            self._schema_version = version

    @staticmethod
    def _bump_schema(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE schema_version SET version = version + 1 WHERE id = 1")

    def after_reset(self, conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM sqlite_sequence WHERE name = 'contact'")
        self._install_standard_properties(conn)
        owners_seed(conn)
        self._bump_schema(conn)

    def reset(self) -> None:
        super().reset()
        self._load_properties()

    @property
    def properties(self) -> dict[str, PropertyDef]:
        """The schema, reloaded when another process changed it (``sandbox_reset`` while serving)."""
        version = self.read().execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
        if version is None or version[0] != self._schema_version:
            self._load_properties()
        return self._properties

    def add_property(self, definition: PropertyDef) -> PropertyDef:
        if not NAME_RE.match(definition.name):
            raise ValueError(f"Property name {definition.name!r} is invalid: lowercase letters, digits, _.")
        with self.write() as conn:
            if conn.execute("SELECT 1 FROM property WHERE name = ?", (definition.name,)).fetchone():
                raise KeyError(definition.name)
            position = conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM property").fetchone()[0]
            conn.execute(
                "INSERT INTO property (name, position, definition) VALUES (?, ?, ?)",
                (definition.name, position, json.dumps(definition.to_json())),
            )
            self._bump_schema(conn)
        self._load_properties()
        return definition

    def archive_property(self, name: str) -> bool:
        """HubSpot's DELETE of a custom property: gone from the schema (HubSpot-defined ones stay)."""
        definition = self.properties.get(name)
        if definition is None:
            return False
        if definition.hubspot_defined:
            raise PermissionError(name)
        with self.write() as conn:
            conn.execute("DELETE FROM property WHERE name = ?", (name,))
            self._bump_schema(conn)
        self._load_properties()
        return True

    # -- values -------------------------------------------------------------------------

    def clean_properties(self, values: dict[str, Any]) -> dict[str, str | None]:
        """Canonical values (None = clear) or ``PropertyErrors`` listing every bad one."""
        if not isinstance(values, dict):
            raise PropertyErrors([InvalidValue("properties", values, "INVALID_INPUT", "properties must be an object")])
        cleaned: dict[str, str | None] = {}
        errors: list[InvalidValue] = []
        properties = self.properties
        for name, raw in values.items():
            prop = properties.get(name)
            if prop is None:
                errors.append(InvalidValue(name, raw, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
                continue
            if name in READ_ONLY or prop.read_only_value:
                errors.append(
                    InvalidValue(
                        name, raw, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
                    )
                )
                continue
            try:
                cleaned[name] = canonical_value(prop, raw)
            except InvalidValue as exc:
                errors.append(exc)
        if errors:
            raise PropertyErrors(errors)
        return cleaned

    # -- contacts -----------------------------------------------------------------------

    def get(
        self, contact_id: int | str, *, archived: bool = False, conn: sqlite3.Connection | None = None
    ) -> sqlite3.Row | None:
        try:
            ident = int(contact_id)
        except (TypeError, ValueError):
            return None
        return (
            (conn or self.read())
            .execute("SELECT * FROM contact WHERE id = ? AND archived = ?", (ident, 1 if archived else 0))
            .fetchone()
        )

    def get_by_email(
        self, email: str, *, archived: bool = False, conn: sqlite3.Connection | None = None
    ) -> sqlite3.Row | None:
        # Were two contacts' emails to differ only by case (a state file written by an older
        # seed), the oldest would win, as in HubSpot.
        return (
            (conn or self.read())
            .execute(
                "SELECT * FROM contact WHERE email_key = ? AND archived = ? ORDER BY id LIMIT 1",
                (email_key(email), 1 if archived else 0),
            )
            .fetchone()
        )

    def get_many(self, ids: Iterable[int], *, archived: bool = False) -> dict[int, sqlite3.Row]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.read().execute(
            f"SELECT * FROM contact WHERE archived = ? AND id IN ({marks})",  # noqa: S608 - only placeholders
            (1 if archived else 0, *ids),
        )
        return {row["id"]: row for row in rows}

    def _check_email_free(self, conn: sqlite3.Connection, email: str | None, own_id: int | None = None) -> None:
        key = email_key(email)
        if key is None:
            return
        row = conn.execute(
            "SELECT id FROM contact WHERE email_key = ? AND archived = 0 AND id != ? ORDER BY id LIMIT 1",
            (key, own_id or 0),
        ).fetchone()
        if row is not None:
            raise EmailConflict(row["id"], email or "")

    def insert(
        self, conn: sqlite3.Connection, values: dict[str, str | None], moment: int, *, source: Source = API_SOURCE
    ) -> sqlite3.Row:
        """A new contact from cleaned values (email uniqueness checked), its values its first history."""
        props = {k: v for k, v in values.items() if v is not None and k not in COLUMN_PROPERTIES}
        self._check_email_free(conn, props.get("email"))
        created = moment
        if values.get("createdate"):
            parsed = parse_instant(values["createdate"])
            created = int(parsed.timestamp() * 1000) if parsed else moment
        cursor = conn.execute(
            "INSERT INTO contact (email_key, created_ms, updated_ms, props) VALUES (?, ?, ?, ?)",
            (email_key(props.get("email")), created, moment, json.dumps(props, separators=(",", ":"))),
        )
        history_record(conn, cursor.lastrowid, props.items(), moment, source)
        return conn.execute("SELECT * FROM contact WHERE id = ?", (cursor.lastrowid,)).fetchone()

    def update(
        self,
        conn: sqlite3.Connection,
        row: sqlite3.Row,
        values: dict[str, str | None],
        moment: int,
        *,
        source: Source = API_SOURCE,
    ) -> sqlite3.Row:
        """Apply cleaned values to a contact (email uniqueness checked); the changed ones join
        their history ("" for a cleared value)."""
        props = json.loads(row["props"])
        changes: list[tuple[str, str]] = []
        for name, value in values.items():
            if name in COLUMN_PROPERTIES:
                continue
            if value is None:
                if props.pop(name, None) is not None:
                    changes.append((name, ""))
            elif props.get(name) != value:
                props[name] = value
                changes.append((name, value))
        if "email" in values:
            self._check_email_free(conn, props.get("email"), own_id=row["id"])
        created = row["created_ms"]
        if values.get("createdate"):
            parsed = parse_instant(values["createdate"])
            created = int(parsed.timestamp() * 1000) if parsed else created
        conn.execute(
            "UPDATE contact SET email_key = ?, props = ?, updated_ms = ?, created_ms = ? WHERE id = ?",
            (email_key(props.get("email")), json.dumps(props, separators=(",", ":")), moment, created, row["id"]),
        )
        if changes:
            history_record(conn, row["id"], changes, moment, source)
        return conn.execute("SELECT * FROM contact WHERE id = ?", (row["id"],)).fetchone()

    def set_properties(
        self, contact_id: int | str, values: dict[str, Any], *, moment: int | None = None, source: Source = CRM_UI
    ) -> sqlite3.Row:
        """A direct edit, by default a person's in HubSpot's UI (``CRM_UI``), at ``moment``
        (epoch ms, default now): how a test makes a HubSpot-side change with its own history."""
        cleaned = self.clean_properties(values)
        with self.write() as conn:
            row = self.get(contact_id, conn=conn)
            if row is None:
                raise KeyError(contact_id)
            return self.update(conn, row, cleaned, now_ms() if moment is None else moment, source=source)

    def archive(self, conn: sqlite3.Connection, contact_id: int, moment: int) -> bool:
        cursor = conn.execute(
            "UPDATE contact SET archived = 1, archived_ms = ?, updated_ms = ? WHERE id = ? AND archived = 0",
            (moment, moment, contact_id),
        )
        return cursor.rowcount > 0

    def seed_progress(self, seed: int) -> int:
        """How many contacts of ``seed`` ``sandbox_seed`` has written."""
        row = self.read().execute("SELECT count FROM seed_progress WHERE seed = ?", (seed,)).fetchone()
        return row[0] if row else 0

    def bulk_insert(
        self, rows: Iterable[tuple[dict[str, str], int, int]], *, progress: tuple[int, int] | None = None
    ) -> int:
        """Insert ``(props, created_ms, updated_ms)`` rows as given, in one transaction; no checks.
        Each value becomes one ``IMPORT`` history entry at the row's ``updated_ms``.

        ``progress=(seed, count)`` records, in the same transaction, that seed's first ``count``
        contacts now exist."""
        count = 0
        with self.write() as conn:
            # AUTOINCREMENT: every row inserted below gets an id above today's largest.
            first_new = conn.execute("SELECT COALESCE(MAX(id), 0) FROM contact").fetchone()[0]
            if progress is not None:
                conn.execute(
                    "INSERT INTO seed_progress (seed, count) VALUES (?, ?) "
                    "ON CONFLICT (seed) DO UPDATE SET count = excluded.count",
                    progress,
                )
            batch = []
            for props, created, updated in rows:
                clean = {k: v for k, v in props.items() if v not in (None, "") and k not in COLUMN_PROPERTIES}
                batch.append(
                    (email_key(clean.get("email")), created, updated, json.dumps(clean, separators=(",", ":")))
                )
                if len(batch) >= 5000:
                    conn.executemany(
                        "INSERT INTO contact (email_key, created_ms, updated_ms, props) VALUES (?, ?, ?, ?)", batch
                    )
                    count += len(batch)
                    batch = []
            if batch:
                conn.executemany(
                    "INSERT INTO contact (email_key, created_ms, updated_ms, props) VALUES (?, ?, ?, ?)", batch
                )
                count += len(batch)
            history_record_rows(conn, after_id=first_new)
        return count

    def count(self, *, archived: bool = False) -> int:
        return (
            self.read()
            .execute("SELECT COUNT(*) FROM contact WHERE archived = ?", (1 if archived else 0,))
            .fetchone()[0]
        )

    # -- output -------------------------------------------------------------------------

    def property_values(self, row: sqlite3.Row) -> dict[str, str]:
        """Every value the contact has, column properties included."""
        values = json.loads(row["props"])
        values["hs_object_id"] = str(row["id"])
        values["createdate"] = ms_to_iso(row["created_ms"])
        values["lastmodifieddate"] = ms_to_iso(row["updated_ms"])
        return values

    def histories(self, rows: list[sqlite3.Row], names: Iterable[str]) -> dict[int, dict[str, list[dict[str, Any]]]]:
        """``propertiesWithHistory`` by contact id (see :func:`.history.contact_histories`)."""
        return contact_histories(self.read(), rows, names)

    def to_public(
        self,
        row: sqlite3.Row,
        requested: Iterable[str],
        *,
        new: bool | None = None,
        history: dict[str, list[dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """HubSpot's SimplePublicObject, with ``propertiesWithHistory`` when ``history`` is given.
        Requested properties without a value are left out (HubSpot sends them as null, which its
        own OpenAPI schema does not allow)."""
        values = self.property_values(row)
        data: dict[str, Any] = {
            "id": str(row["id"]),
            # HubSpot always includes these three, whatever was asked for.
            "properties": {
                name: values[name]
                for name in (*requested, "createdate", "hs_object_id", "lastmodifieddate")
                if name in values
            },
            "createdAt": values["createdate"],
            "updatedAt": values["lastmodifieddate"],
            "archived": bool(row["archived"]),
        }
        if history is not None:
            data["propertiesWithHistory"] = history
        if row["archived"]:
            data["archivedAt"] = ms_to_iso(row["archived_ms"] or row["updated_ms"])
        if new is not None:
            data["new"] = new
        return data

    # -- OAuth --------------------------------------------------------------------------

    def issue_token(self, client_id: str, refresh_token: str | None = None) -> dict[str, Any]:
        access = "sbx-" + secrets.token_urlsafe(24)
        refresh = refresh_token or ("sbx-refresh-" + secrets.token_urlsafe(24))
        with self.write() as conn:
            conn.execute(
                "INSERT INTO token (access_token, refresh_token, client_id, expires_ms) VALUES (?, ?, ?, ?)",
                (access, refresh, client_id, now_ms() + TOKEN_LIFETIME_S * 1000),
            )
        return {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": TOKEN_LIFETIME_S,
        }

    def refresh_known(self, refresh_token: str) -> str | None:
        row = (
            self.read()
            .execute("SELECT client_id FROM token WHERE refresh_token = ? LIMIT 1", (refresh_token,))
            .fetchone()
        )
        return row[0] if row else None

    def token_expiry(self, access_token: str) -> int | None:
        owner = self.token_owner(access_token)
        return owner[0] if owner else None

    def token_owner(self, access_token: str) -> tuple[int, str] | None:
        """``(expires_ms, client_id)`` of an issued token; None when unknown."""
        row = (
            self.read()
            .execute("SELECT expires_ms, client_id FROM token WHERE access_token = ?", (access_token,))
            .fetchone()
        )
        return (row[0], row[1]) if row else None
