"""Push queued contacts to Salesforce through the inclusion-list gate.

For each batch of claimed queue entries: check membership *now*; skip (and log) non-members
and contacts without email; build the payload from the field mappings; skip the call when
Salesforce already holds it; find the Salesforce record (known id, else email lookup by SOQL
in chunks, else create as the configured object); write with sObject Collections (200 a call)
or, when more than ``BULK_THRESHOLD`` are queued, Bulk API 2.0 jobs of up to ``SYNC_BULK_BATCH``
records; store Salesforce ids as each call returns; log one SyncRecord per decision.

Memory follows the claimed slice (``batch_size`` contacts), never the queue: for Bulk jobs, each
slice's records wait on disk (``spool.py``) until the job is sent, and its CSV and results are
streamed (``BulkUpload``).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.clients.base import AuthError, ClientError, RateLimited
from integration.clients.salesforce import BulkUpload
from integration.models import SyncSettings
from lists.models import Contact
from sync.engine import queue
from sync.engine.budget import ApiBudget
from sync.engine.directory import SalesforceDirectory
from sync.engine.errors import GONE_CODES, RunStopped, category_for, is_transient
from sync.engine.gate import Gate
from sync.engine.payload import (
    MappingRule,
    already_in_salesforce,
    fingerprint,
    load_mappings,
    outbound_payload,
    salesforce_fields,
)
from sync.engine.spool import Spool
from sync.models import Category, PendingSync, Reason, SyncedState, SyncRecord, SyncRun

logger = logging.getLogger(__name__)

COLLECTION_SIZE = 200
DEFER_SECONDS = 1
BULK_THRESHOLD = 2000
BULK_BATCH = 50_000
MAX_ATTEMPTS = 6
# Claims of contacts waiting in a spool are renewed this often (the lease is 75 minutes).
RENEW_EVERY = timedelta(minutes=10)


@dataclass
class Outgoing:
    entry: PendingSync
    contact: Contact
    salesforce_object: str
    salesforce_id: str = ""
    payload: dict = field(default_factory=dict)
    before: dict | None = None
    state: SyncedState | None = None

    @property
    def creating(self) -> bool:
        return not self.salesforce_id


@dataclass
class PushCounters:
    considered: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0

    def add(self, action: str) -> None:
        setattr(self, action, getattr(self, action) + 1)


class Pusher:
    def __init__(
        self,
        *,
        run: SyncRun,
        client,
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
            client, {obj: salesforce_fields(self.mappings, obj) for obj in ("Lead", "Contact")}
        )
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
        records: list[SyncRecord] = []
        done: list[PendingSync] = []
        candidates: list[PendingSync] = []
        deferred: list[PendingSync] = []
        members = gate.members([e.contact_id for e in entries])
        linked, first_pending = self._email_owners(
            {
                e.contact.email.strip().lower()
                for e in entries
                if not e.contact.salesforce_id and e.contact.email.strip()
            }
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
            if reason:
                self.counters.considered += 1
                records.append(self._skip_record(entry, reason, gate))
                done.append(entry)
                continue
            key = contact.email.strip().lower()
            if not contact.salesforce_id:
                if key in linked:
                    # Another contact with this email (in any case) is already linked to a
                    # Salesforce record: de-duplicate by email, update that record.
                    contact.salesforce_id, contact.salesforce_object = linked[key]
                elif first_pending.get(key, contact.pk) < contact.pk:
                    # Another contact with this email is queued too (maybe in another worker's
                    # batch): only the first creates the record; this one follows and finds it.
                    deferred.append(entry)
                    continue
            self.counters.considered += 1
            candidates.append(entry)
        self._save(records, done)
        self._defer(deferred, first_pending, now)
        spooled = self._send(candidates, now) if candidates else 0
        if self.on_progress:
            # Spooled contacts count once their Bulk job's results are applied.
            self.on_progress(len(entries) - len(deferred) - spooled)

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

    @staticmethod
    def _email_owners(keys: set[str]) -> tuple[dict[str, tuple[str, str]], dict[str, int]]:
        """For these lower-case emails: the Salesforce record a contact of ours is linked to, and
        the lowest contact id among the queued contacts (every worker shares this database).

        Two statements, so another worker may commit between them; its leader links the record
        and leaves the queue in one commit. The queue is read first: a leader it misses has left
        already, so the links read next hold its record. (Links read first could miss a leader
        that then leaves before the queue is read: its follower would create a second record.)"""
        if not keys:
            return {}, {}
        first: dict[str, int] = {}
        rows = (
            PendingSync.objects.annotate(email_ci=Lower("contact__email"))
            .filter(email_ci__in=keys)
            .values("email_ci")
            .annotate(first=Min("contact_id"))
            .order_by()
        )
        for row in rows:
            first[row["email_ci"]] = row["first"]
        linked = {
            row["email_ci"]: (row["salesforce_id"], row["salesforce_object"])
            for row in Contact.objects.annotate(email_ci=Lower("email"))
            .filter(email_ci__in=keys)
            .exclude(salesforce_id="")
            .values("email_ci", "salesforce_id", "salesforce_object")
        }
        return linked, first

    # -- decisions -------------------------------------------------------------------------

    def _skip_record(self, entry: PendingSync, reason: str, gate: Gate) -> SyncRecord:
        labels = dict(SyncRecord.SkipReason.choices)
        message = str(labels.get(reason, reason))
        if reason == SyncRecord.SkipReason.NOT_MEMBER and gate.list_name:
            message = _("Not a member of the inclusion list “%(name)s” when it was to be sent.") % {
                "name": gate.list_name
            }
        self.counters.add("skipped")
        return self._record(entry, SyncRecord.Action.SKIPPED, skip_reason=reason, message=message)

    def _record(self, entry: PendingSync, action: str, **fields) -> SyncRecord:
        contact = entry.contact
        return SyncRecord(
            run=self.run,
            contact=contact,
            hubspot_id=contact.hubspot_id,
            email=contact.email[:254],
            name=str(contact)[:255],
            direction=SyncRecord.Direction.TO_SALESFORCE,
            action=action,
            reasons=list(entry.reasons),
            attempt=entry.attempts + 1,
            **fields,
        )

    def _save(self, records: list[SyncRecord], done: list[PendingSync]) -> None:
        with transaction.atomic():
            SyncRecord.objects.bulk_create(records, batch_size=500)
            queue.complete(done)

    def _send(self, entries: list[PendingSync], now: datetime) -> int:
        """Decide, then write or spool each contact; returns how many were spooled."""
        states = {s.contact_id: s for s in SyncedState.objects.filter(contact_id__in=[e.contact_id for e in entries])}
        outgoing: list[Outgoing] = []
        to_lookup: list[Outgoing] = []
        for entry in entries:
            contact = entry.contact
            item = Outgoing(
                entry=entry,
                contact=contact,
                salesforce_object=contact.salesforce_object or self.settings.salesforce_object_for_new,
                salesforce_id=contact.salesforce_id,
                state=states.get(contact.pk),
            )
            outgoing.append(item)
            if not item.salesforce_id:
                to_lookup.append(item)
        if to_lookup and self.settings.dedupe_key == SyncSettings.DedupeKey.EMAIL:
            try:
                self._lookup(to_lookup)
            except ClientError as exc:
                self._call_failed([i.entry for i in outgoing], exc)
                return 0
        unchanged: list[Outgoing] = []
        sendable: list[Outgoing] = []
        for item in outgoing:
            sf_values = item.state.salesforce_values if item.state else None
            item.payload = outbound_payload(
                raw_properties=item.contact.raw_properties,
                mappings=self.mappings,
                salesforce_object=item.salesforce_object,
                creating=item.creating,
                salesforce_values=sf_values,
            )
            item.before = item.state.last_payload if item.state else None
            digest = fingerprint(item.salesforce_object, item.payload)
            forced = Reason.LIST_RESYNC in item.entry.reasons or Reason.CONTACT_RESYNC in item.entry.reasons
            if not item.creating and (
                not item.payload
                or (item.state and item.state.payload_hash == digest and not forced)
                or already_in_salesforce(item.payload, sf_values)
            ):
                unchanged.append(item)
            else:
                sendable.append(item)
        if unchanged:
            self._unchanged(unchanged)
        groups: dict[tuple[str, str], list[Outgoing]] = defaultdict(list)
        for item in sendable:
            if self.settings.dedupe_key == SyncSettings.DedupeKey.EXTERNAL_ID and item.creating:
                operation = "upsert"
            else:
                operation = "create" if item.creating else "update"
            groups[(item.salesforce_object, operation)].append(item)
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
            item.state.salesforce_values = dict(best.fields) or item.state.salesforce_values

    def _unchanged(self, items: list[Outgoing]) -> None:
        records = []
        for item in items:
            self.counters.add("unchanged")
            records.append(
                self._record(
                    item.entry,
                    SyncRecord.Action.UNCHANGED,
                    salesforce_object=item.salesforce_object,
                    salesforce_id=item.salesforce_id,
                    message=_("Salesforce already has these values; no call made."),
                )
            )
        with transaction.atomic():
            self._link([i for i in items if i.contact.salesforce_id != i.salesforce_id])
            SyncRecord.objects.bulk_create(records)
            queue.complete([i.entry for i in items])

    # -- writes ------------------------------------------------------------------------------

    def flush(self, *, big_only: bool = False) -> None:
        """Send the spools: by Bulk API when one holds more than ``bulk_threshold`` records, else
        by sObject Collections. ``big_only``: keep the small ones growing for a later job (a
        few hundred updates sent now would cost a collection call per 200), unless none is big."""
        spools = self.spools
        if big_only and any(len(s) > self.bulk_threshold for s in spools.values()):
            spools = {key: s for key, s in spools.items() if len(s) > self.bulk_threshold}
        self.spools = {key: s for key, s in self.spools.items() if key not in spools}
        try:
            for spool in spools.values():
                if len(spool) > self.bulk_threshold:
                    self._write_bulk(spool)
                    continue
                for chunk in spool.chunks(COLLECTION_SIZE):
                    self._write(spool.salesforce_object, spool.operation, chunk)
                    if self.on_progress:
                        self.on_progress(len(chunk))
        finally:
            for spool in spools.values():
                spool.close()

    def _still_members(self, chunk: list[Outgoing]) -> list[Outgoing]:
        """The gate again, right before the call: a contact that left the list since its batch
        started is not sent (and its skip is logged)."""
        gate = Gate.current()
        members = gate.members([i.contact.pk for i in chunk])
        left = [i for i in chunk if i.contact.pk not in members]
        if not left:
            return chunk
        reason = gate.closed_reason or SyncRecord.SkipReason.NOT_MEMBER
        self._save([self._skip_record(i.entry, reason, gate) for i in left], [i.entry for i in left])
        return [i for i in chunk if i.contact.pk in members]

    def _write(self, salesforce_object: str, operation: str, items: list[Outgoing]) -> None:
        for start in range(0, len(items), COLLECTION_SIZE):
            chunk = self._still_members(items[start : start + COLLECTION_SIZE])
            if not chunk:
                continue
            self._check_budget(len(chunk))
            # Still working on this batch: renew the claims, so that a long batch never outlives
            # its lease and gets taken by another worker.
            queue.renew(worker=self.worker)
            try:
                results = self._call(salesforce_object, operation, chunk)
            except ClientError as exc:
                self._call_failed([i.entry for i in chunk], exc)
                self._stop_if_refused(exc)
                continue
            self._apply_results(chunk, results)

    @staticmethod
    def _stop_if_refused(exc: ClientError) -> None:
        """Salesforce refused the login even after logging in again: nothing more can be sent."""
        if isinstance(exc, AuthError):
            raise RunStopped(str(exc), category=Category.CONNECTION) from exc

    def _write_bulk(self, spool: Spool) -> None:
        """One Bulk API job for a spool: its CSV written slice by slice (members only), then its
        results applied slice by slice. Only a key and a result per record stay in memory."""
        external_field = self.settings.external_id_field
        key_column = {"update": ["Id"], "upsert": [external_field]}.get(spool.operation, [])
        columns = list(dict.fromkeys([*key_column, *spool.payload_fields]))
        sent = bytearray(len(spool))  # 1 for the records in the job, in spool order
        operation = "insert" if spool.operation == "create" else spool.operation  # Bulk API's names
        with BulkUpload(operation, columns, external_field if operation == "upsert" else None) as upload:
            position = 0
            for chunk in spool.chunks(self.batch_size, states=False):
                members = {i.contact.pk for i in self._still_members(chunk)}
                for item in chunk:
                    if item.contact.pk in members:
                        upload.add(self._row(spool.operation, item))
                        sent[position] = 1
                    position += 1
            if not len(upload):
                return
            self._check_budget(len(upload))
            queue.renew(worker=self.worker)
            self._renewed_at = timezone.now()
            try:
                results = self.client.bulk_run(spool.salesforce_object, upload)
            except ClientError as exc:
                for chunk in self._sent_chunks(spool, sent):
                    self._call_failed([i.entry for i, _r in chunk], exc)
                    if self.on_progress:
                        self.on_progress(len(chunk))
                self._stop_if_refused(exc)
                return
        for chunk in self._sent_chunks(spool, sent, results):
            self._apply_results([i for i, _r in chunk], [r for _i, r in chunk])
            if self.on_progress:
                self.on_progress(len(chunk))

    def _sent_chunks(self, spool: Spool, sent: bytearray, results=None) -> Iterable[list[tuple[Outgoing, object]]]:
        """The spooled records that went into the job (with their results), a slice at a time."""
        position = result = 0
        for chunk in spool.chunks(self.batch_size, states=results is not None):
            pairs = []
            for item in chunk:
                if sent[position]:
                    pairs.append((item, results[result] if results is not None else None))
                    result += 1
                position += 1
            if pairs:
                yield pairs

    def _row(self, operation: str, item: Outgoing) -> dict:
        if operation == "update":
            return {"Id": item.salesforce_id, **item.payload}
        if operation == "upsert":
            return {self.settings.external_id_field: item.contact.hubspot_id, **item.payload}
        return item.payload

    def _call(self, salesforce_object: str, operation: str, chunk: list[Outgoing]):
        records = [self._row(operation, i) for i in chunk]
        if operation == "create":
            return self.client.collections_create(salesforce_object, records)
        if operation == "update":
            return self.client.collections_update(salesforce_object, records)
        return self.client.collections_upsert(salesforce_object, self.settings.external_id_field, records)

    def _apply_results(self, chunk: list[Outgoing], results) -> None:
        now = timezone.now()
        records: list[SyncRecord] = []
        done: list[PendingSync] = []
        retry: list[PendingSync] = []
        gone: list[Outgoing] = []
        linked: list[Outgoing] = []
        for item, result in zip(chunk, results, strict=True):
            if result.success:
                # Collections create returns no "created" flag; upserts say whether they created.
                created = item.creating and result.created is not False
                action = SyncRecord.Action.CREATED if created else SyncRecord.Action.UPDATED
                item.salesforce_id = result.id or item.salesforce_id
                linked.append(item)
                self.counters.add("created" if action == SyncRecord.Action.CREATED else "updated")
                records.append(
                    self._record(
                        item.entry,
                        action,
                        salesforce_object=item.salesforce_object,
                        salesforce_id=item.salesforce_id,
                        fields=sorted(item.payload),
                        payload_before=item.before,
                        payload_after=item.payload,
                    )
                )
                done.append(item.entry)
                continue
            errors = list(result.errors or [])
            code = errors[0].status_code if errors else "UNKNOWN"
            message = "; ".join(e.message for e in errors) or _("Salesforce refused the record.")
            fields = sorted({f for e in errors for f in (e.fields or [])})
            if code in GONE_CODES and not item.creating:
                gone.append(item)
                continue
            will_retry = is_transient(code) and item.entry.attempts + 1 < MAX_ATTEMPTS
            self.counters.add("failed")
            records.append(
                self._record(
                    item.entry,
                    SyncRecord.Action.FAILED,
                    salesforce_object=item.salesforce_object,
                    salesforce_id=item.salesforce_id,
                    error_code=code,
                    # A locked row says nothing about the data: not an error category to triage.
                    category=Category.OTHER if code == "UNABLE_TO_LOCK_ROW" else category_for(code),
                    message=_("%(message)s (will retry)") % {"message": message} if will_retry else message,
                    fields=fields,
                    payload_before=item.before,
                    payload_after=item.payload,
                )
            )
            if will_retry:
                retry.append(item.entry)
                continue
            # A data error is not retried until the contact changes (which queues it again).
            done.append(item.entry)
        with transaction.atomic():
            self._link(linked, sent_at=now)
            SyncRecord.objects.bulk_create(records, batch_size=500)
            queue.complete(done)
            if gone:
                Contact.objects.filter(pk__in=[i.contact.pk for i in gone]).update(
                    salesforce_id="", salesforce_object=""
                )
                for item in gone:
                    item.contact.salesforce_id = ""
                queue.release([i.entry for i in gone])
        if retry:
            queue.retry_later(retry, error="transient Salesforce error")

    def _link(self, items: list[Outgoing], sent_at: datetime | None = None) -> None:
        """Remember Salesforce ids (and, after a write, what was sent)."""
        if not items:
            return
        rows = []
        for item in items:
            item.contact.salesforce_id = item.salesforce_id
            item.contact.salesforce_object = item.salesforce_object
            rows.append((item.salesforce_id, item.salesforce_object, item.contact.pk))
        # One prepared UPDATE run for every row: Django's bulk_update builds a CASE per row,
        # which costs seconds for a Bulk job's worth of contacts.
        table = connection.ops.quote_name(Contact._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET salesforce_id = %s, salesforce_object = %s WHERE id = %s", rows)
        if sent_at is None:
            return
        states = []
        for item in items:
            state = item.state or SyncedState(contact=item.contact)
            state.payload_hash = fingerprint(item.salesforce_object, item.payload)
            state.last_payload = item.payload
            state.last_sent_at = sent_at
            merged = dict(state.salesforce_values or {})
            merged.update(item.payload)
            state.salesforce_values = merged
            states.append(state)
        SyncedState.objects.bulk_create(
            states,
            update_conflicts=True,
            unique_fields=["contact"],
            update_fields=["payload_hash", "last_payload", "last_sent_at", "salesforce_values"],
            batch_size=500,
        )

    def _call_failed(self, entries: list[PendingSync], exc: ClientError) -> None:
        code = getattr(exc, "code", "") or type(exc).__name__
        if isinstance(exc, AuthError):
            category = Category.CONNECTION
        elif isinstance(exc, RateLimited) or code == "REQUEST_LIMIT_EXCEEDED":
            category = Category.API_LIMIT
        elif exc.retryable:
            category = Category.CONNECTION
        else:
            category = Category.OTHER
        records = []
        retry, give_up = [], []
        for entry in entries:
            self.counters.add("failed")
            final = entry.attempts + 1 >= MAX_ATTEMPTS
            (give_up if final else retry).append(entry)
            message = str(exc)
            message = (
                _("%(message)s (gave up after %(n)d attempts)") % {"message": message, "n": entry.attempts + 1}
                if final
                else _("%(message)s (will retry)") % {"message": message}
            )
            records.append(
                self._record(entry, SyncRecord.Action.FAILED, error_code=code[:80], category=category, message=message)
            )
        with transaction.atomic():
            SyncRecord.objects.bulk_create(records, batch_size=500)
            queue.complete(give_up)
        queue.retry_later(retry, error=str(exc))

    def _check_budget(self, records: int) -> None:
        if self.budget is not None:
            calls = 1 if records <= COLLECTION_SIZE else 4  # a Bulk 2.0 job: create, upload, close, poll
            self.budget.check(calls)
