"""``manage.py sandbox_merge OBJECT MASTER_ID LOSER_ID [LOSER_ID]``: merge records in the Salesforce
sandbox as Salesforce's merge does (:mod:`sandbox.salesforce.lifecycle.merge`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sandbox.management.options import add_state_file_arguments, state_file
from sandbox.salesforce.lifecycle import LifecycleError, merge
from sandbox.salesforce.store import SalesforceStore


class Command(BaseCommand):
    # argparse formats the description eagerly: a lazy string would not do here.
    help = _(
        "Merge one or two Leads, Contacts or Accounts of the Salesforce sandbox into a master record, as "
        "Salesforce does: the master keeps its values, the others are deleted with MasterRecordId naming it "
        "(Get Deleted reports them, queryAll reads them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("object", help=gettext_lazy("Lead, Contact or Account."))
        parser.add_argument("master_id", help=gettext_lazy("Id of the record that survives."))
        parser.add_argument("loser_ids", nargs="+", help=gettext_lazy("Ids of the one or two records merged into it."))
        add_state_file_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SANDBOX:
            raise CommandError(_("The sandbox is switched off (SANDBOX=false); nothing was merged."))
        store = SalesforceStore(state_file(options, "salesforce"))
        try:
            merged = merge(store, options["object"], options["master_id"], options["loser_ids"])
        except LifecycleError as exc:
            raise CommandError(
                _("Nothing was merged: %(reason)s (%(code)s).") % {"reason": exc.message, "code": exc.code}
            )
        finally:
            store.close()
        self.stdout.write(
            self.style.SUCCESS(
                _("Merged into %(master)s: %(merged)s (deleted).")
                % {"master": merged["masterId"], "merged": ", ".join(merged["mergedIds"])}
            )
        )
