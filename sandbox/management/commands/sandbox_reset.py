"""``manage.py sandbox_reset``: empty both sandbox emulators."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from sandbox.hubspot import HubSpotStore
from sandbox.management.options import add_state_file_arguments, state_file
from sandbox.salesforce import reset as salesforce_reset


class Command(BaseCommand):
    # argparse formats the description eagerly: a lazy string would not do here.
    help = _(
        "Empty the HubSpot and Salesforce sandboxes (contacts, leads, tokens, jobs); the HubSpot property "
        "schema returns to its defaults. The app's own database is not touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_state_file_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SANDBOX:
            raise CommandError(_("The sandbox is switched off (SANDBOX=false); nothing was reset."))
        store = HubSpotStore(state_file(options, "hubspot"))
        try:
            store.reset()
        finally:
            store.close()
        self.stdout.write(self.style.SUCCESS(_("HubSpot sandbox emptied.")))
        salesforce_reset(state_file(options, "salesforce"))
        self.stdout.write(self.style.SUCCESS(_("Salesforce sandbox emptied.")))
