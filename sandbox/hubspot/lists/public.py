"""Lists as the API answers them: ``PublicObjectList`` (fetch, create, update) and
``PublicObjectListSearchResult`` (search), shaped as ``crm-lists-v3.json``.

``processingStatus`` is ``PROCESSING`` while a list processes or a test holds it, else
``COMPLETE``. ``size`` is the member count. ``updatedAt`` moves with the definition (create,
rename, filter update, restore), not with the members; ``filtersUpdatedAt`` with the filters.

Search results carry no size: HubSpot puts it in ``additionalProperties`` (all values strings):
``hs_list_size``, ``hs_last_record_added_at`` and ``hs_last_record_removed_at`` (epoch ms, left out
while nothing was ever added or removed) and ``hs_list_reference_count`` (live lists whose IN_LIST
filters name it) by default; ``hs_folder_name`` never (the sandbox has no folders), nor any other
name asked for: "Properties that do not exist or that are empty for a particular list are not
included in the response" (``ListSearchRequest.additionalProperties``).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sandbox.hubspot.schema import ms_to_iso

CONTACT_OBJECT_TYPE = "0-1"
DEFAULT_SEARCH_PROPERTIES = (
    "hs_list_size",
    "hs_last_record_added_at",
    "hs_last_record_removed_at",
    "hs_folder_name",
    "hs_list_reference_count",
)


def processing_status(row: sqlite3.Row) -> str:
    return "PROCESSING" if row["hold"] or row["processing_status"] == "PROCESSING" else "COMPLETE"


def _common(row: sqlite3.Row) -> dict[str, Any]:
    data: dict[str, Any] = {
        "listId": str(row["id"]),
        "listVersion": row["list_version"],
        "name": row["name"],
        "objectTypeId": CONTACT_OBJECT_TYPE,
        "processingStatus": processing_status(row),
        "processingType": row["processing_type"],
        "createdAt": ms_to_iso(row["created_ms"]),
        "updatedAt": ms_to_iso(row["updated_ms"]),
        "filtersUpdatedAt": ms_to_iso(row["filters_updated_ms"]),
    }
    if row["deleted_ms"] is not None:
        data["deletedAt"] = ms_to_iso(row["deleted_ms"])
    return data


def public_list(row: sqlite3.Row, *, include_filters: bool) -> dict[str, Any]:
    """``PublicObjectList``; ``filterBranch`` only when asked for (and the list has one)."""
    data = _common(row)
    data["size"] = row["size"]
    extra = json.loads(row["extra"] or "{}")
    for key in ("listPermissions", "membershipSettings"):
        if key in extra:
            data[key] = extra[key]
    if include_filters and row["filter_branch"]:
        data["filterBranch"] = json.loads(row["filter_branch"])
    return data


def search_result(row: sqlite3.Row, wanted: list[str], reference_count: int) -> dict[str, Any]:
    """``PublicObjectListSearchResult`` with the ``additionalProperties`` asked for."""
    values = {
        "hs_list_size": str(row["size"]),
        "hs_list_reference_count": str(reference_count),
    }
    if row["last_added_ms"] is not None:
        values["hs_last_record_added_at"] = str(row["last_added_ms"])
    if row["last_removed_ms"] is not None:
        values["hs_last_record_removed_at"] = str(row["last_removed_ms"])
    names = dict.fromkeys([*DEFAULT_SEARCH_PROPERTIES, *wanted])
    data = _common(row)
    data["additionalProperties"] = {name: values[name] for name in names if name in values}
    return data


def membership(contact_id: int, added_ms: int) -> dict[str, Any]:
    """``JoinTimeAndRecordId``."""
    return {"recordId": str(contact_id), "membershipTimestamp": ms_to_iso(added_ms)}


def record_membership(row: sqlite3.Row) -> dict[str, Any]:
    """``RecordListMembership`` (a row of ``contact_list_member`` joined to its list). The sandbox
    keeps the last time a record joined, so both timestamps are that one."""
    joined = ms_to_iso(row["added_ms"])
    return {
        "listId": str(row["list_id"]),
        "listVersion": row["list_version"],
        "firstAddedTimestamp": joined,
        "lastAddedTimestamp": joined,
        "isPublicList": True,
    }
