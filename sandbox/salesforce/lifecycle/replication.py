"""What was deleted or updated in a time span: the sObject Get Deleted and Get Updated resources.

``GET V/sobjects/{object}/deleted/?start=&end=`` ("sObject Get Deleted",
https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getdeleted.md) answers
``{"deletedRecords": [{"id", "deletedDate"}], "earliestDateAvailable", "latestDateCovered"}``;
``.../updated/?start=&end=`` ("sObject Get Updated",
https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getupdated.md) answers
``{"ids": [...], "latestDateCovered"}``. Both go by ``SystemModstamp`` (a deletion or a merge
sets it: it is the deletion time); updated ids are those of records not deleted.

The parameters, as Salesforce checks them:

- ISO 8601 with an offset or ``Z`` ("Valid Date and DateTime Formats",
  https://developer.salesforce.com/docs/platform/api-rest/guide/intro-valid-date-formats.md),
  URL-encoded (``+`` as ``%2B``: a bare ``+`` arrives as a space and the date is malformed).
  simple-salesforce sends ``2026-01-31T00:00:00%2B00%3A00`` for an aware datetime (a naive one
  gets no offset and a trailing ``:``, which is malformed). A missing one is ``MISSING_ARGUMENT``,
  a malformed one ``ILLEGAL_QUERY_PARAMETER_VALUE``.
- Seconds are ignored (12:30:15 is 12:30:00), and ``start`` must precede ``end`` by at least a
  minute, else ``INVALID_REPLICATION_DATE`` with Salesforce's own (inverted) words, "startDate
  must be at least one minute greater than endDate".
- Results are kept for 30 days before the call ("Results are returned for no more than 30 days
  previous to the day the call is executed"): an older ``start`` is ``INVALID_REPLICATION_DATE``;
  ``earliestDateAvailable`` is that limit.
- At most 600,000 ids, else ``EXCEEDED_ID_LIMIT``.

A record counts when ``start <= SystemModstamp < end``; ``latestDateCovered`` is ``end``, or now
(to the minute) when ``end`` is later: nothing is in flight in the sandbox.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.salesforce.lifecycle.errors import LifecycleError
from sandbox.salesforce.schema import SObject
from sandbox.salesforce.store import SalesforceStore, format_datetime, utc_now

WINDOW = timedelta(days=30)
MAX_IDS = 600_000
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?P<zone>Z|[+-]\d{2}:?\d{2})")


def _to_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def parse_parameter(name: str, raw: str | None) -> datetime:
    """The UTC time ``raw`` (the ``name`` parameter) names, to the minute."""
    if raw is None or raw == "":
        raise LifecycleError("MISSING_ARGUMENT", f"The '{name}' parameter is required.")
    malformed = LifecycleError(
        "ILLEGAL_QUERY_PARAMETER_VALUE",
        f"The '{name}' date is not in the correct format: {raw!r}. Use an ISO 8601 dateTime with an offset, "
        "URL-encoded (2026-01-31T00:00:00%2B00:00).",
    )
    match = _DATETIME.fullmatch(raw)
    if match is None:
        raise malformed
    zone = match["zone"]
    text = raw[: match.start("zone")] + ("+00:00" if zone == "Z" else zone[:3] + ":" + zone[-2:])
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise malformed from None
    return _to_minute(value.astimezone(UTC))


def _window(start_raw: str | None, end_raw: str | None) -> tuple[datetime, datetime, datetime, datetime]:
    """``(start, end, earliest available, latest covered)`` of a request, checked."""
    start, end = parse_parameter("start", start_raw), parse_parameter("end", end_raw)
    if end - start < timedelta(minutes=1):
        raise LifecycleError("INVALID_REPLICATION_DATE", "startDate must be at least one minute greater than endDate")
    now = utc_now()
    earliest = _to_minute(now - WINDOW)
    if start < earliest:
        raise LifecycleError(
            "INVALID_REPLICATION_DATE",
            f"startDate is more than 30 days ago: the earliest date available is {format_datetime(earliest)}",
        )
    return start, end, earliest, min(end, _to_minute(now))


def _rows(store: SalesforceStore, sobject: SObject, deleted: bool, start: datetime, end: datetime) -> list[Any]:
    cursor = store.read().cursor()
    cursor.row_factory = None
    rows = cursor.execute(
        f'SELECT "Id", "SystemModstamp" FROM "{sobject.name}" WHERE "IsDeleted" = ? AND "SystemModstamp" >= ? '
        'AND "SystemModstamp" < ? ORDER BY "SystemModstamp", "Id" LIMIT ?',
        (int(deleted), format_datetime(start), format_datetime(end), MAX_IDS + 1),
    ).fetchall()
    if len(rows) > MAX_IDS:
        raise LifecycleError(
            "EXCEEDED_ID_LIMIT",
            f"More than {MAX_IDS} ids in this time span: choose start and end dates closer together",
        )
    return rows


def deleted(store: SalesforceStore, sobject: SObject, start: str | None, end: str | None) -> dict[str, Any]:
    """The Get Deleted answer for the raw ``start`` and ``end`` parameters."""
    first, last, earliest, covered = _window(start, end)
    return {
        "deletedRecords": [
            {"id": record_id, "deletedDate": stamp} for record_id, stamp in _rows(store, sobject, True, first, last)
        ],
        "earliestDateAvailable": format_datetime(earliest),
        "latestDateCovered": format_datetime(covered),
    }


def updated(store: SalesforceStore, sobject: SObject, start: str | None, end: str | None) -> dict[str, Any]:
    """The Get Updated answer for the raw ``start`` and ``end`` parameters."""
    first, last, _earliest, covered = _window(start, end)
    return {
        "ids": [record_id for record_id, _stamp in _rows(store, sobject, False, first, last)],
        "latestDateCovered": format_datetime(covered),
    }
