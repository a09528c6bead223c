"""Each contact property's history, served as HubSpot's ``propertiesWithHistory``.

One row per value a property took: ``property_history (contact_id, property, value, ts_ms,
source_type, source_id)``, indexed by ``(contact_id, property, ts_ms)`` and written by the store
in the same transaction as the contact itself (so a refused batch leaves no history behind).

=====================  ==============================================================
What happened          History row
=====================  ==============================================================
a value is set         ``(value, the write's time, its source)``
a value is cleared     ``("", the write's time, its source)``: clearing is a change too
the same value again   none: only changes are kept, so a sync writing back the value it
                       read does not look like a new edit
seeded / bulk rows     one per value, at the row's ``lastmodifieddate``, ``IMPORT``
=====================  ==============================================================

The three column properties (``hs_object_id``, ``createdate``, ``lastmodifieddate``) are not
stored: their one entry is derived from the contact row (``CALCULATED``).

State files written before this table existed are migrated when the store opens: every value
their contacts hold becomes one ``IMPORT`` entry at the contact's ``lastmodifieddate``
(:func:`history_backfill`), one ``INSERT ... SELECT`` over ``json_each``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.hubspot.schema import COLUMN_PROPERTIES, ms_to_iso

HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS property_history (
    contact_id INTEGER NOT NULL,
    property TEXT NOT NULL,
    value TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    source_type TEXT NOT NULL,
    source_id TEXT
);
CREATE INDEX IF NOT EXISTS property_history_by_contact ON property_history (contact_id, property, ts_ms);
"""

_INSERT = (
    "INSERT INTO property_history (contact_id, property, value, ts_ms, source_type, source_id) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class Source:
    """Who wrote a value: HubSpot's ``sourceType`` and ``sourceId`` (``userId:N`` for a user)."""

    type: str
    id: str | None = None


IMPORT = Source("IMPORT")
CALCULATED = Source("CALCULATED")
CRM_UI = Source("CRM_UI", "userId:1")  # a person editing the contact in HubSpot


def integration(app_id: str) -> Source:
    """A write through the API by the app ``app_id`` (a private app or an OAuth client)."""
    return Source("INTEGRATION", app_id)


def history_record(
    conn: sqlite3.Connection, contact_id: int, changes: Iterable[tuple[str, str]], moment: int, source: Source
) -> None:
    """Append ``(property, value)`` changes of one contact, all at ``moment``."""
    conn.executemany(_INSERT, [(contact_id, name, value, moment, source.type, source.id) for name, value in changes])


def history_record_rows(conn: sqlite3.Connection, *, after_id: int, source: Source = IMPORT) -> None:
    """One entry per value of every contact whose id is above ``after_id``, at its
    ``lastmodifieddate``: the history of rows written directly (``bulk_insert``, old files)."""
    conn.execute(
        "INSERT INTO property_history (contact_id, property, value, ts_ms, source_type, source_id) "
        "SELECT c.id, j.key, j.value, c.updated_ms, ?, ? FROM contact c, json_each(c.props) j "
        "WHERE c.id > ? AND j.value IS NOT NULL AND j.value != ''",
        (source.type, source.id, after_id),
    )


def history_backfill(conn: sqlite3.Connection) -> bool:
    """Give the contacts of a file written before the history existed their current values as
    history; True when it did. A store whose contacts hold values always has history rows, so
    none at all means the file predates the table."""
    if conn.execute("SELECT 1 FROM property_history LIMIT 1").fetchone() is not None:
        return False
    if conn.execute("SELECT 1 FROM contact WHERE props != '{}' LIMIT 1").fetchone() is None:
        return False
    history_record_rows(conn, after_id=0)
    return True


def history_entry(value: str, ts_ms: int, source_type: str, source_id: str | None) -> dict[str, Any]:
    """HubSpot's ``ValueWithTimestamp``."""
    item: dict[str, Any] = {"value": value, "timestamp": ms_to_iso(ts_ms), "sourceType": source_type}
    if source_id:
        item["sourceId"] = source_id
        if source_id.startswith("userId:") and source_id[7:].isdigit():
            item["updatedByUserId"] = int(source_id[7:])
    return item


def history_read(
    conn: sqlite3.Connection, ids: list[int], names: list[str]
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """The stored history of ``names`` for the contacts ``ids``, newest first, by contact."""
    if not ids or not names:
        return {}
    id_marks, name_marks = ",".join("?" * len(ids)), ",".join("?" * len(names))
    rows = conn.execute(
        "SELECT contact_id, property, value, ts_ms, source_type, source_id FROM property_history "  # noqa: S608
        f"WHERE contact_id IN ({id_marks}) AND property IN ({name_marks}) "
        "ORDER BY contact_id, property, ts_ms DESC, rowid DESC",
        (*ids, *names),
    )
    out: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for contact_id, name, value, ts_ms, source_type, source_id in rows:
        out.setdefault(contact_id, {}).setdefault(name, []).append(history_entry(value, ts_ms, source_type, source_id))
    return out


def contact_histories(
    conn: sqlite3.Connection, rows: list[sqlite3.Row], names: Iterable[str]
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """``propertiesWithHistory`` of contact rows, by id: each of ``names`` that ever had a value,
    its values newest first; a column property has the one entry its row implies."""
    wanted = list(dict.fromkeys(names))
    stored = history_read(conn, [r["id"] for r in rows], [n for n in wanted if n not in COLUMN_PROPERTIES])
    for name in (n for n in wanted if n in COLUMN_PROPERTIES):
        for row in rows:
            if name == "lastmodifieddate":
                value, moment = ms_to_iso(row["updated_ms"]), row["updated_ms"]
            else:
                moment = row["created_ms"]
                value = str(row["id"]) if name == "hs_object_id" else ms_to_iso(moment)
            stored.setdefault(row["id"], {})[name] = [history_entry(value, moment, CALCULATED.type, None)]
    return stored
