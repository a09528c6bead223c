"""The field rules applied to one contact: every mapped field decided by ``merge.decide`` against
the values both sides last agreed on, which ``SyncedState.field_bases`` keeps.

``plan_contact`` is pure (values in, writes out); the push and the Salesforce pull call it with
what they read, then write what it says and store its bases once the writes succeed.

The bases are keyed by mapping (``"<hubspot property>:<salesforce field>"``); each holds the
canonical value HubSpot and Salesforce last agreed on: one value when both hold the same (most
fields), ``[hubspot, salesforce]`` when they agreed to differ. A contact
synced before the bases existed gets them from what was sent and seen then
(``SyncedState.last_payload`` and ``salesforce_values``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from sync.engine.merge import Base, Conflict, canonical, decide
from sync.engine.owners import OwnerDirectory, Unmatched, is_owner_mapping, owner_decision
from sync.engine.payload import MappingRule

# What the sync records about a Salesforce record besides its mapped fields.
SALESFORCE_MODIFIED = "LastModifiedDate"


def field_key(mapping: MappingRule) -> str:
    return f"{mapping.hubspot_property}:{mapping.salesforce_field}"


def as_datetime(value: Any) -> datetime | None:
    """A Salesforce or HubSpot timestamp (ISO 8601, ``+0000`` offsets too) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_datetime(str(value).replace("+0000", "+00:00"))
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


@dataclass
class ContactPlan:
    """What one contact's sync writes, and what both sides hold once it is written."""

    to_salesforce: dict[str, Any] = field(default_factory=dict)  # Salesforce field -> value (None clears)
    to_hubspot: dict[str, str] = field(default_factory=dict)  # HubSpot property -> value ("" clears)
    bases: dict[str, Any] = field(default_factory=dict)  # field key -> the base after the writes (stored_base)
    conflicts: list[dict] = field(default_factory=list)  # for the log: both values, both times, the winner
    pending: set[str] = field(default_factory=set)  # field keys whose write goes the other way, later
    unmatched: list[Unmatched] = field(default_factory=list)  # owners with no match on the other side


def bases_of(
    stored: Mapping[str, Any] | None,
    *,
    mappings: Iterable[MappingRule],
    last_payload: Mapping[str, Any] | None,
    salesforce_values: Mapping[str, Any] | None,
) -> dict[str, Base]:
    """The stored bases; for a contact synced before bases were kept, what was sent and seen."""
    if stored:
        return {key: _base(value) for key, value in stored.items()}
    if not last_payload:
        return {}
    seen = salesforce_values or {}
    bases = {}
    for mapping in mappings:
        if mapping.salesforce_field in last_payload:
            sent = canonical(last_payload[mapping.salesforce_field])
            held = canonical(seen[mapping.salesforce_field]) if mapping.salesforce_field in seen else sent
            bases[field_key(mapping)] = Base(sent, held)
    return bases


def bases_for(state: Any, mappings: Iterable[MappingRule]) -> dict[str, Base]:
    """The bases of a contact's ``SyncedState`` (none without one).

    A state from before bases were kept gets them from what was sent and seen then, once: they
    are fixed on ``state.field_bases`` (stored with it), so a cycle that reads Salesforce again
    and replaces ``salesforce_values`` does not take the fresh values for agreed ones."""
    if state is None:
        return {}
    bases = bases_of(
        state.field_bases,
        mappings=mappings,
        last_payload=state.last_payload,
        salesforce_values=state.salesforce_values,
    )
    if bases and not state.field_bases:
        state.field_bases = {key: stored_base(base) for key, base in bases.items()}
    return bases


def _base(stored: Any) -> Base:
    if isinstance(stored, list | tuple) and len(stored) == 2:
        return Base(*stored)
    return Base(stored, stored)


def stored_base(base: Base) -> Any:
    """A base as ``field_bases`` keeps it: one value when both sides hold it."""
    return base.hubspot if base.hubspot == base.salesforce else [base.hubspot, base.salesforce]


def plan_contact(
    *,
    mappings: Iterable[MappingRule],
    salesforce_object: str,
    hubspot: Mapping[str, Any],
    salesforce: Mapping[str, Any] | None,
    bases: Mapping[str, Base],
    first_sync: bool,
    hubspot_times: Mapping[str, datetime] | None = None,
    hubspot_updated_at: datetime | None = None,
    directions: tuple[str, ...] = ("to_salesforce", "to_hubspot"),
    first_sync_winner: str | None = None,
    owners: OwnerDirectory | None = None,
) -> ContactPlan:
    """Every mapped field of one contact, decided.

    ``hubspot``: the contact's properties as HubSpot returns them (text); ``salesforce``: the
    record's fields as Salesforce returns them (``None``: not read; a field missing from it is
    not known either); ``{}`` with ``creating``-like use means a record that does not exist yet.
    ``hubspot_times``: when each HubSpot property last changed (its history), else the contact's
    ``hubspot_updated_at``; Salesforce's time is the record's ``LastModifiedDate`` (an org without
    field history has no better one). ``directions``: the writes this caller makes; a decision to
    write the other way leaves that field's base as it was (``pending``), so the caller of that
    direction still sees the change. ``owners``: how owners are matched (``sync.engine.owners``);
    without it the owner is not synced.
    """
    plan = ContactPlan()
    salesforce_at = as_datetime((salesforce or {}).get(SALESFORCE_MODIFIED))
    times = hubspot_times or {}
    for mapping in mappings:
        if not mapping.applies_to(salesforce_object):
            continue
        key = field_key(mapping)
        known = salesforce is not None and mapping.salesforce_field in salesforce
        hubspot_value = hubspot.get(mapping.hubspot_property)
        salesforce_value = salesforce.get(mapping.salesforce_field) if known else None
        owner = is_owner_mapping(mapping)
        if owner:
            if owners is None:
                continue
            # Compared as emails: the same person has a different id on each side.
            hubspot_value = owners.hubspot_email(hubspot_value)
            salesforce_value = owners.salesforce_email(salesforce_value) if known else None
        decision = decide(
            mapping.rule,
            base=bases.get(key),
            hubspot=hubspot_value,
            salesforce=salesforce_value,
            salesforce_known=known,
            hubspot_at=times.get(mapping.hubspot_property) or hubspot_updated_at,
            salesforce_at=salesforce_at,
            first_sync=first_sync,
            first_sync_winner=first_sync_winner,
        )
        if owner and decision.writes:
            decision, unmatched = owner_decision(
                decision, owners, hubspot=hubspot_value, salesforce=salesforce_value, previous=bases.get(key)
            )
            if unmatched is not None:
                plan.unmatched.append(unmatched)
        wanted = (decision.to_salesforce is None or "to_salesforce" in directions) and (
            decision.to_hubspot is None or "to_hubspot" in directions
        )
        if not wanted:
            plan.pending.add(key)
            previous = bases.get(key)
            if previous is not None:
                plan.bases[key] = stored_base(previous)
            elif first_sync and known:
                # A first sync (a record linked now) whose write goes the other way, later: the
                # base says the receiving side is the one to fill, so that the caller of that
                # direction, no longer in a first sync, still makes the write.
                if decision.to_salesforce is not None:
                    plan.bases[key] = stored_base(Base("", canonical(salesforce_value)))
                else:
                    plan.bases[key] = stored_base(Base(canonical(hubspot_value), ""))
            continue
        if decision.to_salesforce is not None:
            plan.to_salesforce[mapping.salesforce_field] = decision.to_salesforce or None
        if decision.to_hubspot is not None:
            plan.to_hubspot[mapping.hubspot_property] = decision.to_hubspot
        if decision.base is not None:
            plan.bases[key] = stored_base(decision.base)
        if decision.conflict is not None:
            plan.conflicts.append(conflict_entry(mapping, decision.conflict))
    return plan


def conflict_entry(mapping: MappingRule, conflict: Conflict) -> dict:
    """A conflict as the log keeps it (JSON): the field, both values with their times, the winner."""
    return {
        "property": mapping.hubspot_property,
        "field": mapping.salesforce_field,
        "hubspot": {"value": conflict.hubspot_value, "at": _iso(conflict.hubspot_at)},
        "salesforce": {"value": conflict.salesforce_value, "at": _iso(conflict.salesforce_at)},
        "winner": conflict.winner,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
