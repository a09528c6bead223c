"""Owners, matched by email: HubSpot's ``hubspot_owner_id`` and Salesforce's ``OwnerId`` name
the same person when the HubSpot owner and the Salesforce user have the same email.

HubSpot's integration syncs the contact owner this way ("Map HubSpot properties to Salesforce
fields", https://knowledge.hubspot.com/salesforce/map-hubspot-properties-to-salesforce-fields:
the HubSpot owner is matched to the Salesforce user with the same email address). The merge
compares owners as lower-case emails, so an owner kept on both sides is one value whatever its
ids; a decided value goes out as the other side's id. An owner with no active match on the other
side is a skip of that field, logged (``SyncRecord.SkipReason.OWNER_UNMATCHED``), never a failed
record; Salesforce needs an owner, so a HubSpot owner cleared leaves Salesforce's as it is.

Both directories are read once per run, when a contact first has an owner to translate:
``GET /crm/v3/owners`` (500 a page) and ``SELECT Id, Email, IsActive FROM User``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from django.utils.translation import gettext as _

from integration.clients.base import ClientError
from sync.engine.merge import Base, Decision
from sync.engine.payload import MappingRule
from sync.models import SyncRecord

logger = logging.getLogger(__name__)

OWNER_PROPERTY = "hubspot_owner_id"
OWNER_FIELD = "OwnerId"
# The value an id nobody's directory knows compares as: a change, never written anywhere.
UNKNOWN = "unknown owner "

TO_SALESFORCE = "to_salesforce"
TO_HUBSPOT = "to_hubspot"


def is_owner_mapping(mapping: MappingRule) -> bool:
    return mapping.hubspot_property == OWNER_PROPERTY and mapping.salesforce_field.lower() == OWNER_FIELD.lower()


@dataclass(frozen=True)
class Unmatched:
    """An owner that could not be written to the other side."""

    direction: str  # TO_SALESFORCE or TO_HUBSPOT
    email: str

    @property
    def message(self) -> str:
        if self.direction == TO_SALESFORCE:
            return _(
                "Owner not sent to Salesforce: no active Salesforce user has the email of HubSpot owner %(email)s. "
                "The record keeps its owner."
            ) % {"email": self.email}
        return _(
            "Owner not sent to HubSpot: no HubSpot owner has the email of Salesforce user %(email)s. "
            "The contact keeps its owner."
        ) % {"email": self.email}


class OwnerDirectory:
    """Both sides' owners by id and by email, loaded on first use (``salesforce``/``hubspot``:
    the clients)."""

    def __init__(self, *, salesforce, hubspot) -> None:
        self.salesforce = salesforce
        self.hubspot = hubspot
        self._loaded = False
        self._hubspot_emails: dict[str, str] = {}
        self._salesforce_emails: dict[str, str] = {}
        self._hubspot_ids: dict[str, str] = {}
        self._salesforce_ids: dict[str, str] = {}

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            owners = self.hubspot.owners()
            users = self.salesforce.users()
        except ClientError as exc:
            # Without both directories no owner can be matched: each is skipped, and logged.
            logger.warning("Owners not read, owners are not synced this run: %s", exc)
            return
        for owner in owners:
            email = owner.email.strip().lower()
            self._hubspot_emails[owner.id] = email
            if email and not owner.archived:
                self._hubspot_ids.setdefault(email, owner.id)
        for user in users:
            email = user.email.strip().lower()
            self._salesforce_emails[user.id] = self._salesforce_emails[user.id[:15]] = email
            if email and user.active:
                self._salesforce_ids.setdefault(email, user.id)

    def hubspot_email(self, owner_id) -> str:
        """The email an owner id compares as ("" for none)."""
        owner_id = str(owner_id or "").strip()
        if not owner_id:
            return ""
        self._load()
        return self._hubspot_emails.get(owner_id) or UNKNOWN + owner_id

    def salesforce_email(self, user_id) -> str:
        user_id = str(user_id or "").strip()
        if not user_id:
            return ""
        self._load()
        return self._salesforce_emails.get(user_id) or self._salesforce_emails.get(user_id[:15]) or UNKNOWN + user_id

    def hubspot_owner(self, email: str) -> str | None:
        """The active HubSpot owner with this email, or ``None``."""
        self._load()
        return self._hubspot_ids.get(email)

    def salesforce_user(self, email: str) -> str | None:
        """The active Salesforce user with this email, or ``None``."""
        self._load()
        return self._salesforce_ids.get(email)


def owner_decision(
    decision: Decision, owners: OwnerDirectory, *, hubspot: str, salesforce: str | None, previous: Base | None
) -> tuple[Decision, Unmatched | None]:
    """``decision`` (taken on emails) with its writes as ids; a write with no match on the other
    side is dropped, and the base records both sides as they are (agreed to differ), so the skip
    is logged once, not at every sync, and a later change on either side is seen."""
    unmatched = None
    to_salesforce, to_hubspot, base = decision.to_salesforce, decision.to_hubspot, decision.base
    held = salesforce if salesforce is not None else (previous.salesforce if previous else "")
    if to_salesforce is not None:
        user = owners.salesforce_user(to_salesforce) if to_salesforce else None
        if user is None:
            if to_salesforce and not to_salesforce.startswith(UNKNOWN):
                unmatched = Unmatched(TO_SALESFORCE, to_salesforce)
            base = Base(hubspot, held)
        to_salesforce = user
    if to_hubspot is not None and to_hubspot:
        owner = owners.hubspot_owner(to_hubspot)
        if owner is None:
            # The owner Salesforce gave a record the sync created for an owner-less contact (its
            # default, often the integration user) is no one's change: skipped without a word.
            first_owner = not hubspot and (previous is None or previous == Base("", ""))
            if not to_hubspot.startswith(UNKNOWN) and not first_owner:
                unmatched = Unmatched(TO_HUBSPOT, to_hubspot)
            base = Base(hubspot, held)
        to_hubspot = owner
    return replace(decision, to_salesforce=to_salesforce, to_hubspot=to_hubspot, base=base), unmatched


def unmatched_records(run, contact, unmatched: list[Unmatched]) -> list[SyncRecord]:
    """The log's skips for the owners of ``contact`` that found no match."""
    return [
        SyncRecord.for_contact(
            run,
            contact,
            SyncRecord.Direction.TO_SALESFORCE if u.direction == TO_SALESFORCE else SyncRecord.Direction.TO_HUBSPOT,
            SyncRecord.Action.SKIPPED,
            skip_reason=SyncRecord.SkipReason.OWNER_UNMATCHED,
            salesforce_object=contact.salesforce_object,
            salesforce_id=contact.salesforce_id,
            fields=[OWNER_FIELD],
            message=u.message,
        )
        for u in unmatched
    ]
