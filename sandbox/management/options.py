"""The options the sandbox commands share: where each emulator keeps its state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext_lazy

from sandbox.store import default_db_path


def add_state_file_arguments(parser: CommandParser, hubspot_flag: str = "--hubspot-db") -> None:
    """``--hubspot-db`` (or ``hubspot_flag``) and ``--salesforce-db``, read back by :func:`state_file`."""
    parser.add_argument(
        hubspot_flag,
        dest="hubspot_db",
        type=Path,
        default=None,
        help=gettext_lazy("HubSpot sandbox state file (default: DATA_DIR/sandbox/hubspot.sqlite3)."),
    )
    parser.add_argument(
        "--salesforce-db",
        dest="salesforce_db",
        type=Path,
        default=None,
        help=gettext_lazy("Salesforce sandbox state file (default: DATA_DIR/sandbox/salesforce.sqlite3)."),
    )


def state_file(options: dict[str, Any], service: str) -> Path:
    """The state file of emulator ``service`` (``hubspot`` or ``salesforce``): the option, or the default."""
    return options[f"{service}_db"] or default_db_path(service)
