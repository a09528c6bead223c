"""What every view of the settings page shares: its URLs, permission checks and messages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from integration.models import HubSpotConnection, SalesforceConnection

TEMPLATE = "sync/settings/page.html"
TABS = ("connection", "sync", "mappings")
SIDES = ("hubspot", "salesforce")
# The outcome of the last "Test connection", shown once on the Connection tab.
LAST_TEST_KEY = "integration_last_test"


def require(request: HttpRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied


def settings_url(tab: str = "sync", anchor: str = "", **params: Any) -> str:
    query = urlencode({"tab": tab, **{k: v for k, v in params.items() if v not in (None, "")}})
    return reverse("integration:salesforce_settings") + f"?{query}" + (f"#{anchor}" if anchor else "")


def back(tab: str = "sync", anchor: str = "", **params: Any) -> HttpResponseRedirect:
    return HttpResponseRedirect(settings_url(tab, anchor, **params))


def fmt(value: int | None) -> str:
    """A count grouped by thousands in the active language (15,000 / 15 000)."""
    return "—" if value is None else number_format(value, force_grouping=True)


def page_context(request: HttpRequest, *, tab: str, side: str = "hubspot", **extra: Any) -> dict[str, Any]:
    """What the settings page needs on every tab: the admin's context, both connections, tabs."""
    return {
        **admin.site.each_context(request),
        "title": _("Salesforce"),
        "tab": tab,
        "side": side,
        "salesforce": SalesforceConnection.load(),
        "hubspot": HubSpotConnection.load(),
        "can_change": request.user.has_perm("integration.change_syncsettings"),
        "tab_urls": {name: settings_url(name) for name in TABS},
        "side_urls": {name: settings_url("sync", side=name) for name in SIDES},
        **extra,
    }


def error_messages(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def form_errors(request: HttpRequest, form: Form, *, with_labels: bool = True) -> None:
    """Each of a refused form's errors as a message, naming its field."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if with_labels and name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)
