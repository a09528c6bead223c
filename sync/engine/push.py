"""Push queued contacts to Salesforce through the inclusion-list gate.

For each batch of claimed queue entries: check membership *now*; skip (and log) non-members
and contacts without email; build the payload from the field mappings; skip the call when
Salesforce already holds it; find the Salesforce record (known id, else email lookup by SOQL
in chunks, else create as the configured object); write with sObject Collections (200 a call)
or, when more than ``BULK_THRESHOLD`` are queued, Bulk API 2.0 jobs of up to ``SYNC_BULK_BATCH``
records; store Salesforce ids as each call returns; log one SyncRecord per decision.

This module claims, gates and decides; the calls, their results and the log are written by
``PushWrites`` (``push_writes.py``), which ``Pusher`` extends.

Memory follows the claimed slice (``batch_size`` contacts), never the queue: for Bulk jobs, each
slice's records wait on disk (``spool.py``) until the job is sent, and its CSV and results are
streamed (``BulkUpload``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.clients.base import ClientError
from integration.clients.hubspot import HubSpotClient
from integration.clients.salesforce import SalesforceClient
from integration.models import SyncSettings
from lists.models import Contact, SalesforceObject
from sync.engine import queue
from sync.engine.budget import ApiBudget
from sync.engine.directory import SalesforceDirectory
from sync.engine.gate import Gate
from sync.engine.lifecycle import deleted_in_salesforce
from sync.engine.outgoing import Outgoing, PushCounters
from sync.engine.owners import OwnerDirectory
from sync.engine.payload import MappingRule, load_mappings, salesforce_fields
from sync.engine.push_fields import PushFields
from sync.engine.push_writes import PushWrites
from sync.engine.spool import Spool
from sync.models import PendingSync, Reason, SyncedState, SyncRecord, SyncRun

DEFER_SECONDS = 1
BULK_THRESHOLD = 2000
BULK_BATCH = 50_000
# Claims of contacts waiting in a spool are renewed this often (the lease is 75 minutes).
RENEW_EVERY = timedelta(minutes=10)


@dataclass
class Triage:
    """The gate's decisions on a batch of queue entries (``Pusher.triage``)."""

    skipped: list[tuple[PendingSync, str]] = field(default_factory=list)  # with the skip reason
    candidates: list[PendingSync] = field(default_factory=list)
    deferred: list[PendingSync] = field(default_factory=list)  # behind the first with their email
    first_pending: dict[str, int] = field(default_factory=dict)  # lower-case email -> first contact id


class Pusher(PushWrites, PushFields):
    def __init__(
        self,
        *,
        run: SyncRun,
        client: SalesforceClient,
        hubspot: HubSpotClient | None = None,
        worker: str | None = None,
        batch_size: int = 2000,
        bulk_threshold: int = BULK_THRESHOLD,
        bulk_batch_size: int | None = None,
        on_progress: Callable[[int], None] | None = None,
        allow_retries: bool = True,
        budget: ApiBudget | None = None,
    ) -> None:
        self.run = run
        self.client = client
        # Salesforce's edits a member has not received yet go to HubSpot in the same pass.
        self.hubspot = hubspot
        self.worker = worker or queue.worker_name()
        self.batch_size = batch_size
        self.bulk_threshold = bulk_threshold
        # The most records in one Bulk job. Workers claim ``batch_size`` contacts at a time, so
        # several share a big queue whatever this is; each sends its own jobs.
        self.bulk_batch_size = bulk_batch_size or getattr(settings, "SYNC_BULK_BATCH", BULK_BATCH)
        self.on_progress = on_progress
        self.allow_retries = allow_retries
        self.budget = budget
        self.counters = PushCounters()
        self.settings = SyncSettings.load()
        self.mappings: list[MappingRule] = load_mappings()
        self.directory = SalesforceDirectory(
            client, {obj: salesforce_fields(self.mappings, obj) for obj in SalesforceObject.values}
        )
        # Owners are matched by email; without HubSpot's owners they are not synced.
        self.owners = OwnerDirectory(salesforce=client, hubspot=hubspot) if hubspot is not None else None
        # Big queues go by Bulk API: records wait in spools, one per object and operation.
        self.streaming = False
        self.spools: dict[tuple[str, str], Spool] = {}
        self._renewed_at = timezone.now()

    # -- the loop -------------------------------------------------------------------------

    def run_until_empty(self, *, max_batches: int | None = None) -> PushCounters:
        batches = 0
        # A big queue (a first sync, a resync): each object's creates and updates go to
        # Salesforce in Bulk API jobs of up to ``bulk_batch_size`` records instead of many calls.
        self.streaming = PendingSync.objects.count() > self.bulk_threshold
        slice_size = min(self.batch_size, self.bulk_batch_size)
        try:
            while max_batches is None or batches < max_batches:
                self._renew_spooled()
                entries = queue.claim(worker=self.worker, limit=slice_size, exclude_retries=not self.allow_retries)
                if not entries:
                    if self.spools:
                        self.flush()
                        continue
                    if queue.due_soon(seconds=DEFER_SECONDS * 3):
                        # Entries deferred behind another contact with the same email: their turn
                        # comes in a moment, within this run.
                        time.sleep(DEFER_SECONDS)
                        continue
                    break
                batches += 1
                self.process(entries)
                if sum(len(s) for s in self.spools.values()) + slice_size > self.bulk_batch_size:
                    self.flush(big_only=True)  # before the next slice could make a job too big
            self.flush()
        except BaseException:
            # The run stops (authentication refused twice, API limit...) with part of the
            # batch untouched: give those back now. Left claimed by this still-living process
            # they would wait out the whole lease before any later run could send them.
            PendingSync.objects.filter(claimed_by=self.worker).update(claimed_by="", claimed_at=None)
            self._drop_spools()
            raise
        return self.counters

    def _renew_spooled(self) -> None:
        """Contacts waiting in a spool stay claimed by this worker: keep their lease alive."""
        if self.spools and timezone.now() - self._renewed_at > RENEW_EVERY:
            queue.renew(worker=self.worker)
            self._renewed_at = timezone.now()

    def _drop_spools(self) -> None:
        for spool in self.spools.values():
            spool.close()
        self.spools = {}

    def process(self, entries: list[PendingSync]) -> None:
        gate = Gate.current()
        now = timezone.now()
        triage = self.triage(entries, gate)
        self.counters.considered += len(triage.skipped) + len(triage.candidates)
        records = [self._skip_record(entry, reason, gate) for entry, reason in triage.skipped]
        self._save(records, [entry for entry, _reason in triage.skipped])
        self._defer(triage.deferred, triage.first_pending, now)
        spooled = self._send(triage.candidates, now) if triage.candidates else 0
        if self.on_progress:
            # Spooled contacts count once their Bulk job's results are applied.
            self.on_progress(len(entries) - len(triage.deferred) - spooled)

    def triage(self, entries: list[PendingSync], gate: Gate) -> Triage:
        """The gate's decision for each entry, without writing anything: skipped (and why), to
        send, or deferred behind another queued contact with the same email. Reads only (the
        members, the links by email, the queue, deletions): the dry run (``dryrun.py``) shares it.
        A contact sharing a linked contact's email is linked to that record here (in memory)."""
        triage = Triage()
        members = gate.members([e.contact_id for e in entries])
        linked, triage.first_pending = self._email_owners(
            {
                e.contact.email.strip().lower()
                for e in entries
                if not e.contact.salesforce_id and e.contact.email.strip()
            }
        )
        # Contacts whose record was deleted in Salesforce: not re-created but by a manual resync.
        recreate = self.settings.salesforce_deletions == SyncSettings.SalesforceDeletions.RECREATE
        deleted = deleted_in_salesforce(
            e.contact_id
            for e in entries
            if not recreate and not e.contact.salesforce_id and Reason.CONTACT_RESYNC not in e.reasons
        )
        for entry in entries:
            contact = entry.contact
            reason = ""
            if not gate.is_open:
                reason = gate.closed_reason
            elif contact.archived:
                reason = SyncRecord.SkipReason.DELETED
            elif contact.pk not in members:
                reason = SyncRecord.SkipReason.NOT_MEMBER
            elif not contact.email.strip():
                reason = SyncRecord.SkipReason.NO_EMAIL
            elif contact.pk in deleted:
                reason = SyncRecord.SkipReason.SALESFORCE_DELETED
            if reason:
                triage.skipped.append((entry, reason))
                continue
            key = contact.email.strip().lower()
            if not contact.salesforce_id:
                if key in linked:
                    # Another contact with this email (in any case) is already linked to a
                    # Salesforce record: de-duplicate by email, update that record.
                    contact.salesforce_id, contact.salesforce_object = linked[key]
                elif triage.first_pending.get(key, contact.pk) < contact.pk:
                    # Another contact with this email is queued too (maybe in another worker's
                    # batch): only the first creates the record; this one follows and finds it.
                    triage.deferred.append(entry)
                    continue
            triage.candidates.append(entry)
        return triage

    @staticmethod
    def _defer(deferred: list[PendingSync], first_pending: dict[str, int], now: datetime) -> None:
        """Give back the followers, due when their leader (the first queued contact with the same
        email) is: a follower retried every second while its leader waits out a back-off (30 s
        to 1 h after a transient failure) kept the run polling until the leader's turn came."""
        if not deferred:
            return
        leaders = {first_pending[e.contact.email.strip().lower()] for e in deferred}
        leader_due = dict(
            PendingSync.objects.filter(contact_id__in=leaders).values_list("contact_id", "next_attempt_at")
        )
        soon = now + timedelta(seconds=DEFER_SECONDS)
        later: dict[datetime, list[PendingSync]] = defaultdict(list)
        for entry in deferred:
            due = leader_due.get(first_pending[entry.contact.email.strip().lower()])
            if due is not None and due > soon:
                later[due].append(entry)
        waiting = {e.pk for group in later.values() for e in group}
        queue.release([e for e in deferred if e.pk not in waiting], delay=DEFER_SECONDS)
        for due, entries in later.items():
            queue.release(entries, delay=(due - now).total_seconds())

    def _email_owners(self, keys: set[str]) -> tuple[dict[str, tuple[str, str]], dict[str, int]]:
        """For these lower-case emails: the Salesforce record a contact of ours is linked to, and
        the lowest contact id among the queued contacts (every worker shares this database).

        Two statements, so another worker may commit between them; its leader links the record
        and leaves the queue in one commit. The queue is read first: a leader it misses has left
        already, so the links read next hold its record. (Links read first could miss a leader
        that then leaves before the queue is read: its follower would create a second record.)"""
        if not keys:
            return {}, {}
        first = self._first_pending(keys)
        linked = {
            row["email_ci"]: (row["salesforce_id"], row["salesforce_object"])
            for row in Contact.objects.annotate(email_ci=Lower("email"))
            .filter(email_ci__in=keys)
            .exclude(salesforce_id="")
            .values("email_ci", "salesforce_id", "salesforce_object")
        }
        return linked, first

    @staticmethod
    def _first_pending(keys: set[str]) -> dict[str, int]:
        """The lowest queued contact id for each of these lower-case emails."""
        rows = (
            PendingSync.objects.annotate(email_ci=Lower("contact__email"))
            .filter(email_ci__in=keys)
            .values("email_ci")
            .annotate(first=Min("contact_id"))
            .order_by()
        )
        return {row["email_ci"]: row["first"] for row in rows}

    # -- decisions -------------------------------------------------------------------------

    def _send(self, entries: list[PendingSync], now: datetime) -> int:
        """Decide, then write or spool each contact; returns how many were spooled."""
        outgoing = self.outgoing(entries)
        try:
            self.find_records(outgoing)
        except ClientError as exc:
            self._call_failed([i.entry for i in outgoing], exc)
            return 0
        # Field by field (sync.engine.fields): only what changed goes, each way its rule allows.
        self._plan_all(outgoing)
        self._log_unmatched_owners(outgoing)
        self._write_hubspot(outgoing)
        unchanged = [i for i in outgoing if self.operation(i) is None]
        sendable = [i for i in outgoing if self.operation(i) is not None]
        if unchanged:
            self._unchanged(unchanged)
        groups: dict[tuple[str, str], list[Outgoing]] = defaultdict(list)
        for item in sendable:
            groups[(item.salesforce_object, self.operation(item))].append(item)
        spooled = 0
        for (salesforce_object, operation), items in groups.items():
            if self.streaming:
                spool = self.spools.get((salesforce_object, operation))
                if spool is None:
                    spool = self.spools[(salesforce_object, operation)] = Spool(salesforce_object, operation)
                for item in items:
                    spool.add(item)
                spooled += len(items)
            else:
                self._write(salesforce_object, operation, items)
        return spooled

    # -- planning (reads only; shared with the dry run) ----------------------------------------

    def outgoing(self, entries: list[PendingSync]) -> list[Outgoing]:
        """The contacts to send, each with its synced state (one query)."""
        states = {s.contact_id: s for s in SyncedState.objects.filter(contact_id__in=[e.contact_id for e in entries])}
        return [
            Outgoing(
                entry=entry,
                contact=entry.contact,
                salesforce_object=entry.contact.salesforce_object or self.settings.salesforce_object_for_new,
                salesforce_id=entry.contact.salesforce_id,
                state=states.get(entry.contact.pk),
            )
            for entry in entries
        ]

    def find_records(self, items: list[Outgoing]) -> None:
        """Link the unlinked to the Salesforce record holding their email, if any (SOQL reads)."""
        to_lookup = [i for i in items if not i.salesforce_id]
        if to_lookup and self.settings.dedupe_key == SyncSettings.DedupeKey.EMAIL:
            self._lookup(to_lookup)

    def operation(self, item: Outgoing) -> str | None:
        """The write a planned item makes ("create", "update", "upsert"), or None: unchanged."""
        if not item.creating and not item.plan.to_salesforce:
            return None
        if self.settings.dedupe_key == SyncSettings.DedupeKey.EXTERNAL_ID and item.creating:
            return "upsert"
        return "create" if item.creating else "update"

    def _lookup(self, items: list[Outgoing]) -> None:
        """Find existing Salesforce records by email (Leads and Contacts; the newest wins)."""
        matches = self.directory.find(i.contact.email for i in items)
        for item in items:
            found = matches.get(item.contact.email.strip().lower()) or []
            if not found:
                continue
            best = max(found, key=lambda m: str(m.last_modified or ""))
            item.salesforce_id = best.id
            item.salesforce_object = best.object
            if item.state is None:
                item.state = SyncedState(contact=item.contact)
            values = {**dict(best.fields), "LastModifiedDate": best.last_modified} if best.fields else None
            item.state.salesforce_values = values or item.state.salesforce_values
            item.read_now = values is not None

    def _unchanged(self, items: list[Outgoing]) -> None:
        records = []
        for item in items:
            records.append(
                self._outcome(
                    item, SyncRecord.Action.UNCHANGED, message=_("Salesforce already has these values; no call made.")
                )
            )
        # A contact found by email (or sharing a linked contact's email) is linked now, though
        # nothing was sent: compare with what the database holds, not with the contact in memory.
        stored = dict(Contact.objects.filter(pk__in=[i.contact.pk for i in items]).values_list("pk", "salesforce_id"))
        with transaction.atomic():
            self._link([i for i in items if stored.get(i.contact.pk) != i.salesforce_id])
            # Nothing was sent, but the bases may have moved (a new mapping's values, a field
            # both sides now agree on, Salesforce's edit written to HubSpot).
            self._store_bases(items)
            SyncRecord.objects.bulk_create(records)
            queue.complete([i.entry for i in items])
