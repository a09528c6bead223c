"""The sync settings and the inclusion list. Every change is audited in the same transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from integration.models import SettingChange, SyncSettings
from integration.services.audit import changes_apply
from lists.models import ContactList


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, ContactList):
        return f"{value.name} (#{value.pk})"
    return str(value)


@transaction.atomic
def sync_settings_update(*, sync_settings: SyncSettings, actor=None, **changes: Any) -> list[SettingChange]:
    """Apply ``changes`` (field name -> value) to the settings row, validate, audit each change."""
    locked = SyncSettings.objects.select_for_update().get(pk=sync_settings.pk)
    audit = changes_apply(locked, changes, actor=actor, display=_display)
    if not audit:
        return []
    locked.full_clean()
    locked.save()
    SettingChange.objects.bulk_create(audit)
    for field in changes:
        setattr(sync_settings, field, getattr(locked, field))
    return audit


def inclusion_list_set(
    *, sync_settings: SyncSettings, contact_list: ContactList | None, actor=None
) -> list[SettingChange]:
    """Choose the inclusion list (or none). Only active lists are accepted."""
    if contact_list is not None and contact_list.processing_type != ContactList.ProcessingType.DYNAMIC:
        raise ValidationError(
            {
                "inclusion_list": _("Only active lists can be the inclusion list; “%(name)s” is static.")
                % {"name": contact_list.name}
            }
        )
    return sync_settings_update(sync_settings=sync_settings, actor=actor, inclusion_list=contact_list)
