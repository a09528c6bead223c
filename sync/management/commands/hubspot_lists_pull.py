from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from sync.services.hubspot_lists import hubspot_lists_pull


class Command(BaseCommand):
    help = "Mirror every HubSpot contact list (Lists v3) and its membership."

    def handle(self, *args, **options):
        try:
            run, result = hubspot_lists_pull()
        except Exception as exc:  # noqa: BLE001 - shown to the operator, details in the run
            raise CommandError(_("HubSpot lists pull failed: %(error)s") % {"error": exc}) from exc
        self.stdout.write(
            _(
                "%(seen)d HubSpot list(s): %(created)d new, %(redefined)d redefined, %(renamed)d renamed, "
                "%(deleted)d deleted there; members read for %(read)d list(s) (%(joined)d joined, %(left)d left); "
                "%(calls)d HubSpot API call(s)."
            )
            % {
                "seen": result.seen,
                "created": result.created,
                "redefined": result.redefined,
                "renamed": result.renamed,
                "deleted": result.deleted,
                "read": result.memberships_read,
                "joined": result.joined,
                "left": result.left,
                "calls": run.hubspot_api_calls,
            }
        )
        if result.unknown_members:
            self.stdout.write(
                _("%(n)d member(s) are contacts not pulled here yet: run hubspot_pull, then this again.")
                % {"n": result.unknown_members}
            )
