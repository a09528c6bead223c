"""Values written into SOQL (and Bulk API CSV): string literals escaped, datetimes in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def soql_quote(value: str) -> str:
    """A SOQL string literal (quotes and backslashes escaped)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def soql_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("Salesforce datetimes must be timezone-aware.")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
