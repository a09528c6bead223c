"""Existing Salesforce records that duplicate seeded HubSpot contacts by email (``sandbox_seed``).

Real orgs hold duplicates by email: Salesforce lets a Lead and a Contact share one, compares
emails ignoring case, and its duplicate rules (off in a fresh sandbox) only stop new ones at
save, not those imported before or saved past them. The sync's de-duplication by email then has
something to do in a demo: pushing a contact whose email Salesforce already holds (once, twice,
in another case, as a Lead and as a Contact), and pulling these records into HubSpot.

``seed_duplicates(store, people, seed=S)`` writes, for the ``k``-th of ``people`` (seeded HubSpot
contacts: their email and names, in their seed's order), the ``k``-th group of records:

0. a Lead and a Contact, both with the person's email;
1. a Lead with the email in another case (``ana.martin.1@gmail.com`` → ``Ana.Martin.1@GMAIL.COM``);
2. two Leads, both with the person's email.

Like the HubSpot seed it is idempotent and extends: the store's ``counters`` remember per seed
how many groups exist (``sandbox_reset`` forgets them), so running it again adds nothing and
more ``people`` add only the groups missing. Records go through ``RecordService`` (Salesforce's
validation, ids, the lookups' maps, so a running emulator sees them) in one transaction, saved
past the duplicate rule as ``Sforce-Duplicate-Rule-Header: allowSave=true`` would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.salesforce.records import ALLOW_DUPLICATE_SAVE, RecordService
from sandbox.salesforce.schema import OBJECTS
from sandbox.salesforce.store import SalesforceStore

GROUPS = 3  # how many people the seed duplicates, at most


@dataclass(frozen=True)
class SeedPerson:
    """What the Salesforce records copy from a seeded HubSpot contact."""

    email: str
    first_name: str
    last_name: str
    company: str


@dataclass(frozen=True)
class SeededRecord:
    object: str  # Lead | Contact
    id: str
    email: str


def other_case(email: str) -> str:
    """The same address in another case, as a person might type it: ``Ana.Martin@GMAIL.COM``."""
    local, _at, domain = email.partition("@")
    changed = f"{local.title()}@{domain.upper()}"
    return changed if changed != email else email.swapcase()


def _lead(person: SeedPerson, email: str, source: str, status: str = "Open - Not Contacted") -> dict[str, Any]:
    return {
        "FirstName": person.first_name,
        "LastName": person.last_name,
        "Company": person.company,
        "Email": email,
        "LeadSource": source,
        "Status": status,
    }


def group_records(k: int, person: SeedPerson) -> list[tuple[str, dict[str, Any]]]:
    """The records of group ``k`` for ``person``: ``(object name, values)`` in creation order."""
    if k == 0:
        contact = {
            "FirstName": person.first_name,
            "LastName": person.last_name,
            "Email": person.email,
            "LeadSource": "Partner Referral",
        }
        return [("Lead", _lead(person, person.email, "Web", "Working - Contacted")), ("Contact", contact)]
    if k == 1:
        return [("Lead", _lead(person, other_case(person.email), "Purchased List"))]
    if k == 2:
        return [
            ("Lead", _lead(person, person.email, "Web")),
            ("Lead", _lead(person, person.email, "Phone Inquiry", "Working - Contacted")),
        ]
    raise ValueError(f"There are {GROUPS} groups of duplicates, not {k + 1}.")


def seed_duplicates(store: SalesforceStore, people: Sequence[SeedPerson], *, seed: int) -> list[SeededRecord]:
    """Ensure the groups of the first ``len(people)`` people (at most ``GROUPS``) exist; returns
    the records added."""
    counter = f"seed_duplicates:{seed}"
    records = RecordService(store)
    added: list[SeededRecord] = []
    allowed = ALLOW_DUPLICATE_SAVE.set(True)
    try:
        with store.write() as conn:
            done = store.counter(conn, counter)
            wanted = min(len(people), GROUPS)
            for k in range(done, wanted):
                for object_name, values in group_records(k, people[k]):
                    (result,) = records.create(OBJECTS[object_name.lower()], [values])
                    if not result.success or result.id is None:
                        # The people come from the HubSpot seed's valid contacts: a bug, not data.
                        raise ValueError(f"Salesforce refused a seeded {object_name}: {result.errors}")
                    added.append(SeededRecord(object_name, result.id, values["Email"]))
            if wanted > done:
                store.counter_set(conn, counter, wanted)
    finally:
        ALLOW_DUPLICATE_SAVE.reset(allowed)
    return added
