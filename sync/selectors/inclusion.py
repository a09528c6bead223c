"""The inclusion list seen from the sync: how many of its members were never sent."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from lists.models import ContactList, ListMembership
from sync.models import SyncedState


@dataclass(frozen=True)
class InclusionStats:
    members: int
    never_synced: int


def inclusion_list_stats(*, contact_list: ContactList) -> InclusionStats:
    """How many members the list has and how many of them were never sent to Salesforce.

    "Never synced" means the app never sent the contact (no ``SyncedState.last_sent_at``) and it
    is not linked to a Salesforce record either (no ``salesforce_id``, e.g. from a record
    created on the Salesforce side). One aggregate query: a list can hold hundreds of thousands.
    """
    sent = SyncedState.objects.filter(contact_id=OuterRef("contact_id"), last_sent_at__isnull=False)
    row = (
        ListMembership.objects.filter(contact_list=contact_list)
        .annotate(sent=Exists(sent))
        .aggregate(
            members=Count("pk"),
            never_synced=Count("pk", filter=Q(sent=False, contact__salesforce_id="")),
        )
    )
    return InclusionStats(members=row["members"] or 0, never_synced=row["never_synced"] or 0)
