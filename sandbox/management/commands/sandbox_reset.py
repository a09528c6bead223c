"""``manage.py sandbox_reset``: empty both sandbox emulators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sandbox.hubspot import HubSpotStore
from sandbox.salesforce import reset as salesforce_reset
from sandbox.store import default_db_path


class Command(BaseCommand):
    # argparse formats the description eagerly: a lazy string would not do here.
    help = _(
        "Empty the HubSpot and Salesforce sandboxes (contacts, leads, tokens, jobs); the HubSpot property "
        "schema returns to its defaults. The app's own database is not touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hubspot-db",
            type=Path,
            default=None,
            help=gettext_lazy("HubSpot sandbox state file (default: DATA_DIR/sandbox/hubspot.sqlite3)."),
        )
        parser.add_argument(
            "--salesforce-db",
            type=Path,
            default=None,
            help=gettext_lazy("Salesforce sandbox state file (default: DATA_DIR/sandbox/salesforce.sqlite3)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SANDBOX:
            raise CommandError(_("The sandbox is switched off (SANDBOX=false); nothing was reset."))
        store = HubSpotStore(options["hubspot_db"] or default_db_path("hubspot"))
        try:
            store.reset()
        finally:
            store.close()
        self.stdout.write(self.style.SUCCESS(_("HubSpot sandbox emptied.")))
        salesforce_reset(options["salesforce_db"] or default_db_path("salesforce"))
        self.stdout.write(self.style.SUCCESS(_("Salesforce sandbox emptied.")))
