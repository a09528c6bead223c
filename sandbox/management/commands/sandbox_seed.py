"""``manage.py sandbox_seed --contacts N [--seed S] [--if-empty]``: deterministic demo contacts in the
HubSpot sandbox, and in the Salesforce sandbox a few existing records that duplicate some of them by
email (:mod:`sandbox.salesforce.seed`)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sandbox.hubspot import HubSpotStore
from sandbox.hubspot.seed import make_contact, seed_contacts
from sandbox.management.options import add_state_file_arguments, state_file
from sandbox.salesforce.seed import GROUPS, SeededRecord, SeedPerson, seed_duplicates
from sandbox.salesforce.store import SalesforceStore


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("--anchor must be a date like 2026-01-31, not %(value)s.") % {"value": value})


def _seed_salesforce(path: Path, *, count: int, seed: int, anchor: dt.date | None) -> list[SeededRecord]:
    """The Salesforce records duplicating the first contacts of the seed (those of ``count`` only)."""
    people = []
    for index in range(min(count, GROUPS)):
        # The first contacts of a seed are plain ones (the oddities come later): a valid email.
        values = make_contact(seed, index, anchor or dt.datetime.now(dt.UTC).date())
        people.append(SeedPerson(values["email"], values["firstname"], values["lastname"], values["company"]))
    store = SalesforceStore(path)
    try:
        return seed_duplicates(store, people, seed=seed)
    finally:
        store.close()


class Command(BaseCommand):
    # argparse formats the description eagerly: a lazy string would not do here.
    help = _(
        "Add deterministic, realistic synthetic contacts to the HubSpot sandbox: the first N contacts of the "
        "seed exist afterwards (re-running adds only those missing). They include a few that Salesforce refuses "
        "(no last name, malformed email, over-long values) and contacts without email; no two share an email, "
        "even in another case (HubSpot refuses that). The Salesforce sandbox gets the duplicates real orgs hold: "
        "existing records with the emails of the seed's first three contacts (the first: a Lead and a Contact; "
        "the second: a Lead, the email in another case; the third: two Leads), added once per seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--contacts", type=int, required=True, help=gettext_lazy("How many contacts of the seed must exist.")
        )
        parser.add_argument(
            "--seed", type=int, default=1, help=gettext_lazy("Seed: the same seed gives the same contacts (default 1).")
        )
        parser.add_argument(
            "--anchor",
            type=_date,
            default=None,
            help=gettext_lazy("Day the generated dates are relative to, YYYY-MM-DD (default: today, UTC)."),
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help=gettext_lazy("Do nothing when the sandbox already holds contacts (used by make run)."),
        )
        add_state_file_arguments(parser, hubspot_flag="--db")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SANDBOX:
            raise CommandError(_("The sandbox is switched off (SANDBOX=false); nothing was seeded."))
        count = options["contacts"]
        if count < 0:
            raise CommandError(_("--contacts must be zero or more."))
        store = HubSpotStore(state_file(options, "hubspot"))
        try:
            if options["if_empty"] and store.count() + store.count(archived=True) > 0:
                self.stdout.write(_("The HubSpot sandbox already has contacts; not seeding."))
                return
            started = time.monotonic()
            added = seed_contacts(store, count=count, seed=options["seed"], anchor=options["anchor"])
            elapsed = time.monotonic() - started
            total = store.count()
        finally:
            store.close()
        self.stdout.write(
            self.style.SUCCESS(
                _("Added %(added)d contacts (seed %(seed)d) in %(seconds).1f s; the HubSpot sandbox holds %(total)d.")
                % {"added": added, "seed": options["seed"], "seconds": elapsed, "total": total}
            )
        )
        duplicates = _seed_salesforce(
            state_file(options, "salesforce"),
            count=count,
            seed=options["seed"],
            anchor=options["anchor"],
        )
        self.stdout.write(
            self.style.SUCCESS(
                _("Added %(added)d Salesforce records duplicating seeded contacts by email (seed %(seed)d).")
                % {"added": len(duplicates), "seed": options["seed"]}
            )
        )
        for record in duplicates:
            self.stdout.write(f"  {record.object} {record.id} {record.email}")
