"""The audit of settings: one ``SettingChange`` per field that really changes, written by each
service in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from integration.models import SettingChange


def changes_apply(
    row: Any, changes: Mapping[str, Any], *, actor: Any, prefix: str = "", display: Callable[[Any], str] = str
) -> list[SettingChange]:
    """Set each value that differs on ``row`` (not saved) and return the unsaved audit rows."""
    audit = []
    for name, value in changes.items():
        old = getattr(row, name)
        if old == value:
            continue
        setattr(row, name, value)
        audit.append(
            SettingChange(actor=actor, setting=f"{prefix}{name}", old_value=display(old), new_value=display(value))
        )
    return audit
