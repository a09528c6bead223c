"""The connected app's pages: "Connected apps", and Salesforce's settings page with its tabs
(Connection, Sync settings with "Limit syncs", Field mappings).

Views are thin: they check a permission, validate a form and call one service; reads come
from ``integration.selectors``. Every view is wrapped in ``admin.site.admin_view`` (staff login,
no caching) by ``integration.urls``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from integration import selectors
from integration import services_connection as conn
from integration.forms import (
    FieldMappingForm,
    HubSpotConnectionForm,
    HubSpotSideSettingsForm,
    InclusionListForm,
    SalesforceConnectionForm,
    SalesforceSideSettingsForm,
)
from integration.models import FieldMapping, HubSpotConnection, SalesforceConnection, SyncSettings
from integration.services import inclusion_list_set, sync_settings_update
from lists.models import ContactList

TABS = ("connection", "sync", "mappings")
SIDES = ("hubspot", "salesforce")
OAUTH_STATE_KEY = "integration_oauth_state"


def _require(request: HttpRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied


def _settings_url(tab: str = "sync", anchor: str = "", **params: Any) -> str:
    query = urlencode({"tab": tab, **{k: v for k, v in params.items() if v not in (None, "")}})
    return reverse("integration:salesforce_settings") + f"?{query}" + (f"#{anchor}" if anchor else "")


def _back(tab: str = "sync", anchor: str = "", **params: Any) -> HttpResponseRedirect:
    return HttpResponseRedirect(_settings_url(tab, anchor, **params))


def _fmt(value: int | None) -> str:
    """A count grouped by thousands in the active language (15,000 / 15 000)."""
    return "—" if value is None else number_format(value, force_grouping=True)


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), **extra}


# --------------------------------------------------------------------------------------------
# Connected apps


@require_GET
def connected_apps(request: HttpRequest) -> TemplateResponse:
    """The "Connected apps" entry: each app with its status, then the app's usual admin models."""
    if not (
        request.user.has_perm("integration.view_salesforceconnection")
        or request.user.has_perm("integration.view_syncsettings")
    ):
        raise PermissionDenied
    app_list = admin.site.get_app_list(request, app_label="integration")
    return TemplateResponse(
        request,
        "integration/connected_apps.html",
        _context(
            request,
            title=_("Connected apps"),
            apps=selectors.connected_apps(),
            app_list=app_list,
        ),
    )


# --------------------------------------------------------------------------------------------
# The settings page


@require_GET
def salesforce_settings(request: HttpRequest) -> TemplateResponse:
    _require(request, "integration.view_syncsettings")
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "sync"
    side = request.GET.get("side") if request.GET.get("side") in SIDES else "hubspot"
    salesforce = SalesforceConnection.load()
    hubspot = HubSpotConnection.load()
    context = _context(
        request,
        title=_("Salesforce"),
        tab=tab,
        side=side,
        salesforce=salesforce,
        hubspot=hubspot,
        can_change=request.user.has_perm("integration.change_syncsettings"),
        tab_urls={name: _settings_url(name) for name in TABS},
        side_urls={name: _settings_url("sync", side=name) for name in SIDES},
    )
    if tab == "sync":
        context.update(_sync_tab_context(request, side))
    elif tab == "connection":
        context.update(
            salesforce_form=SalesforceConnectionForm(instance=salesforce, prefix="sf"),
            hubspot_form=HubSpotConnectionForm(instance=hubspot, prefix="hs"),
            can_change_salesforce=request.user.has_perm("integration.change_salesforceconnection"),
            can_change_hubspot=request.user.has_perm("integration.change_hubspotconnection"),
            salesforce_callback=request.build_absolute_uri(reverse("integration:salesforce_oauth_callback")),
            hubspot_callback=request.build_absolute_uri(reverse("integration:hubspot_oauth_callback")),
            api_used_24h=_fmt(selectors.salesforce_api_calls_last_24h()),
            last_test=_last_test_display(request.session.pop("integration_last_test", None)),
        )
    else:
        context.update(_mappings_context(request))
    return TemplateResponse(request, "integration/salesforce_settings.html", context)


def _sync_tab_context(request: HttpRequest, side: str) -> dict[str, Any]:
    sync_settings = selectors.sync_settings()
    current = sync_settings.inclusion_list
    choices = list(selectors.inclusion_list_choices())
    context: dict[str, Any] = {
        "sync_settings": sync_settings,
        "api_used_24h": _fmt(selectors.salesforce_api_calls_last_24h()),
        "api_allocation": _fmt(sync_settings.daily_api_allocation),
    }
    if side == "salesforce":
        context["side_form"] = SalesforceSideSettingsForm(instance=sync_settings)
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
                "would_start": _fmt(impact.would_start) if impact else "",
                "would_stop": _fmt(impact.would_stop) if impact else "",
            }
        )
    run = _resync_run(request, current)
    context.update(
        current=current,
        options=options,
        show_impact=show_impact,
        none_impact_stop=_fmt(impacts[None].would_stop) if show_impact else "",
        impacts_url=reverse("integration:switch_impacts"),
        impact_url=_settings_url("sync", "switch-impact", impact=1),
        new_list=new_list,
        stats=_stats_display(current),
        create_url=reverse("admin:lists_contactlist_add")
        + "?"
        + urlencode({"next": _settings_url("sync", "limit-syncs", new_since=int(time.time()))}),
        can_resync=request.user.has_perm("sync.trigger_sync"),
        run=run,
        run_progress_url=reverse("integration:run_progress", args=[run.pk]) if run else "",
    )
    return context


def _stats_display(current: ContactList | None) -> dict[str, str] | None:
    if current is None:
        return None
    stats = selectors.inclusion_list_stats(contact_list=current)
    return {"members": _fmt(stats.members), "never_synced": _fmt(stats.never_synced)}


def _option_label(contact_list: ContactList) -> str:
    status = contact_list.get_processing_status_display()
    if contact_list.processing_status == ContactList.ProcessingStatus.COMPLETE:
        size = ngettext("%(count)s contact", "%(count)s contacts", contact_list.size) % {
            "count": number_format(contact_list.size, force_grouping=True)
        }
        return f"{contact_list.name} ({status} · {size})"
    return f"{contact_list.name} ({status})"


def _resync_run(request: HttpRequest, current: ContactList | None) -> Any:
    from sync.models import SyncRun

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


# --------------------------------------------------------------------------------------------
# Limit syncs


@require_POST
def inclusion_list_save(request: HttpRequest) -> HttpResponse:
    """Save the "Limit syncs" choice at once (the dropdown submits on change)."""
    _require(request, "integration.change_syncsettings")
    form = InclusionListForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back("sync", "limit-syncs")
    chosen = form.cleaned_data["inclusion_list"]
    sync_settings = SyncSettings.load()
    previous = sync_settings.inclusion_list
    impact = selectors.switch_impact(current=previous, candidate=chosen)
    try:
        changes = inclusion_list_set(sync_settings=sync_settings, contact_list=chosen, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _back("sync", "limit-syncs")
    if not changes:
        messages.info(request, _("This list already is the inclusion list."))
        return _back("sync", "limit-syncs")
    if chosen is None:
        messages.warning(
            request,
            _("Inclusion list removed. No contact is sent to Salesforce until you choose one."),
        )
    else:
        messages.success(
            request,
            _(
                "Saved: “%(name)s” is the inclusion list. When a sync is triggered, %(start)s contacts will "
                "start syncing and %(stop)s will stop."
            )
            % {
                "name": chosen.name,
                "start": number_format(impact.would_start, force_grouping=True),
                "stop": number_format(impact.would_stop, force_grouping=True),
            },
        )
    return _back("sync", "limit-syncs")


@require_GET
def switch_impact(request: HttpRequest) -> JsonResponse:
    """How many contacts would start and stop syncing if ``list`` became the inclusion list."""
    _require(request, "integration.view_syncsettings")
    raw = request.GET.get("list", "")
    candidate = None
    if raw:
        if not raw.isdigit():
            return JsonResponse({"ok": False, "error": _("Unknown list.")}, status=400)
        candidate = get_object_or_404(ContactList, pk=int(raw), processing_type=ContactList.ProcessingType.DYNAMIC)
    current = SyncSettings.load().inclusion_list
    impact = selectors.switch_impact(current=current, candidate=candidate)
    return JsonResponse(
        {"ok": True, "list": impact.contact_list_id, "start": impact.would_start, "stop": impact.would_stop}
    )


@require_GET
def switch_impacts(request: HttpRequest) -> JsonResponse:
    """The impact of switching to each active list (and to none), for the preview table."""
    _require(request, "integration.view_syncsettings")
    current = SyncSettings.load().inclusion_list
    impacts = selectors.inclusion_switch_impacts(current=current)
    return JsonResponse(
        {
            "ok": True,
            "current": current.pk if current else None,
            "impacts": [
                {
                    "list": impact.contact_list_id,
                    "start": impact.would_start,
                    "stop": impact.would_stop,
                    "startText": "+" + _fmt(impact.would_start),
                    "stopText": "−" + _fmt(impact.would_stop),
                }
                for impact in impacts.values()
            ],
        }
    )


@require_POST
def resync(request: HttpRequest) -> HttpResponse:
    """ "Resync this list now": queue every member of the inclusion list and push."""
    _require(request, "sync.trigger_sync")
    from sync.services import list_resync

    current = SyncSettings.load().inclusion_list
    if current is None:
        messages.error(request, _("Choose an inclusion list first."))
        return _back("sync", "limit-syncs")
    try:
        run = list_resync(contact_list=current, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _back("sync", "limit-syncs")
    messages.success(
        request, _("Resync of “%(name)s” started: its members are being sent to Salesforce.") % {"name": current.name}
    )
    return _back("sync", "resync", run=run.pk)


@require_GET
def run_progress(request: HttpRequest, pk: int) -> JsonResponse:
    if not (request.user.has_perm("sync.view_syncrun") or request.user.has_perm("sync.trigger_sync")):
        raise PermissionDenied
    from sync.models import SyncRun

    run = get_object_or_404(SyncRun, pk=pk)
    finished = run.status != SyncRun.Status.RUNNING
    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "statusLabel": run.get_status_display(),
            "done": run.progress_done,
            "total": run.progress_total,
            "percent": run.progress_percent,
            "finished": finished,
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "skipped": run.skipped,
            "failed": run.failed,
            "text": _("%(done)s of %(total)s contacts processed")
            % {"done": run.progress_done, "total": run.progress_total},
        }
    )


# --------------------------------------------------------------------------------------------
# Other sync settings


@require_POST
def sync_settings_save(request: HttpRequest, side: str) -> HttpResponse:
    _require(request, "integration.change_syncsettings")
    if side not in SIDES:
        raise Http404
    form_class = HubSpotSideSettingsForm if side == "hubspot" else SalesforceSideSettingsForm
    stored = SyncSettings.load()
    form = form_class(request.POST, instance=SyncSettings.load())
    if not form.is_valid():
        _form_errors(request, form)
        return _back("sync", f"{side}-settings", side=side)
    try:
        changes = sync_settings_update(sync_settings=stored, actor=request.user, **form.setting_changes())
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _back("sync", f"{side}-settings", side=side)
    if changes:
        messages.success(request, _("Settings saved."))
    else:
        messages.info(request, _("Nothing changed."))
    return _back("sync", f"{side}-settings", side=side)


# --------------------------------------------------------------------------------------------
# Connections


def _remember_test(request: HttpRequest, which: str, result: conn.ConnectionTestResult) -> None:
    request.session["integration_last_test"] = {
        "which": which,
        "ok": result.ok,
        "message": result.message,
        "api_max": result.api_max,
        "api_remaining": result.api_remaining,
        "api_used": result.api_used,
    }
    (messages.success if result.ok else messages.error)(request, result.message)


def _last_test_display(last_test: dict[str, Any] | None) -> dict[str, Any] | None:
    if last_test:
        for key in ("api_max", "api_remaining", "api_used"):
            last_test[f"{key}_display"] = _fmt(last_test.get(key))
    return last_test


def _form_errors(request: HttpRequest, form) -> None:
    """Each of a refused form's errors as a message naming its field."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def _connection_save(request: HttpRequest, *, model, form_class, prefix: str, side: str, saved: str) -> HttpResponse:
    """Save a connection's settings and new secrets through the audited service."""
    _require(request, f"integration.change_{model._meta.model_name}")
    connection = model.load()
    form = form_class(request.POST, instance=model.load(), prefix=prefix)
    if not form.is_valid():
        _form_errors(request, form)
        return _back("connection", side)
    try:
        conn.connection_update(
            connection=connection, actor=request.user, changes=form.setting_changes(), secrets=form.new_secrets()
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _back("connection", side)
    messages.success(request, saved)
    return _back("connection", side)


@require_POST
def salesforce_connection_save(request: HttpRequest) -> HttpResponse:
    return _connection_save(
        request,
        model=SalesforceConnection,
        form_class=SalesforceConnectionForm,
        prefix="sf",
        side="salesforce",
        saved=_("Salesforce connection settings saved."),
    )


@require_POST
def salesforce_connection_action(request: HttpRequest) -> HttpResponse:
    _require(request, "integration.change_salesforceconnection")
    connection = SalesforceConnection.load()
    action = request.POST.get("action")
    if action == "test":
        _remember_test(
            request, "salesforce", conn.salesforce_connection_test(connection=connection, actor=request.user)
        )
    elif action == "connect":
        if connection.auth_method == SalesforceConnection.AuthMethod.OAUTH_WEB:
            return _oauth_start(request, "salesforce", connection)
        _remember_test(request, "salesforce", conn.salesforce_connect(connection=connection, actor=request.user))
    elif action == "disconnect":
        conn.salesforce_disconnect(connection=connection, actor=request.user)
        messages.success(request, _("Salesforce disconnected: the tokens were deleted."))
    elif action == "sandbox":
        _remember_test(request, "salesforce", conn.salesforce_use_sandbox(connection=connection, actor=request.user))
    else:
        messages.error(request, _("Unknown action."))
    return _back("connection", "salesforce")


@require_POST
def hubspot_connection_save(request: HttpRequest) -> HttpResponse:
    return _connection_save(
        request,
        model=HubSpotConnection,
        form_class=HubSpotConnectionForm,
        prefix="hs",
        side="hubspot",
        saved=_("HubSpot connection settings saved."),
    )


@require_POST
def hubspot_connection_action(request: HttpRequest) -> HttpResponse:
    _require(request, "integration.change_hubspotconnection")
    connection = HubSpotConnection.load()
    action = request.POST.get("action")
    if action == "test":
        _remember_test(request, "hubspot", conn.hubspot_connection_test(connection=connection, actor=request.user))
    elif action == "connect":
        if connection.auth_method == HubSpotConnection.AuthMethod.OAUTH:
            return _oauth_start(request, "hubspot", connection)
        _remember_test(request, "hubspot", conn.hubspot_connection_test(connection=connection, actor=request.user))
    elif action == "disconnect":
        conn.hubspot_disconnect(connection=connection, actor=request.user)
        messages.success(request, _("HubSpot disconnected: the tokens were deleted."))
    elif action == "sandbox":
        _remember_test(request, "hubspot", conn.hubspot_use_sandbox(connection=connection, actor=request.user))
    else:
        messages.error(request, _("Unknown action."))
    return _back("connection", "hubspot")


def _oauth_start(request: HttpRequest, which: str, connection: Any) -> HttpResponse:
    state = conn.new_oauth_state()
    request.session[OAUTH_STATE_KEY] = {"which": which, "state": state}
    callback = request.build_absolute_uri(reverse(f"integration:{which}_oauth_callback"))
    try:
        if which == "salesforce":
            url = conn.salesforce_authorize_url(connection=connection, redirect_uri=callback, state=state)
        else:
            url = conn.hubspot_authorize_url(connection=connection, redirect_uri=callback, state=state)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _back("connection", which)
    return HttpResponseRedirect(url)


def _oauth_callback(request: HttpRequest, which: str) -> HttpResponse:
    perm = (
        "integration.change_salesforceconnection" if which == "salesforce" else "integration.change_hubspotconnection"
    )
    _require(request, perm)
    expected = request.session.pop(OAUTH_STATE_KEY, None) or {}
    if request.GET.get("error"):
        messages.error(
            request,
            _("The authorization was refused: %(error)s")
            % {"error": conn.redact(request.GET.get("error_description") or request.GET["error"])},
        )
        return _back("connection", which)
    state, code = request.GET.get("state", ""), request.GET.get("code", "")
    if not code or expected.get("which") != which or not state or state != expected.get("state"):
        messages.error(request, _("This authorization does not match the one started here; start again."))
        return _back("connection", which)
    callback = request.build_absolute_uri(reverse(f"integration:{which}_oauth_callback"))
    try:
        if which == "salesforce":
            connection = SalesforceConnection.load()
            conn.salesforce_oauth_callback(connection=connection, code=code, redirect_uri=callback, actor=request.user)
            result = conn.salesforce_connection_test(connection=connection, actor=request.user)
        else:
            connection = HubSpotConnection.load()
            conn.hubspot_oauth_callback(connection=connection, code=code, redirect_uri=callback, actor=request.user)
            result = conn.hubspot_connection_test(connection=connection, actor=request.user)
    except conn.ConnectError as exc:
        messages.error(request, str(exc))
        return _back("connection", which)
    _remember_test(request, which, result)
    return _back("connection", which)


@require_GET
def salesforce_oauth_callback(request: HttpRequest) -> HttpResponse:
    return _oauth_callback(request, "salesforce")


@require_GET
def hubspot_oauth_callback(request: HttpRequest) -> HttpResponse:
    return _oauth_callback(request, "hubspot")


# --------------------------------------------------------------------------------------------
# Field mappings


def _field_types() -> dict[str, tuple[dict[str, str], bool]]:
    return {name: selectors.salesforce_field_types(salesforce_object=name) for name in ("Lead", "Contact")}


def _mappings_context(request: HttpRequest, add_form: FieldMappingForm | None = None) -> dict[str, Any]:
    field_types = _field_types()
    mappings = list(FieldMapping.objects.order_by("hubspot_property", "salesforce_object", "salesforce_field"))
    return {
        "mappings": mappings,
        "rule_choices": FieldMapping.Rule.choices,
        "add_form": add_form or FieldMappingForm(field_types=field_types),
        "salesforce_field_names": sorted({name for types, _described in field_types.values() for name in types}),
        "field_types_from_describe": all(described for _types, described in field_types.values()),
        "can_add_mapping": request.user.has_perm("integration.add_fieldmapping"),
        "can_change_mapping": request.user.has_perm("integration.change_fieldmapping"),
        "can_delete_mapping": request.user.has_perm("integration.delete_fieldmapping"),
    }


@require_POST
def mapping_add(request: HttpRequest) -> HttpResponse:
    _require(request, "integration.add_fieldmapping")
    form = FieldMappingForm(request.POST, field_types=_field_types())
    if form.is_valid():
        conn.field_mapping_save(mapping=form.save(commit=False), actor=request.user)
        messages.success(request, _("Mapping added."))
        return _back("mappings")
    context = _context(
        request,
        title=_("Salesforce"),
        tab="mappings",
        side="hubspot",
        salesforce=SalesforceConnection.load(),
        hubspot=HubSpotConnection.load(),
        can_change=request.user.has_perm("integration.change_syncsettings"),
        tab_urls={name: _settings_url(name) for name in TABS},
        side_urls={name: _settings_url("sync", side=name) for name in SIDES},
        **_mappings_context(request, add_form=form),
    )
    return TemplateResponse(request, "integration/salesforce_settings.html", context, status=400)


@require_POST
def mapping_change(request: HttpRequest, pk: int) -> HttpResponse:
    mapping = get_object_or_404(FieldMapping, pk=pk)
    if request.POST.get("action") == "delete":
        _require(request, "integration.delete_fieldmapping")
        conn.field_mapping_delete(mapping=mapping, actor=request.user)
        messages.success(request, _("Mapping deleted."))
        return _back("mappings")
    _require(request, "integration.change_fieldmapping")
    data = {
        "hubspot_property": mapping.hubspot_property,
        "salesforce_object": mapping.salesforce_object,
        "salesforce_field": mapping.salesforce_field,
        "rule": request.POST.get("rule", ""),
    }
    form = FieldMappingForm(data, instance=mapping, field_types=_field_types())
    if form.is_valid():
        conn.field_mapping_save(mapping=form.save(commit=False), actor=request.user)
        messages.success(request, _("Mapping saved."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return _back("mappings")
