"""Records merged as Salesforce's merge() does ("merge()", SOAP API Developer Guide:
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge.htm).

Up to three records of one type (Lead, Contact or Account) become one: the master keeps its
values, the others are deleted (to the recycle bin) with ``MasterRecordId`` naming the master.
Get Deleted reports them, ``queryAll`` reads them (``IsDeleted`` = true, ``MasterRecordId``), and
the master's ``LastModifiedDate`` moves. A converted Lead takes part in no merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sandbox.salesforce.lifecycle.errors import LifecycleError, read_live
from sandbox.salesforce.records import RecordService
from sandbox.salesforce.schema import get_object
from sandbox.salesforce.store import SalesforceStore, format_datetime, utc_now

MAX_LOSERS = 2  # "Up to three records can be merged in a single request, including the master"


def merge(store: SalesforceStore, sobject: str, master_id: str, loser_ids: Sequence[str]) -> dict[str, Any]:
    """Merge ``loser_ids`` (one or two) into ``master_id``; returns ``{"masterId", "mergedIds"}``.
    ``LifecycleError`` for another object, too many or too few records, or a record that is not
    there, is deleted, is named twice or is a converted Lead."""
    target = get_object(sobject) if isinstance(sobject, str) else None
    if target is None or not target.mergeable:
        raise LifecycleError("INVALID_TYPE", f"merge takes Lead, Contact or Account records, not {sobject!r}")
    if isinstance(loser_ids, str) or not loser_ids:
        raise LifecycleError("MISSING_ARGUMENT", "merge needs one or two records to merge into the master")
    if len(loser_ids) > MAX_LOSERS:
        raise LifecycleError(
            "LIMIT_EXCEEDED", "Up to three records can be merged in a single request, including the master record"
        )
    records = RecordService(store)
    with store.write() as conn:
        master = read_live(records, target, master_id, "master")
        losers = [read_live(records, target, raw, "record to merge") for raw in loser_ids]
        merged = [row["Id"] for row in losers]
        if master["Id"] in merged or len(set(merged)) != len(merged):
            raise LifecycleError("MERGE_FAILED", "The master and the records to merge must be distinct records")
        if target.name == "Lead" and any(row["IsConverted"] for row in (master, *losers)):
            raise LifecycleError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead: merge refused")
        now = format_datetime(utc_now())
        conn.executemany(
            f'UPDATE "{target.name}" SET "IsDeleted" = 1, "MasterRecordId" = ?, "SystemModstamp" = ? WHERE "Id" = ?',
            [(master["Id"], now, record_id) for record_id in merged],
        )
        conn.execute(
            f'UPDATE "{target.name}" SET "LastModifiedDate" = ?, "SystemModstamp" = ? WHERE "Id" = ?',
            (now, now, master["Id"]),
        )
        store.lookups.written(conn, target.name, now, [master["Id"]])
    return {"masterId": master["Id"], "mergedIds": merged}
