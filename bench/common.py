"""What the benches share: a fresh database for Django, and one way to report figures.

Every bench prints human-readable lines; with ``--json`` it also prints one line
``BENCH_JSON {...}`` holding its figures, which ``python -m bench`` gathers into one table.
"""

from __future__ import annotations

import json
import os
import resource
import sys
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
