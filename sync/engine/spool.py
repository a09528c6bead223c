"""Contacts waiting for one Bulk API job, kept on disk instead of in memory.

A first sync or a resync of a big list sends tens of thousands of contacts per Bulk job (few API
calls), but the push claims them in slices of a couple of thousand. Each slice's outgoing
records are appended here (pickled one after the other to an unnamed temporary file) and read
back in slices when the job is sent and when its results are applied. The worker's memory then
follows the slice, not the job, and not the number of contacts queued.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import Any

from lists.models import Contact
from sync.engine.fields import ContactPlan
from sync.engine.outgoing import Outgoing
from sync.models import PendingSync, SyncedState


class Spool:
    def __init__(self, salesforce_object: str, operation: str) -> None:
        self.salesforce_object = salesforce_object
        self.operation = operation
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close() and __exit__
        self._count = 0
        # Every payload field seen, in first-seen order: the Bulk CSV's columns.
        self._columns: dict[str, None] = {}

    def __len__(self) -> int:
        return self._count

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    @property
    def payload_fields(self) -> list[str]:
        return list(self._columns)

    def add(self, item: Outgoing) -> None:
        entry, contact = item.entry, item.contact
        values = item.state.salesforce_values if item.state is not None else None
        row = (
            (entry.pk, entry.contact_id, entry.reasons, entry.attempts, entry.updated_at),
            (contact.hubspot_id, contact.email, contact.firstname, contact.lastname),
            (contact.salesforce_id, contact.salesforce_object),
            (item.salesforce_object, item.salesforce_id, item.payload, item.before, values),
            # What the results need of the plan (its Salesforce half is the payload): plain data,
            # cheaper to pickle than the plan itself.
            (item.plan.bases, item.plan.conflicts) if item.plan is not None else None,
        )
        pickle.dump(row, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._columns.update(dict.fromkeys(item.payload))
        self._count += 1

    def chunks(self, size: int, *, states: bool = True) -> Iterator[list[Outgoing]]:
        """The items again, in the order they were added, ``size`` at a time (``states``: with
        their ``SyncedState`` read again, for applying results)."""
        self._file.seek(0)
        rows: list[tuple] = []
        for _index in range(self._count):
            rows.append(pickle.load(self._file))  # nosec B301  # reads back only what this process pickled into its own unnamed temporary file
            if len(rows) == size:
                position = self._file.tell()
                yield _rebuilt(rows, states)
                self._file.seek(position)  # the caller may have read the file meanwhile
                rows = []
        if rows:
            yield _rebuilt(rows, states)


def _rebuilt(rows: list[tuple], with_states: bool) -> list[Outgoing]:
    states = (
        {s.contact_id: s for s in SyncedState.objects.filter(contact_id__in=[r[0][1] for r in rows])}
        if with_states
        else {}
    )
    items = []
    for (pk, contact_id, reasons, attempts, updated_at), person, linked, sending, planned in rows:
        hubspot_id, email, firstname, lastname = person
        salesforce_object, salesforce_id, payload, before, values = sending
        plan = ContactPlan(to_salesforce=payload, bases=planned[0], conflicts=planned[1]) if planned else None
        contact = Contact(pk=contact_id, hubspot_id=hubspot_id, email=email, firstname=firstname, lastname=lastname)
        contact.salesforce_id, contact.salesforce_object = linked
        entry = PendingSync(pk=pk, contact_id=contact_id, reasons=reasons, attempts=attempts, updated_at=updated_at)
        entry.contact = contact
        state = states.get(contact_id)
        if values is not None:
            # Values read from Salesforce by the email look-up, not stored yet.
            state = state or SyncedState(contact=contact)
            state.salesforce_values = values
        items.append(
            Outgoing(
                entry=entry,
                contact=contact,
                salesforce_object=salesforce_object,
                salesforce_id=salesforce_id,
                payload=payload,
                before=before,
                state=state,
                plan=plan,
            )
        )
    return items
