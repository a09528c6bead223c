"""The inclusion-list gate, checked at send time against current membership."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from integration.models import SyncSettings
from lists.models import ContactList, ListMembership
from sync.models import SyncRecord


@dataclass(frozen=True)
class Gate:
    """Who may be sent right now. ``closed_reason`` set: nobody is (no list, list not ready, sync off)."""

    contact_list_id: int | None
    closed_reason: str = ""
    list_name: str = ""

    @classmethod
    def current(cls) -> Gate:
        settings_row = SyncSettings.load()
        return cls.for_list(settings_row.inclusion_list_id, sync_enabled=settings_row.sync_enabled)

    @classmethod
    def for_list(cls, list_id: int | None, *, sync_enabled: bool = True) -> Gate:
        """The gate were ``list_id`` the inclusion list (the dry run of a switch asks this)."""
        if not sync_enabled:
            return cls(None, SyncRecord.SkipReason.SYNC_DISABLED)
        if list_id is None:
            return cls(None, SyncRecord.SkipReason.NO_INCLUSION_LIST)
        row = ContactList.objects.filter(pk=list_id).values("processing_status", "processing_type", "name").first()
        if (
            row is None
            or row["processing_type"] != ContactList.ProcessingType.DYNAMIC
            or row["processing_status"] != ContactList.ProcessingStatus.COMPLETE
        ):
            # A list still processing, or failed, gates nobody in (never everyone).
            return cls(list_id, SyncRecord.SkipReason.LIST_NOT_READY, row["name"] if row else "")
        return cls(list_id, "", row["name"])

    @property
    def is_open(self) -> bool:
        return not self.closed_reason

    def members(self, contact_ids: Collection[int]) -> set[int]:
        """Which of these contacts are members now (one query)."""
        if not self.is_open or not contact_ids:
            return set()
        return set(
            ListMembership.objects.filter(
                contact_list_id=self.contact_list_id, contact_id__in=list(contact_ids)
            ).values_list("contact_id", flat=True)
        )
