"""Lists in the admin: the lists page, the list editor and its JSON endpoints (live preview,
processing status, rename in place), and deletion with the reason it is refused."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lists import jsonguard, selectors, services
from lists.admin.editor import editor_config, error_entries, json_error, preview_payload, status_payload
from lists.admin.filters import OriginFilter
from lists.admin.remote import hubspot_context
from lists.criteria import MAX_JSON_BYTES, MAX_JSON_DEPTH
from lists.forms import ContactListForm
from lists.models import Contact, ContactList
from lists.usage import list_uses_annotate, uses_of

# A preview is a dry run for a person typing, bounded so a pasted monster cannot tie up a
# worker; whatever can be saved can be previewed (the wrapper object aside).
PREVIEW_MAX_BODY = MAX_JSON_BYTES + 1024
RENAME_MAX_BODY = 16 * 1024
_LIST_ID = re.compile(r"[0-9]{1,18}")
PREVIEW_CONTACTS = 10


def _safe_next(request: HttpRequest) -> str | None:
    """The ``next`` URL of this request if it points back into this site, else None."""
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    form = ContactListForm
    list_display = ["list_name", "type_label", "origin_label", "status_pill", "size_label", "updated_at"]
    list_display_links = ["list_name"]
    list_filter = ["processing_type", "processing_status", OriginFilter, "membership_source"]
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

    @admin.display(description=_("made in"), ordering="hubspot_list_id")
    def origin_label(self, obj: ContactList) -> str:
        if obj.is_mirrored:
            label = gettext("HubSpot") if obj.hubspot_deleted_at is None else gettext("HubSpot (deleted there)")
            return format_html('<span class="list-pill list-pill-hubspot">{}</span>', label)
        if obj.hubspot_published:
            return format_html('<span class="list-pill list-pill-published">{}</span>', gettext("Here, in HubSpot too"))
        return gettext("Here")

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
                reverse(admin_urlname(self.opts, "status"), args=[obj.pk]),
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

    def has_change_permission(self, request: HttpRequest, obj: ContactList | None = None) -> bool:
        # A list made in HubSpot is changed there; the next sync brings the change here.
        return super().has_change_permission(request, obj) and not (obj is not None and obj.is_mirrored)

    def has_delete_permission(self, request: HttpRequest, obj: ContactList | None = None) -> bool:
        # Deleted here, a list still in HubSpot would come back with the next sync.
        mirrored = obj is not None and obj.is_mirrored and obj.hubspot_deleted_at is None
        return super().has_delete_permission(request, obj) and not mirrored

    def get_fields(self, request: HttpRequest, obj: ContactList | None = None) -> list[str]:
        if obj is not None and obj.is_mirrored:
            return ["name"]
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
        extra_context.update(
            {
                "editor_config": editor_config(opts=self.opts, contact_list=obj),
                "next_url": _safe_next(request) or "",
                "list_uses": uses_of(obj) if obj else [],
                "hubspot": hubspot_context(obj),
                "contacts_url": reverse(admin_urlname(Contact._meta, "changelist")),
                # One Save, at the top right, as in HubSpot's editor.
                "show_save_and_add_another": False,
                "show_save_and_continue": False,
            }
        )
        response = super().changeform_view(request, object_id, form_url, extra_context)
        if request.method == "POST" and (getattr(response, "context_data", None) or {}).get("errors"):
            # Refused: the page again with its messages, answered as what it is.
            response.status_code = 400
        return response

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
        return HttpResponseRedirect(self._change_url(obj))

    def _change_url(self, obj: ContactList) -> str:
        return reverse(admin_urlname(self.opts, "change"), args=[obj.pk])

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
                return HttpResponseRedirect(self._change_url(obj))
            if request.method == "POST":
                name = obj.name
                try:
                    services.list_delete(contact_list=obj)
                except ValidationError as exc:
                    self.message_user(request, " ".join(exc.messages), messages.ERROR)
                    return HttpResponseRedirect(self._change_url(obj))
                self.message_user(
                    request, gettext("The list “%(name)s” was deleted.") % {"name": name}, messages.SUCCESS
                )
                return HttpResponseRedirect(reverse(admin_urlname(self.opts, "changelist")))
        return super().delete_view(request, object_id, extra_context)

    def _delete_refusal(self, obj: ContactList) -> str | None:
        uses = uses_of(obj)
        return str(uses[0].delete_refusal) % {"name": obj.name} if uses else None

    # --- JSON endpoints of the editor --------------------------------------------------------

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("preview/", wrap(self.preview_view), name=f"{prefix}_preview"),
            path("<int:pk>/status/", wrap(self.status_view), name=f"{prefix}_status"),
            path("<int:pk>/rename/", wrap(self.rename_view), name=f"{prefix}_rename"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """Who would be in the list as currently edited: count, first contacts, count per filter."""
        if request.method != "POST":
            return JsonResponse({"ok": False, "errors": [{"message": gettext("Use POST.")}]}, status=405)
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            # Numbers too large are kept: the criteria check names the filter they are in.
            # The wrapper takes one level: the criteria themselves nest far less than the limit.
            payload = jsonguard.request_json(request, max_bytes=PREVIEW_MAX_BODY, max_depth=MAX_JSON_DEPTH, check=False)
        except jsonguard.JsonRefused as exc:
            return json_error(exc.message, status=exc.status)
        if not isinstance(payload, dict) or not isinstance(payload.get("filter_branch"), dict):
            return json_error(gettext('Send the criteria as {"filter_branch": {...}}.'))
        list_id = payload.get("list_id")
        list_id = int(list_id) if isinstance(list_id, int | str) and _LIST_ID.fullmatch(str(list_id)) else None
        try:
            preview = selectors.list_preview(
                filter_branch=payload["filter_branch"], limit=PREVIEW_CONTACTS, list_id=list_id
            )
        except ValidationError as exc:
            return JsonResponse({"ok": False, "errors": error_entries(exc, payload["filter_branch"])}, status=400)
        return JsonResponse({"ok": True, **preview_payload(preview)})

    def status_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        contact_list = get_object_or_404(ContactList, pk=pk)
        return JsonResponse(status_payload(contact_list))

    def rename_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        if request.method != "POST":
            return JsonResponse({"ok": False, "errors": [{"message": gettext("Use POST.")}]}, status=405)
        # Permission before the lookup: refused alike whether the list exists or not.
        if not self.has_change_permission(request):
            raise PermissionDenied
        contact_list = get_object_or_404(ContactList, pk=pk)
        if not self.has_change_permission(request, contact_list):
            raise PermissionDenied
        try:
            payload = jsonguard.request_json(request, max_bytes=RENAME_MAX_BODY)
        except jsonguard.JsonRefused as exc:
            return json_error(exc.message, status=exc.status)
        name = payload.get("name") if isinstance(payload, dict) else None
        if not isinstance(name, str) or not name.strip():
            return json_error(gettext("A list needs a name."))
        try:
            services.list_rename(contact_list=contact_list, name=name.strip(), actor=request.user)
        except ValidationError as exc:
            return JsonResponse({"ok": False, "errors": error_entries(exc)}, status=400)
        contact_list.refresh_from_db()
        self.log_change(request, contact_list, [{"changed": {"fields": ["name"]}}])
        return JsonResponse({"ok": True, "name": contact_list.name})
