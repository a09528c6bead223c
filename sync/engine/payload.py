"""The field mappings as the engine reads them.

How a mapped field travels (HubSpot's four sync rules, decided field by field against the
values both sides last agreed on) is ``sync.engine.merge``; ``sync.engine.fields`` applies it to
a contact.
"""

from __future__ import annotations

from collections.abc import Iterable
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
