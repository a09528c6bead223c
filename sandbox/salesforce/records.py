"""Record writes with Salesforce's validation and per-record results.

Every write path (REST sObject, sObject Collections, Bulk API 2.0) goes through ``RecordService``
so a record refused by one is refused by all, with the same ``errorCode`` and message.
Writes are planned first (validation, key lookups, duplicate checks) and applied in one SQLite
transaction with ``executemany``, which is what keeps 100,000 upserts cheap. On that path a plain
valid value takes a per-field shortcut (``Field.fast_value``, held equal to the full validation
by a property test); an update leaves out the fields it would set to what they already hold.

The usual upsert (JSON, every record setting the same fields to plain valid values) skips the
per-record planning: ``_upsert_uniform`` checks and writes it a column at a time, and hands any
other batch to the record-by-record path (a property test holds the two equal). Lookups by Email
and LastModifiedDate use the store's in-memory candidate maps (``lookups``), not indexes.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps
from itertools import repeat
from operator import itemgetter
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.lookups import CANDIDATES_SQL
from sandbox.salesforce.schema import EMAIL_RE, SLOW, Field, SObject
from sandbox.salesforce.soql import format_datetime
from sandbox.salesforce.store import SalesforceStore, utc_now

# Set per request from ``Sforce-Duplicate-Rule-Header: allowSave=true`` (duplicate rules whose
# action is "Block" let the save through when the caller asks, as in Salesforce).
ALLOW_DUPLICATE_SAVE: ContextVar[bool] = ContextVar("allow_duplicate_save", default=False)

ROLLED_BACK_MESSAGE = "Record rolled back because not all records were valid and the request was using AllOrNone header"


class RequestError(Exception):
    """A whole request is refused (rendered as Salesforce's error list)."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


@dataclass(slots=True)
class RecordError:
    code: str
    message: str
    fields: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def rest(self) -> dict[str, Any]:
        """Shape of a single-record REST error (``errorCode``)."""
        data: dict[str, Any] = {"message": self.message, "errorCode": self.code, "fields": self.fields}
        data.update(self.extra)
        return data

    def collection(self) -> dict[str, Any]:
        """Shape of an error inside a SaveResult (``statusCode``)."""
        data: dict[str, Any] = {"statusCode": self.code, "message": self.message, "fields": self.fields}
        data.update(self.extra)
        return data

    def bulk(self) -> str:
        """Bulk API 2.0's ``sf__Error`` column: ``CODE:message:fields --``."""
        return f"{self.code}:{self.message}:{','.join(self.fields)} --"


@dataclass(slots=True)
class RecordResult:
    id: str | None
    errors: list[RecordError] = field(default_factory=list)
    created: bool | None = None

    @property
    def success(self) -> bool:
        return not self.errors

    def save_result(self, *, with_created: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "success": self.success,
            "errors": [error.collection() for error in self.errors],
        }
        if with_created:
            data["created"] = bool(self.created) if self.success else False
        return data


def save_results_json(results: list[RecordResult], *, with_created: bool = False) -> bytes:
    """``[r.save_result() ...]`` as compact JSON, byte for byte, without ``json.dumps`` for the
    common success (an id is alphanumeric, so it needs no escaping)."""
    ids = [result.id for result in results]
    joined = "".join(ids) if all(type(i) is str for i in ids) else ""
    if ids and joined.isascii() and joined.isalnum() and not any(result.errors for result in results):
        # Every record saved, the usual answer: one join rather than a format per record.
        flags = {bool(result.created) for result in results} if with_created else {False}
        if len(flags) == 1:
            tail = (',"created":true}' if True in flags else ',"created":false}') if with_created else "}"
            item = '","success":true,"errors":[]' + tail
            return ('[{"id":"' + (item + ',{"id":"').join(ids) + item + "]").encode()
    ok = (
        '{"id":"%s","success":true,"errors":[],"created":%s}'
        if with_created
        else '{"id":"%s","success":true,"errors":[]}'
    )
    parts = []
    for result in results:
        record_id = result.id
        if not result.errors and type(record_id) is str and record_id.isascii() and record_id.isalnum():
            if with_created:
                parts.append(ok % (record_id, "true" if result.created else "false"))
            else:
                parts.append(ok % record_id)
        else:
            parts.append(json.dumps(result.save_result(with_created=with_created), separators=(",", ":")))
    return ("[" + ",".join(parts) + "]").encode()


@dataclass(slots=True)
class _Plan:
    index: int
    action: str  # insert | update
    record_id: str | None
    values: dict[str, Any]
    created: bool
    # The stored values of an update's fields, when known: a field set to what it already holds
    # is left out of the UPDATE (same row afterwards, fewer index entries rewritten).
    stored: dict[str, Any] | None = None


_NO_LIMITS: dict[str, int] = {}


def _quote(name: str) -> str:
    return '"' + name + '"'


def _label(f: Field) -> str:
    return f.label


def coerce(f: Field, value: Any, *, from_csv: bool) -> tuple[Any, RecordError | None]:
    """A value as stored, or the error Salesforce gives for it."""
    if value is None:
        return None, None
    if f.type == "int":
        if isinstance(value, bool):
            return None, _type_error(f, value, from_csv)
        if isinstance(value, int):
            return value, None
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if isinstance(value, str):
            text = value.strip()
            if text == "":
                return None, None
            try:
                number = float(text)
            except ValueError:
                return None, _type_error(f, value, from_csv)
            if number.is_integer():
                return int(number), None
        return None, _type_error(f, value, from_csv)
    if f.type == "boolean":
        if isinstance(value, bool):
            return int(value), None
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return int(value.lower() == "true"), None
        return None, _type_error(f, value, from_csv)
    if isinstance(value, (dict, list)):
        return None, _type_error(f, value, from_csv)
    text = value if isinstance(value, str) else (str(value).lower() if isinstance(value, bool) else str(value))
    # Salesforce stores a blank text value as null.
    return (text if text != "" else None), None


def _type_error(f: Field, value: Any, from_csv: bool) -> RecordError:
    if from_csv:
        return RecordError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{_label(f)}: value not of required type: {value}", [f.name]
        )
    kind = {"int": "int", "boolean": "boolean"}.get(f.type, "String")
    raise RequestError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from VALUE_STRING value {value} or request may be missing "
        "a required field",
    )


def check_value(f: Field, value: Any) -> RecordError | None:
    if value is None:
        return None
    if isinstance(value, str):
        if f.length and len(value) > f.length:
            return RecordError(
                "STRING_TOO_LONG",
                f"{_label(f)}: data value too large: {value[:200]} (max length={f.length})",
                [f.name],
            )
        if f.type == "email" and not EMAIL_RE.match(value):
            return RecordError("INVALID_EMAIL_ADDRESS", f"{_label(f)}: invalid email address: {value}", [f.name])
        if f.type == "picklist" and f.restricted_picklist and value not in f.picklist_values:
            return RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{_label(f)}: bad value for restricted picklist field: {value}",
                [f.name],
            )
        if f.type == "reference" and ids.normalize(value) is None:
            return RecordError("MALFORMED_ID", f"{_label(f)}: id value of incorrect type: {value}", [f.name])
    if f.type == "int" and isinstance(value, int) and f.digits and abs(value) >= 10**f.digits:
        return RecordError(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{_label(f)}: value outside of valid range on numeric field: {value}",
            [f.name],
        )
    return None


def row_to_record(sobject: SObject, row: Any, version: str, fields: list[Field] | None = None) -> dict[str, Any]:
    """A stored row in Salesforce's JSON shape (``attributes`` first, then the fields)."""
    data: dict[str, Any] = {
        "attributes": {"type": sobject.name, "url": f"/services/data/v{version}/sobjects/{sobject.name}/{row['Id']}"}
    }
    for f in fields if fields is not None else sobject.fields:
        value = row[f.name]
        if f.type == "boolean":
            value = bool(value)
        data[f.name] = value
    return data


def _serialized(method: Callable[..., list[RecordResult]]) -> Callable[..., list[RecordResult]]:
    """Plan and write in one transaction: two concurrent upserts of one new key must not both
    plan an insert (the second would hit the unique index instead of updating)."""

    @wraps(method)
    def run(self: RecordService, *args: Any, **kwargs: Any) -> list[RecordResult]:
        with self.store.write():
            return method(self, *args, **kwargs)

    return run


class RecordService:
    def __init__(self, store: SalesforceStore) -> None:
        self.store = store

    # -- reads ------------------------------------------------------------------------------

    def get(self, sobject: SObject, record_id: str, *, include_deleted: bool = False) -> Any | None:
        sql = f'SELECT * FROM "{sobject.name}" WHERE "Id" = ?'
        if not include_deleted:
            sql += ' AND "IsDeleted" = 0'
        return self.store.read().execute(sql, (record_id,)).fetchone()

    def find_by(self, sobject: SObject, f: Field, value: str) -> list[Any]:
        conn = self.store.read()
        sql = f'SELECT * FROM "{sobject.name}" WHERE "{f.name}" = ? AND "IsDeleted" = 0'
        params: list[Any] = [value]
        if f.name == "Email":
            sql += f" AND {CANDIDATES_SQL}"
            params.append(self.store.lookups.email_param(conn, sobject.name, [value]))
        return conn.execute(sql + ' ORDER BY "Id"', params).fetchall()

    def rows_by_ids(self, sobject: SObject, record_ids: list[str]) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        conn = self.store.read()
        for start in range(0, len(record_ids), 500):
            chunk = record_ids[start : start + 500]
            sql = f'SELECT * FROM "{sobject.name}" WHERE "Id" IN ({",".join("?" * len(chunk))})'
            for row in conn.execute(sql, chunk):
                rows[row["Id"]] = row
        return rows

    # -- validation -------------------------------------------------------------------------

    def _clean(
        self, sobject: SObject, data: dict[str, Any], *, creating: bool, from_csv: bool, key_field: Field | None = None
    ) -> tuple[dict[str, Any], list[RecordError]]:
        values: dict[str, Any] = {}
        errors: list[RecordError] = []
        text_limits, fast_values = sobject.shortcuts(key_field.name if key_field is not None else None)
        if from_csv:
            text_limits = _NO_LIMITS  # "#N/A" is not text there
        for key, raw in data.items():
            # The hot path of bulk writes: a plain valid value of a writable field, as the full
            # validation below would store it (everything else falls through to it).
            limit = text_limits.get(key)
            if limit is not None and type(raw) is str and raw and len(raw) <= limit:
                values[key] = raw
                continue
            fast = fast_values.get(key)
            if fast is not None and not (from_csv and raw == "#N/A"):
                value = fast(raw)
                if value is not SLOW:
                    values[key] = value
                    continue
            elif key == "attributes":
                continue
            f = sobject.by_name.get(key)
            if f is None:
                f = sobject.field(key)
            if f is None:
                errors.append(RecordError("INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}"))
                continue
            if f.name == "Id" or f is key_field:
                continue
            if (creating and not f.createable) or (not creating and not f.updateable):
                errors.append(
                    RecordError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        f"Unable to create/update fields: {f.name}. Please check the security settings of this field "
                        "and verify that it is read/write for your profile or permission set.",
                        [f.name],
                    )
                )
                continue
            if from_csv and raw == "#N/A":
                raw = None  # Bulk API: #N/A sets a field to null; an empty cell leaves it unchanged.
            elif from_csv and raw == "":
                continue
            if isinstance(raw, str) and f.is_text and raw:
                value, error = raw, None  # the common case, without the generic coercion
            else:
                value, error = coerce(f, raw, from_csv=from_csv)
            if error is None:
                error = check_value(f, value)
            if error is not None:
                errors.append(error)
                continue
            values[f.name] = value
        return values, errors

    @staticmethod
    def _missing_required(sobject: SObject, merged: dict[str, Any], row: Any = None) -> RecordError | None:
        """Required fields null after the write (``merged`` values over the stored ``row``)."""
        for name in sobject.required_names:
            if (merged[name] if name in merged else (row[name] if row is not None else None)) is None:
                break
        else:
            return None  # the common case, without building the list
        missing = [
            name
            for name in sobject.required_names
            if (merged[name] if name in merged else (row[name] if row is not None else None)) is None
        ]
        return RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)

    # -- writes -----------------------------------------------------------------------------

    @_serialized
    def create(
        self,
        sobject: SObject,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
        from_csv: bool = False,
        dry_run: bool = False,
    ) -> list[RecordResult]:
        plans: list[_Plan | list[RecordError]] = []
        for index, data in enumerate(records):
            values, errors = self._clean(sobject, data, creating=True, from_csv=from_csv)
            if not errors:
                merged = self._with_defaults(sobject, values)
                missing = self._missing_required(sobject, merged)
                if missing:
                    errors.append(missing)
                else:
                    plans.append(_Plan(index, "insert", None, merged, True))
                    continue
            plans.append(errors)
        return self._apply(sobject, plans, all_or_none=all_or_none, dry_run=dry_run)

    @_serialized
    def update(
        self,
        sobject: SObject,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
        from_csv: bool = False,
        dry_run: bool = False,
    ) -> list[RecordResult]:
        raw_ids = []
        for data in records:
            raw = next((v for k, v in data.items() if k.lower() == "id"), None)
            raw_ids.append(raw)
        normalized = [ids.normalize(raw) if isinstance(raw, str) else None for raw in raw_ids]
        existing = self.rows_by_ids(sobject, [i for i in normalized if i])
        plans: list[_Plan | list[RecordError]] = []
        seen: set[str] = set()
        for index, data in enumerate(records):
            raw, record_id = raw_ids[index], normalized[index]
            if raw in (None, ""):
                plans.append([RecordError("MISSING_ARGUMENT", "Id not specified in an update call")])
                continue
            if record_id is None or record_id[:3] != sobject.key_prefix:
                plans.append(
                    [RecordError("MALFORMED_ID", f"{sobject.name} ID: id value of incorrect type: {raw}", ["Id"])]
                )
                continue
            row = existing.get(record_id)
            if row is None or row["IsDeleted"]:
                code = "ENTITY_IS_DELETED" if row is not None else "INVALID_CROSS_REFERENCE_KEY"
                message = "entity is deleted" if row is not None else "invalid cross reference id"
                plans.append([RecordError(code, message)])
                continue
            if record_id in seen:
                plans.append([RecordError("DUPLICATE_VALUE", f"Duplicate id in list: {record_id}")])
                continue
            seen.add(record_id)
            values, errors = self._clean(sobject, data, creating=False, from_csv=from_csv)
            if not errors:
                missing = self._missing_required(sobject, values, row)
                if missing:
                    errors.append(missing)
                else:
                    plans.append(_Plan(index, "update", record_id, values, False))
                    continue
            plans.append(errors)
        return self._apply(sobject, plans, all_or_none=all_or_none, dry_run=dry_run)

    @_serialized
    def upsert(
        self,
        sobject: SObject,
        key_field: Field,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
        from_csv: bool = False,
        dry_run: bool = False,
    ) -> list[RecordResult]:
        """Upsert by an external-id (or idLookup) field; ``Id`` means insert-or-update by id."""
        if key_field.name == "Id":
            return self._upsert_by_id(sobject, records, all_or_none=all_or_none, from_csv=from_csv, dry_run=dry_run)
        if not from_csv and not dry_run and key_field.name != "Email" and records:
            uniform = self._upsert_uniform(sobject, key_field, records)
            if uniform is not None:
                return uniform
        key_name = key_field.name
        lowered = key_name.lower()
        keys: list[str | None] = []
        for data in records:
            raw = data.get(key_name)
            if raw is None:
                raw = next((v for k, v in data.items() if k.lower() == lowered), None)
            keys.append(None if raw in (None, "") else str(raw))
        folded = [key.lower() if key else None for key in keys]
        matches: dict[str, list[Any]] = defaultdict(list)
        wanted = sorted({k for k in folded if k})
        conn = self.store.read()
        # Only what the plan needs: the id, the key, the required fields to re-check and the
        # fields the records set (to leave unchanged ones out of the UPDATE).
        sent = {f.name for f in map(sobject.field, set().union(*records)) if f is not None and f.updateable}
        names = list(dict.fromkeys(["Id", key_name, *sobject.required_names, *sorted(sent)]))
        columns = ", ".join(_quote(c) for c in names)
        cursor = conn.cursor()
        cursor.row_factory = None
        for start in range(0, len(wanted), 500):
            chunk: list[Any] = wanted[start : start + 500]
            sql = f'SELECT {columns} FROM "{sobject.name}" WHERE "{key_name}" IN ({",".join("?" * len(chunk))}) '
            if key_name == "Email":
                sql += f"AND {CANDIDATES_SQL} "
                chunk = [*chunk, self.store.lookups.email_param(conn, sobject.name, chunk)]
            for stored in cursor.execute(sql + 'AND "IsDeleted" = 0 ORDER BY "Id"', chunk):
                row = dict(zip(names, stored, strict=True))
                matches[str(row[key_name]).lower()].append(row)
        counts = Counter(k for k in folded if k)
        clean, missing_required, with_defaults = self._clean, self._missing_required, self._with_defaults
        key_fast = key_field.fast_value
        plans: list[_Plan | list[RecordError]] = []
        for index, data in enumerate(records):
            key = keys[index]
            if key is None:
                plans.append([RecordError("MISSING_ARGUMENT", f"{key_name} not specified")])
                continue
            folded_key = folded[index]
            if counts[folded_key] > 1:
                plans.append(
                    [RecordError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {key}", [key_name])]
                )
                continue
            found = matches.get(folded_key)
            if found is not None and len(found) > 1:
                plans.append(
                    [
                        RecordError(
                            "DUPLICATE_EXTERNAL_ID",
                            f"{key_field.label}: more than one record found for external id field: "
                            f"[{', '.join(row['Id'] for row in found)}]",
                            [key_name],
                            {"matches": [row["Id"] for row in found]},
                        )
                    ]
                )
                continue
            creating = not found
            values, errors = clean(sobject, data, creating=creating, from_csv=from_csv, key_field=key_field)
            if not errors:
                if creating:
                    merged = with_defaults(sobject, values)
                    merged[key_name] = key
                    error = check_value(key_field, key) if key_fast is None or key_fast(key) is SLOW else None
                    if error is None:
                        error = missing_required(sobject, merged)
                    if error is None:
                        plans.append(_Plan(index, "insert", None, merged, True))
                        continue
                    errors.append(error)
                else:
                    row = found[0]  # type: ignore[index]
                    error = missing_required(sobject, values, row)
                    if error is None:
                        plans.append(_Plan(index, "update", row["Id"], values, False, row))
                        continue
                    errors.append(error)
            plans.append(errors)
        return self._apply(sobject, plans, all_or_none=all_or_none, key_field=key_field, dry_run=dry_run)

    def _upsert_uniform(
        self, sobject: SObject, key_field: Field, records: list[dict[str, Any]]
    ) -> list[RecordResult] | None:
        """The usual JSON upsert, column by column; ``None`` (nothing done) for any other batch.

        Usual means: every record sets the same fields, each to a plain valid value (one that
        ``_clean``'s shortcuts pass: ``Field.text_limit`` or ``Field.fast_value``), with distinct
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
                    return None
                columns[name] = column
                continue
            fast = fast_values.get(name)
            if fast is None:
                return None
            column = list(map(fast, column))
            if SLOW in column:
                return None
            columns[name] = column
        if set(map(type, keys)) != {str} or SLOW in map(key_field.fast_value, keys):  # type: ignore[arg-type]
            return None
        folded = [key.lower() for key in keys]
        if len(set(folded)) != len(folded) or "" in folded:
            return None
        if any(f.unique and f is not key_field for f in map(sobject.by_name.__getitem__, columns)):
            return None
        if "Email" in columns and self.store.settings().get("duplicate_rule") and not ALLOW_DUPLICATE_SAVE.get():
            return None
        # The stored records these keys name (read from the key's index alone).
        kept_required = [name for name in sobject.required_names if name not in columns and name != key_name]
        select = ", ".join(_quote(c) for c in ["Id", key_name])
        found: dict[str, tuple[Any, ...]] = {}
        cursor = self.store.read().cursor()
        cursor.row_factory = None
        for start in range(0, len(folded), 500):
            chunk = folded[start : start + 500]
            sql = (
                f'SELECT {select} FROM "{sobject.name}" WHERE {_quote(key_name)} '
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

        with self.store.write() as conn:
            conn.execute("SAVEPOINT uniform_upsert")
            if len(creating) < len(records):
                updating = [i for i, key in enumerate(folded) if key in found]
                update_ids = [found[folded[i]][0] for i in updating]
                names = list(columns)
                assignments = ", ".join(
                    [*(f"{_quote(n)} = ?" for n in names), '"LastModifiedDate" = ?', '"SystemModstamp" = ?']
                )
                values = [rows_of(column, updating) for column in columns.values()]
                # A stored record may lack a required field the batch leaves as it is (one from
                # an older sandbox file): such a record is not updated here, and then the whole
                # batch goes record by record, which refuses it.
                guard = "".join(f" AND {_quote(name)} IS NOT NULL" for name in kept_required)
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
                first = self.store.allocate(conn, sobject.name, len(creating))
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
                    f"({', '.join(map(_quote, ['Id', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp', *inserted]))}) "
                    f"VALUES ({', '.join('?' * (4 + len(inserted)))})",
                    zip(new_ids, repeat(now), repeat(now), repeat(now), *values),
                )
                for i, record_id in zip(creating, new_ids, strict=True):
                    result = results[i]
                    result.id, result.created = record_id, True
                if "Email" in columns:
                    emailed += zip(new_ids, rows_of(columns["Email"], creating), strict=True)
            conn.execute("RELEASE uniform_upsert")
            self.store.lookups.written(conn, sobject.name, now, new_ids + update_ids, emailed)
        return results

    def _upsert_by_id(
        self, sobject: SObject, records: list[dict[str, Any]], *, all_or_none: bool, from_csv: bool, dry_run: bool
    ) -> list[RecordResult]:
        """Records with an Id are updated, the others created (one all-or-none over both)."""
        with_id = [i for i, r in enumerate(records) if any(k.lower() == "id" and v for k, v in r.items())]
        with_id_set = set(with_id)
        without = [i for i in range(len(records)) if i not in with_id_set]
        if all_or_none and not dry_run:
            checked = self._upsert_by_id(sobject, records, all_or_none=True, from_csv=from_csv, dry_run=True)
            if not all(r.success for r in checked):
                return checked
        updated = self.update(sobject, [records[i] for i in with_id], from_csv=from_csv, dry_run=dry_run)
        created = self.create(sobject, [records[i] for i in without], from_csv=from_csv, dry_run=dry_run)
        results: list[RecordResult] = [RecordResult(None)] * len(records)
        for position, i in enumerate(with_id):
            results[i] = updated[position]
            results[i].created = False
        for position, i in enumerate(without):
            results[i] = created[position]
            results[i].created = True
        if all_or_none and not all(r.success for r in results):
            return self.roll_back_all(results)
        return results

    @staticmethod
    def _with_defaults(sobject: SObject, values: dict[str, Any]) -> dict[str, Any]:
        merged = dict(values)
        for name, default in sobject.create_defaults:
            if name not in merged:
                merged[name] = default
        return merged

    @staticmethod
    def roll_back_all(results: list[RecordResult]) -> list[RecordResult]:
        rolled = []
        for result in results:
            if result.success:
                rolled.append(
                    RecordResult(None, [RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK_MESSAGE)])
                )
            else:
                rolled.append(RecordResult(None, result.errors, result.created))
        return rolled

    def _duplicate_checks(
        self,
        sobject: SObject,
        plans: list[_Plan],
        errors_by_index: dict[int, list[RecordError]],
        key_field: Field | None = None,
    ) -> None:
        """Unique fields and (when switched on) the standard duplicate rule on Email."""
        conn = self.store.read()
        # The upsert key was matched already (one record per value, duplicates in the call refused).
        unique_fields = [f for f in sobject.fields if f.unique and f is not key_field]
        for f in unique_fields:
            claimed: dict[str, int] = {}
            values = {str(p.values[f.name]).lower() for p in plans if p.values.get(f.name) is not None}
            if not values:
                continue
            owners: dict[str, str] = {}
            wanted = sorted(values)
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                sql = (
                    f'SELECT "Id", "{f.name}" FROM "{sobject.name}" WHERE "{f.name}" IN ({",".join("?" * len(chunk))}) '
                    'AND "IsDeleted" = 0'
                )
                for row in conn.execute(sql, chunk):
                    owners[str(row[f.name]).lower()] = row["Id"]
            for plan in plans:
                value = plan.values.get(f.name)
                if value is None or plan.index in errors_by_index:
                    continue
                lowered = str(value).lower()
                owner = owners.get(lowered)
                if (owner is not None and owner != plan.record_id) or lowered in claimed:
                    other = owner if owner is not None and owner != plan.record_id else "in this batch"
                    errors_by_index[plan.index] = [
                        RecordError(
                            "DUPLICATE_VALUE",
                            f"duplicate value found: {f.name} duplicates value on record with id: {other}",
                            [],
                        )
                    ]
                    continue
                claimed[lowered] = plan.index
        if not self.store.settings().get("duplicate_rule") or ALLOW_DUPLICATE_SAVE.get():
            return
        emails = sorted({str(p.values["Email"]).lower() for p in plans if p.values.get("Email")})
        owners_by_email: dict[str, list[str]] = defaultdict(list)
        for start in range(0, len(emails), 500):
            chunk: list[Any] = emails[start : start + 500]
            sql = (
                f'SELECT "Id", "Email" FROM "{sobject.name}" WHERE "Email" IN ({",".join("?" * len(chunk))}) '
                f'AND "IsDeleted" = 0 AND {CANDIDATES_SQL}'
            )
            for row in conn.execute(sql, [*chunk, self.store.lookups.email_param(conn, sobject.name, chunk)]):
                owners_by_email[str(row["Email"]).lower()].append(row["Id"])
        for plan in plans:
            email = plan.values.get("Email")
            if not email or plan.index in errors_by_index:
                continue
            others = [i for i in owners_by_email.get(str(email).lower(), []) if i != plan.record_id]
            if others:
                errors_by_index[plan.index] = [_duplicates_detected(sobject, others)]

    def _apply(
        self,
        sobject: SObject,
        plans: list[_Plan | list[RecordError]],
        *,
        all_or_none: bool,
        key_field: Field | None = None,
        dry_run: bool = False,
    ) -> list[RecordResult]:
        """Check the plans (unique values, duplicate rule) and write the valid ones, unless
        ``dry_run`` (used to validate several groups before an all-or-none write)."""
        valid: list[_Plan] = []
        errors_by_index: dict[int, list[RecordError]] = {}
        for index, plan in enumerate(plans):
            if type(plan) is _Plan:
                valid.append(plan)
            else:
                errors_by_index[index] = plan  # type: ignore[assignment]
        if valid:
            self._duplicate_checks(sobject, valid, errors_by_index, key_field)
        results = [
            RecordResult(None, errors_by_index[index], False)
            if index in errors_by_index
            else RecordResult(plan.record_id, [], plan.created)  # type: ignore[union-attr]
            for index, plan in enumerate(plans)
        ]
        if all_or_none and errors_by_index:
            return self.roll_back_all(results)
        to_write = [p for p in valid if p.index not in errors_by_index and not dry_run]
        if to_write:
            self._write(sobject, to_write, results)
        return results

    def _write(self, sobject: SObject, plans: list[_Plan], results: list[RecordResult]) -> None:
        now = format_datetime(utc_now())
        inserts = [p for p in plans if p.action == "insert"]
        updates = [p for p in plans if p.action == "update"]
        writable = sobject.writable_names
        columns = ["Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", *writable]
        insert_sql = (
            f'INSERT INTO "{sobject.name}" ({", ".join(_quote(c) for c in columns)}) '
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        with self.store.write() as conn:
            if inserts:
                first = self.store.allocate(conn, sobject.name, len(inserts))
                prefix, make_id = sobject.key_prefix, ids.make_id
                rows = []
                for offset, plan in enumerate(inserts):
                    record_id = make_id(prefix, first + offset)
                    plan.record_id = record_id
                    results[plan.index].id = record_id
                    rows.append([record_id, 0, now, now, now, *map(plan.values.get, writable)])
                conn.executemany(insert_sql, rows)
            # For the maps of ``lookups``, which stand in for indexes on Email and LastModifiedDate.
            emailed = [(p.record_id, email) for p in inserts if (email := p.values.get("Email")) is not None]
            groups: dict[tuple[str, ...], list[_Plan]] = defaultdict(list)
            for plan in updates:
                stored = plan.stored
                if stored is None:
                    groups[tuple(sorted(plan.values))].append(plan)
                    continue
                changed = [
                    name
                    for name, value in plan.values.items()
                    if name not in stored or type(old := stored[name]) is not type(value) or old != value
                ]
                groups[tuple(sorted(changed))].append(plan)
            for names, group in groups.items():
                assignments = ", ".join(
                    [*(f'"{name}" = ?' for name in names), '"LastModifiedDate" = ?', '"SystemModstamp" = ?']
                )
                sql = f'UPDATE "{sobject.name}" SET {assignments} WHERE "Id" = ?'
                conn.executemany(sql, [[*map(p.values.__getitem__, names), now, now, p.record_id] for p in group])
                if "Email" in names:
                    emailed += [(p.record_id, email) for p in group if (email := p.values["Email"]) is not None]
            self.store.lookups.written(
                conn,
                sobject.name,
                now,
                [p.record_id for p in plans],
                emailed,  # type: ignore[misc]
            )

    @_serialized
    def delete(self, sobject: SObject, record_ids: list[str], *, dry_run: bool = False) -> list[RecordResult]:
        """Soft delete (to the recycle bin: ``IsDeleted``, still visible to ``queryAll``)."""
        results: list[RecordResult] = []
        normalized = [ids.normalize(i) for i in record_ids]
        existing = self.rows_by_ids(sobject, [i for i in normalized if i])
        to_delete: list[str] = []
        for raw, record_id in zip(record_ids, normalized, strict=True):
            if record_id is None or record_id[:3] != sobject.key_prefix:
                results.append(RecordResult(None, [RecordError("MALFORMED_ID", f"malformed id {raw}")]))
                continue
            row = existing.get(record_id)
            if row is None:
                results.append(
                    RecordResult(None, [RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")])
                )
            elif row["IsDeleted"]:
                results.append(RecordResult(None, [RecordError("ENTITY_IS_DELETED", "entity is deleted")]))
            else:
                to_delete.append(record_id)
                results.append(RecordResult(record_id))
        if to_delete and not dry_run:
            now = format_datetime(utc_now())
            with self.store.write() as conn:
                conn.executemany(
                    f'UPDATE "{sobject.name}" SET "IsDeleted" = 1, "SystemModstamp" = ? WHERE "Id" = ?',
                    [(now, record_id) for record_id in to_delete],
                )
        return results


def _duplicates_detected(sobject: SObject, matches: list[str]) -> RecordError:
    rule = f"Standard_{sobject.name}_Duplicate_Rule"
    return RecordError(
        "DUPLICATES_DETECTED",
        "Use one of these records?",
        [],
        {
            "duplicateResult": {
                "allowSave": False,
                "duplicateRule": rule,
                "duplicateRuleEntityType": sobject.name,
                "errorMessage": None,
                "matchResults": [
                    {
                        "entityType": sobject.name,
                        "errors": [],
                        "matchEngine": "ExactMatchEngine",
                        "matchRecords": [
                            {
                                "additionalInformation": [],
                                "fieldDiffs": [],
                                "matchConfidence": 100.0,
                                "record": {
                                    "attributes": {
                                        "type": sobject.name,
                                        "url": f"/services/data/v59.0/sobjects/{sobject.name}/{record_id}",
                                    },
                                    "Id": record_id,
                                },
                            }
                            for record_id in matches
                        ],
                        "rule": f"Standard_{sobject.name}_Match_Rule_v1_0",
                        "size": len(matches),
                        "success": True,
                    }
                ],
            }
        },
    )
