"""Publish a list made here to HubSpot: the button on the list's page posts here."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lists.models import ContactList
from sync.services.hubspot_lists import list_publish


@require_POST
def list_publish_view(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    if not request.user.has_perm("lists.change_contactlist"):
        raise PermissionDenied
    contact_list = get_object_or_404(ContactList, pk=pk)
    try:
        list_publish(contact_list=contact_list, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("“%(name)s” is in HubSpot now (list %(id)s): edits made here follow it there.")
            % {"name": contact_list.name, "id": contact_list.hubspot_list_id},
        )
    return HttpResponseRedirect(reverse(admin_urlname(ContactList._meta, "change"), args=[contact_list.pk]))
