"""What a HubSpot webhook says that a pull cannot see (deletions and merges), read as typed
events, and the signatures already received (replays refused)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lists.models import Contact
from lists.services import memberships_update_for_contacts
from sync.models import WebhookSignature

DELETIONS = ("contact.deletion", "contact.privacyDeletion")
MERGE = "contact.merge"
# HubSpot's object ids are positive 64-bit integers; a merge names a few contacts.
MAX_ID = 2**63 - 1
MAX_MERGED = 1000


@dataclass(frozen=True)
class WebhookEvent:
    """One event of a webhook batch, with the fields this app reads, typed."""

    subscription_type: str
    object_id: int | None = None
    primary_object_id: int | None = None
    merged_object_ids: tuple[int, ...] = ()


class EventRefused(ValueError):
    """An event that does not have the shape HubSpot documents; ``message`` says why."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _is_id(value: Any) -> bool:
    # Integers only: a string "999" is refused, never read character by character.
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _id(raw: dict, key: str, *, required: bool) -> int | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not _is_id(value):
        raise EventRefused(_("%(key)s must be a HubSpot object id (a positive integer).") % {"key": key})
    return value


def webhook_event_parse(raw: Any) -> WebhookEvent:
    """The typed event, or :class:`EventRefused`. Fields this app does not read are ignored."""
    if not isinstance(raw, dict):
        raise EventRefused(_("an event must be a JSON object."))
    kind = raw.get("subscriptionType")
    if not isinstance(kind, str) or not kind or len(kind) > 100:
        raise EventRefused(_("subscriptionType must be the name of a subscription."))
    object_id = _id(raw, "objectId", required=kind in DELETIONS)
    if kind != MERGE:
        return WebhookEvent(subscription_type=kind, object_id=object_id)
    merged = raw.get("mergedObjectIds")
    if not isinstance(merged, list) or not merged or len(merged) > MAX_MERGED:
        raise EventRefused(
            _("mergedObjectIds must be a list of 1 to %(max)s HubSpot object ids.") % {"max": MAX_MERGED}
        )
    if not all(_is_id(item) for item in merged):
        raise EventRefused(_("each of mergedObjectIds must be a HubSpot object id (a positive integer)."))
    return WebhookEvent(
        subscription_type=kind,
        object_id=object_id,
        primary_object_id=_id(raw, "primaryObjectId", required=True),
        merged_object_ids=tuple(merged),
    )


def webhook_events_parse(raw_events: list) -> tuple[list[WebhookEvent], list[dict[str, Any]]]:
    """The events that have HubSpot's shape, and ``{"event": index, "message": why}`` for the
    others: one malformed event is refused alone, the rest of its batch is applied."""
    events: list[WebhookEvent] = []
    refused: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_events):
        try:
            events.append(webhook_event_parse(raw))
        except EventRefused as exc:
            refused.append({"event": index, "message": exc.message})
    return events, refused


def webhook_events_handle(*, events: list[WebhookEvent]) -> int:
    """Apply what a webhook says that a pull cannot see: deletions and merges (the merged-away
    contacts disappear from search). Other events only trigger the cycle."""
    gone: set[str] = set()
    for event in events:
        if event.subscription_type in DELETIONS and event.object_id is not None:
            gone.add(str(event.object_id))
        elif event.subscription_type == MERGE:
            gone.update(str(i) for i in event.merged_object_ids if i != event.primary_object_id)
    if not gone:
        return 0
    with transaction.atomic():
        ids = list(Contact.objects.filter(hubspot_id__in=gone, archived=False).values_list("pk", flat=True))
        Contact.objects.filter(pk__in=ids).update(archived=True)
        memberships_update_for_contacts(contact_ids=ids)
    return len(ids)


def webhook_signature_remember(*, signature: str, expires_at: datetime) -> bool:
    """Record a verified request's signature until ``expires_at`` (when its timestamp stops
    being accepted anyway); False when it was already received: a replay.

    The unique digest makes the check and the record one atomic insert, whichever worker
    receives the copy. Signatures past their time are swept on the way.
    """
    WebhookSignature.objects.filter(expires_at__lt=timezone.now()).delete()
    digest = hashlib.sha256(signature.encode("utf-8", "surrogatepass")).hexdigest()
    try:
        with transaction.atomic():
            WebhookSignature.objects.create(digest=digest, expires_at=expires_at)
    except IntegrityError:
        return False
    return True
