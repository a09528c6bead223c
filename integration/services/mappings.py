"""Field mappings, audited like every other setting."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from integration.models import FieldMapping, SettingChange


def _mapping_label(mapping: FieldMapping) -> str:
    return f"{mapping.hubspot_property} → {mapping.salesforce_object}.{mapping.salesforce_field} ({mapping.rule})"


@transaction.atomic
def field_mapping_save(*, mapping: FieldMapping, actor: Any = None) -> FieldMapping:
    """Create or change a mapping (already validated by the form, checked again here)."""
    old = FieldMapping.objects.filter(pk=mapping.pk).first() if mapping.pk else None
    mapping.full_clean()
    mapping.save()
    SettingChange.objects.create(
        actor=actor,
        setting="field_mapping",
        old_value=_mapping_label(old) if old else "",
        new_value=_mapping_label(mapping),
    )
    return mapping


@transaction.atomic
def field_mapping_delete(*, mapping: FieldMapping, actor: Any = None) -> None:
    label = _mapping_label(mapping)
    mapping.delete()
    SettingChange.objects.create(actor=actor, setting="field_mapping", old_value=label, new_value="")
