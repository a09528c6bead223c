"""Salesforce's lifecycle, followed: a contact goes where its record goes.

- **Conversion.** A converted Lead is read-only in Salesforce (writes to it fail with
  ``CANNOT_UPDATE_CONVERTED_LEAD``) and names the Contact that took it over
  (``ConvertedContactId``). The contact is relinked to that Contact and nothing is written to the
  Lead again: found by the Salesforce pull (the conversion changes the Lead), or by a push that
  was already queued (the refusal relinks; it is not a failure).
- **Merge.** Salesforce deletes the losing records of a merge and names the survivor on them
  (``MasterRecordId``, read with ``queryAll``): the contact is relinked to the survivor.
- **Deletion.** Read from the Get Deleted resource (last 30 days) by the pull, or met by a push
  (``ENTITY_IS_DELETED``). ``SyncSettings.salesforce_deletions`` decides: ``keep_unlinked``
  (the contact is unlinked and its record never re-created automatically; a manual resync of the
  contact may), ``archive_in_hubspot`` (the HubSpot contact is archived too), ``recreate`` (the
  contact is unlinked and queued: the push creates a new record if it is a member).

Every outcome is one ``SyncRecord`` (relinked, unlinked, archived) saying what happened and why;
the contact's timeline shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.clients.base import ClientError
from integration.models import SyncSettings
from lists.models import Contact, SalesforceObject
from sync.engine import queue
from sync.models import Reason, SyncedState, SyncRecord, SyncRun, Watermark

logger = logging.getLogger(__name__)

Deletions = SyncSettings.SalesforceDeletions
DELETION_SOURCES = {
    SalesforceObject.LEAD: Watermark.Source.SALESFORCE_LEAD_DELETIONS,
    SalesforceObject.CONTACT: Watermark.Source.SALESFORCE_CONTACT_DELETIONS,
}
# Salesforce's Get Deleted ignores the seconds of its start and end: the window overlaps the
# previous one a little, and ends a minute ahead, so a record deleted a second ago is in it.
DELETION_OVERLAP = timedelta(minutes=2)
DELETION_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Move:
    """A contact whose Salesforce record became another one."""

    contact: Contact
    salesforce_object: str
    salesforce_id: str
    why: str
    # A merge's survivor holds other values than the record the contact agreed with: the next
    # sync is a first one (blanks filled both ways, Salesforce's values where both differ). A
    # converted Lead's Contact holds the Lead's values: what was agreed still holds.
    forget_bases: bool = False


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and a[:15] == b[:15]


class Lifecycle:
    def __init__(self, *, run: SyncRun, salesforce, hubspot, settings: SyncSettings | None = None) -> None:
        self.run = run
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.settings = settings or SyncSettings.load()

    # -- relinking --------------------------------------------------------------------------

    def relink(self, moves: list[Move]) -> None:
        """Point each contact at its new record; what was read of the old one is forgotten (and
        what both sides agreed on, for a merge: ``Move.forget_bases``)."""
        if not moves:
            return
        records = []
        with transaction.atomic():
            states = {s.contact_id: s for s in SyncedState.objects.filter(contact__in=[m.contact for m in moves])}
            for move in moves:
                contact = move.contact
                old_object, old_id = contact.salesforce_object, contact.salesforce_id
                Contact.objects.filter(pk=contact.pk).update(
                    salesforce_id=move.salesforce_id, salesforce_object=move.salesforce_object
                )
                contact.salesforce_id, contact.salesforce_object = move.salesforce_id, move.salesforce_object
                state = states.get(contact.pk)
                if state is not None:
                    state.salesforce_values = None
                    state.salesforce_deleted_id, state.salesforce_deleted_at = "", None
                    if move.forget_bases:
                        state.field_bases = {}
                    state.save(
                        update_fields=[
                            "salesforce_values",
                            "salesforce_deleted_id",
                            "salesforce_deleted_at",
                            "field_bases",
                        ]
                    )
                records.append(
                    self._record(
                        contact,
                        SyncRecord.Action.RELINKED,
                        move.salesforce_object,
                        move.salesforce_id,
                        message=move.why
                        + " "
                        + _("Linked to %(object)s %(id)s instead of %(old_object)s %(old_id)s.")
                        % {
                            "object": move.salesforce_object,
                            "id": move.salesforce_id,
                            "old_object": old_object,
                            "old_id": old_id,
                        },
                    )
                )
            SyncRecord.objects.bulk_create(records)

    def converted(self, contacts: Iterable[Contact], converted: dict[str, str]) -> list[Contact]:
        """Relink the contacts whose Lead is converted (``converted``: lead id → Contact id);
        returns those relinked."""
        moves = []
        for contact in contacts:
            target = converted.get(contact.salesforce_id) or converted.get(contact.salesforce_id[:15])
            if contact.salesforce_object == SalesforceObject.LEAD and target:
                why = _("The Lead was converted in Salesforce.")
                moves.append(Move(contact, SalesforceObject.CONTACT, target, why))
        self.relink(moves)
        return [m.contact for m in moves]

    # -- deletions --------------------------------------------------------------------------

    def read_deletions(self) -> int:
        """Read each object's deletions since the last look (Get Deleted), at most every
        ``SYNC_SALESFORCE_DELETIONS_EVERY_SECONDS``, and follow them; returns how many linked
        contacts were concerned. The first look starts now."""
        now = timezone.now()
        every = timedelta(seconds=settings.SYNC_SALESFORCE_DELETIONS_EVERY_SECONDS)
        handled = 0
        for salesforce_object, source in DELETION_SOURCES.items():
            mark, _created = Watermark.objects.get_or_create(source=source)
            if mark.value is not None and now - mark.value < every:
                continue  # read a moment ago: two API calls saved
            if mark.value is not None:
                try:
                    deleted = self.salesforce.deleted(
                        salesforce_object, mark.value - DELETION_OVERLAP, now + DELETION_MINUTE
                    )
                except ClientError as exc:
                    logger.warning("Salesforce %s deletions not read: %s", salesforce_object, exc)
                    continue
                handled += len(
                    self.deleted(
                        salesforce_object,
                        {d.id: d.master_id for d in deleted},
                        met_by=_("read from Salesforce's deleted records"),
                    )
                )
            mark.value = now
            mark.save(update_fields=["value", "updated_at"])
        return handled

    def deleted(self, salesforce_object: str, masters: dict[str, str], *, met_by: str) -> set[int]:
        """Follow the deletion of these records (id → the merge survivor, or ""): the linked
        contacts are relinked (merge) or handled by ``salesforce_deletions``. Returns their ids."""
        if not masters:
            return set()
        ids = set(masters) | {i[:15] for i in masters}
        contacts = list(Contact.objects.filter(salesforce_id__in=ids, salesforce_object=salesforce_object))
        by_short = {i[:15]: m for i, m in masters.items()}
        moves, gone = [], []
        for contact in contacts:
            master = by_short.get(contact.salesforce_id[:15], "")
            if master and not _same(master, contact.salesforce_id):
                why = _("The %(object)s was merged into another record in Salesforce (%(how)s).") % {
                    "how": met_by,
                    "object": salesforce_object,
                }
                moves.append(Move(contact, salesforce_object, master, why, forget_bases=True))
            else:
                gone.append(contact)
        self.relink(moves)
        self.gone(gone, met_by=met_by)
        return {c.pk for c in contacts}

    def gone(self, contacts: list[Contact], *, met_by: str) -> None:
        """These contacts' records were deleted (not merged): the setting decides."""
        if not contacts:
            return
        policy = self.settings.salesforce_deletions
        now = timezone.now()
        archived = False
        if policy == Deletions.ARCHIVE_IN_HUBSPOT:
            try:
                self.hubspot.batch_archive([c.hubspot_id for c in contacts])
                archived = True
            except ClientError as exc:
                logger.warning("HubSpot contacts not archived after a Salesforce deletion: %s", exc)
        records = []
        with transaction.atomic():
            states = {s.contact_id: s for s in SyncedState.objects.filter(contact__in=contacts)}
            for contact in contacts:
                old_object, old_id = contact.salesforce_object, contact.salesforce_id
                state = states.get(contact.pk) or SyncedState(contact=contact)
                # Nothing agreed with a record that no longer exists: a new one starts afresh.
                state.salesforce_values, state.field_bases = None, {}
                keep_out = policy != Deletions.RECREATE
                state.salesforce_deleted_id = old_id if keep_out else ""
                state.salesforce_deleted_at = now if keep_out else None
                state.save()
                changes = {"salesforce_id": "", "salesforce_object": ""}
                if archived:
                    changes.update(archived=True, updated_at=now)
                Contact.objects.filter(pk=contact.pk).update(**changes)
                contact.salesforce_id = contact.salesforce_object = ""
                records.append(self._gone_record(contact, policy, archived, old_object, old_id, met_by))
            SyncRecord.objects.bulk_create(records)
        if policy == Deletions.RECREATE:
            queue.enqueue(contact_ids=[c.pk for c in contacts], reason=Reason.SALESFORCE_CHANGED)

    def _gone_record(
        self, contact: Contact, policy: str, archived: bool, old_object: str, old_id: str, met_by: str
    ) -> SyncRecord:
        names = {"how": met_by, "object": old_object, "id": old_id}
        deleted = _("%(object)s %(id)s was deleted in Salesforce (%(how)s).") % names
        if policy == Deletions.RECREATE:
            then = _(
                "The contact is unlinked and queued: a new record is created if it is in the inclusion list "
                "(setting: re-create)."
            )
            action = SyncRecord.Action.UNLINKED
        elif archived:
            then = _("The HubSpot contact is archived (setting: archive in HubSpot).")
            action = SyncRecord.Action.ARCHIVED
        else:
            then = _(
                "The contact is unlinked; no record is created for it automatically (setting: keep unlinked). "
                "Resync the contact to create one."
            )
            if policy == Deletions.ARCHIVE_IN_HUBSPOT:
                then = _("The HubSpot contact could not be archived; it is unlinked and kept.") + " " + then
            action = SyncRecord.Action.UNLINKED
        return self._record(contact, action, old_object, old_id, message=f"{deleted} {then}")

    def _record(self, contact: Contact, action: str, salesforce_object: str, salesforce_id: str, **fields):
        return SyncRecord.for_contact(
            self.run,
            contact,
            SyncRecord.Direction.TO_HUBSPOT,
            action,
            salesforce_object=salesforce_object,
            salesforce_id=salesforce_id,
            **fields,
        )


def deleted_in_salesforce(contact_ids: Iterable[int]) -> set[int]:
    """Among these unlinked contacts, those whose record was deleted in Salesforce and stays
    deleted (``keep_unlinked``, or an archive that failed)."""
    ids = list(contact_ids)
    if not ids:
        return set()
    return set(
        SyncedState.objects.filter(contact_id__in=ids)
        .exclude(salesforce_deleted_id="")
        .values_list("contact_id", flat=True)
    )
