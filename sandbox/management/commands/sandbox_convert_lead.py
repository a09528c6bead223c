"""``manage.py sandbox_convert_lead LEAD_ID [--contact CONTACT_ID]``: convert a Lead in the Salesforce
sandbox as Salesforce's Convert button does (:mod:`sandbox.salesforce.lifecycle.conversion`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sandbox.management.options import add_state_file_arguments, state_file
from sandbox.salesforce.lifecycle import LifecycleError, convert_lead
from sandbox.salesforce.store import SalesforceStore


class Command(BaseCommand):
    # argparse formats the description eagerly: a lazy string would not do here.
    help = _(
        "Convert a Lead in the Salesforce sandbox as Salesforce's Convert button does: a new Account (named "
        "after the Lead's company) and a new Contact copied from the Lead, or, with --contact, the Lead merged "
        "into an existing Contact (its values kept, its blanks filled). The Lead is then converted and can no "
        "longer be written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("lead_id", help=gettext_lazy("Id of the Lead to convert (00Q…)."))
        parser.add_argument(
            "--contact",
            dest="contact_id",
            default=None,
            help=gettext_lazy("Id of an existing Contact (003…) to merge the Lead into."),
        )
        add_state_file_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SANDBOX:
            raise CommandError(_("The sandbox is switched off (SANDBOX=false); nothing was converted."))
        store = SalesforceStore(state_file(options, "salesforce"))
        try:
            converted = convert_lead(store, options["lead_id"], options["contact_id"])
        except LifecycleError as exc:
            raise CommandError(
                _("Lead %(lead)s was not converted: %(reason)s (%(code)s).")
                % {"lead": options["lead_id"], "reason": exc.message, "code": exc.code}
            )
        finally:
            store.close()
        self.stdout.write(
            self.style.SUCCESS(
                _("Lead %(lead)s converted: Contact %(contact)s, Account %(account)s.")
                % {"lead": converted["leadId"], "contact": converted["contactId"], "account": converted["accountId"]}
            )
        )
