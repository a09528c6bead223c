"""Dry runs ("Preview changes"): the list of previews, one preview's page (progress, counts, the
sample of field changes), its CSV export, and the one view every "Preview changes" button posts
to (the settings page's resync and switch, the health page's next cycle)."""

from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lists.admin.base import ReadOnlyAdmin
from lists.models import ContactList
from sync.admin.export import _cell, _Echo
from sync.models import DryRun
from sync.selectors.dry_runs import ACTION_LABELS, CSV_COLUMNS, dry_run_csv_rows, dry_run_progress
from sync.services.dry_run import dry_run_start

TRIGGER_PERMISSION = "sync.trigger_sync"
# Who may look at previews: whoever may start one, or sees the runs.
VIEW_PERMISSIONS = ("sync.view_dryrun", "sync.view_syncrun", TRIGGER_PERMISSION)


@admin.register(DryRun)
class DryRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "list_name",
        "status",
        "created_at",
        "created_by",
        "progress",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "failed",
    ]
    list_display_links = ["id", "kind"]
    list_filter = ["kind", "status"]
    list_select_related = ["created_by"]

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return any(request.user.has_perm(perm) for perm in VIEW_PERMISSIONS)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj: DryRun):
        return format_html(
            '<progress max="100" value="{}"></progress> {}/{}',
            obj.progress_percent,
            obj.progress_done,
            obj.progress_total,
        )

    def get_urls(self):
        opts = self.model._meta
        wrap = self.admin_site.admin_view
        return [
            path("start/", wrap(self.start_view), name=f"{opts.app_label}_{opts.model_name}_start"),
            path("<int:pk>/csv/", wrap(self.csv_view), name=f"{opts.app_label}_{opts.model_name}_csv"),
            *super().get_urls(),
        ]

    # -- one preview ---------------------------------------------------------------------------

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        if not object_id.isdigit():
            raise Http404
        if not self.has_view_permission(request):
            raise PermissionDenied
        dry_run = get_object_or_404(DryRun.objects.select_related("created_by"), pk=int(object_id))
        opts = self.model._meta
        rows = dry_run.rows or []
        labels = dict(ACTION_LABELS)
        groups = [
            {"action": action, "label": labels[action], "rows": [r for r in rows if r["action"] == action]}
            for action, _label in ACTION_LABELS
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": _("Preview changes: %(what)s") % {"what": dry_run},
            "dry_run": dry_run,
            "progress": dry_run_progress(dry_run),
            "progress_url": reverse("sync:run_progress") + f"?dry_run={dry_run.pk}",
            "csv_url": reverse(admin_urlname(opts, "csv"), args=[dry_run.pk]),
            "start_url": reverse(admin_urlname(opts, "start")),
            "changelist_url": reverse(admin_urlname(opts, "changelist")),
            "groups": [g for g in groups if g["rows"]],
            "can_start": request.user.has_perm(TRIGGER_PERMISSION),
            "Kind": DryRun.Kind,
        }
        return TemplateResponse(request, "admin/sync/dryrun/preview.html", context)

    def csv_view(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        dry_run = get_object_or_404(DryRun, pk=pk)
        writer = csv.writer(_Echo())

        def lines():
            yield "\ufeff" + writer.writerow([str(label) for _name, label in CSV_COLUMNS])
            for row in dry_run_csv_rows(dry_run):
                yield writer.writerow([_cell("" if value is None else value) for value in row])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="preview-{dry_run.pk}.csv"'
        return response

    # -- "Preview changes" ---------------------------------------------------------------------

    def start_view(self, request: HttpRequest) -> HttpResponse:
        """POST ``kind`` (resync, switch, next_cycle) and ``contact_list`` (an id): start a dry
        run and show its page; a refusal goes back where the button was, with its message."""
        # Refused before anything else: without the permission, a GET is refused too.
        if not request.user.has_perm(TRIGGER_PERMISSION):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(reverse(admin_urlname(self.model._meta, "changelist")))
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
            back = ""
        back = back or reverse(admin_urlname(self.model._meta, "changelist"))
        raw_list = request.POST.get("contact_list", "").strip()
        contact_list = None
        if raw_list:
            if not raw_list.isdigit():
                messages.error(request, _("That list does not exist."))
                return HttpResponseRedirect(back)
            contact_list = ContactList.objects.filter(pk=int(raw_list)).first()
            if contact_list is None:
                messages.error(request, _("That list does not exist."))
                return HttpResponseRedirect(back)
        try:
            dry_run = dry_run_start(kind=request.POST.get("kind", ""), contact_list=contact_list, actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return HttpResponseRedirect(back)
        messages.info(request, _("Preview started: nothing is written to Salesforce or HubSpot."))
        return HttpResponseRedirect(reverse(admin_urlname(self.model._meta, "change"), args=[dry_run.pk]))
