"""Values written into SOQL (and Bulk API CSV): string literals escaped, datetimes in UTC."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

# A Salesforce API name (standard, custom ``__c``, namespaced ``ns__Field__c``): letters, digits
# and underscores, starting with a letter ("Field Names", SOQL and SOSL Reference).
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")


def soql_quote(value: str) -> str:
    """A SOQL string literal (quotes and backslashes escaped)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def soql_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("Salesforce datetimes must be timezone-aware.")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def soql_identifier(name: str) -> str:
    """``name`` if it is a Salesforce API name, else ``ValueError``: field and object names are
    written into SOQL as they are, so nothing else may get there (mappings and settings are
    edited by people)."""
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a Salesforce API name: {name!r}")
    return name


def soql_fields(names: Iterable[str]) -> str:
    """A SELECT list of API names, each checked by :func:`soql_identifier`."""
    return ", ".join(soql_identifier(name) for name in names)
