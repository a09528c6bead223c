"""``manage.py sandbox_serve``: HubSpot on http://127.0.0.1:8100, Salesforce on https://127.0.0.1:8443.

Both enforce their service's limits by default: HubSpot's for a Professional account's private app
(190 calls / 10 s, search 5 / s, 650,000 a day: :mod:`sandbox.hubspot.app.limits`) and Salesforce's
daily API allocation of an Enterprise org (100,000 + 1,000 per licence, "API Request Limits and
Allocations": https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/
salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm; here 100,000). Each flag
takes 0 for "no limit"; ``--no-limits`` switches them all off.
"""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentTypeError
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sandbox.hubspot import HubSpotLimits
from sandbox.hubspot import make_app as make_hubspot
from sandbox.hubspot.app.limits import BURST_LIMIT, DAILY_LIMIT, SEARCH_LIMIT
from sandbox.salesforce import make_app as make_salesforce
from sandbox.server import ensure_certificate, make_server, server_ssl_context, tune_gc_for_serving
from sandbox.store import default_db_path, sandbox_dir

SALESFORCE_DAILY_LIMIT = 100_000
# What "no limit" means for Salesforce's allocation, a number its emulator stores and reports.
SALESFORCE_UNLIMITED = 1_000_000_000


def _limit(value: str) -> int:
    """A limit on the command line: a whole number, 0 for none."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ArgumentTypeError(_("expected a whole number, 0 for no limit: %(value)r") % {"value": value})
    return number


class Command(BaseCommand):
    # argparse formats the description eagerly: a lazy string would not do here.
    help = _(
        "Serve the sandbox emulators: HubSpot over http (port 8100) and Salesforce over https (port 8443, "
        "self-signed certificate generated on first start in DATA_DIR/sandbox). Both accept the bearer token "
        "'sandbox'. Only runs when SANDBOX=true."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set to stop serving (signals do it from the command line; tests set it directly).
        self.stop = threading.Event()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help=gettext_lazy("Address to listen on (default 127.0.0.1).")
        )
        parser.add_argument("--hubspot-port", type=int, default=8100, help=gettext_lazy("HubSpot port (default 8100)."))
        parser.add_argument(
            "--salesforce-port", type=int, default=8443, help=gettext_lazy("Salesforce port (default 8443).")
        )
        parser.add_argument(
            "--hubspot-rate-limit",
            type=_limit,
            default=BURST_LIMIT,
            help=gettext_lazy(
                "Calls allowed per 10 seconds before HubSpot answers 429 (default 190, a Professional account's; 0: none)."
            ),
        )
        parser.add_argument(
            "--hubspot-search-rate",
            type=_limit,
            default=SEARCH_LIMIT,
            help=gettext_lazy("HubSpot CRM searches allowed per second (default 5; 0: no limit)."),
        )
        parser.add_argument(
            "--hubspot-daily-limit",
            type=_limit,
            default=DAILY_LIMIT,
            help=gettext_lazy("HubSpot calls allowed per day (default 650,000, a Professional account's; 0: none)."),
        )
        parser.add_argument(
            "--salesforce-daily-limit",
            type=_limit,
            default=SALESFORCE_DAILY_LIMIT,
            help=gettext_lazy(
                "Salesforce API requests allowed per day, then REQUEST_LIMIT_EXCEEDED (default 100,000; 0: none)."
            ),
        )
        parser.add_argument(
            "--no-limits",
            action="store_true",
            help=gettext_lazy("Switch every rate limit and daily allowance off (benches that measure the sync)."),
        )
        parser.add_argument("--verbose-http", action="store_true", help=gettext_lazy("Log every request."))

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SANDBOX:
            raise CommandError(_("The sandbox is switched off (SANDBOX=false); set SANDBOX=true to serve it."))
        host, verbose = options["host"], options["verbose_http"]
        off = options["no_limits"]

        def chosen(name: str) -> int | None:
            return None if off or not options[name] else options[name]

        limits = HubSpotLimits(
            burst=chosen("hubspot_rate_limit"),
            search=chosen("hubspot_search_rate"),
            daily=chosen("hubspot_daily_limit"),
        )
        salesforce_daily = chosen("salesforce_daily_limit") or SALESFORCE_UNLIMITED
        tune_gc_for_serving()
        servers = []
        try:
            hubspot = make_hubspot(default_db_path("hubspot"), limits=limits)
            servers.append(make_server(hubspot, host, options["hubspot_port"], verbose=verbose))
        except OSError as exc:
            raise CommandError(
                _("Cannot listen on %(host)s:%(port)s for HubSpot: %(error)s")
                % {"host": host, "port": options["hubspot_port"], "error": exc}
            )
        self.stdout.write(
            _("HubSpot sandbox:    http://%(host)s:%(port)d") % {"host": host, "port": servers[0].server_port}
        )

        cert, key = ensure_certificate(sandbox_dir())
        try:
            salesforce = make_salesforce(default_db_path("salesforce"))
            salesforce.store.update_settings({"daily_api_max": salesforce_daily})
            servers.append(
                make_server(
                    salesforce,
                    host,
                    options["salesforce_port"],
                    ssl_context=server_ssl_context(cert, key),
                    verbose=verbose,
                )
            )
        except OSError as exc:
            servers[0].server_close()
            raise CommandError(
                _("Cannot listen on %(host)s:%(port)s for Salesforce: %(error)s")
                % {"host": host, "port": options["salesforce_port"], "error": exc}
            )
        self.stdout.write(
            _("Salesforce sandbox: https://%(host)s:%(port)d (certificate: %(cert)s)")
            % {"host": host, "port": servers[1].server_port, "cert": Path(cert)}
        )
        self.stdout.write(self._limits_line(limits, salesforce_daily))
        self.stdout.write(_("Bearer token: sandbox. Press Ctrl+C to stop."))

        stop = self.stop

        def on_signal(signum: int, frame: Any) -> None:
            stop.set()

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, on_signal)
        threads = [
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True) for s in servers
        ]
        for thread in threads:
            thread.start()
        stop.wait()
        for server in servers:
            server.shutdown()
            server.server_close()
        self.stdout.write(_("Sandbox stopped."))

    @staticmethod
    def _limits_line(limits: HubSpotLimits, salesforce_daily: int) -> str:
        def shown(value: int | None) -> str:
            return _("none") if value is None or value >= SALESFORCE_UNLIMITED else f"{value:,}"

        return _(
            "Limits: HubSpot %(burst)s calls / 10 s, %(search)s searches / s, %(daily)s a day; "
            "Salesforce %(salesforce)s API requests a day (--no-limits: none)."
        ) % {
            "burst": shown(limits.burst),
            "search": shown(limits.search),
            "daily": shown(limits.daily),
            "salesforce": shown(salesforce_daily),
        }
