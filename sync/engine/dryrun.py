"""The dry run ("Preview changes"): what a push would write, decided by the push's own code,
written nowhere.

``DryRunPlanner`` is a ``Pusher`` that only ever calls the push's planning half: ``triage`` (the
gate, the links by email, deletions), ``outgoing``, ``find_records`` (the email look-up),
``_plan_all`` (the three-way merge against Salesforce as it is now, owners, HubSpot's field
history) and ``operation``. Those read (SOQL, HubSpot batch reads, batched as the push batches
them: one call per chunk, never per record); the writing half (``PushWrites``, the queue, the
log, the synced state) is never reached. Queue entries are built in memory and never saved.

What Salesforce would refuse and can be known without asking it is checked against the
object's ``describe`` (one call per object and dry run): required fields, lengths, the email
format, restricted picklists, fields the integration user cannot create or update. Duplicate
rules, validation rules and triggers cannot be known locally: those records count as the write
they would be.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from integration.clients.salesforce import SalesforceClient
from lists.models import Contact
from sync.engine.gate import Gate
from sync.engine.outgoing import Outgoing
from sync.engine.push import Pusher
from sync.models import PendingSync, SyncedState, SyncRecord

# Salesforce's email check accepts most RFC 5322 local parts but needs one @ and a dotted
# domain; spaces, double dots and a missing top-level domain are refused ("Email" field type,
# https://help.salesforce.com/s/articleView?id=sf.custom_field_types.htm: "Allows users to enter
# an email address, which is validated to ensure proper format").
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z"
)
TEXT_TYPES = {"string", "email", "phone", "textarea", "url", "picklist"}


@dataclass
class Intent:
    """What the push would do with one contact's Salesforce record."""

    contact_id: int
    hubspot_id: str
    email: str
    name: str
    action: str  # a SyncRecord.Action: created, updated, unchanged, skipped, failed
    salesforce_object: str = ""
    salesforce_id: str = ""
    # {"field", "current", "new"}: each Salesforce field the write would change.
    changes: list[dict] = field(default_factory=list)
    to_hubspot: dict[str, str] = field(default_factory=dict)  # Salesforce's values HubSpot would get
    skip_reason: str = ""
    error_code: str = ""
    message: str = ""

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class Refusal:
    code: str
    message: str
    fields: list[str]


class LocalValidator:
    """What Salesforce would refuse in a record, known from ``describe`` alone.

    Required: ``nillable`` false, ``createable`` and not ``defaultedOnCreate`` ("Required Fields",
    Object Reference: a create must give them, an update cannot clear them,
    https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/required_fields.htm).
    Lengths, types and restricted picklists are the describe's ``length``, ``type``,
    ``restrictedPicklist`` and ``picklistValues`` ("DescribeSObjectResult", Field:
    https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm).
    """

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self._fields: dict[str, dict[str, dict]] = {}

    def fields(self, salesforce_object: str) -> dict[str, dict]:
        if salesforce_object not in self._fields:
            described = self.client.describe(salesforce_object)
            self._fields[salesforce_object] = {f["name"].lower(): f for f in described.get("fields", [])}
        return self._fields[salesforce_object]

    def check(self, salesforce_object: str, payload: dict[str, Any], *, creating: bool) -> Refusal | None:
        described = self.fields(salesforce_object)
        for name, value in payload.items():
            meta = described.get(name.lower())
            if meta is None:
                return Refusal(
                    "INVALID_FIELD",
                    _("No field %(field)s on %(object)s.") % {"field": name, "object": salesforce_object},
                    [name],
                )
            if not (meta.get("createable") if creating else meta.get("updateable")):
                return Refusal(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    _("The integration user cannot write %(field)s.") % {"field": name},
                    [name],
                )
            refusal = self._value(meta, value)
            if refusal is not None:
                return refusal
        missing = [
            meta["name"]
            for meta in described.values()
            if not meta.get("nillable", True)
            and meta.get("createable")
            and not meta.get("defaultedOnCreate")
            and meta.get("type") not in ("boolean", "id")
            and (payload.get(meta["name"]) in (None, "") if creating or meta["name"] in payload else False)
        ]
        if missing:
            return Refusal(
                "REQUIRED_FIELD_MISSING",
                _("Required fields are missing: %(fields)s") % {"fields": ", ".join(missing)},
                missing,
            )
        return None

    @staticmethod
    def _value(meta: dict, value: Any) -> Refusal | None:
        if not isinstance(value, str) or meta.get("type") not in TEXT_TYPES:
            return None
        name, length = meta["name"], int(meta.get("length") or 0)
        if length and len(value) > length:
            return Refusal(
                "STRING_TOO_LONG",
                _("%(field)s is longer than %(n)d characters.") % {"field": name, "n": length},
                [name],
            )
        if meta.get("type") == "email" and value and not EMAIL_RE.match(value):
            return Refusal("INVALID_EMAIL_ADDRESS", _("%(field)s: invalid email address.") % {"field": name}, [name])
        if meta.get("type") == "picklist" and meta.get("restrictedPicklist") and value:
            allowed = {p.get("value") for p in meta.get("picklistValues") or [] if p.get("active", True)}
            if value not in allowed:
                return Refusal(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    _("%(field)s: “%(value)s” is not one of its values.") % {"field": name, "value": value},
                    [name],
                )
        return None


class DryRunPlanner(Pusher):
    """The push's decisions on a set of contacts, with their reasons, as if they were queued.

    ``gate``: who may be sent (the inclusion list now, or the one an admin is about to choose).
    ``entries_for``: builds the in-memory queue entries of a batch of contact ids (reasons,
    attempts). Nothing it makes is saved; ``intents`` yields one ``Intent`` per contact.
    """

    # As many contacts a batch as ``Pusher`` claims: the same reads, one call per chunk.
    def __init__(self, *, client, hubspot, gate: Gate, contact_ids: list[int], batch_size: int = 2000) -> None:
        super().__init__(run=None, client=client, hubspot=hubspot, batch_size=batch_size)
        self.gate = gate
        self.contact_ids = sorted(set(contact_ids))
        self.validator = LocalValidator(client)
        # The push makes the first queued contact with an email create its record; the others
        # follow it. Here "queued" is the set being previewed.
        self._first = self._first_in_set()
        # The record each email's first contact would leave in Salesforce (for its followers).
        self._leaders: dict[str, tuple[Intent, dict]] = {}

    def _first_in_set(self) -> dict[str, int]:
        first: dict[str, int] = {}
        for start in range(0, len(self.contact_ids), 2000):
            rows = (
                Contact.objects.filter(pk__in=self.contact_ids[start : start + 2000])
                .annotate(email_ci=Lower("email"))
                .values_list("email_ci", "pk")
            )
            for email, pk in rows:
                key = (email or "").strip()
                if key and pk < first.get(key, pk + 1):
                    first[key] = pk
        return first

    def _first_pending(self, keys: set[str]) -> dict[str, int]:
        return {key: self._first[key] for key in keys if key in self._first}

    def intents(
        self, entries_for: Callable[[list[int]], list[PendingSync]], on_batch: Callable[[list[Intent]], None]
    ) -> None:
        """Plan every contact, a batch at a time; ``on_batch`` receives each batch's intents."""
        for start in range(0, len(self.contact_ids), self.batch_size):
            entries = entries_for(self.contact_ids[start : start + self.batch_size])
            on_batch(self.plan_batch(entries))

    def plan_batch(self, entries: list[PendingSync]) -> list[Intent]:
        triage = self.triage(entries, self.gate)
        intents = [self._skipped(entry, reason) for entry, reason in triage.skipped]
        if triage.candidates:
            outgoing = self.outgoing(triage.candidates)
            self.find_records(outgoing)
            self._plan_all(outgoing)
            intents += [self._decided(item) for item in outgoing]
        intents += [self._follower(entry) for entry in triage.deferred]
        return intents

    # -- one contact ------------------------------------------------------------------------

    def _base_intent(self, contact: Contact, action: str, **fields) -> Intent:
        return Intent(
            contact_id=contact.pk,
            hubspot_id=contact.hubspot_id,
            email=contact.email,
            name=str(contact),
            action=str(action),
            **fields,
        )

    def _skipped(self, entry: PendingSync, reason: str) -> Intent:
        labels = dict(SyncRecord.SkipReason.choices)
        return self._base_intent(
            entry.contact, SyncRecord.Action.SKIPPED, skip_reason=reason, message=str(labels.get(reason, reason))
        )

    def _decided(self, item: Outgoing) -> Intent:
        operation = self.operation(item)
        payload = item.plan.to_salesforce if item.plan else {}
        current = (item.state.salesforce_values or {}) if item.state is not None and not item.creating else {}
        intent = self._base_intent(
            item.contact,
            SyncRecord.Action.UNCHANGED,
            salesforce_object=item.salesforce_object,
            salesforce_id=item.salesforce_id,
            changes=[{"field": f, "current": current.get(f), "new": v} for f, v in sorted(payload.items())],
            to_hubspot=dict(item.plan.to_hubspot) if item.plan else {},
        )
        if operation is not None:
            refusal = self.validator.check(item.salesforce_object, payload, creating=operation != "update")
            if refusal is not None:
                intent.action, intent.error_code, intent.message = (
                    SyncRecord.Action.FAILED,
                    refusal.code,
                    refusal.message,
                )
            else:
                intent.action = SyncRecord.Action.CREATED if item.creating else SyncRecord.Action.UPDATED
        key = item.contact.email.strip().lower()
        if self._first.get(key) == item.contact.pk:
            # The record as its followers will read it: every mapped field, blank unless written.
            blank = {m.salesforce_field: None for m in self.mappings if m.applies_to(item.salesforce_object)}
            self._leaders[key] = (intent, {**blank, **current, **payload})
        return intent

    def _follower(self, entry: PendingSync) -> Intent:
        """A contact sharing its email with an earlier one: the push sends it once the first has
        linked its record, as an update of that record (or, the first refused, as a create)."""
        key = entry.contact.email.strip().lower()
        leader, record = self._leaders.get(key, (None, {}))
        item = self.outgoing([entry])[0]
        if leader is not None and leader.action != SyncRecord.Action.FAILED:
            item.salesforce_object = leader.salesforce_object
            item.salesforce_id = leader.salesforce_id or "new"
            item.state = item.state or SyncedState(contact=entry.contact)
            item.state.salesforce_values = dict(record)
            self._plan(item)
            intent = self._decided(item)
            intent.salesforce_id = leader.salesforce_id
            return intent
        self.find_records([item])
        self._plan_all([item])
        return self._decided(item)


def counts_of(intents: Iterable[Intent]) -> dict[str, int]:
    """Considered, and how many each action (the push's counters, by the same names)."""
    counts = {"considered": 0, "created": 0, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0, "to_hubspot": 0}
    for intent in intents:
        counts["considered"] += 1
        counts[intent.action] += 1
        counts["to_hubspot"] += bool(intent.to_hubspot)
    return counts
