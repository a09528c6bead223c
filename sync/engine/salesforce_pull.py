"""Salesforce → HubSpot: new Salesforce records create (or de-duplicate by email) HubSpot contacts
whatever the inclusion list says; later Salesforce edits reach HubSpot only for members, field by
field as the rules decide (``sync.engine.fields``), decided again against HubSpot as it is right
before the write. Our own writes do not bounce back: a Salesforce value equal to the one both
sides last agreed on is no change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.clients.base import ClientError
from integration.clients.hubspot import category_for_status
from integration.models import SyncSettings
from lists.models import Contact, SalesforceObject
from sync.engine import queue
from sync.engine.errors import hubspot_error_category
from sync.engine.fields import ContactPlan, as_datetime, bases_for, plan_contact
from sync.engine.gate import Gate
from sync.engine.hubspot_pull import contacts_upsert_from_hubspot
from sync.engine.hubspot_write import hubspot_updates_apply
from sync.engine.lifecycle import Lifecycle
from sync.engine.merge import SALESFORCE
from sync.engine.owners import OwnerDirectory, unmatched_records
from sync.engine.payload import MappingRule, load_mappings, salesforce_fields
from sync.models import Reason, SyncedState, SyncRecord, SyncRun, Watermark

logger = logging.getLogger(__name__)

SOURCES = {"Lead": Watermark.Source.SALESFORCE_LEADS, "Contact": Watermark.Source.SALESFORCE_CONTACTS}
BATCH = 100  # HubSpot batch endpoints take 100 inputs
OVERLAP = timedelta(seconds=1)
# Read with each Lead: a converted one hands its contact to the Contact it became.
CONVERSION_FIELDS = ("IsConverted", "ConvertedContactId")


@dataclass
class SalesforcePullResult:
    seen: int = 0
    created_in_hubspot: int = 0
    updated_in_hubspot: int = 0
    skipped: int = 0
    failed: int = 0


class SalesforcePull:
    def __init__(self, *, run: SyncRun, salesforce, hubspot, on_progress: Callable[[], None] | None = None) -> None:
        self.run = run
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.on_progress = on_progress
        self.settings = SyncSettings.load()
        self.mappings: list[MappingRule] = load_mappings()
        self.result = SalesforcePullResult()
        # What the batch in hand changes locally, written by ``_flush`` at its end.
        self._states: dict[int, SyncedState] = {}
        self._changed: dict[int, SyncedState] = {}
        self._linked: list[Contact] = []
        self._requeue: list[int] = []
        self._owner_skips: list[SyncRecord] = []
        self.owners = OwnerDirectory(salesforce=salesforce, hubspot=hubspot)
        self.lifecycle = Lifecycle(run=run, salesforce=salesforce, hubspot=hubspot, settings=self.settings)

    def run_all(self) -> SalesforcePullResult:
        # Deletions and merges first: an edit of a merge's survivor then finds its contact.
        self.lifecycle.read_deletions()
        for salesforce_object, source in SOURCES.items():
            self._pull(salesforce_object, source)
        return self.result

    def _pull(self, salesforce_object: str, source: str) -> None:
        mark, created = Watermark.objects.get_or_create(source=source)
        if mark.value is None:
            # Start from now: connecting the app does not import the whole org into HubSpot.
            mark.value = timezone.now()
            mark.save(update_fields=["value", "updated_at"])
            return
        fields = self.fields_for(salesforce_object)
        batch: list[dict] = []
        newest = mark.value
        for record in self.salesforce.query_modified_since(salesforce_object, mark.value - OVERLAP, fields):
            batch.append(record)
            modified = as_datetime(record.get("LastModifiedDate"))
            if modified and modified > newest:
                newest = modified
            if len(batch) >= BATCH:
                self.handle(salesforce_object, batch)
                batch = []
                mark.value = newest
                mark.save(update_fields=["value", "updated_at"])
        if batch:
            self.handle(salesforce_object, batch)
        if newest != mark.value:
            mark.value = newest
            mark.save(update_fields=["value", "updated_at"])

    def fields_for(self, salesforce_object: str) -> list[str]:
        """The fields a pull reads of each record: the mapped ones, and what it needs besides."""
        return sorted(
            {
                "Id",
                "Email",
                "FirstName",
                "LastName",
                "CreatedDate",
                "LastModifiedDate",
                *salesforce_fields(self.mappings, salesforce_object),
                *(CONVERSION_FIELDS if salesforce_object == SalesforceObject.LEAD else ()),
            }
        )

    def handle(self, salesforce_object: str, records: list[dict]) -> None:
        """One batch of records (at most ``BATCH``) read from Salesforce, handled and written."""
        self.result.seen += len(records)
        ids = [r["Id"] for r in records]
        by_sf_id = {c.salesforce_id: c for c in Contact.objects.filter(salesforce_id__in=ids)}
        converted = {r["Id"]: r["ConvertedContactId"] for r in records if r.get("IsConverted")}
        if converted:
            # A converted Lead is Salesforce's no longer: its contact follows the Contact, and
            # nothing of the Lead is read or written again (a new one creates nothing either).
            self.lifecycle.converted(by_sf_id.values(), {k: v for k, v in converted.items() if v})
            records = [r for r in records if r["Id"] not in converted]
            by_sf_id = {k: c for k, c in by_sf_id.items() if k not in converted}
        emails = {(r.get("Email") or "").strip().lower() for r in records if r.get("Email") and r["Id"] not in by_sf_id}
        by_email: dict[str, Contact] = {}
        if emails:
            # Lower(email) is indexed (lists.Contact's contact_email_ci).
            matches = (
                Contact.objects.annotate(email_ci=Lower("email"))
                .filter(email_ci__in=list(emails))
                .order_by("-hubspot_updated_at")
            )
            for contact in matches:
                by_email.setdefault(contact.email.lower(), contact)
        known = [*by_sf_id.values(), *by_email.values()]
        self._states_load([c.pk for c in known])
        gate = Gate.current()
        members = gate.members([c.pk for c in known])
        creates: list[tuple[dict, ContactPlan]] = []
        updates: list[tuple[dict, Contact, ContactPlan]] = []
        records_out: list[SyncRecord] = []
        for record in records:
            contact = by_sf_id.get(record["Id"]) or by_email.get((record.get("Email") or "").strip().lower())
            if contact is not None and contact.salesforce_id and contact.salesforce_id[:15] != record["Id"][:15]:
                # A duplicate in Salesforce (another Lead or Contact with the email of a contact
                # linked to its own record): its values are not the contact's, never merged.
                message = _("Not synced: the contact is linked to %(object)s %(id)s, which has the same email.") % {
                    "object": contact.salesforce_object,
                    "id": contact.salesforce_id,
                }
                records_out.append(
                    self._skipped(contact, record, salesforce_object, SyncRecord.SkipReason.OTHER_RECORD, message)
                )
                continue
            if contact is None:
                if not self.settings.create_hubspot_contacts_from_salesforce or not record.get("Email"):
                    continue
                plan = self._plan(salesforce_object, {}, record, bases={}, first_sync=True)
                plan.to_hubspot["email"] = record["Email"].strip()
                creates.append((record, plan))
                continue
            self._remember_salesforce(contact, salesforce_object, record)
            plan = self._plan_for(contact, self._states.get(contact.pk), salesforce_object, record)
            if not plan.to_hubspot:
                # Agreed, our own echo, or a field HubSpot must send (queued for the push, for a
                # member): nothing for this pull to write.
                self._bases_store(contact, plan, queue_pending=contact.pk in members)
                continue
            if contact.pk not in members:
                self.result.skipped += 1
                message = _("Salesforce change not sent to HubSpot: not in the inclusion list.")
                reason = gate.closed_reason or SyncRecord.SkipReason.NOT_MEMBER
                records_out.append(self._skipped(contact, record, salesforce_object, reason, message))
                continue
            updates.append((record, contact, plan))
        SyncRecord.objects.bulk_create(records_out)
        if creates:
            self._create_in_hubspot(salesforce_object, creates)
        if updates:
            self._update_in_hubspot(salesforce_object, updates)
        self._flush()
        if self.on_progress:
            self.on_progress()

    def _plan(
        self,
        salesforce_object: str,
        hubspot: dict,
        record: dict,
        *,
        bases: dict,
        first_sync: bool,
        hubspot_times: dict | None = None,
        hubspot_updated_at=None,
    ) -> ContactPlan:
        return plan_contact(
            mappings=self.mappings,
            salesforce_object=salesforce_object,
            hubspot=hubspot,
            salesforce=record,
            bases=bases,
            first_sync=first_sync,
            hubspot_times=hubspot_times,
            hubspot_updated_at=hubspot_updated_at,
            # HubSpot's edits go to Salesforce with the push (the HubSpot pull queues them).
            directions=("to_hubspot",),
            # Salesforce starts this sync (a record it links to a contact by email): its values go.
            first_sync_winner=SALESFORCE,
            owners=self.owners,
        )

    def _plan_for(
        self, contact: Contact, state: SyncedState | None, salesforce_object: str, record: dict, times=None
    ) -> ContactPlan:
        bases = bases_for(state, self.mappings)
        return self._plan(
            salesforce_object,
            contact.raw_properties or {},
            record,
            bases=bases,
            first_sync=not bases,
            hubspot_times=times,
            hubspot_updated_at=contact.hubspot_updated_at,
        )

    def _states_load(self, contact_ids: list[int]) -> None:
        self._states.update({s.contact_id: s for s in SyncedState.objects.filter(contact_id__in=contact_ids)})

    def _state(self, contact: Contact) -> SyncedState:
        """The contact's synced state, to be written by ``_flush``."""
        state = self._states.get(contact.pk)
        if state is None:
            state = self._states[contact.pk] = SyncedState(contact=contact)
        self._changed[contact.pk] = state
        return state

    def _bases_store(self, contact: Contact, plan: ContactPlan, *, queue_pending: bool = True) -> None:
        self._owner_skips += unmatched_records(self.run, contact, plan.unmatched)
        if plan.bases:
            state = self._state(contact)
            state.field_bases = {**(state.field_bases or {}), **plan.bases}
        if plan.pending and queue_pending:
            # A field HubSpot must send (a first link, a conflict HubSpot won): the push does it.
            self._requeue.append(contact.pk)

    def _remember_salesforce(self, contact: Contact, salesforce_object: str, record: dict) -> None:
        if not contact.salesforce_id:
            contact.salesforce_id, contact.salesforce_object = record["Id"], salesforce_object
            self._linked.append(contact)
        state = self._state(contact)
        state.salesforce_values = {k: v for k, v in record.items() if k != "attributes"}
        state.salesforce_seen_at = timezone.now()

    def _flush(self) -> None:
        """Write what the batch changed locally: a few queries a batch, not a few a record."""
        with transaction.atomic():
            SyncRecord.objects.bulk_create(self._owner_skips)
            if self._linked:
                Contact.objects.bulk_update(self._linked, ["salesforce_id", "salesforce_object"], batch_size=500)
            if self._changed:
                SyncedState.objects.bulk_create(
                    list(self._changed.values()),
                    update_conflicts=True,
                    unique_fields=["contact"],
                    update_fields=["salesforce_values", "salesforce_seen_at", "field_bases"],
                    batch_size=500,
                )
        if self._requeue:
            queue.enqueue(contact_ids=self._requeue, reason=Reason.SALESFORCE_CHANGED)
        self._states, self._changed, self._linked, self._requeue, self._owner_skips = {}, {}, [], [], []

    def _skipped(self, contact: Contact, record: dict, salesforce_object: str, reason: str, message: str) -> SyncRecord:
        return self._record(
            contact, record, salesforce_object, SyncRecord.Action.SKIPPED, skip_reason=reason, message=message
        )

    def _record(
        self, contact: Contact | None, record: dict, salesforce_object: str, action: str, **fields
    ) -> SyncRecord:
        return SyncRecord(
            run=self.run,
            contact=contact,
            hubspot_id=contact.hubspot_id if contact else "",
            email=(record.get("Email") or (contact.email if contact else ""))[:254],
            name=f"{record.get('FirstName') or ''} {record.get('LastName') or ''}".strip()[:255],
            direction=SyncRecord.Direction.TO_HUBSPOT,
            action=action,
            salesforce_object=salesforce_object,
            salesforce_id=record["Id"],
            **fields,
        )

    def _create_in_hubspot(self, salesforce_object: str, creates: list[tuple[dict, ContactPlan]]) -> None:
        for start in range(0, len(creates), BATCH):
            chunk = creates[start : start + BATCH]
            try:
                results = self.hubspot.batch_upsert_by_email([plan.to_hubspot for _r, plan in chunk])
            except ClientError as exc:
                self.result.failed += len(chunk)
                SyncRecord.objects.bulk_create(
                    [
                        self._record(
                            None,
                            r,
                            salesforce_object,
                            SyncRecord.Action.FAILED,
                            category=str(category_for_status(exc.status)),
                            error_code=exc.code[:80] or type(exc).__name__,
                            message=str(exc),
                        )
                        for r, _p in chunk
                    ]
                )
                continue
            contact_ids = contacts_upsert_from_hubspot(results)
            self._states_load(contact_ids)
            by_email = {c.email.lower(): c for c in Contact.objects.filter(pk__in=contact_ids)}
            refused = {str(e.get("email") or "").strip().lower(): e for e in getattr(results, "errors", [])}
            out = []
            for record, plan in chunk:
                error = refused.get(record["Email"].strip().lower())
                if error is not None:
                    # One refused record (an invalid value...): filed under its category, the others created.
                    self.result.failed += 1
                    out.append(
                        self._record(
                            None,
                            record,
                            salesforce_object,
                            SyncRecord.Action.FAILED,
                            category=hubspot_error_category(error),
                            error_code=str(error.get("code") or "")[:80],
                            message=str(error.get("message") or ""),
                        )
                    )
                    continue
                contact = by_email.get(record["Email"].strip().lower())
                if contact is not None:
                    self._remember_salesforce(contact, salesforce_object, record)
                    self._bases_store(contact, plan)
                self.result.created_in_hubspot += 1
                out.append(
                    self._record(
                        contact,
                        record,
                        salesforce_object,
                        SyncRecord.Action.CREATED,
                        message=_("HubSpot contact created or de-duplicated from a new Salesforce record."),
                    )
                )
            SyncRecord.objects.bulk_create(out)

    def _update_in_hubspot(self, salesforce_object: str, updates: list[tuple[dict, Contact, ContactPlan]]) -> None:
        """Salesforce's edits, decided again against HubSpot as it is now (a HubSpot edit since
        the last pull, and the time of each field both sides changed), then written."""
        properties = sorted({p for _r, _c, plan in updates for p in plan.to_hubspot})
        fresh = self._hubspot_now([c for _r, c, _p in updates], properties)
        planned = []
        for record, contact, plan in updates:
            now = fresh.get(contact.hubspot_id)
            if now is not None:
                contact.raw_properties = {**(contact.raw_properties or {}), **now[0]}
                plan = self._plan_for(contact, self._states.get(contact.pk), salesforce_object, record, times=now[1])
            if plan.to_hubspot:
                planned.append((contact, plan, salesforce_object, record["Id"]))
            else:
                self._bases_store(contact, plan)
        failed = hubspot_updates_apply(self.hubspot, self.run, planned)
        for contact, plan, _object, _id in planned:
            if contact.pk in failed:
                self.result.failed += 1
                continue
            self.result.updated_in_hubspot += 1
            self._bases_store(contact, plan)

    def _hubspot_now(self, contacts: list[Contact], properties: list[str]) -> dict[str, tuple[dict, dict]]:
        """These contacts' values in HubSpot now, and when each last changed (its history)."""
        if not properties:
            return {}
        try:
            result = self.hubspot.batch_read(
                [c.hubspot_id for c in contacts], properties, properties_with_history=properties
            )
        except ClientError as exc:
            logger.warning("HubSpot values not read again before writing Salesforce's: %s", exc)
            return {}
        now = {}
        for answer in result.contacts:
            values = {k: v for k, v in (answer.properties or {}).items() if k in properties}
            now[str(answer.id)] = (values, answer.changed_at)
        return now
