"""The Salesforce settings' "Import existing Salesforce records": starts the import as a run in a
worker and shows its progress on the page, as "Resync this list now" does."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sync import services
from sync.models import SyncRun
from sync.settings_page.common import back, require

ANCHOR = "salesforce-import"


def running_import() -> SyncRun | None:
    return (
        SyncRun.objects.filter(trigger=SyncRun.Trigger.SALESFORCE_IMPORT, status=SyncRun.Status.RUNNING)
        .order_by("-started_at", "-id")
        .first()
    )


@require_POST
def salesforce_import(request: HttpRequest) -> HttpResponse:
    require(request, "sync.trigger_sync")
    # A second click (another tab) follows the import going on rather than starting another one.
    run = running_import()
    if run is not None:
        messages.info(request, _("An import of existing Salesforce records is already running."))
        return back("sync", ANCHOR, side="salesforce", run=run.pk)
    try:
        run = services.salesforce_import(actor=request.user, run_async=True)
    except services.ImportRefused as exc:
        messages.error(request, str(exc))
        return back("sync", ANCHOR, side="salesforce")
    messages.success(
        request,
        _(
            "Import of existing Salesforce records started: a HubSpot contact is created or de-duplicated for "
            "each Lead and Contact."
        ),
    )
    return back("sync", ANCHOR, side="salesforce", run=run.pk)
