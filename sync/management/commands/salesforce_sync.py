from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from sync.models import SyncRun
from sync.services import sync_cycle


class Command(BaseCommand):
    help = (
        "Run one full gated sync cycle now, in this process: pull from HubSpot, push the queued "
        "inclusion-list members to Salesforce, pull new and changed records from Salesforce."
    )

    def handle(self, *args, **options):
        run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
        self.stdout.write(
            _(
                "Run #%(id)s %(status)s: pulled %(pulled)d, considered %(considered)d, created %(created)d, "
                "updated %(updated)d, unchanged %(unchanged)d, skipped %(skipped)d, failed %(failed)d; "
                "created in HubSpot %(hs_created)d, updated in HubSpot %(hs_updated)d; "
                "API calls: Salesforce %(sf_calls)d, HubSpot %(hs_calls)d."
            )
            % {
                "id": run.pk,
                "status": run.get_status_display(),
                "pulled": run.pulled,
                "considered": run.considered,
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "skipped": run.skipped,
                "failed": run.failed,
                "hs_created": run.created_in_hubspot,
                "hs_updated": run.updated_in_hubspot,
                "sf_calls": run.salesforce_api_calls,
                "hs_calls": run.hubspot_api_calls,
            }
        )
        if run.warning:
            self.stdout.write(self.style.WARNING(run.warning))
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(run.error or _("The run failed."))
