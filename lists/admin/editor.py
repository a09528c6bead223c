"""What the list editor's script receives: its config, and the JSON its endpoints answer with.

The config goes to the page through ``json_script``: the property schema, the other lists, the
operator catalogue (``lists.criteria.catalogue``, labels in the request's language) and the
endpoints' URLs. Every other string the script shows comes from the JavaScript catalog.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.core.exceptions import ValidationError
from django.db.models.options import Options
from django.http import JsonResponse
from django.urls import reverse

from lists.criteria.catalogue import ANY_PROPERTY_TYPE, LIST_OPERATOR_CHOICES, OPERATOR_CHOICES, operation_types_for
from lists.criteria.nodes import group_label, where
from lists.models import Contact, ContactList, ContactProperty

# Error messages are matched against at most this many places of a definition.
MAX_PLACES = 500


def editor_config(*, opts: Options, contact_list: ContactList | None) -> dict[str, Any]:
    """The editor's config for the add page (``contact_list`` None) or a list's change page."""
    others = ContactList.objects.exclude(pk=contact_list.pk) if contact_list else ContactList.objects.all()
    pk = contact_list.pk if contact_list else None
    return {
        "schema": property_schema(),
        "typeLabels": {str(value): str(label) for value, label in ContactProperty.Type.choices},
        "operators": operator_catalogue(),
        "lists": [
            {"id": str(other_pk), "name": name, "active": kind == ContactList.ProcessingType.DYNAMIC}
            for other_pk, name, kind in others.values_list("pk", "name", "processing_type")
        ],
        "previewUrl": reverse(admin_urlname(opts, "preview")),
        "listId": str(pk) if pk else None,
        # What is stored, to tell the person when the preview shows unsaved criteria.
        "savedFilterBranch": contact_list.filter_branch if contact_list else None,
        "renameUrl": reverse(admin_urlname(opts, "rename"), args=[pk]) if pk else None,
        "statusUrl": reverse(admin_urlname(opts, "status"), args=[pk]) if pk else None,
    }


def property_schema() -> list[dict[str, Any]]:
    """The properties a filter may use (not archived), with the options a person may pick."""
    rows = ContactProperty.objects.filter(archived=False).order_by("label", "name")
    schema = []
    for prop in rows:
        options = []
        for option in prop.options or []:
            if isinstance(option, dict):
                if option.get("hidden"):
                    continue
                value = option.get("value")
                options.append({"value": value, "label": option.get("label") or value})
            else:
                options.append({"value": option, "label": option})
        schema.append(
            {
                "name": prop.name,
                "label": prop.label or prop.name,
                "type": prop.type,
                "fieldType": prop.field_type,
                "group": prop.group_name,
                "options": options,
            }
        )
    return schema


def operator_catalogue() -> dict[str, Any]:
    """The operator menus: each operation type's operators, and the operation types of each property type."""
    return {
        "byOperationType": {
            kind: [{"operator": choice.operator, "label": str(choice.label)} for choice in choices]
            for kind, choices in OPERATOR_CHOICES.items()
        },
        "byPropertyType": {t: list(operation_types_for(t)) for t in ContactProperty.Type.values},
        "anyPropertyType": list(ANY_PROPERTY_TYPE),
        "list": [{"operator": operator, "label": str(label)} for operator, label in LIST_OPERATOR_CHOICES],
    }


def error_entries(exc: ValidationError, branch: Any = None) -> list[dict[str, Any]]:
    """Flatten a criteria ValidationError into ``{"message", "group", "filter"}`` entries.

    The engine's messages start with where they apply ("Group 2, filter 1 (country): ...").
    The same label functions, in the same language, rebuild every place of the submitted
    definition so each message can be put next to its filter (0-based indexes for the script).
    """
    if hasattr(exc, "error_dict"):
        messages = [m for errors in exc.error_dict.values() for e in errors for m in e.messages]
    else:
        messages = list(exc.messages)
    places = _places(branch)
    entries = []
    for message in messages:
        entry: dict[str, Any] = {"message": str(message), "group": None, "filter": None}
        for prefix, group, filt in places:
            rest = str(message)[len(prefix) :]
            if str(message).startswith(prefix) and not rest[:1].isdigit():
                entry["group"], entry["filter"] = group, filt
                break
        entries.append(entry)
    return entries


def _places(branch: Any) -> list[tuple[str, int, int | None]]:
    """Every ``(label prefix, group, filter)`` of a definition's root groups, longest label first."""
    groups = branch.get("filterBranches") if isinstance(branch, dict) else None
    if not isinstance(groups, list):
        return []
    places: list[tuple[str, int, int | None]] = []
    for gi, group in enumerate(groups[:MAX_PLACES]):
        places.append((str(group_label((gi + 1,))), gi, None))
        filters = group.get("filters") if isinstance(group, dict) else None
        for fi in range(min(len(filters), MAX_PLACES) if isinstance(filters, list) else 0):
            places.append((str(where((gi + 1,), fi + 1)), gi, fi))
    return sorted(places, key=lambda place: len(place[0]), reverse=True)


def json_error(message: str, *, status: int = 400) -> JsonResponse:
    return JsonResponse({"ok": False, "errors": [{"message": message, "group": None, "filter": None}]}, status=status)


def status_payload(contact_list: ContactList) -> dict[str, Any]:
    """A list's processing state, polled by the change page and the lists page."""
    return {
        "id": contact_list.pk,
        "status": contact_list.processing_status,
        "statusLabel": contact_list.get_processing_status_display(),
        "size": contact_list.size,
        "progress": contact_list.progress,
        "error": contact_list.error,
        "processedAt": contact_list.processed_at.isoformat() if contact_list.processed_at else None,
    }


def preview_payload(preview: Any) -> dict[str, Any]:
    """A ``selectors.list_preview`` result: the count, the first contacts, a count per drawn filter."""
    contact_change = admin_urlname(Contact._meta, "change")
    contacts = [
        {
            "id": contact.pk,
            "name": str(contact),
            "email": contact.email,
            "url": reverse(contact_change, args=[contact.pk]),
        }
        for contact in preview.contacts
    ]
    # The editor draws the root's AND groups; deeper filters have no row to carry a count.
    per_filter = [
        {"group": fc.path[0] - 1, "filter": fc.position - 1, "count": fc.count}
        for fc in preview.filter_counts
        if len(fc.path) == 1
    ]
    return {"total": preview.total, "contacts": contacts, "perFilter": per_filter}
