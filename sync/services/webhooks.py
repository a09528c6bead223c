"""What a HubSpot webhook says that a pull cannot see: deletions and merges."""

from __future__ import annotations

from django.db import transaction

from lists.models import Contact
from lists.services import memberships_update_for_contacts


def webhook_events_handle(*, events: list[dict]) -> int:
    """Apply what a webhook says that a pull cannot see: deletions and merges (the merged-away
    contacts disappear from search). Other events only trigger the cycle."""
    gone: set[str] = set()
    for event in events:
        kind = str(event.get("subscriptionType", ""))
        if kind in ("contact.deletion", "contact.privacyDeletion") and event.get("objectId") is not None:
            gone.add(str(event["objectId"]))
        elif kind == "contact.merge":
            merged = event.get("mergedObjectIds") or []
            primary = str(event.get("primaryObjectId", ""))
            gone.update(str(i) for i in merged if str(i) != primary)
    if not gone:
        return 0
    with transaction.atomic():
        ids = list(Contact.objects.filter(hubspot_id__in=gone, archived=False).values_list("pk", flat=True))
        Contact.objects.filter(pk__in=ids).update(archived=True)
        memberships_update_for_contacts(contact_ids=ids)
    return len(ids)
