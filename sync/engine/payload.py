"""Field mappings applied in each direction, and the fingerprint of what was sent.

Rules (HubSpot's names), as this product applies them:

- Two-way: HubSpot → Salesforce on create and update; Salesforce → HubSpot on update.
- Prefer Salesforce unless blank: HubSpot → Salesforce on create, and on update only into a
  Salesforce field last seen blank; Salesforce → HubSpot whenever Salesforce has a value.
- Always use Salesforce: HubSpot → Salesforce on create only; Salesforce → HubSpot always,
  blanks included.
- Don't sync: HubSpot → Salesforce on create only; never afterwards, in either direction.

Blank HubSpot values are never sent: they would erase data in Salesforce.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from integration.models import FieldMapping

Rule = FieldMapping.Rule


@dataclass(frozen=True)
class MappingRule:
    hubspot_property: str
    salesforce_field: str
    salesforce_object: str
    rule: str

    def applies_to(self, salesforce_object: str) -> bool:
        return self.salesforce_object in (FieldMapping.Object.BOTH, salesforce_object)


def load_mappings() -> list[MappingRule]:
    return [
        MappingRule(m.hubspot_property, m.salesforce_field, m.salesforce_object, m.rule)
        for m in FieldMapping.objects.order_by("id")
    ]


def mapped_properties(mappings: Iterable[MappingRule]) -> set[str]:
    return {m.hubspot_property for m in mappings}


def salesforce_fields(mappings: Iterable[MappingRule], salesforce_object: str) -> list[str]:
    return sorted({m.salesforce_field for m in mappings if m.applies_to(salesforce_object)})


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def outbound_payload(
    *,
    raw_properties: Mapping[str, str | None],
    mappings: Iterable[MappingRule],
    salesforce_object: str,
    creating: bool,
    salesforce_values: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """The Salesforce fields to write for one contact."""
    payload: dict[str, str] = {}
    for mapping in mappings:
        if not mapping.applies_to(salesforce_object):
            continue
        value = raw_properties.get(mapping.hubspot_property)
        if _blank(value):
            continue
        if not creating:
            if mapping.rule in (Rule.ALWAYS_SALESFORCE, Rule.DONT_SYNC):
                continue
            # Prefer Salesforce: write only into a field last seen blank (unknown: do not overwrite).
            if mapping.rule == Rule.PREFER_SALESFORCE and (
                salesforce_values is None or not _blank(salesforce_values.get(mapping.salesforce_field))
            ):
                continue
        payload[mapping.salesforce_field] = value.strip() if isinstance(value, str) else value
    return payload


def inbound_changes(
    *,
    salesforce_record: Mapping[str, object],
    raw_properties: Mapping[str, str | None],
    mappings: Iterable[MappingRule],
    salesforce_object: str,
    creating: bool = False,
) -> dict[str, str]:
    """The HubSpot properties a Salesforce record should change (``creating``: a new HubSpot contact)."""
    changes: dict[str, str] = {}
    for mapping in mappings:
        if not mapping.applies_to(salesforce_object) or mapping.salesforce_field not in salesforce_record:
            continue
        value = salesforce_record.get(mapping.salesforce_field)
        text = "" if value is None else str(value)
        current = raw_properties.get(mapping.hubspot_property) or ""
        if creating:
            if mapping.rule != Rule.DONT_SYNC and text:
                changes[mapping.hubspot_property] = text
            continue
        if mapping.rule == Rule.DONT_SYNC or text == current:
            continue
        if mapping.rule in (Rule.TWO_WAY, Rule.PREFER_SALESFORCE) and not text:
            continue
        changes[mapping.hubspot_property] = text
    return changes


def fingerprint(salesforce_object: str, payload: Mapping[str, object]) -> str:
    blob = json.dumps({"object": salesforce_object, "payload": payload}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def already_in_salesforce(payload: Mapping[str, object], salesforce_values: Mapping[str, object] | None) -> bool:
    """True when Salesforce was last seen holding exactly these values (no write needed: this is
    how our own Salesforce → HubSpot writes do not bounce back)."""
    if not salesforce_values:
        return False
    return all(str(salesforce_values.get(field) or "") == str(value) for field, value in payload.items())
