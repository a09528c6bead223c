"""The push's field decisions: each contact's plan (``fields.plan_contact``), made against what
Salesforce holds right before the write, with HubSpot's own times for a field both sides changed;
and the HubSpot half of a plan (a member's Salesforce edits not yet in HubSpot).

``Pusher`` extends this; ``PushWrites`` writes the Salesforce half and stores the bases.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction

from integration.clients.base import ClientError
from sync.engine.fields import ContactPlan, bases_for, plan_contact
from sync.engine.hubspot_write import hubspot_updates_apply
from sync.engine.merge import HUBSPOT
from sync.engine.outgoing import Outgoing
from sync.engine.owners import OwnerDirectory, unmatched_records
from sync.engine.payload import MappingRule
from sync.models import Reason, SyncedState, SyncRecord

# Reasons that ask for every field again, as on a first sync (a resync applies new mappings).
FORCING = {Reason.LIST_RESYNC, Reason.CONTACT_RESYNC}


class PushFields:
    """Decides each outgoing contact's fields. Set by ``Pusher``: ``mappings``, ``directory``,
    ``hubspot`` (the HubSpot client, or None: then Salesforce's edits wait for the Salesforce
    pull), ``run``."""

    mappings: list[MappingRule]
    hubspot: object | None
    owners: OwnerDirectory | None

    def _plan(self, item: Outgoing, hubspot_times: dict[str, datetime] | None = None) -> ContactPlan:
        state = item.state
        bases = bases_for(state, self.mappings)
        if FORCING & set(item.entry.reasons):
            # A resync is a first sync: every field as the rules say, whatever was agreed before
            # (how a new mapping reaches the records that existed before it).
            bases = {}
        first_sync = not bases
        if item.creating:
            # No record yet: every mapped field is known blank in Salesforce.
            salesforce = {m.salesforce_field: None for m in self.mappings if m.applies_to(item.salesforce_object)}
        else:
            salesforce = state.salesforce_values if state is not None else None
        plan = plan_contact(
            mappings=self.mappings,
            salesforce_object=item.salesforce_object,
            hubspot=item.contact.raw_properties or {},
            salesforce=salesforce,
            bases=bases,
            first_sync=first_sync or item.creating,
            hubspot_times=hubspot_times,
            hubspot_updated_at=item.contact.hubspot_updated_at,
            directions=("to_salesforce", "to_hubspot") if self.hubspot is not None else ("to_salesforce",),
            # HubSpot starts this sync: where a first sync finds a value on both sides, HubSpot's goes.
            first_sync_winner=HUBSPOT,
            owners=self.owners,
        )
        if item.creating:
            plan.to_salesforce = {k: v for k, v in plan.to_salesforce.items() if v is not None}
        item.plan = plan
        item.payload = plan.to_salesforce
        # For the log: what Salesforce held in the fields about to change.
        item.before = None if item.creating else {f: (salesforce or {}).get(f) for f in plan.to_salesforce}
        return plan

    def _plan_all(self, items: list[Outgoing]) -> None:
        """Plan every item; those about to update Salesforce are planned again against the
        record as it is now, and those with a field both sides changed against HubSpot's time of
        that field."""
        for item in items:
            self._plan(item)
        # Records the email look-up has just read need no second read.
        self._read_salesforce([i for i in items if not i.creating and not i.read_now and i.plan.to_salesforce])
        conflicted = [i for i in items if i.plan.conflicts]
        if conflicted and self.hubspot is not None:
            times = self._hubspot_times(conflicted)
            for item in conflicted:
                self._plan(item, times.get(item.contact.hubspot_id))

    def _read_salesforce(self, items: list[Outgoing]) -> None:
        by_object: dict[str, list[Outgoing]] = defaultdict(list)
        for item in items:
            by_object[item.salesforce_object].append(item)
        for salesforce_object, group in by_object.items():
            current = self.directory.records(salesforce_object, [i.salesforce_id for i in group])
            for item in group:
                record = current.get(item.salesforce_id) or current.get(item.salesforce_id[:15])
                if record is None:
                    continue  # gone: the write answers ENTITY_IS_DELETED and the contact is unlinked
                if item.state is None:
                    item.state = SyncedState(contact=item.contact)
                item.state.salesforce_values = {**(item.state.salesforce_values or {}), **record}
                self._plan(item)

    def _hubspot_times(self, items: list[Outgoing]) -> dict[str, dict[str, datetime]]:
        """When each conflicting property last changed in HubSpot (its history), by contact."""
        properties = sorted({c["property"] for i in items for c in i.plan.conflicts})
        try:
            result = self.hubspot.batch_read(
                [i.contact.hubspot_id for i in items], properties, properties_with_history=properties
            )
        except ClientError:
            return {}  # the contact's last modification time stands in for the field's
        return {str(contact.id): contact.changed_at for contact in result.contacts}

    def _log_unmatched_owners(self, items: list[Outgoing]) -> None:
        """One skip in the log per owner that has no match on the other side (the record goes)."""
        records = [
            r for i in items if i.plan is not None for r in unmatched_records(self.run, i.contact, i.plan.unmatched)
        ]
        if records:
            SyncRecord.objects.bulk_create(records)

    # -- the HubSpot half -------------------------------------------------------------------

    def _write_hubspot(self, items: list[Outgoing]) -> None:
        """Write to HubSpot what Salesforce changed (a member's edits not yet in HubSpot, a
        conflict Salesforce won); one record each in the log. A refused contact keeps its bases
        for those fields, so the next sync tries again."""
        items = [i for i in items if i.plan is not None and i.plan.to_hubspot]
        if not items or self.hubspot is None:
            return
        failed = hubspot_updates_apply(
            self.hubspot, self.run, [(i.contact, i.plan, i.salesforce_object, i.salesforce_id) for i in items]
        )
        for item in items:
            if item.contact.pk in failed:
                for key in list(item.plan.bases):
                    prop = key.split(":", 1)[0]
                    if prop in item.plan.to_hubspot:
                        del item.plan.bases[key]
                item.plan.to_hubspot = {}

    @staticmethod
    def _store_bases(items: list[Outgoing]) -> None:
        """Store the bases of contacts nothing was sent for (their plans may still have moved)."""
        states = []
        for item in items:
            if item.plan is None:
                continue
            state = item.state or SyncedState(contact=item.contact)
            state.field_bases = {**(state.field_bases or {}), **item.plan.bases}
            states.append(state)
        if states:
            with transaction.atomic():
                SyncedState.objects.bulk_create(
                    states,
                    update_conflicts=True,
                    unique_fields=["contact"],
                    update_fields=["field_bases", "salesforce_values"],
                    batch_size=500,
                )
