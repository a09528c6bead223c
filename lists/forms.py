"""Forms of the lists admin: the list editor and the "Add to static list…" action."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from lists import jsonguard
from lists.criteria import MAX_JSON_BYTES, MAX_JSON_DEPTH
from lists.models import ContactList

EMPTY_FILTER_BRANCH: dict[str, Any] = {"filterBranchType": "OR", "filters": [], "filterBranches": []}


class FilterBranchField(forms.JSONField):
    """The criteria as HubSpot's filterBranch JSON, edited by the list editor's script.

    The textarea stays in the page (hidden by the script) so a definition can be pasted from
    HubSpot, and the page still works without JavaScript. The text is read by the JSON guard
    (size, depth, numbers), never by a bare ``json.loads``: an oversized number is kept for the
    model's check, which names the filter it is in.
    """

    def to_python(self, value: Any) -> Any:
        if self.disabled:
            return value
        if value in self.empty_values:
            return None
        if isinstance(value, list | dict | int | float | forms.fields.JSONString):
            return value
        try:
            converted = jsonguard.loads(value, max_bytes=MAX_JSON_BYTES, max_depth=MAX_JSON_DEPTH, check=False)
        except jsonguard.JsonRefused as exc:
            raise ValidationError(exc.message, code="invalid") from None
        return forms.fields.JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled:
            return initial
        if data is None:
            return None
        try:
            return jsonguard.loads(data, max_bytes=MAX_JSON_BYTES, max_depth=MAX_JSON_DEPTH)
        except jsonguard.JsonRefused:
            # Shown again as typed, so nothing the person wrote is lost.
            return forms.fields.InvalidJSONInput(data)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return super().has_changed(initial, data)
        except (TypeError, ValueError):  # not serialisable as JSON (an oversized number): changed
            return True

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class ContactListForm(forms.ModelForm):
    filter_branch = FilterBranchField(
        label=_("Criteria"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "vLargeTextField", "spellcheck": "false"}),
        help_text=_("HubSpot's filterBranch JSON: OR groups of AND filters."),
    )

    class Meta:
        model = ContactList
        fields = ["name", "processing_type", "filter_branch"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "processing_type" in self.fields:
            # A radio choice reads better than a select for two options with consequences.
            self.fields["processing_type"].widget = forms.RadioSelect(choices=ContactList.ProcessingType.choices)
        if self.instance.pk and not self.instance.is_active_list:
            # A static list has no criteria (declared fields would otherwise always be present).
            self.fields.pop("filter_branch", None)
        if not self.instance.pk and not self.initial.get("filter_branch"):
            self.initial["filter_branch"] = EMPTY_FILTER_BRANCH

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        processing_type = cleaned.get("processing_type") or self.instance.processing_type
        if processing_type == ContactList.ProcessingType.MANUAL:
            # A static list has no criteria: whatever the (hidden) editor held is dropped.
            cleaned["filter_branch"] = None
        elif cleaned.get("filter_branch") is None and "filter_branch" not in self.errors:
            cleaned["filter_branch"] = EMPTY_FILTER_BRANCH
        return cleaned


class StaticListChoiceForm(forms.Form):
    """The intermediate page of the "Add to / Remove from static list…" actions."""

    contact_list = forms.ModelChoiceField(
        label=_("Static list"),
        queryset=ContactList.objects.filter(processing_type=ContactList.ProcessingType.MANUAL),
        empty_label=None,
    )
