from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from sync.models import SyncRun
from sync.services import hubspot_pull


class Command(BaseCommand):
    help = "Pull changed contacts (and the property schema) from HubSpot and update list memberships."

    def handle(self, *args, **options):
        try:
            run = hubspot_pull(trigger=SyncRun.Trigger.COMMAND)
        except Exception as exc:  # noqa: BLE001 - shown to the operator, details in the run
            raise CommandError(_("HubSpot pull failed: %(error)s") % {"error": exc}) from exc
        self.stdout.write(
            _("Pulled %(n)d contact(s) with %(calls)d HubSpot API call(s).")
            % {"n": run.pulled, "calls": run.hubspot_api_calls}
        )
