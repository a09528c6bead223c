"""The usual upsert checked and written a column at a time (the hot path of the sync's pushes).

Usual means JSON in which every record sets the same fields to plain valid values or clears
them (``null``, or ``""`` which Salesforce stores as null too); any other batch goes record by
record (``RecordService.upsert``), and a property test holds the two paths equal. Lookups by Email
and LastModifiedDate use the store's in-memory candidate maps (``lookups``), not indexes, so the
write keeps them current.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.records.plans import ALLOW_DUPLICATE_SAVE
from sandbox.salesforce.records.results import RecordResult
from sandbox.salesforce.schema import SLOW, Field, SObject
from sandbox.salesforce.store import SalesforceStore, format_datetime, quoted, utc_now


def upsert_uniform(
    store: SalesforceStore, sobject: SObject, key_field: Field, records: list[dict[str, Any]]
) -> list[RecordResult] | None:
    """The usual JSON upsert, column by column; ``None`` (nothing done) for any other batch.

    Usual means: every record sets the same fields, each to a plain valid value (one that
    ``clean_record``'s shortcuts pass: ``Field.text_limit`` or ``Field.fast_value``) or to a
    clear of a field that is not required (see ``_text_with_clears``), with distinct
    keys of which none matches more than one record, and nothing that could be refused
    (required fields, unique fields, the duplicate rule). Then nothing can fail, and the
    values are checked and written a column at a time instead of a record at a time. The
    record-by-record path handles everything else; a property test holds the two equal.
    """
    key_name = key_field.name
    shape = records[0].keys()
    if key_name not in shape or not all(map(shape.__eq__, map(dict.keys, records))):
        return None
    text_limits, fast_values = sobject.shortcuts(key_name)
    # A required field cleared is refused (REQUIRED_FIELD_MISSING), record by record.
    required = sobject.required_names
    columns: dict[str, Sequence[Any]] = {}
    keys: Sequence[Any] = ()
    names = tuple(shape)
    # The batch as columns (a transposition in C rather than a loop per record and field).
    getter = itemgetter(*names)
    table = list(zip(*map(getter, records), strict=True)) if len(names) > 1 else [list(map(getter, records))]
    for name, column in zip(names, table, strict=True):
        if name == key_name:
            keys = column
            continue
        if name == "attributes":
            continue
        limit = text_limits.get(name)
        if limit is not None:
            lengths = list(map(len, column)) if set(map(type, column)) == {str} else None
            if not lengths or min(lengths) == 0 or max(lengths) > limit:
                # Off the usual path: clears among plain values, or a batch for the record path.
                fast = fast_values.get(name)
                column = (
                    None if name in required or fast is None else _fast_with_clears(column, fast, sobject.by_name[name])
                )
                if column is None:
                    return None
            columns[name] = column
            continue
        fast = fast_values.get(name)
        if fast is None:
            return None
        stored = list(map(fast, column))
        if SLOW in stored:
            stored = None if name in required else _fast_with_clears(column, fast, sobject.by_name[name])
            if stored is None:
                return None
        columns[name] = stored
    if set(map(type, keys)) != {str} or SLOW in map(key_field.fast_value, keys):  # type: ignore[arg-type]
        return None
    folded = [key.lower() for key in keys]
    if len(set(folded)) != len(folded) or "" in folded:
        return None
    if any(f.unique and f is not key_field for f in map(sobject.by_name.__getitem__, columns)):
        return None
    if "Email" in columns and store.settings().get("duplicate_rule") and not ALLOW_DUPLICATE_SAVE.get():
        return None
    # The stored records these keys name (read from the key's index alone).
    kept_required = [name for name in sobject.required_names if name not in columns and name != key_name]
    select = ", ".join(quoted(c) for c in ["Id", key_name])
    found: dict[str, tuple[Any, ...]] = {}
    cursor = store.read().cursor()
    cursor.row_factory = None
    for start in range(0, len(folded), 500):
        chunk = folded[start : start + 500]
        sql = (
            f'SELECT {select} FROM "{sobject.name}" WHERE {quoted(key_name)} '
            f'IN ({",".join("?" * len(chunk))}) AND "IsDeleted" = 0'
        )
        for row in cursor.execute(sql, chunk):
            folded_key = str(row[1]).lower()
            if folded_key in found:
                return None  # more than one record for a key: refused, record by record
            found[folded_key] = row
    creating = [i for i, key in enumerate(folded) if key not in found]
    defaults = dict(sobject.create_defaults)
    if creating and any(name not in defaults for name in kept_required):
        return None
    now = format_datetime(utc_now())
    results = [RecordResult(None, [], False) for _ in records]
    emailed: list[tuple[str, str]] = []
    new_ids: list[str] = []
    update_ids: list[str] = []

    def rows_of(column: Sequence[Any], indexes: list[int]) -> Sequence[Any]:
        return column if len(indexes) == len(records) else [column[i] for i in indexes]

    with store.write() as conn:
        conn.execute("SAVEPOINT uniform_upsert")
        if len(creating) < len(records):
            updating = [i for i, key in enumerate(folded) if key in found]
            update_ids = [found[folded[i]][0] for i in updating]
            names = list(columns)
            assignments = ", ".join(
                [*(f"{quoted(n)} = ?" for n in names), '"LastModifiedDate" = ?', '"SystemModstamp" = ?']
            )
            values = [rows_of(column, updating) for column in columns.values()]
            # A stored record may lack a required field the batch leaves as it is (one from
            # an older sandbox file), or be a converted Lead (never written again): such a
            # record is not updated here, and then the whole batch goes record by record, which
            # refuses it. The row is read for the UPDATE anyway: the guard costs no lookup.
            guard = "".join(f" AND {quoted(name)} IS NOT NULL" for name in kept_required)
            if sobject.name == "Lead":
                guard += ' AND "IsConverted" = 0'
            updated = conn.executemany(
                f'UPDATE "{sobject.name}" SET {assignments} WHERE "Id" = ?{guard}',
                zip(*values, repeat(now), repeat(now), update_ids),
            ).rowcount
            if updated != len(update_ids):
                conn.execute("ROLLBACK TO uniform_upsert")
                conn.execute("RELEASE uniform_upsert")
                return None
            for i, record_id in zip(updating, update_ids, strict=True):
                results[i].id = record_id
            if "Email" in columns:
                emailed += zip(update_ids, values[names.index("Email")], strict=True)
        if creating:
            first = store.allocate(conn, sobject.name, len(creating))
            prefix, make_id = sobject.key_prefix, ids.make_id
            new_ids = [make_id(prefix, first + n) for n in range(len(creating))]
            # Only the fields given a value: binding a null costs more than binding a value,
            # and a column left out is null (IsDeleted: 0) all the same.
            inserted, values = [], []
            for name in sobject.writable_names:
                column = keys if name == key_name else columns.get(name)
                if column is not None:
                    values.append(rows_of(column, creating))
                elif defaults.get(name) is not None:
                    values.append(repeat(defaults[name]))
                else:
                    continue
                inserted.append(name)
            conn.executemany(
                f'INSERT INTO "{sobject.name}" '
                f"({', '.join(map(quoted, ['Id', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp', *inserted]))}) "
                f"VALUES ({', '.join('?' * (4 + len(inserted)))})",
                zip(new_ids, repeat(now), repeat(now), repeat(now), *values),
            )
            for i, record_id in zip(creating, new_ids, strict=True):
                result = results[i]
                result.id, result.created = record_id, True
            if "Email" in columns:
                emailed += zip(new_ids, rows_of(columns["Email"], creating), strict=True)
        conn.execute("RELEASE uniform_upsert")
        store.lookups.written(conn, sobject.name, now, new_ids + update_ids, emailed)
    return results


def _fast_with_clears(column: Sequence[Any], fast: Callable[[Any], Any], f: Field) -> list[Any] | None:
    """A column of ``Field.fast_value`` values and clears, as stored, or ``None`` when a value needs
    the full validation. ``""`` clears an email, picklist or number as ``values.coerce`` does; for
    a checkbox it is refused (JSON_PARSER_ERROR), so it goes to the record path.

    A JSON ``null`` sets the field to null, and Salesforce stores an empty text value as null
    too: sObject string fields are never empty, only null ("Primitive Data Types", String,
    https://developer.salesforce.com/docs/platform/apex-dev/references/apex-dev/langcon-apex-primitives.html)."""
    blank_clears = f.type != "boolean"
    stored: list[Any] = []
    for value in column:
        if value is None or (blank_clears and value == ""):
            stored.append(None)
            continue
        value = fast(value)
        if value is SLOW:
            return None
        stored.append(value)
    return stored
