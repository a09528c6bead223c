"""The Field mappings tab: add, change the rule of, and delete mappings (audited by the services)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from integration import selectors
from integration.models import FieldMapping
from integration.services import field_mapping_delete, field_mapping_save
from lists.models import SalesforceObject
from sync.settings_page.common import TEMPLATE, back, form_errors, page_context, require
from sync.settings_page.forms import FieldMappingForm


def _field_types() -> dict[str, tuple[dict[str, str], bool]]:
    return {name: selectors.salesforce_field_types(salesforce_object=name) for name in SalesforceObject.values}


def mappings_context(request: HttpRequest, add_form: FieldMappingForm | None = None) -> dict[str, Any]:
    # A refused add brings its form, with the Salesforce field types it was checked against.
    field_types = add_form.field_types if add_form is not None else _field_types()
    mappings = list(FieldMapping.objects.order_by("hubspot_property", "salesforce_object", "salesforce_field"))
    for mapping in mappings:
        # The email takes only the rules HubSpot allows for it.
        allowed = FieldMapping.EMAIL_RULES if mapping.maps_email else FieldMapping.Rule.values
        mapping.rule_choices = [(value, label) for value, label in FieldMapping.Rule.choices if value in allowed]
        mapping.rule_help = FieldMapping.RULE_HELP[mapping.rule]
    return {
        "mappings": mappings,
        "rules": [(label, FieldMapping.RULE_HELP[value]) for value, label in FieldMapping.Rule.choices],
        "add_form": add_form or FieldMappingForm(field_types=field_types),
        "salesforce_field_names": sorted({name for types, _described in field_types.values() for name in types}),
        "field_types_from_describe": all(described for _types, described in field_types.values()),
        "can_add_mapping": request.user.has_perm("integration.add_fieldmapping"),
        "can_change_mapping": request.user.has_perm("integration.change_fieldmapping"),
        "can_delete_mapping": request.user.has_perm("integration.delete_fieldmapping"),
    }


@require_POST
def mapping_add(request: HttpRequest) -> HttpResponse:
    require(request, "integration.add_fieldmapping")
    form = FieldMappingForm(request.POST, field_types=_field_types())
    if form.is_valid():
        field_mapping_save(mapping=form.save(commit=False), actor=request.user)
        messages.success(request, _("Mapping added."))
        return back("mappings")
    # The tab again, with the form and its errors beside the fields.
    context = page_context(request, tab="mappings", **mappings_context(request, add_form=form))
    return TemplateResponse(request, TEMPLATE, context, status=400)


@require_POST
def mapping_change(request: HttpRequest, pk: int) -> HttpResponse:
    deleting = request.POST.get("action") == "delete"
    # Permission before the lookup: refused alike whether the mapping exists or not.
    require(request, "integration.delete_fieldmapping" if deleting else "integration.change_fieldmapping")
    mapping = get_object_or_404(FieldMapping, pk=pk)
    if deleting:
        field_mapping_delete(mapping=mapping, actor=request.user)
        messages.success(request, _("Mapping deleted."))
        return back("mappings")
    data = {
        "hubspot_property": mapping.hubspot_property,
        "salesforce_object": mapping.salesforce_object,
        "salesforce_field": mapping.salesforce_field,
        "rule": request.POST.get("rule", ""),
    }
    form = FieldMappingForm(data, instance=mapping, field_types=_field_types())
    if form.is_valid():
        field_mapping_save(mapping=form.save(commit=False), actor=request.user)
        messages.success(request, _("Mapping saved."))
    else:
        form_errors(request, form, with_labels=False)
    return back("mappings")
