"""The Sync settings tab's actions: "Limit syncs" (the inclusion list, saved as soon as it is
picked), the impact of switching lists, "Resync this list now", and the other sync settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from integration import selectors
from integration.models import SyncSettings
from integration.services import inclusion_list_set, sync_settings_update
from lists.models import ContactList
from sync.services import list_resync
from sync.settings_page.common import SIDES, back, error_messages, fmt, form_errors, require
from sync.settings_page.forms import HubSpotSideSettingsForm, InclusionListForm, SalesforceSideSettingsForm


@require_POST
def inclusion_list_save(request: HttpRequest) -> HttpResponse:
    """Save the "Limit syncs" choice at once (the dropdown submits on change)."""
    require(request, "integration.change_syncsettings")
    form = InclusionListForm(request.POST)
    if not form.is_valid():
        form_errors(request, form, with_labels=False)
        return back("sync", "limit-syncs")
    chosen = form.cleaned_data["inclusion_list"]
    sync_settings = SyncSettings.load()
    impact = selectors.switch_impact(current=sync_settings.inclusion_list, candidate=chosen)
    try:
        changes = inclusion_list_set(sync_settings=sync_settings, contact_list=chosen, actor=request.user)
    except ValidationError as exc:
        error_messages(request, exc)
        return back("sync", "limit-syncs")
    if not changes:
        messages.info(request, _("This list already is the inclusion list."))
    elif chosen is None:
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
    return back("sync", "limit-syncs")


@require_GET
def switch_impact(request: HttpRequest) -> JsonResponse:
    """How many contacts would start and stop syncing if ``list`` became the inclusion list."""
    require(request, "integration.view_syncsettings")
    raw = request.GET.get("list", "")
    candidate = None
    if raw:
        if not raw.isdigit():
            return JsonResponse({"ok": False, "error": _("Unknown list.")}, status=400)
        candidate = get_object_or_404(ContactList, pk=int(raw), processing_type=ContactList.ProcessingType.DYNAMIC)
    impact = selectors.switch_impact(current=SyncSettings.load().inclusion_list, candidate=candidate)
    return JsonResponse(
        {"ok": True, "list": impact.contact_list_id, "start": impact.would_start, "stop": impact.would_stop}
    )


@require_GET
def switch_impacts(request: HttpRequest) -> JsonResponse:
    """The impact of switching to each active list (and to none), for the preview table."""
    require(request, "integration.view_syncsettings")
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
                    "startText": "+" + fmt(impact.would_start),
                    "stopText": "−" + fmt(impact.would_stop),
                }
                for impact in impacts.values()
            ],
        }
    )


@require_POST
def resync(request: HttpRequest) -> HttpResponse:
    """ "Resync this list now": queue every member of the inclusion list and push."""
    require(request, "sync.trigger_sync")
    current = SyncSettings.load().inclusion_list
    if current is None:
        messages.error(request, _("Choose an inclusion list first."))
        return back("sync", "limit-syncs")
    try:
        run = list_resync(contact_list=current, actor=request.user)
    except ValidationError as exc:
        error_messages(request, exc)
        return back("sync", "limit-syncs")
    messages.success(
        request, _("Resync of “%(name)s” started: its members are being sent to Salesforce.") % {"name": current.name}
    )
    return back("sync", "resync", run=run.pk)


@require_POST
def sync_settings_save(request: HttpRequest, side: str) -> HttpResponse:
    require(request, "integration.change_syncsettings")
    if side not in SIDES:
        raise Http404
    form_class = HubSpotSideSettingsForm if side == "hubspot" else SalesforceSideSettingsForm
    stored = SyncSettings.load()
    form = form_class(request.POST, instance=SyncSettings.load())
    if not form.is_valid():
        form_errors(request, form)
        return back("sync", f"{side}-settings", side=side)
    try:
        changes = sync_settings_update(sync_settings=stored, actor=request.user, **form.setting_changes())
    except ValidationError as exc:
        error_messages(request, exc)
        return back("sync", f"{side}-settings", side=side)
    if changes:
        messages.success(request, _("Settings saved."))
    else:
        messages.info(request, _("Nothing changed."))
    return back("sync", f"{side}-settings", side=side)
