"""What every app's admin shares: the one read-only base, and admin URL names built from ``opts``.

Data the engine writes (run logs, per-record logs, audit rows) or mirrors from HubSpot (contacts,
properties, memberships) is looked at in the admin, never edited there: no add, no change, no
delete. ``lists`` is the lowest layer, so the apps built on it import these from here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """A view-only ``ModelAdmin``. Set ``deletable = True`` where ops may remove rows by hand
    (a stuck queue entry, a watermark to re-pull from scratch)."""

    deletable = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)
