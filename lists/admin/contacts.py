"""HubSpot's mirror in the admin: properties, contacts (with their lists and why they are, or are
not, in one) and the memberships with their history. All read-only: HubSpot owns the data, the
engine owns the memberships; static lists take members through the contacts page's actions."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lists import selectors
from lists.admin.actions import add_to_static_list, remove_from_static_list
from lists.admin.base import ReadOnlyAdmin
from lists.admin.filters import InclusionListFilter
from lists.models import Contact, ContactList, ContactProperty, ListMembership, MembershipChange
from lists.normalize import public_properties


@admin.register(ContactProperty)
class ContactPropertyAdmin(ReadOnlyAdmin):
    """The property schema, mirrored from HubSpot."""

    list_display = ["label", "name", "type", "field_type", "group_name", "hidden", "calculated", "archived"]
    list_filter = ["type", "archived", "hidden", "calculated", "group_name"]
    search_fields = ["name", "label"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    """Contacts mirrored from HubSpot. The change page is a view page with explanations."""

    list_display = ["__str__", "email", "hubspot_id", "salesforce_id", "salesforce_object", "hubspot_updated_at"]
    list_filter = ["salesforce_object", "archived", InclusionListFilter]
    search_fields = ["email", "firstname", "lastname", "hubspot_id", "salesforce_id"]
    search_help_text = _("Search by email, name, HubSpot ID or Salesforce ID.")
    # Counting a million mirrored contacts on every page view costs more than it tells.
    show_full_result_count = False
    date_hierarchy = None
    actions = [add_to_static_list, remove_from_static_list]
    fieldsets = [
        (None, {"fields": ["email", "firstname", "lastname", "hubspot_id", "archived"]}),
        (_("Salesforce"), {"fields": ["salesforce_id", "salesforce_object"]}),
        (_("Properties"), {"fields": ["properties_table"]}),
        (
            _("History"),
            {
                "fields": ["hubspot_created_at", "hubspot_updated_at", "created_at", "updated_at"],
                "classes": ["collapse"],
            },
        ),
    ]
    readonly_fields = [
        "email",
        "firstname",
        "lastname",
        "hubspot_id",
        "archived",
        "salesforce_id",
        "salesforce_object",
        "properties_table",
        "hubspot_created_at",
        "hubspot_updated_at",
        "created_at",
        "updated_at",
    ]

    def has_manage_static_lists_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("lists.change_contactlist")

    @admin.display(description=_("properties"))
    def properties_table(self, obj: Contact) -> str:
        labels = dict(ContactProperty.objects.values_list("name", "label"))
        rows = sorted(public_properties(obj.properties or {}).items())
        if not rows:
            return "—"
        return format_html(
            '<table class="contact-properties"><tbody>{}</tbody></table>',
            format_html_join(
                "",
                "<tr><th>{}</th><td><code>{}</code></td></tr>",
                ((labels.get(name) or name, json.dumps(value, ensure_ascii=False)) for name, value in rows),
            ),
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        contact = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if contact is not None:
            extra_context.update(self._explanation_context(request, contact))
        return super().change_view(request, object_id, form_url, extra_context)

    def _explanation_context(self, request: HttpRequest, contact: Contact) -> dict[str, Any]:
        member_of = list(selectors.lists_for_contact(contact=contact))
        active_lists = list(
            ContactList.objects.filter(processing_type=ContactList.ProcessingType.DYNAMIC).only("pk", "name")
        )
        context: dict[str, Any] = {
            "contact_lists": member_of,
            "list_opts": ContactList._meta,
            "explain_choices": active_lists,
            "explain_list": None,
            "explanation": None,
        }
        raw = request.GET.get("explain_list", "")
        chosen = next((lst for lst in active_lists if str(lst.pk) == raw), None)
        if chosen is None:
            return context
        chosen = ContactList.objects.get(pk=chosen.pk)
        member_ids = {lst.pk for lst in member_of}
        context["explain_list"] = chosen
        context["explain_is_member"] = chosen.pk in member_ids
        if chosen.membership_source == ContactList.MembershipSource.HUBSPOT:
            # No criteria here to explain: the membership is the one HubSpot computed.
            context["explanation_error"] = gettext(
                "HubSpot computes this list's members from filters this product cannot evaluate: the "
                "membership shown is HubSpot's, as of the last sync."
            )
            return context
        try:
            branch = selectors.criteria_check(filter_branch=chosen.filter_branch, list_id=chosen.pk)
        except ValidationError as exc:
            context["explanation_error"] = " ".join(exc.messages)
            return context
        rows = selectors.filters_explained(contact=contact, branch=branch, list_ids=member_ids)
        context["explanation"] = [
            {
                "group_label": row.place,
                "sentence": row.sentence,
                "passed": row.passed,
                "value": _display_value(row.value),
            }
            for row in rows
        ]
        return context


def _display_value(value: Any) -> Any:
    """A normalised property value as a person reads it (sets of options joined, ``None`` kept)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return "; ".join(sorted(str(v) for v in value))
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    return value


@admin.register(ListMembership)
class ListMembershipAdmin(ReadOnlyAdmin):
    list_display = ["contact", "contact_list", "added_at"]
    list_filter = ["contact_list"]
    list_select_related = ["contact", "contact_list"]
    search_fields = ["contact__email", "contact__hubspot_id", "contact_list__name"]
    date_hierarchy = "added_at"
    show_full_result_count = False


@admin.register(MembershipChange)
class MembershipChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "contact", "kind", "contact_list", "list_version"]
    list_filter = ["kind", "contact_list"]
    list_select_related = ["contact", "contact_list"]
    search_fields = ["contact__email", "contact__hubspot_id", "contact_list__name"]
    date_hierarchy = "at"
    show_full_result_count = False
