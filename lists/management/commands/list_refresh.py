"""``manage.py list_refresh LIST_ID``: recompute a list's membership now, in this process."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from lists.models import ContactList
from lists.services import list_refresh

# A list edited while this command computes it is computed again, for the new criteria.
MAX_ATTEMPTS = 5


class Command(BaseCommand):
    help = _(
        "Recompute a list's membership now, in this process, and return when it is COMPLETE or FAILED "
        "(exit code 1 when it failed or does not exist)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("list_id", type=int, help=_("Id of the list (see the lists page)."))

    def handle(self, *args: Any, list_id: int, **options: Any) -> None:
        contact_list = ContactList.objects.filter(pk=list_id).first()
        if contact_list is None:
            raise CommandError(_("No list with id %(id)s.") % {"id": list_id})
        verbose = options.get("verbosity", 1) >= 1
        last = -1

        def progress(percent: int) -> None:
            nonlocal last
            if verbose and percent != last and percent < 100:
                last = percent
                self.stdout.write(
                    _("Processing “%(name)s”: %(percent)s%%") % {"name": contact_list.name, "percent": percent}
                )

        started = time.monotonic()
        for _attempt in range(MAX_ATTEMPTS):
            list_refresh(contact_list=contact_list, progress=progress)
            if contact_list.processing_status != ContactList.ProcessingStatus.PROCESSING:
                break
            contact_list.refresh_from_db()
        elapsed = time.monotonic() - started
        status = contact_list.processing_status
        if status == ContactList.ProcessingStatus.COMPLETE:
            self.stdout.write(
                _("List %(id)s “%(name)s”: COMPLETE, %(size)s members (%(seconds).1f s).")
                % {"id": contact_list.pk, "name": contact_list.name, "size": contact_list.size, "seconds": elapsed}
            )
            return
        if status == ContactList.ProcessingStatus.FAILED:
            raise CommandError(
                _("List %(id)s “%(name)s”: FAILED: %(error)s")
                % {"id": contact_list.pk, "name": contact_list.name, "error": contact_list.error}
            )
        raise CommandError(
            _("List %(id)s “%(name)s” kept changing while it was computed; it is still PROCESSING.")
            % {"id": contact_list.pk, "name": contact_list.name}
        )
