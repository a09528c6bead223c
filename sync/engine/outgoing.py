"""What the push carries for one contact, and what it counts.

``Outgoing`` is one queued contact on its way to Salesforce: the queue entry, the record it
goes to (an id once known) and the payload decided for it. It lives apart from the push so that
the spool, which keeps these on disk between a slice and its Bulk job, needs nothing else of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lists.models import Contact
from sync.engine.fields import ContactPlan
from sync.models import PendingSync, SyncedState


@dataclass
class Outgoing:
    entry: PendingSync
    contact: Contact
    salesforce_object: str
    salesforce_id: str = ""
    payload: dict = field(default_factory=dict)
    before: dict | None = None
    state: SyncedState | None = None
    plan: ContactPlan | None = None  # the field decisions (sync.engine.fields); payload is its Salesforce half
    read_now: bool = False  # the record's values were read from Salesforce in this pass (the email look-up)

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
