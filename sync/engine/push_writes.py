"""The writing half of the push: sObject Collections calls and Bulk API jobs, their results
applied (Salesforce ids linked, what was sent remembered, failures retried or given up), and the
per-record log both halves write.

``Pusher`` (``push.py``) claims, gates and decides, then hands its records here, a chunk at a
time (or a spool at a time for Bulk jobs). ``PushWrites`` is the base it extends rather than an
object it calls: both halves share the run's counters, spools and claims, and stay one object
that callers (and tests) see as ``Pusher``. It has no ``__init__``: it works on the attributes
``Pusher.__init__`` sets, declared below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.clients.base import AuthError, ClientError, RateLimited
from integration.clients.salesforce import BulkUpload, SalesforceClient
from integration.models import SyncSettings
from lists.models import Contact, SalesforceObject
from sync.engine import queue
from sync.engine.budget import ApiBudget
from sync.engine.errors import CONVERTED_LEAD, GONE_CODES, RunStopped, category_for, is_transient
from sync.engine.gate import Gate
from sync.engine.lifecycle import Lifecycle, Move
from sync.engine.outgoing import Outgoing, PushCounters
from sync.engine.payload import Rule
from sync.engine.spool import Spool
from sync.models import Category, PendingSync, SyncedState, SyncRecord, SyncRun

COLLECTION_SIZE = 200
MAX_ATTEMPTS = 6


class PushWrites:
    run: SyncRun
    client: SalesforceClient
    worker: str
    batch_size: int
    bulk_threshold: int
    on_progress: Callable[[int], None] | None
    budget: ApiBudget | None
    counters: PushCounters
    settings: SyncSettings
    spools: dict[tuple[str, str], Spool]
    hubspot: object | None
    _renewed_at: datetime

    # -- the log -----------------------------------------------------------------------------

    def _skip_record(self, entry: PendingSync, reason: str, gate: Gate) -> SyncRecord:
        labels = dict(SyncRecord.SkipReason.choices)
        message = str(labels.get(reason, reason))
        if reason == SyncRecord.SkipReason.NOT_MEMBER and gate.list_name:
            message = _("Not a member of the inclusion list “%(name)s” when it was to be sent.") % {
                "name": gate.list_name
            }
        if reason == SyncRecord.SkipReason.SALESFORCE_DELETED:
            message = _(
                "Its Salesforce record was deleted; no record is created for it automatically (setting). "
                "Resync the contact to create one."
            )
        self.counters.add("skipped")
        return self._record(entry, SyncRecord.Action.SKIPPED, skip_reason=reason, message=message)

    def _record(self, entry: PendingSync, action: str, **fields) -> SyncRecord:
        return SyncRecord.for_contact(
            self.run,
            entry.contact,
            SyncRecord.Direction.TO_SALESFORCE,
            action,
            reasons=list(entry.reasons),
            attempt=entry.attempts + 1,
            **fields,
        )

    def _withheld(self, salesforce_object: str, fields: list[str]) -> list[str]:
        """Why a field Salesforce requires was not sent: its rule keeps HubSpot's value back."""
        withheld = (Rule.ALWAYS_SALESFORCE, Rule.DONT_SYNC)
        notes = []
        for mapping in self.mappings:
            if (
                mapping.salesforce_field in fields
                and mapping.applies_to(salesforce_object)
                and mapping.rule in withheld
            ):
                notes.append(
                    _(
                        "%(field)s is mapped “%(rule)s”: HubSpot never sends it, so Salesforce cannot create "
                        "the %(object)s. Fill it in Salesforce, or map it another way."
                    )
                    % {"field": mapping.salesforce_field, "rule": Rule(mapping.rule).label, "object": salesforce_object}
                )
        return notes

    def _outcome(self, item: Outgoing, action: str, **fields) -> SyncRecord:
        """Count ``action`` and log what happened to ``item``'s Salesforce record."""
        self.counters.add(str(action))
        return self._record(
            item.entry,
            action,
            salesforce_object=item.salesforce_object,
            salesforce_id=item.salesforce_id,
            **fields,
        )

    def _save(self, records: list[SyncRecord], done: list[PendingSync]) -> None:
        with transaction.atomic():
            SyncRecord.objects.bulk_create(records, batch_size=500)
            queue.complete(done)

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
                rule = self._assignment_rule_id() if self._assigns(spool.salesforce_object, spool.operation) else None
                results = self.client.bulk_run(spool.salesforce_object, upload, assignment_rule_id=rule)
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

    def _assigns(self, salesforce_object: str, operation: str) -> bool:
        """Whether the lead assignment rule applies to this write: to new Leads when the setting
        is on, never to updates (Salesforce would route an owned Lead again)."""
        return (
            self.settings.use_lead_assignment_rules
            and salesforce_object == SalesforceObject.LEAD
            and operation in ("create", "upsert")
        )

    def _assignment_rule_id(self) -> str | None:
        """The org's active lead assignment rule, read once per push (a Bulk job names it)."""
        if not hasattr(self, "_rule_id"):
            self._rule_id = self.client.lead_assignment_rule_id()
        return self._rule_id

    def _call(self, salesforce_object: str, operation: str, chunk: list[Outgoing]):
        records = [self._row(operation, i) for i in chunk]
        # Said every time: REST applies the active rule unless told not to.
        assign = self._assigns(salesforce_object, operation)
        if operation == "create":
            return self.client.collections_create(salesforce_object, records, auto_assign=assign)
        if operation == "update":
            return self.client.collections_update(salesforce_object, records, auto_assign=assign)
        return self.client.collections_upsert(
            salesforce_object, self.settings.external_id_field, records, auto_assign=assign
        )

    def _apply_results(self, chunk: list[Outgoing], results) -> None:
        now = timezone.now()
        records: list[SyncRecord] = []
        done: list[PendingSync] = []
        retry: list[PendingSync] = []
        gone: list[Outgoing] = []
        converted: list[Outgoing] = []
        linked: list[Outgoing] = []
        for item, result in zip(chunk, results, strict=True):
            if result.success:
                # Collections create returns no "created" flag; upserts say whether they created.
                created = item.creating and result.created is not False
                action = SyncRecord.Action.CREATED if created else SyncRecord.Action.UPDATED
                item.salesforce_id = result.id or item.salesforce_id
                linked.append(item)
                records.append(
                    self._outcome(
                        item,
                        action,
                        fields=sorted(item.payload),
                        payload_before=item.before,
                        payload_after=item.payload,
                        conflicts=[c for c in item.plan.conflicts if c["field"] in item.payload] or None
                        if item.plan
                        else None,
                    )
                )
                done.append(item.entry)
                continue
            errors = list(result.errors or [])
            code = errors[0].status_code if errors else "UNKNOWN"
            message = "; ".join(e.message for e in errors) or _("Salesforce refused the record.")
            fields = sorted({f for e in errors for f in (e.fields or [])})
            if code == "REQUIRED_FIELD_MISSING" and item.creating:
                message = " ".join([message, *self._withheld(item.salesforce_object, fields)])
            if code in GONE_CODES and not item.creating:
                gone.append(item)
                continue
            if code == CONVERTED_LEAD:
                # A queued write met a Lead converted since: not a failure, the contact follows it.
                converted.append(item)
                continue
            will_retry = is_transient(code) and item.entry.attempts + 1 < MAX_ATTEMPTS
            records.append(
                self._outcome(
                    item,
                    SyncRecord.Action.FAILED,
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
        if retry:
            queue.retry_later(retry, error="transient Salesforce error")
        if gone or converted:
            self._follow_lifecycle(gone, converted)

    def _follow_lifecycle(self, gone: list[Outgoing], converted: list[Outgoing]) -> None:
        """Records deleted, merged or converted since the contacts were queued: each contact
        follows its record (``sync.engine.lifecycle``). Those relinked, or to be re-created, are
        given back to the queue and sent again in this run; the others are done."""
        lifecycle = Lifecycle(run=self.run, salesforce=self.client, hubspot=self.hubspot, settings=self.settings)
        handled: set[int] = set()
        try:
            moved = self._relink_converted(lifecycle, converted)
            for salesforce_object in {i.salesforce_object for i in gone}:
                items = [i for i in gone if i.salesforce_object == salesforce_object]
                masters = self.client.master_records(salesforce_object, [i.salesforce_id for i in items])
                handled |= lifecycle.deleted(
                    salesforce_object,
                    {i.salesforce_id: masters.get(i.salesforce_id, "") for i in items},
                    met_by=_("found when writing to it"),
                )
        except ClientError as exc:
            queue.retry_later([i.entry for i in [*gone, *converted]], error=str(exc))
            return
        again = {i.entry.pk for i in moved}
        linked = dict(Contact.objects.filter(pk__in=[i.contact.pk for i in gone]).values_list("pk", "salesforce_id"))
        recreate = self.settings.salesforce_deletions == SyncSettings.SalesforceDeletions.RECREATE
        for item in gone:
            # Sent again: to a merge's survivor, as a new record (setting), or looked up afresh (a
            # record the email look-up had just found). A record simply deleted is not re-created.
            if recreate or linked.get(item.contact.pk) or item.contact.pk not in handled:
                again.add(item.entry.pk)
        entries = [i.entry for i in [*gone, *converted]]
        queue.release([e for e in entries if e.pk in again])
        queue.complete([e for e in entries if e.pk not in again])

    def _relink_converted(self, lifecycle: Lifecycle, items: list[Outgoing]) -> list[Outgoing]:
        """Relink contacts whose Lead refused a write as converted: to its ``ConvertedContactId``,
        read by Lead id (or, for an upsert, by the external id)."""
        if not items:
            return []
        by_id = self.client.converted_leads([i.salesforce_id for i in items if i.salesforce_id])
        keyed = [i.contact.hubspot_id for i in items if not i.salesforce_id]
        by_key = self.client.converted_leads_by_key(self.settings.external_id_field, keyed) if keyed else {}
        moves, moved = [], []
        for item in items:
            target = by_key.get(item.contact.hubspot_id) if not item.salesforce_id else None
            if item.salesforce_id:
                target = by_id.get(item.salesforce_id) or by_id.get(item.salesforce_id[:15])
                item.contact.salesforce_id, item.contact.salesforce_object = item.salesforce_id, SalesforceObject.LEAD
            if target:
                moves.append(
                    Move(item.contact, SalesforceObject.CONTACT, target, _("The Lead was converted in Salesforce."))
                )
                moved.append(item)
        lifecycle.relink(moves)
        return moved

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
            cursor.executemany(f"UPDATE {table} SET salesforce_id = %s, salesforce_object = %s WHERE id = %s", rows)  # nosec B608  # a quoted table name only; values are parameters
        if sent_at is None:
            return
        states = []
        for item in items:
            state = item.state or SyncedState(contact=item.contact)
            # The bases say what was agreed: the payload and its hash are no longer kept (they
            # remain readable on states written before the bases existed).
            state.last_sent_at = sent_at
            # A record exists again (a manual resync re-created one): no deletion holds it back.
            state.salesforce_deleted_id, state.salesforce_deleted_at = "", None
            merged = dict(state.salesforce_values or {})
            merged.update(item.payload)
            state.salesforce_values = merged
            if item.plan is not None:
                # What both sides hold now that the write succeeded: the next merge's base.
                state.field_bases = {**(state.field_bases or {}), **item.plan.bases}
            states.append(state)
        SyncedState.objects.bulk_create(
            states,
            update_conflicts=True,
            unique_fields=["contact"],
            update_fields=[
                "last_sent_at",
                "salesforce_values",
                "field_bases",
                "salesforce_deleted_id",
                "salesforce_deleted_at",
            ],
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
