"""What a write answers: per-record results and errors, in each of Salesforce's shapes.

A ``RecordError`` renders as a single-record REST error (``errorCode``), as an error inside a
SaveResult (``statusCode``) or as Bulk API 2.0's ``sf__Error`` column; ``RequestError`` refuses a
whole request instead. ``save_results_json`` writes the usual all-saved answer of a collection
call without ``json.dumps``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

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


def roll_back_all(results: list[RecordResult]) -> list[RecordResult]:
    """An all-or-none call that failed: every saved record becomes a rolled-back error."""
    rolled = []
    for result in results:
        if result.success:
            rolled.append(RecordResult(None, [RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK_MESSAGE)]))
        else:
            rolled.append(RecordResult(None, result.errors, result.created))
    return rolled
