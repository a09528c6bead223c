"""What a lifecycle operation refuses: Salesforce's ``errorCode`` and a message that says why."""

from __future__ import annotations

from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.records import RecordService
from sandbox.salesforce.schema import SObject


class LifecycleError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def read_live(records: RecordService, sobject: SObject, raw: Any, role: str) -> Any:
    """The stored, not deleted record of ``sobject`` with the id ``raw``; else the error saying
    what is wrong with it (``role``: how the message names it, e.g. "Lead", "master")."""
    record_id = ids.normalize(raw) if isinstance(raw, str) else None
    if record_id is None or record_id[:3] != sobject.key_prefix:
        raise LifecycleError("MALFORMED_ID", f"{role}: not a {sobject.name} id: {raw!r}")
    row = records.get(sobject, record_id, include_deleted=True)
    if row is None:
        raise LifecycleError("INVALID_CROSS_REFERENCE_KEY", f"{role}: no {sobject.name} has the id {raw}", 404)
    if row["IsDeleted"]:
        raise LifecycleError("ENTITY_IS_DELETED", f"{role}: {sobject.name} {record_id} is deleted")
    return row
