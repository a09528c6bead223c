"""Salesforce → HubSpot: new Salesforce records create (or de-duplicate by email) HubSpot contacts
whatever the inclusion list says; later Salesforce edits reach HubSpot only for members, only
for fields whose rule lets Salesforce write. Our own writes do not bounce back: a Salesforce
record whose values equal what we last sent is our echo.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from integration.clients.base import ClientError
from integration.models import SyncSettings
from lists.models import Contact
from sync.engine.gate import Gate
from sync.engine.hubspot_pull import contacts_upsert_from_hubspot
from sync.engine.payload import MappingRule, inbound_changes, load_mappings, salesforce_fields
from sync.models import Category, SyncedState, SyncRecord, SyncRun, Watermark

logger = logging.getLogger(__name__)

SOURCES = {"Lead": Watermark.Source.SALESFORCE_LEADS, "Contact": Watermark.Source.SALESFORCE_CONTACTS}
BATCH = 100  # HubSpot batch endpoints take 100 inputs
OVERLAP = timedelta(seconds=1)


@dataclass
class SalesforcePullResult:
    seen: int = 0
    created_in_hubspot: int = 0
    updated_in_hubspot: int = 0
    skipped: int = 0
    failed: int = 0


def _as_datetime(value) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("+0000", "+00:00")
    parsed = parse_datetime(text)
    if parsed and not parsed.tzinfo:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


class SalesforcePull:
    def __init__(self, *, run: SyncRun, salesforce, hubspot, on_progress: Callable[[], None] | None = None) -> None:
        self.run = run
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.on_progress = on_progress
        self.settings = SyncSettings.load()
        self.mappings: list[MappingRule] = load_mappings()
        self.result = SalesforcePullResult()

    def run_all(self) -> SalesforcePullResult:
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
        fields = sorted(
            {
                "Id",
                "Email",
                "FirstName",
                "LastName",
                "CreatedDate",
                "LastModifiedDate",
                *salesforce_fields(self.mappings, salesforce_object),
            }
        )
        batch: list[dict] = []
        newest = mark.value
        for record in self.salesforce.query_modified_since(salesforce_object, mark.value - OVERLAP, fields):
            batch.append(record)
            modified = _as_datetime(record.get("LastModifiedDate"))
            if modified and modified > newest:
                newest = modified
            if len(batch) >= BATCH:
                self._handle(salesforce_object, batch)
                batch = []
                mark.value = newest
                mark.save(update_fields=["value", "updated_at"])
        if batch:
            self._handle(salesforce_object, batch)
        if newest != mark.value:
            mark.value = newest
            mark.save(update_fields=["value", "updated_at"])

    def _handle(self, salesforce_object: str, records: list[dict]) -> None:
        self.result.seen += len(records)
        ids = [r["Id"] for r in records]
        by_sf_id = {c.salesforce_id: c for c in Contact.objects.filter(salesforce_id__in=ids)}
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
        states = {
            s.contact_id: s
            for s in SyncedState.objects.filter(contact_id__in=[c.pk for c in [*by_sf_id.values(), *by_email.values()]])
        }
        gate = Gate.current()
        known = [*by_sf_id.values(), *by_email.values()]
        members = gate.members([c.pk for c in known])
        mapped_fields = salesforce_fields(self.mappings, salesforce_object)
        creates: list[tuple[dict, dict]] = []
        updates: list[tuple[dict, Contact, dict]] = []
        records_out: list[SyncRecord] = []
        for record in records:
            contact = by_sf_id.get(record["Id"]) or by_email.get((record.get("Email") or "").strip().lower())
            state = states.get(contact.pk) if contact else None
            if contact is None:
                if not self.settings.create_hubspot_contacts_from_salesforce or not record.get("Email"):
                    continue
                props = inbound_changes(
                    salesforce_record=record,
                    raw_properties={},
                    mappings=self.mappings,
                    salesforce_object=salesforce_object,
                    creating=True,
                )
                props["email"] = record["Email"].strip()
                creates.append((record, props))
                continue
            previous = state.salesforce_values if state else None
            changed_in_salesforce = previous is None or any(
                str(record.get(f) or "") != str(previous.get(f) or "") for f in mapped_fields if f in record
            )
            self._remember_salesforce(contact, salesforce_object, record)
            if not changed_in_salesforce:
                continue  # nothing new in Salesforce since we last saw or wrote it: our own echo
            changes = inbound_changes(
                salesforce_record=record,
                raw_properties=contact.raw_properties,
                mappings=self.mappings,
                salesforce_object=salesforce_object,
            )
            if not changes:
                continue
            if contact.pk not in members:
                self.result.skipped += 1
                records_out.append(
                    self._record(
                        contact,
                        record,
                        salesforce_object,
                        SyncRecord.Action.SKIPPED,
                        skip_reason=gate.closed_reason or SyncRecord.SkipReason.NOT_MEMBER,
                        message=_("Salesforce change not sent to HubSpot: not in the inclusion list."),
                    )
                )
                continue
            updates.append((record, contact, changes))
        SyncRecord.objects.bulk_create(records_out)
        if creates:
            self._create_in_hubspot(salesforce_object, creates)
        if updates:
            self._update_in_hubspot(salesforce_object, updates)
        if self.on_progress:
            self.on_progress()

    def _remember_salesforce(self, contact: Contact, salesforce_object: str, record: dict) -> None:
        values = {k: v for k, v in record.items() if k not in ("attributes",)}
        with transaction.atomic():
            if not contact.salesforce_id:
                contact.salesforce_id = record["Id"]
                contact.salesforce_object = salesforce_object
                Contact.objects.filter(pk=contact.pk).update(
                    salesforce_id=record["Id"], salesforce_object=salesforce_object
                )
            SyncedState.objects.update_or_create(
                contact=contact,
                defaults={"salesforce_values": values, "salesforce_seen_at": timezone.now()},
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

    def _create_in_hubspot(self, salesforce_object: str, creates: list[tuple[dict, dict]]) -> None:
        for start in range(0, len(creates), BATCH):
            chunk = creates[start : start + BATCH]
            try:
                results = self.hubspot.batch_upsert_by_email([props for _r, props in chunk])
            except ClientError as exc:
                self.result.failed += len(chunk)
                SyncRecord.objects.bulk_create(
                    [
                        self._record(
                            None,
                            r,
                            salesforce_object,
                            SyncRecord.Action.FAILED,
                            category=Category.CONNECTION,
                            error_code=exc.code[:80] or type(exc).__name__,
                            message=str(exc),
                        )
                        for r, _p in chunk
                    ]
                )
                continue
            contact_ids = contacts_upsert_from_hubspot(results)
            by_email = {c.email.lower(): c for c in Contact.objects.filter(pk__in=contact_ids)}
            out = []
            for record, _props in chunk:
                contact = by_email.get(record["Email"].strip().lower())
                if contact is not None:
                    self._remember_salesforce(contact, salesforce_object, record)
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

    def _update_in_hubspot(self, salesforce_object: str, updates: list[tuple[dict, Contact, dict]]) -> None:
        for start in range(0, len(updates), BATCH):
            chunk = updates[start : start + BATCH]
            try:
                self.hubspot.batch_update([{"id": c.hubspot_id, "properties": changes} for _r, c, changes in chunk])
            except ClientError as exc:
                self.result.failed += len(chunk)
                SyncRecord.objects.bulk_create(
                    [
                        self._record(
                            c,
                            r,
                            salesforce_object,
                            SyncRecord.Action.FAILED,
                            category=Category.CONNECTION,
                            error_code=exc.code[:80] or type(exc).__name__,
                            message=str(exc),
                        )
                        for r, c, _ch in chunk
                    ]
                )
                continue
            out = []
            for record, contact, changes in chunk:
                before = {k: contact.raw_properties.get(k) for k in changes}
                self.result.updated_in_hubspot += 1
                out.append(
                    self._record(
                        contact,
                        record,
                        salesforce_object,
                        SyncRecord.Action.UPDATED,
                        fields=sorted(changes),
                        payload_before=before,
                        payload_after=changes,
                    )
                )
            SyncRecord.objects.bulk_create(out)
