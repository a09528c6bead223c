"""What Salesforce answers about records: one ``RecordResult`` (and its ``RecordError`` list) per
record written, one ``EmailMatch`` per record found by email, and the parsers of the REST
(``SaveResult`` JSON) and Bulk API 2.0 (``sf__Error`` text) forms of those answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordError:
    """One error of one record: ``status_code`` is Salesforce's code (``REQUIRED_FIELD_MISSING``...)."""

    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)


@dataclass
class RecordResult:
    id: str | None
    success: bool
    errors: list[RecordError] = field(default_factory=list)
    created: bool | None = None

    @property
    def error_code(self) -> str | None:
        return self.errors[0].status_code if self.errors else None


@dataclass(frozen=True)
class EmailMatch:
    object: str
    id: str
    email: str
    last_modified: str | None
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, object_name: str, record: dict[str, Any], extra: Sequence[str]) -> EmailMatch:
        """A Lead or Contact as SOQL returns it (``Id``, ``Email``, ``LastModifiedDate``, ``extra``)."""
        return cls(
            object=object_name,
            id=record["Id"],
            email=str(record.get("Email") or ""),
            last_modified=record.get("LastModifiedDate"),
            fields={k: v for k, v in record.items() if k in extra},
        )


def _record_error(data: dict[str, Any]) -> RecordError:
    return RecordError(
        status_code=str(data.get("statusCode") or data.get("errorCode") or "UNKNOWN"),
        message=str(data.get("message") or ""),
        fields=list(data.get("fields") or []),
    )


def _save_result(data: dict[str, Any]) -> RecordResult:
    return RecordResult(
        id=data.get("id"),
        success=bool(data.get("success")),
        errors=[_record_error(e) for e in data.get("errors") or []],
        created=data.get("created"),
    )


def _parse_bulk_error(text: str) -> list[RecordError]:
    """``sf__Error`` is ``CODE:message:field,field --`` (several separated by `` --``)."""
    errors = []
    for part in [p.strip() for p in text.split(" --") if p.strip()]:
        code, _sep, rest = part.partition(":")
        message, _sep, fields = rest.rpartition(":")
        if not _sep:
            message, fields = rest, ""
        errors.append(RecordError(code.strip(), message.strip(), [f for f in fields.split(",") if f.strip()]))
    return errors or [RecordError("UNKNOWN", text)]
