from django.core.management.base import BaseCommand, CommandError

from sync.models import SyncRun
from sync.services import hubspot_pull


class Command(BaseCommand):
    help = "Pull changed contacts (and the property schema) from HubSpot and update list memberships."

    def handle(self, *args, **options):
        try:
            run = hubspot_pull(trigger=SyncRun.Trigger.COMMAND)
        except Exception as exc:  # noqa: BLE001 - shown to the operator, details in the run
            raise CommandError(f"HubSpot pull failed: {exc}") from exc
        self.stdout.write(f"Pulled {run.pulled} contact(s) with {run.hubspot_api_calls} HubSpot API call(s).")
