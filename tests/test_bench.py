"""Every benchmark still runs (at toy sizes): the figures in the README can be made again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(connection.vendor != "sqlite", reason="database-independent: runs in the SQLite pass")
def test_every_bench_runs_at_a_tiny_size():
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout
    for figure in (
        "list refresh, 4 filters",
        "(PostgreSQL)",
        "incremental membership update",
        "HubSpot pull of",
        "push of",
        "push throughput, 2 worker(s)",
        "sync log page",
        "health page",
        "CSV export",
        "push time:",
        "collections upsert of 450 Leads into the emulator, create: throughput",
        "members edited on both sides: Salesforce API calls",
        "existing Leads: HubSpot API calls",
        "under a Professional account's limits: time",
        "metrics scrape over",
        "HubSpot lists pull: calls vs fewest the page sizes allow",
    ):
        assert figure in table, figure
