from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from sync.models import SyncRun
from sync.services import ImportRefused, salesforce_import


class Command(BaseCommand):
    help = (
        "Create or de-duplicate (by email) a HubSpot contact for every existing Salesforce Lead and Contact, "
        "as for new ones, whatever the inclusion list says. Idempotent; after an interruption it goes on "
        "where it stopped."
    )

    def handle(self, *args, **options):
        def progress(done: int, total: int) -> None:
            self.stderr.write(_("%(done)d of %(total)d records") % {"done": done, "total": total})

        try:
            run = salesforce_import(on_progress=progress)
        except ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _(
                "Run #%(id)s %(status)s: created or de-duplicated in HubSpot %(created)d, updated in HubSpot "
                "%(updated)d, skipped %(skipped)d, failed %(failed)d; API calls: Salesforce %(sf_calls)d, "
                "HubSpot %(hs_calls)d."
            )
            % {
                "id": run.pk,
                "status": run.get_status_display(),
                "created": run.created_in_hubspot,
                "updated": run.updated_in_hubspot,
                "skipped": run.skipped,
                "failed": run.failed,
                "sf_calls": run.salesforce_api_calls,
                "hs_calls": run.hubspot_api_calls,
            }
        )
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(run.error or _("The import failed."))
