"""The ops pages: Sync health, a contact's sync timeline, and the run progress every page polls.

Wrapped in ``admin.site.admin_view`` by ``sync/urls.py`` (login, staff, CSRF, no caching); each
view also requires the permission to view the sync log.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from lists.models import Contact
from sync import selectors
from sync.admin.links import salesforce_instance_url, salesforce_url
from sync.charts import activity_chart, api_chart
from sync.models import DryRun, SyncRecord, SyncRun
from sync.selectors.dry_runs import dry_run_progress

VIEW_PERMISSION = "sync.view_syncrecord"


def _require(request: HttpRequest) -> None:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied


LOG = admin_urlname(SyncRecord._meta, "changelist")


def _log_url(**params: str) -> str:
    return reverse(LOG) + "?" + urlencode(params)


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
        run.duration_text = selectors.run_duration_text(run, now=now)
        run.log_url = _log_url(run=str(run.pk))
    context = {
        **admin.site.each_context(request),
        "title": _("Sync health"),
        "cards": cards,
        "failing_total": sum(c.affected for c in cards),
        "conflicts_24h": selectors.conflicts_24h(now=now),
        "conflicts_url": _log_url(conflicts="yes"),
        "usage": usage,
        "api_chart": api_chart(usage.per_hour, allocation=usage.allocation),
        "activity_chart": activity_chart(selectors.hourly_totals(now=now)),
        "current": current,
        "current_progress": selectors.run_progress(current, now=now) if current else None,
        "runs": runs,
        "suspensions": selectors.suspensions(usage=usage),
        "progress_url": reverse("sync:run_progress"),
        "log_url": reverse(LOG),
        "runs_url": reverse(admin_urlname(SyncRun._meta, "changelist")),
        "errors_url": _log_url(current="yes"),
        "export_url": reverse(admin_urlname(SyncRecord._meta, "export")) + "?current=yes",
    }
    return TemplateResponse(request, "admin/sync/health.html", context)


# Who may follow a run's progress: whoever sees the log or the runs, or may start a resync.
RUN_PERMISSIONS = ("sync.view_syncrecord", "sync.view_syncrun", "sync.trigger_sync")


def run_progress(request: HttpRequest) -> JsonResponse:
    """``{"run": ...}``: the progress of run ``?run=<id>``, or else of the run going on now, or
    else of the latest run (``null`` when there is none). The one endpoint every progress bar
    polls (``sync/static/sync/run_progress.js``): the health page and a resync on the settings page.
    ``?dry_run=<id>``: the progress of a dry run ("Preview changes"), in the same shape."""
    if not any(request.user.has_perm(perm) for perm in RUN_PERMISSIONS):
        raise PermissionDenied
    if "dry_run" in request.GET:
        return JsonResponse({"run": _dry_run_progress(request.GET["dry_run"])})
    raw = request.GET.get("run", "")
    if raw:
        if not raw.isdigit():
            raise Http404
        run = get_object_or_404(SyncRun, pk=int(raw))
    else:
        run = selectors.current_run() or next(iter(selectors.recent_runs(limit=1)), None)
    return JsonResponse({"run": selectors.run_progress(run) if run else None})


def _dry_run_progress(raw: str) -> dict:
    """A dry run ("Preview changes") in the same shape: its page polls this endpoint too."""
    if not raw.isdigit():
        raise Http404
    return dry_run_progress(get_object_or_404(DryRun, pk=int(raw)))


def _salesforce_url(contact: Contact) -> str:
    instance = salesforce_instance_url()
    if not (instance and contact.salesforce_id and contact.salesforce_object):
        return ""
    return salesforce_url(instance, contact.salesforce_object, contact.salesforce_id)


def contact_timeline(request: HttpRequest, contact_id: int) -> HttpResponse:
    _require(request)
    contact = get_object_or_404(Contact, pk=contact_id)
    explanations = selectors.inclusion_explanations(contact)
    events = selectors.contact_timeline(contact=contact, explanations=explanations)
    contact_admin_url = reverse(admin_urlname(Contact._meta, "change"), args=[contact.pk])
    context = {
        **admin.site.each_context(request),
        "title": _("Sync timeline of %(contact)s") % {"contact": contact},
        "contact": contact,
        "events": events,
        "contact_admin_url": contact_admin_url,
        "log_url": _log_url(q=contact.hubspot_id),
        "explanations": explanations,
        "inclusion": selectors.inclusion_status(contact),
        "salesforce_url": _salesforce_url(contact),
        "Action": SyncRecord.Action,
        "record_opts": SyncRecord._meta,
    }
    return TemplateResponse(request, "admin/sync/contact_timeline.html", context)
