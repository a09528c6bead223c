"""Lead assignment rules, applied after a write that creates or updates Leads, as Salesforce does.

When a rule runs ("Assignment Rule Header",
https://developer.salesforce.com/docs/platform/api-rest/guide/headers-autoassign.md):

- REST (sObject rows, upsert by external id, sObject Collections): the header
  ``Sforce-Auto-Assign``. Absent or ``TRUE`` (any case): the org's active rule runs for every
  Lead created or updated. ``FALSE``: none. An AssignmentRule id: that rule (active or not) runs
  for the Leads the call creates only.
- Bulk API 2.0: none, unless the job was created with ``assignmentRuleId`` ("Create a Job",
  https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/create_job.htm);
  then that rule runs for every Lead row the job writes.

What a call asks for travels in ``AUTO_ASSIGN`` (set per request by the app, per job by the Bulk
worker; ``None`` everywhere else: the seed, conversions); ``RecordService`` calls
``assign_leads`` after the write, in its transaction. The rule (:mod:`.org`) matches a Lead's
Country (ignoring case) against its entries and makes the entry's user the owner; a Lead that
matches no entry keeps its owner. An entry whose user is inactive is skipped.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.salesforce import ids
from sandbox.salesforce.org import LEAD_RULE_ID, RULE_SETTING

# Bulk API 2.0's null cell (``records.values.NULL_CELL``; the records package imports this module).
NULL_CELL = "#N/A"

if TYPE_CHECKING:
    from sandbox.salesforce.records.results import RecordResult
    from sandbox.salesforce.store import SalesforceStore


@dataclass(frozen=True)
class Assignment:
    """The rule a write asks for: ``rule_id`` (``None``: the org's active rule, if any) and
    whether it runs for created records only."""

    rule_id: str | None = None
    created_only: bool = False


ACTIVE_RULE = Assignment()

AUTO_ASSIGN: ContextVar[Assignment | None] = ContextVar("auto_assign", default=None)


class AssignmentError(ValueError):
    """An assignment rule id that is malformed (``MALFORMED_ID``, as the SOAP API's
    AssignmentRuleHeader answers) or names no rule (``INVALID_ASSIGNMENT_RULE``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def rule_id(store: SalesforceStore, value: str) -> str:
    """The 18-character id of the AssignmentRule ``value`` names; ``AssignmentError`` otherwise."""
    normalized = ids.normalize(value.strip())
    if normalized is None:
        raise AssignmentError("MALFORMED_ID", f"Assignment rule ID: id value of incorrect type: {value}")
    found = store.read().execute('SELECT 1 FROM "AssignmentRule" WHERE "Id" = ?', (normalized,)).fetchone()
    if found is None:
        raise AssignmentError("INVALID_ASSIGNMENT_RULE", f"No assignment rule has the id {value}")
    return normalized


def from_header(store: SalesforceStore, value: str | None) -> Assignment | None:
    """What ``Sforce-Auto-Assign: value`` asks for (``value`` ``None``: the header is absent)."""
    if value is None or value.strip().lower() == "true":
        return ACTIVE_RULE
    if value.strip().lower() == "false":
        return None
    return Assignment(rule_id(store, value), created_only=True)


def _owners(store: SalesforceStore, assignment: Assignment) -> dict[str, str]:
    """``{country, case-folded: owner id}`` of the rule ``assignment`` runs (empty: none runs)."""
    rule = store.settings()[RULE_SETTING]
    if assignment.rule_id is None and not rule["active"]:
        return {}
    if assignment.rule_id not in (None, LEAD_RULE_ID):
        return {}  # another rule (the sandbox has one, for Leads)
    active = {
        str(email).lower(): user_id
        for user_id, email in store.read().execute('SELECT "Id", "Email" FROM "User" WHERE "IsActive" = 1')
    }
    owners = {}
    for entry in rule["entries"]:
        owner = active.get(entry["ownerEmail"].lower())
        if owner is not None:
            owners.setdefault(entry["country"].casefold(), owner)
    return owners


def _countries(
    results: list[RecordResult], records: list[dict[str, Any]], assignment: Assignment, from_csv: bool
) -> tuple[dict[str, str | None], list[str]]:
    """``({lead id: Country}, [ids of Leads whose Country only the store knows])`` for the Leads
    the rule runs for: a record that sets Country, or is created without one, needs no read."""
    keys: set[str] = set().union(*records) if records else set()
    name = "Country" if "Country" in keys else next((k for k in keys if k.lower() == "country"), None)
    known: dict[str, str | None] = {}
    unknown: list[str] = []
    for result, record in zip(results, records, strict=True):
        record_id = result.id
        if not record_id or result.errors or (assignment.created_only and not result.created):
            continue
        given = name is not None and name in record
        value = record[name] if given else None
        if given and from_csv and value == "":
            given = False  # a Bulk API empty cell leaves the field as it is
        if given:
            cleared = value is None or value == "" or (from_csv and value == NULL_CELL)
            known[record_id] = None if cleared else str(value)
        elif result.created:
            known[record_id] = None
        else:
            unknown.append(record_id)
    return known, unknown


def assign_leads(
    store: SalesforceStore,
    assignment: Assignment,
    results: list[RecordResult],
    records: list[dict[str, Any]],
    *,
    from_csv: bool = False,
) -> None:
    """Run the rule ``assignment`` asks for over the Leads saved from ``records`` (``results``, in
    their order), in the write's transaction (call inside ``store.write()``). The stored Country is
    read only for updates that leave it as it is."""
    if not any(r.id and not r.errors for r in results):
        return
    owners = _owners(store, assignment)
    if not owners:
        return
    known, unknown = _countries(results, records, assignment, from_csv)
    conn = store.read()
    if unknown:
        unknown.sort()  # in key order: the B-tree's pages are read once each
        rows = conn.execute(
            'SELECT "Id", "Country" FROM "Lead" WHERE "Id" IN (SELECT value FROM json_each(?)) '
            'AND "Country" IS NOT NULL',
            (json.dumps(unknown),),
        )
        known.update(rows.fetchall())
    changes = [
        (owner, record_id)
        for record_id, country in known.items()
        if country is not None and (owner := owners.get(country.casefold()))
    ]
    if changes:
        conn.executemany('UPDATE "Lead" SET "OwnerId" = ? WHERE "Id" = ?', changes)
