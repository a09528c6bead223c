from django.core.management.base import BaseCommand, CommandError

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
            f"Run #{run.pk} {run.get_status_display()}: pulled {run.pulled}, considered {run.considered}, "
            f"created {run.created}, updated {run.updated}, unchanged {run.unchanged}, skipped {run.skipped}, "
            f"failed {run.failed}; created in HubSpot {run.created_in_hubspot}, updated in HubSpot "
            f"{run.updated_in_hubspot}; API calls: Salesforce {run.salesforce_api_calls}, HubSpot {run.hubspot_api_calls}."
        )
        if run.warning:
            self.stdout.write(self.style.WARNING(run.warning))
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(run.error or "The run failed.")
