"""The lists tool in the admin: the lists page, the list editor with its live preview, contacts.

Writes go through ``lists.services`` (never ``ModelAdmin``'s default save/delete) so the admin,
scripts and tasks share one path: validation, audit rows, and the asynchronous processing.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from lists import selectors, services
from lists.criteria import check_filter_branch, explain, load_schema
from lists.criteria.nodes import group_label as criteria_group_label
from lists.criteria.nodes import where as criteria_where
from lists.forms import ContactListForm, StaticListChoiceForm
from lists.models import Contact, ContactList, ContactProperty, ListMembership, MembershipChange
from lists.normalize import public_properties
from lists.usage import list_uses_annotate, uses_of

# Error messages are matched against at most this many places of a definition.
MAX_PLACES = 500
# A preview is a dry run for a person typing: bounded so a pasted monster cannot tie up a worker.
PREVIEW_MAX_BODY = 256 * 1024
PREVIEW_CONTACTS = 10


def _safe_next(request: HttpRequest) -> str | None:
    """The ``next`` URL of this request if it points back into this site, else None."""
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def _error_entries(exc: ValidationError, branch: Any = None) -> list[dict[str, Any]]:
    """Flatten a criteria ValidationError into ``{"message", "group", "filter"}`` entries.

    The engine's messages start with where they apply ("Group 2, filter 1 (country): ...").
    The same label functions, in the same language, rebuild every place of the submitted
    definition so each message can be put next to its filter (0-based indexes for the script).
    """
    if hasattr(exc, "error_dict"):
        messages_ = [m for errors in exc.error_dict.values() for e in errors for m in e.messages]
    else:
        messages_ = list(exc.messages)
    places = _places(branch)
    entries = []
    for message in messages_:
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
        places.append((str(criteria_group_label((gi + 1,))), gi, None))
        filters = group.get("filters") if isinstance(group, dict) else None
        for fi in range(min(len(filters), MAX_PLACES) if isinstance(filters, list) else 0):
            places.append((str(criteria_where((gi + 1,), fi + 1)), gi, fi))
    return sorted(places, key=lambda place: len(place[0]), reverse=True)


def _display_value(value: Any) -> Any:
    """A normalised property value as a person reads it (sets of options joined, ``None`` kept)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return "; ".join(sorted(str(v) for v in value))
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    return value


def _property_schema() -> list[dict[str, Any]]:
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


def _editor_labels() -> dict[str, str]:
    """Every string the editor script shows, translated here since there is no JS catalog build."""
    return {
        "and": gettext("and"),
        "or": gettext("or"),
        "addFilter": gettext("+ Add filter"),
        "addGroup": gettext("+ Add filter group"),
        "removeFilter": gettext("Remove this filter"),
        "removeGroup": gettext("Remove this group"),
        "group": gettext("Group %(n)s"),
        "noGroups": gettext("No criteria yet: add a filter group to choose who is in this list."),
        "searchProperties": gettext("Search properties"),
        "noMatch": gettext("No property matches."),
        "listMembership": gettext("List membership"),
        "properties": gettext("Contact properties"),
        "isMemberOf": gettext("is a member of"),
        "isNotMemberOf": gettext("is not a member of"),
        "chooseList": gettext("Choose a list"),
        "noOtherLists": gettext("There are no other lists yet."),
        "includeNoValue": gettext("Include contacts with no value"),
        "yes": gettext("Yes"),
        "no": gettext("No"),
        "and_between": gettext("and"),
        "daysAgo": gettext("days ago"),
        "valuesPerLine": gettext("One value per line"),
        "utc": gettext("UTC"),
        "unknownProperty": gettext("Unknown property “%(name)s”"),
        "nestedKept": gettext("This group also holds nested branches, kept as they are (edit them as JSON)."),
        "rootFiltersKept": gettext("The criteria also hold top-level filters, kept as they are (edit them as JSON)."),
        "editJson": gettext("Edit as JSON"),
        "hideJson": gettext("Hide JSON"),
        "badJson": gettext("This is not valid JSON; the editor keeps the last valid criteria."),
        "previewTitle": gettext("Preview"),
        "previewLoading": gettext("Counting…"),
        "previewEmpty": gettext("Add filters to see who would be in this list."),
        "previewCount": gettext("%(count)s contacts match"),
        "previewCountOne": gettext("1 contact matches"),
        "previewFirst": gettext("First contacts"),
        "previewNone": gettext("No contact matches these criteria."),
        "previewErrors": gettext("Fix the criteria marked in red to see a preview."),
        "previewFailed": gettext("The preview could not be computed."),
        "perFilter": gettext("%(count)s match this filter"),
        "unsaved": gettext(
            "Unsaved changes: the preview shows the criteria as edited, the list keeps its saved definition until you save."
        ),
        "rename": gettext("Rename"),
        "renamed": gettext("Renamed."),
        "renameFailed": gettext("The list could not be renamed."),
        "statusProcessing": gettext("Processing"),
        "statusComplete": gettext("Complete"),
        "statusFailed": gettext("Failed"),
        "members": gettext("%(count)s contacts"),
        "membersOne": gettext("1 contact"),
        "processingNote": gettext("The list may take some time to process."),
        "static": gettext("Static"),
        "value": gettext("Value"),
        "operator": gettext("Operator"),
        "lowerBound": gettext("From"),
        "upperBound": gettext("To"),
        "types": {str(value): str(label) for value, label in ContactProperty.Type.choices},
        "ops": {
            "STRING:IS_EQUAL_TO": gettext("is equal to"),
            "STRING:IS_NOT_EQUAL_TO": gettext("is not equal to"),
            "STRING:CONTAINS": gettext("contains"),
            "STRING:DOES_NOT_CONTAIN": gettext("does not contain"),
            "STRING:STARTS_WITH": gettext("starts with"),
            "STRING:ENDS_WITH": gettext("ends with"),
            "MULTISTRING:IS_EQUAL_TO": gettext("is any of"),
            "MULTISTRING:IS_NOT_EQUAL_TO": gettext("is none of"),
            "MULTISTRING:CONTAINS": gettext("contains any of"),
            "MULTISTRING:DOES_NOT_CONTAIN": gettext("contains none of"),
            "MULTISTRING:STARTS_WITH": gettext("starts with any of"),
            "MULTISTRING:ENDS_WITH": gettext("ends with any of"),
            "NUMBER:IS_EQUAL_TO": gettext("is equal to"),
            "NUMBER:IS_NOT_EQUAL_TO": gettext("is not equal to"),
            "NUMBER:IS_GREATER_THAN": gettext("is greater than"),
            "NUMBER:IS_GREATER_THAN_OR_EQUAL_TO": gettext("is greater than or equal to"),
            "NUMBER:IS_LESS_THAN": gettext("is less than"),
            "NUMBER:IS_LESS_THAN_OR_EQUAL_TO": gettext("is less than or equal to"),
            "NUMBER_RANGED:IS_BETWEEN": gettext("is between"),
            "NUMBER_RANGED:IS_NOT_BETWEEN": gettext("is not between"),
            "BOOL:IS_EQUAL_TO": gettext("is"),
            "BOOL:IS_NOT_EQUAL_TO": gettext("is not"),
            "ENUMERATION:IS_ANY_OF": gettext("is any of"),
            "ENUMERATION:IS_NONE_OF": gettext("is none of"),
            "DATETIME:IS_BEFORE": gettext("is before"),
            "DATETIME:IS_AFTER": gettext("is after"),
            "ROLLING_DATE_RANGE:IS_LESS_THAN_X_DAYS_AGO": gettext("is less than"),
            "ROLLING_DATE_RANGE:IS_MORE_THAN_X_DAYS_AGO": gettext("is more than"),
            "ALL_PROPERTY:IS_KNOWN": gettext("is known"),
            "ALL_PROPERTY:IS_UNKNOWN": gettext("is unknown"),
        },
    }


class InclusionListFilter(admin.SimpleListFilter):
    title = _("in list")
    parameter_name = "in_list"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in ContactList.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(memberships__contact_list_id=int(value))
        return queryset


@admin.register(ContactProperty)
class ContactPropertyAdmin(admin.ModelAdmin):
    """The property schema, mirrored from HubSpot: read-only here."""

    list_display = ["label", "name", "type", "field_type", "group_name", "hidden", "calculated", "archived"]
    list_filter = ["type", "archived", "hidden", "calculated", "group_name"]
    search_fields = ["name", "label"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ListMembershipInline(admin.TabularInline):
    model = ListMembership
    fk_name = "contact"
    extra = 0
    fields = ["contact_list", "added_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("lists this contact is in")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("contact_list")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Contacts mirrored from HubSpot: read-only, with their lists and why they are (not) in one."""

    list_display = ["__str__", "email", "hubspot_id", "salesforce_id", "salesforce_object", "hubspot_updated_at"]
    list_filter = ["salesforce_object", "archived", InclusionListFilter]
    search_fields = ["email", "firstname", "lastname", "hubspot_id", "salesforce_id"]
    search_help_text = _("Search by email, name, HubSpot ID or Salesforce ID.")
    # Counting a million mirrored contacts on every page view costs more than it tells.
    show_full_result_count = False
    date_hierarchy = None
    actions = ["add_to_static_list", "remove_from_static_list"]
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The data comes from HubSpot; the change page is a view page with explanations.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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
        try:
            branch = check_filter_branch(chosen.filter_branch, list_id=chosen.pk)
        except ValidationError as exc:
            context["explanation_error"] = " ".join(exc.messages)
            return context
        rows = explain(
            branch,
            properties=contact.properties or {},
            list_ids=member_ids,
            now=timezone.now(),
            schema=load_schema(),
            list_names=dict(ContactList.objects.values_list("pk", "name")),
        )
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

    def _static_list_action(self, request: HttpRequest, queryset: QuerySet, *, adding: bool) -> TemplateResponse | None:
        form = StaticListChoiceForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            contact_list = form.cleaned_data["contact_list"]
            if adding:
                count = services.static_members_add(contact_list=contact_list, contacts=queryset, actor=request.user)
                message = ngettext(
                    "%(count)d contact added to “%(list)s”.", "%(count)d contacts added to “%(list)s”.", count
                )
            else:
                count = services.static_members_remove(contact_list=contact_list, contacts=queryset, actor=request.user)
                message = ngettext(
                    "%(count)d contact removed from “%(list)s”.", "%(count)d contacts removed from “%(list)s”.", count
                )
            self.message_user(request, message % {"count": count, "list": contact_list.name}, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Add to static list") if adding else _("Remove from static list"),
            "opts": self.model._meta,
            "form": form,
            "adding": adding,
            "count": queryset.count(),
            "sample": list(queryset[:10]),
            "selected_ids": []
            if request.POST.get("select_across") == "1"
            else request.POST.getlist("_selected_action"),
            "select_across": request.POST.get("select_across") == "1",
            "action": request.POST.get("action"),
            "has_static_lists": form.fields["contact_list"].queryset.exists(),
            "add_list_url": reverse("admin:lists_contactlist_add") + "?processing_type=MANUAL",
        }
        return TemplateResponse(request, "admin/lists/contact/static_list_action.html", context)

    @admin.action(description=_("Add to static list…"), permissions=["manage_static_lists"])
    def add_to_static_list(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return self._static_list_action(request, queryset, adding=True)

    @admin.action(description=_("Remove from static list…"), permissions=["manage_static_lists"])
    def remove_from_static_list(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        return self._static_list_action(request, queryset, adding=False)


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    form = ContactListForm
    list_display = ["list_name", "type_label", "status_pill", "size_label", "updated_at"]
    list_display_links = ["list_name"]
    list_filter = ["processing_type", "processing_status"]
    search_fields = ["name"]
    ordering = ["name", "id"]
    list_per_page = 50

    # --- the lists page -------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Whether another app holds each list (the inclusion list): one subquery per use.
        return list_uses_annotate(super().get_queryset(request))

    @admin.display(description=_("name"), ordering="name")
    def list_name(self, obj: ContactList) -> str:
        badges = format_html_join(
            "", ' <span class="list-badge list-badge-{}">{}</span>', ((use.key, use.badge) for use in uses_of(obj))
        )
        return format_html("{}{}", obj.name, badges)

    @admin.display(description=_("type"), ordering="processing_type")
    def type_label(self, obj: ContactList) -> str:
        return obj.get_processing_type_display()

    @admin.display(description=_("status"), ordering="processing_status")
    def status_pill(self, obj: ContactList) -> str:
        if not obj.is_active_list:
            return format_html('<span class="list-pill list-pill-static">{}</span>', _("Static"))
        label = obj.get_processing_status_display()
        if obj.processing_status == ContactList.ProcessingStatus.PROCESSING and obj.progress:
            label = f"{label} {obj.progress}%"
        if obj.processing_status == ContactList.ProcessingStatus.PROCESSING:
            # The lists page's script follows this list until it is computed.
            return format_html(
                '<span class="list-pill list-pill-processing" data-status-url="{}">{}</span>',
                reverse("admin:lists_contactlist_status", args=[obj.pk]),
                label,
            )
        return format_html(
            '<span class="list-pill list-pill-{}" title="{}">{}</span>',
            obj.processing_status.lower(),
            obj.error,
            label,
        )

    @admin.display(description=_("size"), ordering="size")
    def size_label(self, obj: ContactList) -> str:
        # A list still processing has no size yet; 0 would read as "empty".
        if obj.is_active_list and obj.processing_status != ContactList.ProcessingStatus.COMPLETE:
            return "—"
        return str(obj.size)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {"title": _("Lists"), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    # --- the editor ------------------------------------------------------------------------

    def get_fields(self, request: HttpRequest, obj: ContactList | None = None) -> list[str]:
        if obj is None:
            return ["name", "processing_type", "filter_branch"]
        if obj.is_active_list:
            return ["name", "filter_branch"]
        return ["name"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        # "+ Create inclusion list" (and any add link) opens an empty *active* list.
        if initial.get("processing_type") not in ContactList.ProcessingType.values:
            initial["processing_type"] = ContactList.ProcessingType.DYNAMIC
        initial.setdefault("name", gettext("Untitled list"))
        return initial

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, object_id) if object_id else None
        lists = ContactList.objects.exclude(pk=obj.pk) if obj else ContactList.objects.all()
        config = {
            "schema": _property_schema(),
            "lists": [
                {"id": str(pk), "name": name, "active": kind == ContactList.ProcessingType.DYNAMIC}
                for pk, name, kind in lists.values_list("pk", "name", "processing_type")
            ],
            "labels": _editor_labels(),
            "previewUrl": reverse("admin:lists_contactlist_preview"),
            "listId": str(obj.pk) if obj else None,
            # What is stored, to tell the person when the preview shows unsaved criteria.
            "savedFilterBranch": obj.filter_branch if obj else None,
            "renameUrl": reverse("admin:lists_contactlist_rename", args=[obj.pk]) if obj else None,
            "statusUrl": reverse("admin:lists_contactlist_status", args=[obj.pk]) if obj else None,
        }
        extra_context.update(
            {
                "editor_config": config,
                "next_url": _safe_next(request) or "",
                "list_uses": uses_of(obj) if obj else [],
                # One Save, at the top right, as in HubSpot's editor.
                "show_save_and_add_another": False,
                "show_save_and_continue": False,
            }
        )
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: ContactList, form: ContactListForm, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.list_create(
                name=data["name"],
                processing_type=data.get("processing_type") or ContactList.ProcessingType.DYNAMIC,
                filter_branch=data.get("filter_branch"),
                actor=request.user,
            )
            obj.pk = created.pk
            obj._state.adding = False
            obj.refresh_from_db()
            return
        stored = ContactList.objects.get(pk=obj.pk)
        if stored.is_active_list:
            # The service only reprocesses when the criteria really differ from the stored ones.
            services.list_update(
                contact_list=stored, name=data["name"], filter_branch=data.get("filter_branch"), actor=request.user
            )
        else:
            services.list_rename(contact_list=stored, name=data["name"], actor=request.user)
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: ContactListForm, formsets: Any, change: bool) -> None:
        # Members are not edited here (services own them); nothing else is related.
        return None

    def _after_save(self, request: HttpRequest, obj: ContactList) -> HttpResponseRedirect:
        if obj.is_active_list and obj.processing_status == ContactList.ProcessingStatus.PROCESSING:
            note = gettext("“%(name)s” was saved. The list may take some time to process.")
        else:
            note = gettext("“%(name)s” was saved.")
        self.message_user(request, note % {"name": obj.name}, messages.SUCCESS)
        target = _safe_next(request)
        if target:
            return HttpResponseRedirect(target)
        # Stay on the list, as HubSpot does, so its processing can be watched.
        return HttpResponseRedirect(reverse("admin:lists_contactlist_change", args=[obj.pk]))

    def response_add(
        self, request: HttpRequest, obj: ContactList, post_url_continue: str | None = None
    ) -> HttpResponse:
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        return self._after_save(request, obj)

    def response_change(self, request: HttpRequest, obj: ContactList) -> HttpResponse:
        if "_addanother" in request.POST or "_saveasnew" in request.POST or "_popup" in request.POST:
            return super().response_change(request, obj)
        return self._after_save(request, obj)

    # --- deleting --------------------------------------------------------------------------

    def delete_model(self, request: HttpRequest, obj: ContactList) -> None:
        services.list_delete(contact_list=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        refused = []
        for contact_list in queryset:
            try:
                services.list_delete(contact_list=contact_list)
            except ValidationError as exc:
                refused.append(f"{contact_list.name}: {' '.join(exc.messages)}")
        for message in refused:
            self.message_user(request, message, messages.ERROR)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_delete_permission(request, obj):
            refusal = self._delete_refusal(obj)
            if refusal:
                # The service's reason, not Django's generic "protected objects" page: nothing is deleted.
                self.message_user(request, refusal, messages.ERROR)
                return HttpResponseRedirect(reverse("admin:lists_contactlist_change", args=[obj.pk]))
            if request.method == "POST":
                name = obj.name
                try:
                    services.list_delete(contact_list=obj)
                except ValidationError as exc:
                    self.message_user(request, " ".join(exc.messages), messages.ERROR)
                    return HttpResponseRedirect(reverse("admin:lists_contactlist_change", args=[obj.pk]))
                self.message_user(
                    request, gettext("The list “%(name)s” was deleted.") % {"name": name}, messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:lists_contactlist_changelist"))
        return super().delete_view(request, object_id, extra_context)

    def _delete_refusal(self, obj: ContactList) -> str | None:
        uses = uses_of(obj)
        return str(uses[0].delete_refusal) % {"name": obj.name} if uses else None

    # --- JSON endpoints of the editor --------------------------------------------------------

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("preview/", wrap(self.preview_view), name="lists_contactlist_preview"),
            path("<int:pk>/status/", wrap(self.status_view), name="lists_contactlist_status"),
            path("<int:pk>/rename/", wrap(self.rename_view), name="lists_contactlist_rename"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """Who would be in the list as currently edited: count, first contacts, count per filter."""
        if request.method != "POST":
            return JsonResponse({"ok": False, "errors": [{"message": gettext("Use POST.")}]}, status=405)
        if not self.has_view_permission(request):
            raise PermissionDenied
        if len(request.body) > PREVIEW_MAX_BODY:
            return _json_error(gettext("These criteria are too large to preview."), status=413)
        try:
            payload = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return _json_error(gettext("The criteria are not valid JSON."))
        if not isinstance(payload, dict) or not isinstance(payload.get("filter_branch"), dict):
            return _json_error(gettext('Send the criteria as {"filter_branch": {...}}.'))
        list_id = payload.get("list_id")
        list_id = int(list_id) if isinstance(list_id, (int, str)) and str(list_id).isdigit() else None
        try:
            preview = selectors.list_preview(
                filter_branch=payload["filter_branch"], limit=PREVIEW_CONTACTS, list_id=list_id
            )
        except ValidationError as exc:
            return JsonResponse({"ok": False, "errors": _error_entries(exc, payload["filter_branch"])})
        return JsonResponse({"ok": True, **_preview_payload(preview)})

    def status_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        contact_list = get_object_or_404(ContactList, pk=pk)
        return JsonResponse(_status_payload(contact_list))

    def rename_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        if request.method != "POST":
            return JsonResponse({"ok": False, "errors": [{"message": gettext("Use POST.")}]}, status=405)
        contact_list = get_object_or_404(ContactList, pk=pk)
        if not self.has_change_permission(request, contact_list):
            raise PermissionDenied
        try:
            payload = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return _json_error(gettext("Send the new name as JSON."))
        name = payload.get("name") if isinstance(payload, dict) else None
        if not isinstance(name, str) or not name.strip():
            return _json_error(gettext("A list needs a name."))
        try:
            services.list_rename(contact_list=contact_list, name=name.strip(), actor=request.user)
        except ValidationError as exc:
            return JsonResponse({"ok": False, "errors": _error_entries(exc)}, status=400)
        contact_list.refresh_from_db()
        self.log_change(request, contact_list, [{"changed": {"fields": ["name"]}}])
        return JsonResponse({"ok": True, "name": contact_list.name})


def _json_error(message: str, *, status: int = 400) -> JsonResponse:
    return JsonResponse({"ok": False, "errors": [{"message": message, "group": None, "filter": None}]}, status=status)


def _status_payload(contact_list: ContactList) -> dict[str, Any]:
    return {
        "id": contact_list.pk,
        "status": contact_list.processing_status,
        "statusLabel": contact_list.get_processing_status_display(),
        "size": contact_list.size,
        "progress": contact_list.progress,
        "error": contact_list.error,
        "processedAt": contact_list.processed_at.isoformat() if contact_list.processed_at else None,
    }


def _preview_payload(preview: Any) -> dict[str, Any]:
    contacts = []
    for contact in preview.contacts:
        contacts.append(
            {
                "id": contact.pk,
                "name": str(contact),
                "email": contact.email,
                "url": reverse("admin:lists_contact_change", args=[contact.pk]),
            }
        )
    # The editor draws the root's AND groups; deeper filters have no row to carry a count.
    per_filter = [
        {"group": fc.path[0] - 1, "filter": fc.position - 1, "count": fc.count}
        for fc in preview.filter_counts
        if len(fc.path) == 1
    ]
    return {"total": preview.total, "contacts": contacts, "perFilter": per_filter}


@admin.register(ListMembership)
class ListMembershipAdmin(admin.ModelAdmin):
    list_display = ["contact", "contact_list", "added_at"]
    list_filter = ["contact_list"]
    list_select_related = ["contact", "contact_list"]
    search_fields = ["contact__email", "contact__hubspot_id", "contact_list__name"]
    date_hierarchy = "added_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MembershipChange)
class MembershipChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "contact", "kind", "contact_list", "list_version"]
    list_filter = ["kind", "contact_list"]
    list_select_related = ["contact", "contact_list"]
    search_fields = ["contact__email", "contact__hubspot_id", "contact_list__name"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
