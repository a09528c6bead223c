"""HubSpot owners: the people records are assigned to (CRM v3 Owners API), kept in the store's file.

One row per owner: ``owner (id, user_id, email, email_key, first_name, last_name, archived,
created_ms, updated_ms)``. ``id`` is the owner id a contact's ``hubspot_owner_id`` holds;
``user_id`` is the HubSpot user behind it, a different number that "will result in an error if it
is used to assign ownership" (https://developers.hubspot.com/docs/guides/api/crm/owners). Emails are
unique among owners, ignoring case, so an owner can be matched by email (as the sync matches
HubSpot owners to Salesforce users).

Seeded when the store is created (or opened without owners) and after every reset, in this order,
owner ids from ``160000001`` and user ids from ``9100001``:

=============================  ==================  ==========================================
email                          name                note
=============================  ==================  ==========================================
amelie.martin@sandbox.example  Amélie Martin       a Salesforce emulator user has this email
james.smith@sandbox.example    James Smith         likewise
hans.mueller@sandbox.example   Hans Müller         likewise
hs.only@sandbox.example        Hannah Hubspotonly  no Salesforce user
former.rep@sandbox.example     Former Rep          archived (a deactivated user)
=============================  ==================  ==========================================

The *active* owners are the options of every property whose ``referencedObjectType`` is ``OWNER``
(``hubspot_owner_id``): the store fills them in each time it loads the schema, and a change of
owners bumps the schema version, so every process serving the file reloads them. A write of any
other value is then refused as any invalid enumeration option is (``INVALID_OPTION``), an archived
owner's id included; an empty string clears the value.

``OwnerMethods`` is mixed into :class:`sandbox.hubspot.store.HubSpotStore`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sandbox.hubspot.schema import PropertyDef, ms_to_iso, owner_property

OWNER_SCHEMA = """
CREATE TABLE IF NOT EXISTS owner (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL UNIQUE,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    archived INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
"""

# HubSpot's owner ids are 8-9 digit numbers ("41629779" in the guide above), user ids another range.
FIRST_OWNER_ID = 160_000_001
FIRST_USER_ID = 9_100_001
SEEDED_MS = 1_705_309_200_000  # 2024-01-15T09:00:00.000Z: seeded owners look the same after every reset

# (email, first name, last name, archived)
SEED_OWNERS: tuple[tuple[str, str, str, bool], ...] = (
    ("amelie.martin@sandbox.example", "Amélie", "Martin", False),
    ("james.smith@sandbox.example", "James", "Smith", False),
    ("hans.mueller@sandbox.example", "Hans", "Müller", False),
    ("hs.only@sandbox.example", "Hannah", "Hubspotonly", False),
    ("former.rep@sandbox.example", "Former", "Rep", True),
)

OWNER_REFERENCE = "OWNER"  # a property's referencedObjectType whose options are the owners


class OwnerConflict(Exception):
    """Another owner already has this email (ignoring case)."""


@dataclass(frozen=True)
class Owner:
    id: int
    user_id: int
    email: str
    first_name: str
    last_name: str
    archived: bool
    created_ms: int
    updated_ms: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Owner:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            email=row["email"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            archived=bool(row["archived"]),
            created_ms=row["created_ms"],
            updated_ms=row["updated_ms"],
        )

    @property
    def label(self) -> str:
        """How HubSpot names the owner in an owner property's options: "First Last"."""
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def to_public(self) -> dict[str, Any]:
        """HubSpot's ``PublicOwner``."""
        return {
            "id": str(self.id),
            "email": self.email,
            "type": "PERSON",
            "firstName": self.first_name,
            "lastName": self.last_name,
            # An archived owner keeps its id, but "the userId value will be null" and the user's id
            # is only in userIdIncludingInactive (https://developers.hubspot.com/docs/guides/api/crm/owners).
            "userId": None if self.archived else self.user_id,
            "userIdIncludingInactive": self.user_id,
            "createdAt": ms_to_iso(self.created_ms),
            "updatedAt": ms_to_iso(self.updated_ms),
            "archived": self.archived,
            "teams": [],
        }


def _email_key(email: str) -> str:
    return email.strip().casefold()


def _insert(
    conn: sqlite3.Connection,
    owner_id: int,
    user_id: int,
    email: str,
    names: tuple[str, str],
    archived: bool,
    moment: int,
) -> None:
    try:
        conn.execute(
            "INSERT INTO owner (id, user_id, email, email_key, first_name, last_name, archived, created_ms, "
            "updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (owner_id, user_id, email.strip(), _email_key(email), *names, int(archived), moment, moment),
        )
    except sqlite3.IntegrityError:
        raise OwnerConflict(f"An owner with email {email} already exists.")


def owners_seed(conn: sqlite3.Connection) -> None:
    """The seeded owners (``SEED_OWNERS``), into an empty table."""
    for index, (email, first, last, archived) in enumerate(SEED_OWNERS):
        _insert(conn, FIRST_OWNER_ID + index, FIRST_USER_ID + index, email, (first, last), archived, SEEDED_MS)


def owners_install(conn: sqlite3.Connection, bump_schema: Callable[[sqlite3.Connection], None]) -> None:
    """On opening a file: seed the owners when it has none, and give a file written before owners
    existed its ``hubspot_owner_id`` property (``bump_schema`` then tells every process)."""
    if conn.execute("SELECT COUNT(*) FROM owner").fetchone()[0] == 0:
        owners_seed(conn)
    definition = owner_property()
    if conn.execute("SELECT 1 FROM property WHERE name = ?", (definition.name,)).fetchone() is None:
        conn.execute(
            "INSERT INTO property (name, position, definition) "
            "SELECT ?, COALESCE(MAX(position), 0) + 1, ? FROM property",
            (definition.name, json.dumps(definition.to_json())),
        )
        bump_schema(conn)


def with_owner_options(conn: sqlite3.Connection, properties: dict[str, PropertyDef]) -> dict[str, PropertyDef]:
    """``properties`` with the active owners as the options of those that reference owners."""
    referencing = [p for p in properties.values() if p.referenced_object_type == OWNER_REFERENCE]
    if referencing:
        rows = conn.execute("SELECT * FROM owner WHERE archived = 0 ORDER BY id").fetchall()
        options = [(str(owner.id), owner.label) for owner in map(Owner.from_row, rows)]
        for prop in referencing:
            prop.options = list(options)
    return properties


class OwnerMethods:
    """The store's owners: reads, and the two writes a test or demo needs (add, archive)."""

    # Provided by HubSpotStore.
    read: Callable[[], sqlite3.Connection]
    write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _bump_schema: Callable[[sqlite3.Connection], None]
    _load_properties: Callable[[], None]

    def owner(self, ident: str | int, *, by_user_id: bool = False, archived: bool = False) -> Owner | None:
        """The owner with this id (or user id), among the archived ones or the others."""
        try:
            number = int(ident)
        except (TypeError, ValueError):
            return None
        column = "user_id" if by_user_id else "id"
        row = (
            self.read()
            .execute(f"SELECT * FROM owner WHERE {column} = ? AND archived = ?", (number, int(archived)))  # noqa: S608
            .fetchone()
        )
        return Owner.from_row(row) if row else None

    def owner_page(
        self, *, after: int = 0, limit: int = 100, email: str | None = None, archived: bool = False
    ) -> tuple[list[Owner], int | None]:
        """Up to ``limit`` owners from id ``after`` on, by id; and the id the next page starts at."""
        sql, params = "SELECT * FROM owner WHERE archived = ? AND id >= ?", [int(archived), after]
        if email is not None:
            sql, params = sql + " AND email_key = ?", [*params, _email_key(email)]
        rows = self.read().execute(sql + " ORDER BY id LIMIT ?", [*params, limit + 1]).fetchall()
        owners = [Owner.from_row(row) for row in rows]
        return owners[:limit], (owners[limit].id if len(owners) > limit else None)

    def owner_count(self, *, archived: bool = False) -> int:
        return self.read().execute("SELECT COUNT(*) FROM owner WHERE archived = ?", (int(archived),)).fetchone()[0]

    def add_owner(self, *, email: str, first_name: str = "", last_name: str = "", archived: bool = False) -> Owner:
        """A new owner (the next owner id and user id); ``OwnerConflict`` if the email is taken."""
        local, at, domain = email.strip().rpartition("@")
        if not (local and at and domain):
            raise ValueError(f"Email address {email} is invalid")
        with self.write() as conn:
            owner_id, user_id = conn.execute(
                "SELECT COALESCE(MAX(id) + 1, ?), COALESCE(MAX(user_id) + 1, ?) FROM owner",
                (FIRST_OWNER_ID, FIRST_USER_ID),
            ).fetchone()
            _insert(conn, owner_id, user_id, email, (first_name, last_name), archived, _now_ms())
            self._bump_schema(conn)  # the owner properties' options changed
            owner = _owner_row(conn, owner_id)
        self._load_properties()
        return owner

    def archive_owner(self, owner_id: str | int, *, archived: bool = True) -> Owner:
        """Archive the owner (a deactivated user), or restore it with ``archived=False``;
        ``KeyError`` if there is no such owner. Contacts it owns keep its id."""
        found = self.owner(owner_id) or self.owner(owner_id, archived=True)
        if found is None:
            raise KeyError(owner_id)
        if found.archived == archived:
            return found
        with self.write() as conn:
            conn.execute(
                "UPDATE owner SET archived = ?, updated_ms = ? WHERE id = ?", (int(archived), _now_ms(), found.id)
            )
            self._bump_schema(conn)
            owner = _owner_row(conn, found.id)
        self._load_properties()
        return owner


def _owner_row(conn: sqlite3.Connection, owner_id: int) -> Owner:
    return Owner.from_row(conn.execute("SELECT * FROM owner WHERE id = ?", (owner_id,)).fetchone())


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
