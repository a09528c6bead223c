"""Admin actions on contacts: add the selection to a static list, or remove it from one.

Each opens an intermediate page to choose the list, then calls ``lists.services`` (which records
every join and leave as a ``MembershipChange``). Only users who may change lists see them (the
``manage_static_lists`` permission of ``ContactAdmin``).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lists import services
from lists.forms import StaticListChoiceForm
from lists.models import ContactList


@admin.action(description=_("Add to static list…"), permissions=["manage_static_lists"])
def add_to_static_list(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> TemplateResponse | None:
    return _static_list_action(modeladmin, request, queryset, adding=True)


@admin.action(description=_("Remove from static list…"), permissions=["manage_static_lists"])
def remove_from_static_list(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> TemplateResponse | None:
    return _static_list_action(modeladmin, request, queryset, adding=False)


def _static_list_action(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, *, adding: bool
) -> TemplateResponse | None:
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
        modeladmin.message_user(request, message % {"count": count, "list": contact_list.name}, messages.SUCCESS)
        return None
    select_across = request.POST.get("select_across") == "1"
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Add to static list") if adding else _("Remove from static list"),
        "opts": modeladmin.opts,
        "form": form,
        "adding": adding,
        "count": queryset.count(),
        "sample": list(queryset[:10]),
        "selected_ids": [] if select_across else request.POST.getlist("_selected_action"),
        "select_across": select_across,
        "action": request.POST.get("action"),
        "has_static_lists": form.fields["contact_list"].queryset.exists(),
        "add_list_url": reverse(admin_urlname(ContactList._meta, "add")) + "?processing_type=MANUAL",
    }
    return TemplateResponse(request, "admin/lists/contact/static_list_action.html", context)
