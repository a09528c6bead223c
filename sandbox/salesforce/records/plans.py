"""Planned writes applied: owners, unique values and the duplicate rule checked, then one transaction.

The record-by-record path plans every record first (``Plan``: insert or update, with the values
to store); ``apply_plans`` refuses an owner that is not an active user (``owners``) and what a
unique field or the standard duplicate rule on Email would refuse, then writes the rest with ``executemany``, one statement per shape of UPDATE. An
update leaves out the fields it would set to what they already hold.
"""

from __future__ import annotations

from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.lookups import CANDIDATES_SQL
from sandbox.salesforce.records.owners import OWNER, owner_checks
from sandbox.salesforce.records.results import RecordError, RecordResult, roll_back_all
from sandbox.salesforce.schema import Field, SObject
from sandbox.salesforce.store import SalesforceStore, format_datetime, quoted, utc_now

# Set per request from ``Sforce-Duplicate-Rule-Header: allowSave=true`` (duplicate rules whose
# action is "Block" let the save through when the caller asks, as in Salesforce).
ALLOW_DUPLICATE_SAVE: ContextVar[bool] = ContextVar("allow_duplicate_save", default=False)


@dataclass(slots=True)
class Plan:
    index: int
    action: str  # insert | update
    record_id: str | None
    values: dict[str, Any]
    created: bool
    # The stored values of an update's fields, when known: a field set to what it already holds
    # is left out of the UPDATE (same row afterwards, fewer index entries rewritten).
    stored: dict[str, Any] | None = None


def apply_plans(
    store: SalesforceStore,
    sobject: SObject,
    plans: list[Plan | list[RecordError]],
    *,
    all_or_none: bool,
    key_field: Field | None = None,
    dry_run: bool = False,
) -> list[RecordResult]:
    """Check the plans (unique values, duplicate rule) and write the valid ones, unless
    ``dry_run`` (used to validate several groups before an all-or-none write)."""
    valid: list[Plan] = []
    errors_by_index: dict[int, list[RecordError]] = {}
    for index, plan in enumerate(plans):
        if type(plan) is Plan:
            valid.append(plan)
        else:
            errors_by_index[index] = plan  # type: ignore[assignment]
    if valid:
        if OWNER in sobject.by_name:
            owner_checks(store, valid, errors_by_index)
        _duplicate_checks(store, sobject, valid, errors_by_index, key_field)
    results = [
        RecordResult(None, errors_by_index[index], False)
        if index in errors_by_index
        else RecordResult(plan.record_id, [], plan.created)  # type: ignore[union-attr]
        for index, plan in enumerate(plans)
    ]
    if all_or_none and errors_by_index:
        return roll_back_all(results)
    to_write = [p for p in valid if p.index not in errors_by_index and not dry_run]
    if to_write:
        _write(store, sobject, to_write, results)
    return results


def _duplicate_checks(
    store: SalesforceStore,
    sobject: SObject,
    plans: list[Plan],
    errors_by_index: dict[int, list[RecordError]],
    key_field: Field | None = None,
) -> None:
    """Unique fields and (when switched on) the standard duplicate rule on Email."""
    conn = store.read()
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
    if not store.settings().get("duplicate_rule") or ALLOW_DUPLICATE_SAVE.get():
        return
    emails = sorted({str(p.values["Email"]).lower() for p in plans if p.values.get("Email")})
    owners_by_email: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(emails), 500):
        chunk: list[Any] = emails[start : start + 500]
        sql = (
            f'SELECT "Id", "Email" FROM "{sobject.name}" WHERE "Email" IN ({",".join("?" * len(chunk))}) '
            f'AND "IsDeleted" = 0 AND {CANDIDATES_SQL}'
        )
        for row in conn.execute(sql, [*chunk, store.lookups.email_param(conn, sobject.name, chunk)]):
            owners_by_email[str(row["Email"]).lower()].append(row["Id"])
    for plan in plans:
        email = plan.values.get("Email")
        if not email or plan.index in errors_by_index:
            continue
        others = [i for i in owners_by_email.get(str(email).lower(), []) if i != plan.record_id]
        if others:
            errors_by_index[plan.index] = [_duplicates_detected(sobject, others)]


def _write(store: SalesforceStore, sobject: SObject, plans: list[Plan], results: list[RecordResult]) -> None:
    now = format_datetime(utc_now())
    inserts = [p for p in plans if p.action == "insert"]
    updates = [p for p in plans if p.action == "update"]
    writable = sobject.writable_names
    columns = ["Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", *writable]
    insert_sql = (
        f'INSERT INTO "{sobject.name}" ({", ".join(quoted(c) for c in columns)}) '
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    with store.write() as conn:
        if inserts:
            first = store.allocate(conn, sobject.name, len(inserts))
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
        groups: dict[tuple[str, ...], list[Plan]] = defaultdict(list)
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
        store.lookups.written(
            conn,
            sobject.name,
            now,
            [p.record_id for p in plans],
            emailed,  # type: ignore[misc]
        )


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
