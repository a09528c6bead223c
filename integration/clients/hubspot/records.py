"""HubSpot contacts as the app sees them, decoded from and encoded to HubSpot's JSON directly.

``HubSpotContact`` (id, properties as HubSpot's strings, timestamps), a page of them
(``ContactPage``) and the outcome of a batch (``BatchResult``). The client skips the library's
model deserialisation on contact endpoints (it cost more than the round trip and made a
100,000-contact pull 2.5 times slower), so the JSON is read here. HubSpot takes every value as
a string and times as epoch milliseconds: ``_strings`` and ``_ms`` write them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HubSpotContact:
    id: str
    properties: dict[str, str | None]
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    archived: bool = False
    new: bool | None = None  # set by upserts: True when HubSpot created the contact

    @property
    def email(self) -> str | None:
        return self.properties.get("email") or None

    @property
    def last_modified(self) -> dt.datetime | None:
        raw = self.properties.get("lastmodifieddate")
        return _parse_ts(raw) if raw else self.updated_at


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
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def missing_ids(self) -> list[str]:
        ids: list[str] = []
        for error in self.errors:
            ids += (error.get("context") or {}).get("ids", [])
        return ids


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
    )


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


def _errors(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "category": e.get("category"),
            "message": e.get("message"),
            "context": dict(e.get("context") or {}),
            "status": e.get("status"),
        }
        for e in response.get("errors") or []
    ]
