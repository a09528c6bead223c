"""What the benches share: a fresh database for Django, and one way to report figures.

Every bench prints human-readable lines; with ``--json`` it also prints one line
``BENCH_JSON {...}`` holding its figures, which ``python -m bench`` gathers into one table.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(db_path: Path | None = None, *, database_url: str | None = None, migrate: bool = True) -> None:
    """Point Django at a fresh database (a SQLite file, or ``database_url``) and migrate it.

    Call before anything imports models. DEBUG is off: it would keep every query in memory.
    """
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def max_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""
    baseline: float | None = None
    baseline_name: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline


def emit(figures: list[Figure], *, as_json: bool) -> None:
    for f in figures:
        extra = ""
        if f.baseline is not None:
            ratio = f"{f.ratio:.2f}" if f.ratio is not None else "n/a"
            extra = f"  (baseline {f.baseline_name}: {f.baseline:,.3g} {f.unit}; ratio {ratio})"
        target = f"  [target {f.target}]" if f.target else ""
        print(f"  {f.name}: {f.value:,.3g} {f.unit}{target}{extra}")
    if as_json:
        print("BENCH_JSON " + json.dumps([{**asdict(f), "ratio": f.ratio} for f in figures]))


def sandbox_env(tmp: Path) -> dict[str, str]:
    """The environment of a bench against the emulators served in their own process (as in the
    demo): free ports, state in ``tmp``, a fresh SQLite database for the app."""
    hubspot_port, salesforce_port = free_port(), free_port()
    return {
        **os.environ,
        "DATA_DIR": str(tmp / "data"),
        "DATABASE_URL": f"sqlite:///{tmp / 'app.sqlite3'}",
        "SANDBOX": "true",
        "SANDBOX_HUBSPOT_URL": f"http://127.0.0.1:{hubspot_port}",
        "SANDBOX_SALESFORCE_URL": f"https://127.0.0.1:{salesforce_port}",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
        "LOG_LEVEL": "WARNING",
        # Unpaced, as the emulators served without limits (``sandbox_served``'s default); a bench
        # with the limits on sets the pace back (integration/clients/hubspot/pacing.py).
        "HUBSPOT_CALLS_PER_10_SECONDS": "0",
        "HUBSPOT_SEARCHES_PER_SECOND": "0",
    }


def paced_as_in_production(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the HubSpot client paced as in production (its defaults), for a bench against
    the emulators with their limits on."""
    for name in ("HUBSPOT_CALLS_PER_10_SECONDS", "HUBSPOT_SEARCHES_PER_SECOND"):
        env.pop(name, None)
        os.environ.pop(name, None)
    return env


@contextlib.contextmanager
def sandbox_served(env: dict[str, str], limits: tuple[str, ...] = ("--no-limits",)) -> Iterator[None]:
    """``sandbox_serve`` on the ports of ``env``, until the block ends; without the services' rate
    limits unless ``limits`` holds other flags (``()``: a real account's, as in the demo)."""
    ports = [int(env[name].rsplit(":", 1)[1]) for name in ("SANDBOX_HUBSPOT_URL", "SANDBOX_SALESFORCE_URL")]
    server = subprocess.Popen(
        [sys.executable, "manage.py", "sandbox_serve", "--hubspot-port", str(ports[0]),
         "--salesforce-port", str(ports[1]), *limits],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for port in ports:
            wait_for(port)
        yield
    finally:
        stop(server)


def stop(process: subprocess.Popen | None) -> None:
    if process is None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
