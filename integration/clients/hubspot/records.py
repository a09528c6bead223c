"""HubSpot contacts as the app sees them, decoded from and encoded to HubSpot's JSON directly.

``HubSpotContact`` (id, properties as HubSpot's strings, timestamps, and when asked each
property's ``history``: ``PropertyValue``s newest first), a page of them (``ContactPage``) and the
outcome of a batch (``BatchResult``, ``UpsertResult``: the contacts, and a ``RecordError`` for each
record HubSpot did not write). The client skips the library's
model deserialisation on contact endpoints (it cost more than the round trip and made a
100,000-contact pull 2.5 times slower), so the JSON is read here. HubSpot takes every value as
a string and times as epoch milliseconds: ``_strings`` and ``_ms`` write them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from integration.clients.hubspot.isolation import ErrorCategory, RecordError, category_for_status

# The status a batch answer's error stands for (its own "status" field only says "error").
_STATUS_BY_CATEGORY = {"OBJECT_NOT_FOUND": 404, "VALIDATION_ERROR": 400, "CONFLICT": 409}
# HubSpot's error categories (``{"status": "error", "category": ...}``) → ours; the rest is
# filed by its status (an unknown one: other).
_CATEGORY_BY_CODE = {
    "INVALID_EMAIL": ErrorCategory.INVALID_VALUE,
    "PROPERTY_DOESNT_EXIST": ErrorCategory.INVALID_VALUE,
    "MISSING_SCOPES": ErrorCategory.PERMISSION,
    "RATE_LIMITS": ErrorCategory.API_LIMIT,
}


@dataclass(frozen=True)
class PropertyValue:
    """One value a property took (HubSpot's ``ValueWithTimestamp``): ``source_type`` is who wrote
    it (``CRM_UI``, ``INTEGRATION``, ``IMPORT``, ``API``...), ``source_id`` which one."""

    value: str  # "" when the value was cleared
    timestamp: dt.datetime
    source_type: str
    source_id: str | None = None
    updated_by_user_id: int | None = None


@dataclass
class HubSpotContact:
    id: str
    properties: dict[str, str | None]
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    archived: bool = False
    new: bool | None = None  # set by upserts: True when HubSpot created the contact
    # Asked with ``properties_with_history``: each property's values, newest first (only the
    # properties that ever had a value).
    history: dict[str, list[PropertyValue]] = field(default_factory=dict)

    @property
    def email(self) -> str | None:
        return self.properties.get("email") or None

    @property
    def last_modified(self) -> dt.datetime | None:
        raw = self.properties.get("lastmodifieddate")
        return _parse_ts(raw) if raw else self.updated_at

    @property
    def changed_at(self) -> dict[str, dt.datetime]:
        """When each property asked with history last changed (its newest value's timestamp)."""
        return {name: values[0].timestamp for name, values in self.history.items() if values}


@dataclass
class ContactPage:
    contacts: list[HubSpotContact]
    after: str | None = None  # cursor of the next page; None when this was the last one

    @property
    def last_modified(self) -> dt.datetime | None:
        stamps = [c.last_modified for c in self.contacts if c.last_modified is not None]
        return max(stamps) if stamps else None


@dataclass
class BatchResult:
    contacts: list[HubSpotContact] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)

    @property
    def missing_ids(self) -> list[str]:
        """The ids HubSpot has no contact for."""
        return [e["id"] for e in self.errors if e["code"] == "OBJECT_NOT_FOUND" and e["id"] is not None]


class UpsertResult(list[HubSpotContact]):
    """The contacts an upsert wrote (a list, as callers always had) and ``errors``: a
    ``RecordError`` for each record HubSpot refused."""

    def __init__(self, contacts: list[HubSpotContact] | None = None, errors: list[RecordError] | None = None) -> None:
        super().__init__(contacts or [])
        self.errors: list[RecordError] = errors or []

    @property
    def contacts(self) -> list[HubSpotContact]:
        return list(self)


def _parse_ts(value: str) -> dt.datetime | None:
    text = value.strip()
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _contact(data: dict[str, Any]) -> HubSpotContact:
    """A contact from HubSpot's JSON (SimplePublicObject / SimplePublicUpsertObject)."""
    created, updated = data.get("createdAt"), data.get("updatedAt")
    return HubSpotContact(
        id=str(data["id"]),
        properties=dict(data.get("properties") or {}),
        created_at=_parse_ts(created) if created else None,
        updated_at=_parse_ts(updated) if updated else None,
        archived=bool(data.get("archived", False)),
        new=data.get("new"),
        history=_history(data.get("propertiesWithHistory")),
    )


def _history(data: Any) -> dict[str, list[PropertyValue]]:
    """``propertiesWithHistory``, each list newest first (as HubSpot sends it; sorted again, stably,
    so the first value is always the current one)."""
    if not isinstance(data, dict):
        return {}
    history: dict[str, list[PropertyValue]] = {}
    for name, entries in data.items():
        values = []
        for entry in entries or []:
            stamp = _parse_ts(str(entry.get("timestamp") or ""))
            if stamp is None:
                continue
            user = entry.get("updatedByUserId")
            values.append(
                PropertyValue(
                    value=str(entry.get("value") or ""),
                    timestamp=stamp,
                    source_type=str(entry.get("sourceType") or ""),
                    source_id=entry.get("sourceId"),
                    updated_by_user_id=int(user) if user is not None else None,
                )
            )
        history[name] = sorted(values, key=lambda v: v.timestamp, reverse=True)
    return history


def _ms(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return str(int(moment.timestamp() * 1000))


def _strings(values: dict[str, Any]) -> dict[str, str]:
    """HubSpot takes every value as a string: bools as true/false, None as "" (clears)."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            out[key] = ""
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, dt.datetime):
            out[key] = _ms(value)
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        elif isinstance(value, list | tuple | set):
            out[key] = ";".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


def _errors(response: dict[str, Any]) -> list[RecordError]:
    """A batch answer's errors (207), one ``RecordError`` per id they name."""
    errors: list[RecordError] = []
    for e in response.get("errors") or []:
        code = str(e.get("category") or "")
        status = _STATUS_BY_CATEGORY.get(code, 0)
        context = {str(k): [str(v) for v in vs] for k, vs in (e.get("context") or {}).items() if isinstance(vs, list)}
        ids: list[str | None] = list(context.get("ids") or []) or [None]
        for ident in ids:
            errors.append(
                {
                    "id": ident,
                    "email": None,
                    "category": _CATEGORY_BY_CODE.get(code)
                    or (category_for_status(status) if status else ErrorCategory.OTHER),
                    "code": code,
                    "message": str(e.get("message") or ""),
                    "status": status,
                    "existing_id": None,
                    "context": {**context, "ids": [ident]} if ident is not None else context,
                }
            )
    return errors
