"""Mirror HubSpot's contact lists (Lists v3) into ``lists.ContactList``, cheaply, every cycle.

One search call per 500 lists says what each list is now: name, type, ``listVersion`` (moves
with the definition), ``processingStatus``, and the membership marks (``hs_list_size``,
``hs_last_record_added_at``, ``hs_last_record_removed_at``). Only then:

- a list that is new here, or whose ``listVersion`` moved, is read with its filters (one call);
- an active list whose filters this product evaluates (``PROPERTY`` and ``IN_LIST``, DESIGN §5)
  is evaluated here (``membership_source`` ``local``): its members follow contacts as they are
  pulled, and it must equal HubSpot's membership (tests compare them);
- any other list (other filter types, static and snapshot lists) mirrors HubSpot's membership
  (``hubspot``): members are read (250 a call) only when the marks moved since the last read;
- a list HubSpot is still processing gates nobody in (it is ``PROCESSING`` here too);
- a list missing from the search is read by id: gone there, it is kept here marked deleted and
  ``FAILED``, so as the inclusion list it gates nobody in (the alerts say so); a list restored
  in HubSpot comes back.

Lists published from here (``hubspot_published``) are defined here: the pull only notices their
deletion in HubSpot (they are then unlinked and keep working here).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from lists.criteria import CriteriaError
from lists.models import Contact, ContactList
from lists.selectors import criteria_check, list_dependency_order
from lists.services import list_refresh, memberships_update_for_contacts
from lists.services.mirror import (
    UnmappedList,
    criteria_from_hubspot,
    deleted_in_hubspot_message,
    hubspot_list_ids,
    mirrored_members_replace,
)

logger = logging.getLogger(__name__)

Status = ContactList.ProcessingStatus
Source = ContactList.MembershipSource
CONTACT_CHUNK = 5000


@dataclass
class ListsPullResult:
    seen: int = 0
    created: int = 0
    redefined: int = 0
    renamed: int = 0
    deleted: int = 0
    restored: int = 0
    memberships_read: int = 0
    refreshed: int = 0
    joined: int = 0
    left: int = 0
    unknown_members: int = 0
    api_calls: int = 0


def _marks(item: dict[str, Any]) -> str:
    extra = item.get("additionalProperties") or {}
    return ":".join(
        str(extra.get(k) or "") for k in ("hs_list_size", "hs_last_record_added_at", "hs_last_record_removed_at")
    )


def _local_type(hubspot_type: str) -> str:
    return ContactList.ProcessingType.DYNAMIC if hubspot_type == "DYNAMIC" else ContactList.ProcessingType.MANUAL


class HubSpotListsPull:
    def __init__(self, *, client: Any, now: datetime | None = None, on_list: Callable[[int], None] | None = None):
        self.client = client
        self.now = now or timezone.now()
        self.on_list = on_list or (lambda n: None)
        self.result = ListsPullResult()

    def run(self) -> ListsPullResult:
        calls_before = self.client.api_calls
        remote = {str(item["listId"]): item for item in self.client.search_lists()}
        self.result.seen = len(remote)
        known = {cl.hubspot_list_id: cl for cl in ContactList.objects.exclude(hubspot_list_id="")}
        redefined: list[tuple[ContactList, dict]] = []
        for hs_id, item in remote.items():
            contact_list = known.get(hs_id)
            if contact_list is not None and contact_list.hubspot_published:
                continue
            full = None
            if contact_list is None or contact_list.hubspot_list_version != item.get("listVersion"):
                full = self.client.get_list(hs_id)
                if full is None:
                    continue  # deleted between the search and the read: the next pull sees it gone
            contact_list = self._save_list(contact_list, item, full)
            known[hs_id] = contact_list
            if full is not None:
                redefined.append((contact_list, full))
        self._follow_deletions(known, remote)
        local_of = hubspot_list_ids()
        to_refresh = [cl for cl, full in redefined if self._define(cl, full, local_of)]
        changed_contacts: set[int] = set()
        for contact_list in ContactList.objects.filter(
            membership_source=Source.HUBSPOT, hubspot_published=False, hubspot_deleted_at__isnull=True
        ).exclude(hubspot_list_id=""):
            changed_contacts |= self._mirror_members(contact_list, remote.get(contact_list.hubspot_list_id))
        if changed_contacts:
            # Lists evaluated here may use the mirrored ones (IN_LIST): they follow now.
            memberships_update_for_contacts(contact_ids=changed_contacts, now=self.now)
        to_refresh += [
            cl
            for cl in ContactList.objects.evaluated_here()
            .exclude(hubspot_list_id="")
            .filter(hubspot_published=False, hubspot_processing_status="COMPLETE")
            if cl.processing_status == Status.PROCESSING
        ]
        for contact_list in list_dependency_order(lists={cl.pk: cl for cl in to_refresh}.values()):
            if contact_list.hubspot_processing_status == "COMPLETE":
                list_refresh(contact_list=contact_list, now=self.now)
                self.result.refreshed += 1
        self.result.api_calls = self.client.api_calls - calls_before
        return self.result

    # -- the list rows ------------------------------------------------------------------

    def _save_list(self, contact_list: ContactList | None, item: dict, full: dict | None) -> ContactList:
        hubspot_type = str(item.get("processingType") or "")
        status = str(item.get("processingStatus") or "")
        if contact_list is None:
            contact_list = ContactList(
                hubspot_list_id=str(item["listId"]),
                processing_type=_local_type(hubspot_type),
                membership_source=Source.HUBSPOT,
                processing_status=Status.PROCESSING,
            )
            self.result.created += 1
        elif contact_list.name != item.get("name"):
            self.result.renamed += 1
        if contact_list.hubspot_deleted_at is not None:
            contact_list.hubspot_deleted_at = None
            contact_list.hubspot_members_mark = ""  # read the members again
            contact_list.processing_status, contact_list.error = Status.PROCESSING, ""
            self.result.restored += 1
        contact_list.name = str(item.get("name") or "")[:255]
        contact_list.hubspot_processing_type = hubspot_type
        contact_list.hubspot_processing_status = status
        contact_list.hubspot_pulled_at = self.now
        if full is not None:
            contact_list.hubspot_list_version = full.get("listVersion")
            contact_list.hubspot_filter_branch = full.get("filterBranch")
        if status != "COMPLETE":
            # HubSpot is still computing it: nobody passes the gate on a half-built list.
            contact_list.processing_status = Status.PROCESSING
        contact_list.save()
        return contact_list

    def _define(self, contact_list: ContactList, full: dict, local_of: dict[str, int]) -> bool:
        """Store the criteria with our list ids when every filter is evaluated here; returns
        whether the list must be (re)computed here."""
        branch = full.get("filterBranch")
        criteria = None
        if contact_list.is_active_list and isinstance(branch, dict):
            try:
                criteria = criteria_from_hubspot(branch, local_of)
                criteria_check(filter_branch=criteria, list_id=contact_list.pk)
            except (UnmappedList, CriteriaError, ValidationError) as exc:
                logger.info("HubSpot list %s is mirrored, not evaluated here: %s", contact_list.hubspot_list_id, exc)
                criteria = None
        source = Source.LOCAL if criteria is not None else Source.HUBSPOT
        with transaction.atomic():
            locked = ContactList.objects.select_for_update().get(pk=contact_list.pk)
            if locked.filter_branch != criteria or locked.membership_source != source:
                locked.version += 1
                self.result.redefined += 1
            locked.filter_branch = criteria
            locked.membership_source = source
            if source == Source.HUBSPOT:
                locked.hubspot_members_mark = ""  # read the members again
            else:
                locked.processing_status, locked.progress = Status.PROCESSING, 0
            locked.save()
        contact_list.refresh_from_db()
        return source == Source.LOCAL

    def _follow_deletions(self, known: dict[str, ContactList], remote: dict[str, dict]) -> None:
        for hs_id, contact_list in known.items():
            if hs_id in remote or contact_list.hubspot_deleted_at is not None:
                continue
            if self.client.get_list(hs_id) is not None:
                continue  # not a contact list, or not searchable: it exists
            self.result.deleted += 1
            if contact_list.hubspot_published:
                # Defined here: it keeps working here, unlinked; publishing again re-creates it.
                ContactList.objects.filter(pk=contact_list.pk).update(
                    hubspot_list_id="", hubspot_published=False, hubspot_list_version=None
                )
                logger.warning("published list %s was deleted in HubSpot: unlinked", contact_list.pk)
                continue
            ContactList.objects.filter(pk=contact_list.pk).update(
                hubspot_deleted_at=self.now,
                processing_status=Status.FAILED,
                error=deleted_in_hubspot_message(),
                hubspot_processing_status="",
            )
            logger.warning("HubSpot list %s (%s) was deleted in HubSpot", hs_id, contact_list.name)

    # -- memberships --------------------------------------------------------------------

    def _mirror_members(self, contact_list: ContactList, item: dict | None) -> set[int]:
        if item is None or contact_list.hubspot_processing_status != "COMPLETE":
            return set()
        mark = _marks(item)
        if mark == contact_list.hubspot_members_mark and contact_list.processing_status == Status.COMPLETE:
            return set()
        record_ids = list(self.client.list_member_ids(contact_list.hubspot_list_id))
        self.result.memberships_read += 1
        found: dict[str, int] = {}
        for start in range(0, len(record_ids), CONTACT_CHUNK):
            chunk = record_ids[start : start + CONTACT_CHUNK]
            found.update(Contact.objects.filter(hubspot_id__in=chunk).values_list("hubspot_id", "pk"))
        unknown = len(record_ids) - len(found)
        joined, left = mirrored_members_replace(contact_list=contact_list, contact_ids=found.values(), now=self.now)
        self.result.joined += len(joined)
        self.result.left += len(left)
        self.result.unknown_members += unknown
        # Members not pulled here yet: read them again next time (the contact pull brings them).
        ContactList.objects.filter(pk=contact_list.pk).update(hubspot_members_mark="" if unknown else mark)
        self.on_list(self.result.memberships_read)
        return joined | left
