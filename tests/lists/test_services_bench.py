"""The list benches run end to end at a tiny size (their figures are meaningless here; the
point is that they keep working and that their built-in correctness checks pass)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_bench_list_refresh_runs():
    out = run_bench("bench_list_refresh.py", "--contacts", "2000")
    assert "hand-written SQL query" in out and "full refresh, empty list" in out and "list_preview" in out


@pytest.mark.slow
def test_bench_membership_update_runs():
    out = run_bench("bench_membership_update.py", "--contacts", "2000", "--rounds", "3")
    assert "memberships_update_for_contacts, 100 changed contacts x 20 lists" in out
