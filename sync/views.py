"""The ops pages: Sync health, its live run progress, and a contact's sync timeline.

Wrapped in ``admin.site.admin_view`` by ``sync/urls.py`` (login, staff, CSRF, no caching); each
view also requires the permission to view the sync log.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from lists.models import Contact
from sync import selectors
from sync.charts import activity_chart, api_chart
from sync.models import SyncRecord

VIEW_PERMISSION = "sync.view_syncrecord"


def _require(request: HttpRequest) -> None:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied


def _log_url(**params: str) -> str:
    return reverse("admin:sync_syncrecord_changelist") + "?" + urlencode(params)


def health(request: HttpRequest) -> HttpResponse:
    _require(request)
    now = timezone.now()
    cards = selectors.category_cards(now=now)
    for card in cards:
        card.url = _log_url(current="yes", category__exact=card.category)
    usage = selectors.api_usage(now=now)
    runs = selectors.recent_runs()
    current = next((r for r in runs if r.status == r.Status.RUNNING), None) or selectors.current_run()
    for run in runs:
        seconds = int(selectors.run_duration(run, now=now).total_seconds())
        run.duration_text = (
            f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            if seconds >= 3600
            else f"{seconds // 60}:{seconds % 60:02d}"
        )
        run.log_url = _log_url(run=str(run.pk))
    context = {
        **admin.site.each_context(request),
        "title": _("Sync health"),
        "cards": cards,
        "failing_total": sum(c.affected for c in cards),
        "usage": usage,
        "api_chart": api_chart(usage.per_hour, allocation=usage.allocation),
        "activity_chart": activity_chart(selectors.hourly_totals(now=now)),
        "current": current,
        "current_progress": selectors.run_progress(current, now=now) if current else None,
        "runs": runs,
        "suspensions": selectors.suspensions(usage=usage),
        "progress_url": reverse("sync:health_progress"),
        "log_url": reverse("admin:sync_syncrecord_changelist"),
        "errors_url": _log_url(current="yes"),
        "export_url": reverse("admin:sync_syncrecord_export") + "?current=yes",
        "can_export": request.user.has_perm(VIEW_PERMISSION),
    }
    return TemplateResponse(request, "admin/sync/health.html", context)


def health_progress(request: HttpRequest) -> JsonResponse:
    """The running run (or null) and the latest run, polled by the health page."""
    _require(request)
    now = timezone.now()
    current = selectors.current_run()
    latest = selectors.recent_runs(limit=1)
    return JsonResponse(
        {
            "current": selectors.run_progress(current, now=now) if current else None,
            "latest": selectors.run_progress(latest[0], now=now) if latest else None,
        }
    )


def _salesforce_url(contact: Contact) -> str:
    from sync.admin import salesforce_instance_url, salesforce_url

    instance = salesforce_instance_url()
    if not (instance and contact.salesforce_id and contact.salesforce_object):
        return ""
    return salesforce_url(instance, contact.salesforce_object, contact.salesforce_id)


def contact_timeline(request: HttpRequest, contact_id: int) -> HttpResponse:
    _require(request)
    contact = get_object_or_404(Contact, pk=contact_id)
    events = selectors.contact_timeline(contact=contact)
    try:
        contact_admin_url = reverse("admin:lists_contact_change", args=[contact.pk])
    except Exception:
        contact_admin_url = ""
    context = {
        **admin.site.each_context(request),
        "title": _("Sync timeline of %(contact)s") % {"contact": contact},
        "contact": contact,
        "events": events,
        "contact_admin_url": contact_admin_url,
        "log_url": reverse("admin:sync_syncrecord_changelist") + "?" + urlencode({"q": contact.hubspot_id}),
        "explanations": selectors.inclusion_explanations(contact),
        "inclusion": selectors.inclusion_status(contact),
        "salesforce_url": _salesforce_url(contact),
        "Action": SyncRecord.Action,
    }
    return TemplateResponse(request, "admin/sync/contact_timeline.html", context)
