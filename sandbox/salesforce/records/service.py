"""``RecordService``: every record write (REST sObject, sObject Collections, Bulk API 2.0) and
the reads the handlers share.

A record refused by one write path is refused by all, with the same ``errorCode`` and message.
Writes are planned first (``values.clean_record``, key lookups), then checked and applied in one
SQLite transaction (``plans.apply_plans``); the usual upsert skips the planning and goes a column
at a time (``uniform.upsert_uniform``). In the same transaction, the Leads written then go through
the assignment rule the call asks for (``assignment``). A converted Lead is never written again
(``CANNOT_UPDATE_CONVERTED_LEAD``), and objects the API only reads (User, AssignmentRule) refuse
every write.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from functools import wraps
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.assignment import AUTO_ASSIGN, assign_leads
from sandbox.salesforce.lookups import CANDIDATES_SQL
from sandbox.salesforce.records.plans import Plan, apply_plans
from sandbox.salesforce.records.results import RecordError, RecordResult, roll_back_all
from sandbox.salesforce.records.uniform import upsert_uniform
from sandbox.salesforce.records.values import (
    NULL_CELL,
    check_value,
    clean_record,
    missing_required,
    with_defaults,
)
from sandbox.salesforce.schema import SLOW, Field, SObject
from sandbox.salesforce.store import SalesforceStore, format_datetime, quoted, utc_now


def _serialized(method: Callable[..., list[RecordResult]]) -> Callable[..., list[RecordResult]]:
    """Plan and write in one transaction: two concurrent upserts of one new key must not both
    plan an insert (the second would hit the unique index instead of updating)."""

    @wraps(method)
    def run(self: RecordService, *args: Any, **kwargs: Any) -> list[RecordResult]:
        with self.store.write():
            return method(self, *args, **kwargs)

    return run


def _saving(method: Callable[..., list[RecordResult]]) -> Callable[..., list[RecordResult]]:
    """A create, update or upsert, in one transaction (``_serialized``); then, in it, the Leads
    it saved go through the assignment rule the call asks for (``AUTO_ASSIGN``)."""

    @wraps(method)
    def run(self: RecordService, sobject: SObject, *args: Any, **kwargs: Any) -> list[RecordResult]:
        with self.store.write():
            results = method(self, sobject, *args, **kwargs)
            if sobject.name == "Lead" and not kwargs.get("dry_run"):
                assignment = AUTO_ASSIGN.get()
                if assignment is not None:
                    records = kwargs["records"] if "records" in kwargs else args[-1]  # after key_field, if any
                    assign_leads(self.store, assignment, results, records, from_csv=kwargs.get("from_csv", False))
            return results

    return run


def _read_only(sobject: SObject, count: int, verb: str) -> list[RecordResult]:
    """Every record of a write to an object the API only reads, refused."""
    error = RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {sobject.label}")
    return [RecordResult(None, [error]) for _ in range(count)]


def _converted() -> RecordError:
    """A converted Lead takes no write ("CANNOT_UPDATE_CONVERTED_LEAD"; only reads reference it)."""
    return RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])


def _complete(sobject: SObject, plan: Plan, row: Any = None) -> Plan | list[RecordError]:
    """``plan``, or the error naming the required fields it would leave null (over the stored ``row``)."""
    missing = missing_required(sobject, plan.values, row)
    return plan if missing is None else [missing]


def _gone(row: Any) -> RecordError | None:
    """Why the record read by id as ``row`` (deleted ones included) cannot be written, if it cannot."""
    if row is None:
        return RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    if row["IsDeleted"]:
        return RecordError("ENTITY_IS_DELETED", "entity is deleted")
    return None


def _unwritable(sobject: SObject, row: Any) -> RecordError | None:
    """Why the stored ``row`` cannot be updated (gone, or a converted Lead), if it cannot."""
    gone = _gone(row)
    if gone is None and sobject.name == "Lead" and row["IsConverted"]:
        return _converted()
    return gone


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

    # -- writes -----------------------------------------------------------------------------

    @_saving
    def create(
        self,
        sobject: SObject,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
        from_csv: bool = False,
        dry_run: bool = False,
    ) -> list[RecordResult]:
        return self._create(sobject, records, all_or_none=all_or_none, from_csv=from_csv, dry_run=dry_run)

    def _create(
        self, sobject: SObject, records: list[dict[str, Any]], *, all_or_none: bool, from_csv: bool, dry_run: bool
    ) -> list[RecordResult]:
        if not sobject.createable:
            return _read_only(sobject, len(records), "inserted")
        plans: list[Plan | list[RecordError]] = []
        for index, data in enumerate(records):
            values, errors = clean_record(sobject, data, creating=True, from_csv=from_csv)
            plans.append(
                errors or _complete(sobject, Plan(index, "insert", None, with_defaults(sobject, values), True))
            )
        return apply_plans(self.store, sobject, plans, all_or_none=all_or_none, dry_run=dry_run)

    @_saving
    def update(
        self,
        sobject: SObject,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
        from_csv: bool = False,
        dry_run: bool = False,
    ) -> list[RecordResult]:
        return self._update(sobject, records, all_or_none=all_or_none, from_csv=from_csv, dry_run=dry_run)

    def _update(
        self, sobject: SObject, records: list[dict[str, Any]], *, all_or_none: bool, from_csv: bool, dry_run: bool
    ) -> list[RecordResult]:
        if not sobject.updateable:
            return _read_only(sobject, len(records), "updated")
        raw_ids = []
        for data in records:
            raw = next((v for k, v in data.items() if k.lower() == "id"), None)
            raw_ids.append(None if from_csv and raw == NULL_CELL else raw)
        normalized = [ids.normalize(raw) if isinstance(raw, str) else None for raw in raw_ids]
        existing = self.rows_by_ids(sobject, [i for i in normalized if i])
        plans: list[Plan | list[RecordError]] = []
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
            refused = _unwritable(sobject, row)
            if refused is not None:
                plans.append([refused])
                continue
            if record_id in seen:
                plans.append([RecordError("DUPLICATE_VALUE", f"Duplicate id in list: {record_id}")])
                continue
            seen.add(record_id)
            values, errors = clean_record(sobject, data, creating=False, from_csv=from_csv)
            plans.append(errors or _complete(sobject, Plan(index, "update", record_id, values, False), row))
        return apply_plans(self.store, sobject, plans, all_or_none=all_or_none, dry_run=dry_run)

    @_saving
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
        if not (sobject.createable and sobject.updateable):
            return _read_only(sobject, len(records), "upserted")
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
            # A Bulk API "#N/A" key is a null one: nothing to match or create on.
            keys.append(None if raw in (None, "") or (from_csv and raw == NULL_CELL) else str(raw))
        folded = [key.lower() if key else None for key in keys]
        matches: dict[str, list[Any]] = defaultdict(list)
        wanted = sorted({k for k in folded if k})
        conn = self.store.read()
        # Only what the plan needs: the id, the key, the required fields to re-check and the
        # fields the records set (to leave unchanged ones out of the UPDATE).
        sent = {f.name for f in map(sobject.field, set().union(*records)) if f is not None and f.updateable}
        converts = ["IsConverted"] if sobject.name == "Lead" else []
        names = list(dict.fromkeys(["Id", key_name, *converts, *sobject.required_names, *sorted(sent)]))
        columns = ", ".join(quoted(c) for c in names)
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
        key_fast = key_field.fast_value
        plans: list[Plan | list[RecordError]] = []
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
            if found and converts and found[0]["IsConverted"]:
                plans.append([_converted()])
                continue
            creating = not found
            values, errors = clean_record(sobject, data, creating=creating, from_csv=from_csv, key_field=key_field)
            if errors:
                plans.append(errors)
            elif creating:
                merged = with_defaults(sobject, values)
                merged[key_name] = key
                error = check_value(key_field, key) if key_fast is None or key_fast(key) is SLOW else None
                plans.append(
                    [error] if error is not None else _complete(sobject, Plan(index, "insert", None, merged, True))
                )
            else:
                row = found[0]  # type: ignore[index]
                plans.append(_complete(sobject, Plan(index, "update", row["Id"], values, False, row), row))
        return apply_plans(self.store, sobject, plans, all_or_none=all_or_none, key_field=key_field, dry_run=dry_run)

    def _upsert_uniform(
        self, sobject: SObject, key_field: Field, records: list[dict[str, Any]]
    ) -> list[RecordResult] | None:
        """The usual JSON upsert, column by column (``uniform.upsert_uniform``); ``None`` for any other batch."""
        return upsert_uniform(self.store, sobject, key_field, records)

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
        updated = self._update(
            sobject, [records[i] for i in with_id], all_or_none=False, from_csv=from_csv, dry_run=dry_run
        )
        created = self._create(
            sobject, [records[i] for i in without], all_or_none=False, from_csv=from_csv, dry_run=dry_run
        )
        results: list[RecordResult] = [RecordResult(None)] * len(records)
        for position, i in enumerate(with_id):
            results[i] = updated[position]
            results[i].created = False
        for position, i in enumerate(without):
            results[i] = created[position]
            results[i].created = True
        if all_or_none and not all(r.success for r in results):
            return roll_back_all(results)
        return results

    @_serialized
    def delete(self, sobject: SObject, record_ids: list[str], *, dry_run: bool = False) -> list[RecordResult]:
        """Soft delete (to the recycle bin: ``IsDeleted``, still visible to ``queryAll``). The
        deletion time is the record's ``SystemModstamp`` (what Get Deleted reports as ``deletedDate``)."""
        if not sobject.deletable:
            return _read_only(sobject, len(record_ids), "deleted")
        results: list[RecordResult] = []
        normalized = [ids.normalize(i) for i in record_ids]
        existing = self.rows_by_ids(sobject, [i for i in normalized if i])
        to_delete: list[str] = []
        for raw, record_id in zip(record_ids, normalized, strict=True):
            if record_id is None or record_id[:3] != sobject.key_prefix:
                results.append(RecordResult(None, [RecordError("MALFORMED_ID", f"malformed id {raw}")]))
                continue
            gone = _gone(existing.get(record_id))
            if gone is not None:
                results.append(RecordResult(None, [gone]))
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
