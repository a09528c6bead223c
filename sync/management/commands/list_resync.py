from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from lists.models import ContactList
from sync.models import SyncRun
from sync.services import list_resync, push_pending


class Command(BaseCommand):
    help = (
        "Queue every member of the list for sending, then run the push now (members are still "
        "gated by the inclusion list at send time)."
    )

    def add_arguments(self, parser):
        parser.add_argument("list_id", type=int, help="the list's id (ContactList primary key)")

    def handle(self, *args, list_id: int, **options):
        contact_list = ContactList.objects.filter(pk=list_id).first()
        if contact_list is None:
            raise CommandError(_("No list with id %(id)s.") % {"id": list_id})
        run = list_resync(contact_list=contact_list, run_async=False)
        self.stdout.write(
            _("Queued %(n)d member(s) of “%(name)s”; pushing…") % {"n": run.progress_total, "name": contact_list.name}
        )
        run = push_pending(run=run)
        self.stdout.write(
            _(
                "Run #%(id)s %(status)s: created %(created)d, updated %(updated)d, unchanged %(unchanged)d, "
                "skipped %(skipped)d, failed %(failed)d; Salesforce API calls %(calls)d."
            )
            % {
                "id": run.pk,
                "status": run.get_status_display(),
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "skipped": run.skipped,
                "failed": run.failed,
                "calls": run.salesforce_api_calls,
            }
        )
        if run.warning:
            self.stdout.write(self.style.WARNING(run.warning))
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(run.error or _("The run failed."))
