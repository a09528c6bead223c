"""``manage.py sandbox_serve``: HubSpot on http://127.0.0.1:8100, Salesforce on https://127.0.0.1:8443."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sandbox.hubspot import make_app as make_hubspot
from sandbox.salesforce import make_app as make_salesforce
from sandbox.server import ensure_certificate, make_server, server_ssl_context, tune_gc_for_serving
from sandbox.store import default_db_path, sandbox_dir


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
            type=int,
            default=None,
            help=gettext_lazy("Calls allowed per 10 seconds before HubSpot answers 429 (default: no limit)."),
        )
        parser.add_argument("--verbose-http", action="store_true", help=gettext_lazy("Log every request."))

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SANDBOX:
            raise CommandError(_("The sandbox is switched off (SANDBOX=false); set SANDBOX=true to serve it."))
        host, verbose = options["host"], options["verbose_http"]
        rate = options["hubspot_rate_limit"]
        tune_gc_for_serving()
        servers = []
        try:
            hubspot = make_hubspot(default_db_path("hubspot"), rate_limit=(rate, 10_000) if rate else None)
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
