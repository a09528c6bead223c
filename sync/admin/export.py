"""The sync log's CSV export, streamed: memory stays flat whatever the row count."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from sync.models import SyncRecord

EXPORT_COLUMNS = [
    ("created_at", _("time")),
    ("run_id", _("run")),
    ("hubspot_id", _("HubSpot ID")),
    ("email", _("email")),
    ("name", _("name")),
    ("direction", _("direction")),
    ("action", _("action")),
    ("salesforce_object", _("Salesforce object")),
    ("salesforce_id", _("Salesforce ID")),
    ("category", _("category")),
    ("error_code", _("error code")),
    ("message", _("message")),
    ("fields", _("fields")),
    ("attempt", _("attempt")),
    ("ignored", _("ignored")),
]
EXPORT_CHUNK = 2000


class _Echo:
    """A file-like object whose write() returns the line: csv.writer then yields strings."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # Spreadsheet apps run cells that start like a formula (CSV injection).
        return "'" + value
    return value


def export_rows(queryset: QuerySet[SyncRecord]) -> Iterator[str]:
    """CSV lines of ``queryset``, read in chunks: memory stays flat whatever the row count."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([str(label) for _name, label in EXPORT_COLUMNS])
    names = [name for name, _label in EXPORT_COLUMNS]
    for row in queryset.values_list(*names).iterator(chunk_size=EXPORT_CHUNK):
        yield writer.writerow([_cell(v) for v in row])
