"""The audit of settings: one ``SettingChange`` per field that really changes, written by each
service in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from integration.endpoints import redact_url_credentials
from integration.models import SettingChange


def changes_apply(
    row: Any,
    changes: Mapping[str, Any],
    *,
    actor: Any,
    prefix: str = "",
    display: Callable[[Any], str] = str,
    detail: dict[str, Any] | None = None,
) -> list[SettingChange]:
    """Set each value that differs on ``row`` (not saved) and return the unsaved audit rows.

    Values are written as ``display`` shows them, with any credentials in a URL masked
    (``http://user:pass@host`` → ``http://***@host``): the audit log is read by more people
    than the secrets were meant for."""
    audit = []
    for name, value in changes.items():
        old = getattr(row, name)
        if old == value:
            continue
        setattr(row, name, value)
        audit.append(
            SettingChange(
                actor=actor,
                setting=f"{prefix}{name}",
                old_value=redact_url_credentials(display(old)),
                new_value=redact_url_credentials(display(value)),
                detail=dict(detail or {}),
            )
        )
    return audit
