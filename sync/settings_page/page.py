"""The two pages: "Connected apps", and the settings page with the context of each tab."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from integration import selectors
from integration.models import HubSpotConnection, SalesforceConnection
from lists.models import ContactList
from sync.models import SyncRun
from sync.selectors import inclusion_list_stats
from sync.settings_page.common import (
    LAST_TEST_KEY,
    SIDES,
    TABS,
    TEMPLATE,
    fmt,
    page_context,
    require,
    settings_url,
)
from sync.settings_page.connections import HUBSPOT, SALESFORCE
from sync.settings_page.forms import (
    HubSpotSideSettingsForm,
    SalesforceSideSettingsForm,
)
from sync.settings_page.imports import running_import
from sync.settings_page.mappings import mappings_context


@dataclass(frozen=True)
class ConnectedApp:
    key: str
    name: str
    status: str
    status_label: str
    status_reason: str
    environment_label: str
    url: str


def _connected_apps() -> list[ConnectedApp]:
    """The apps shown on "Connected apps", with their status for the badge."""
    page = reverse("integration:salesforce_settings")
    return [
        ConnectedApp(
            key=key,
            name=name,
            status=connection.status,
            status_label=connection.get_status_display(),
            status_reason=connection.status_reason,
            environment_label=connection.get_environment_display(),
            url=url,
        )
        for key, name, connection, url in (
            ("salesforce", "Salesforce", SalesforceConnection.load(), page),
            ("hubspot", "HubSpot", HubSpotConnection.load(), page + "?tab=connection#hubspot"),
        )
    ]


@require_GET
def connected_apps(request: HttpRequest) -> TemplateResponse:
    """The "Connected apps" entry: each app with its status, then the app's usual admin models."""
    if not (
        request.user.has_perm("integration.view_salesforceconnection")
        or request.user.has_perm("integration.view_syncsettings")
    ):
        raise PermissionDenied
    return TemplateResponse(
        request,
        "sync/settings/connected_apps.html",
        {
            **admin.site.each_context(request),
            "title": _("Connected apps"),
            "apps": _connected_apps(),
            "app_list": admin.site.get_app_list(request, app_label="integration"),
        },
    )


@require_GET
def salesforce_settings(request: HttpRequest) -> TemplateResponse:
    require(request, "integration.view_syncsettings")
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "sync"
    side = request.GET.get("side") if request.GET.get("side") in SIDES else "hubspot"
    context = page_context(request, tab=tab, side=side)
    if tab == "sync":
        context.update(_sync_tab_context(request, side))
    elif tab == "connection":
        context.update(_connection_tab_context(request, context["salesforce"], context["hubspot"]))
    else:
        context.update(mappings_context(request))
    return TemplateResponse(request, TEMPLATE, context)


# --------------------------------------------------------------------------------------------
# The Sync settings tab


def _sync_tab_context(request: HttpRequest, side: str) -> dict[str, Any]:
    sync_settings = selectors.sync_settings()
    current = sync_settings.inclusion_list
    choices = list(selectors.inclusion_list_choices())
    context: dict[str, Any] = {
        "sync_settings": sync_settings,
        "api_used_24h": fmt(SyncRun.objects.api_calls_last_24h().salesforce),
        "api_allocation": fmt(sync_settings.daily_api_allocation),
    }
    if side == "salesforce":
        context["side_form"] = SalesforceSideSettingsForm(instance=sync_settings)
        context.update(_import_context(request))
        return context
    context["side_form"] = HubSpotSideSettingsForm(instance=sync_settings)

    new_list = None
    if request.GET.get("created", "").isdigit() or request.GET.get("new_since", "").isdigit():
        since_raw = request.GET.get("new_since", "")
        since = datetime.fromtimestamp(int(since_raw), tz=UTC) if since_raw.isdigit() else None
        created = request.GET.get("created", "")
        new_list = selectors.recently_created_list(
            user=request.user, since=since, list_id=int(created) if created.isdigit() else None
        )
        if new_list is not None and current is not None and new_list.pk == current.pk:
            new_list = None

    # The preview reads every active list's memberships: computed on demand (the <details> asks
    # the JSON endpoint when opened; without JavaScript, ?impact=1), not on every visit.
    show_impact = request.GET.get("impact") == "1"
    impacts = selectors.inclusion_switch_impacts(current=current) if show_impact else {}
    options = []
    for contact_list in choices:
        impact = impacts.get(contact_list.pk)
        options.append(
            {
                "list": contact_list,
                "label": _option_label(contact_list),
                "selected": current is not None and contact_list.pk == current.pk,
                "is_new": new_list is not None and contact_list.pk == new_list.pk,
                "in_hubspot": contact_list.is_mirrored,
                "would_start": fmt(impact.would_start) if impact else "",
                "would_stop": fmt(impact.would_stop) if impact else "",
            }
        )
    run = _resync_run(request, current)
    # HubSpot's own lists first, as the help article's "select an existing active list" expects.
    option_groups = [
        (label, group)
        for label, group in (
            (_("Lists in HubSpot"), [o for o in options if o["in_hubspot"]]),
            (_("Lists made here"), [o for o in options if not o["in_hubspot"]]),
        )
        if group
    ]
    context.update(
        current=current,
        options=options,
        option_groups=option_groups,
        show_impact=show_impact,
        none_impact_stop=fmt(impacts[None].would_stop) if show_impact else "",
        impacts_url=reverse("integration:switch_impacts"),
        impact_url=settings_url("sync", "switch-impact", impact=1),
        new_list=new_list,
        stats=_stats_display(current),
        create_url=reverse(admin_urlname(ContactList._meta, "add"))
        + "?"
        + urlencode({"next": settings_url("sync", "limit-syncs", new_since=int(time.time()))}),
        can_resync=request.user.has_perm("sync.trigger_sync"),
        run=run,
        run_progress_url=reverse("sync:run_progress") + f"?run={run.pk}" if run else "",
    )
    return context


def _stats_display(current: ContactList | None) -> dict[str, str] | None:
    if current is None:
        return None
    stats = inclusion_list_stats(contact_list=current)
    return {"members": fmt(stats.members), "never_synced": fmt(stats.never_synced)}


def _option_label(contact_list: ContactList) -> str:
    if contact_list.hubspot_deleted_at is not None and contact_list.is_mirrored:
        return f"{contact_list.name} ({_('deleted in HubSpot')})"
    status = contact_list.get_processing_status_display()
    if contact_list.processing_status == ContactList.ProcessingStatus.COMPLETE:
        size = ngettext("%(count)s contact", "%(count)s contacts", contact_list.size) % {
            "count": number_format(contact_list.size, force_grouping=True)
        }
        return f"{contact_list.name} ({status} · {size})"
    return f"{contact_list.name} ({status})"


def _resync_run(request: HttpRequest, current: ContactList | None) -> SyncRun | None:
    run_id = request.GET.get("run", "")
    if run_id.isdigit():
        return SyncRun.objects.filter(pk=int(run_id)).first()
    if current is None:
        return None
    # A resync started earlier (or by someone else) is still shown while it runs.
    return (
        SyncRun.objects.filter(trigger=SyncRun.Trigger.LIST_RESYNC, contact_list=current, status=SyncRun.Status.RUNNING)
        .order_by("-started_at")
        .first()
    )


def _import_context(request: HttpRequest) -> dict[str, Any]:
    """ "Import existing Salesforce records": the import just started (``?run=``), or one going on."""
    run = None
    run_id = request.GET.get("run", "")
    if run_id.isdigit():
        run = SyncRun.objects.filter(pk=int(run_id), trigger=SyncRun.Trigger.SALESFORCE_IMPORT).first()
    run = run or running_import()
    return {
        "can_import": request.user.has_perm("sync.trigger_sync"),
        "import_run": run,
        "import_progress_url": reverse("sync:run_progress") + f"?run={run.pk}" if run else "",
    }


# --------------------------------------------------------------------------------------------
# The Connection tab


def _connection_tab_context(
    request: HttpRequest, salesforce: SalesforceConnection, hubspot: HubSpotConnection
) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for service, connection in ((SALESFORCE, salesforce), (HUBSPOT, hubspot)):
        context[f"{service.key}_form"] = service.form_class(instance=connection, prefix=service.prefix)
        context[f"can_change_{service.key}"] = request.user.has_perm(service.permission)
        context[f"{service.key}_callback"] = service.callback_url(request)
    return {
        **context,
        "api_used_24h": fmt(SyncRun.objects.api_calls_last_24h().salesforce),
        "last_test": _last_test_display(request.session.pop(LAST_TEST_KEY, None)),
    }


def _last_test_display(last_test: dict[str, Any] | None) -> dict[str, Any] | None:
    if last_test:
        for key in ("api_max", "api_remaining", "api_used"):
            last_test[f"{key}_display"] = fmt(last_test.get(key))
    return last_test
