"""The ops-pages bench runs at a tiny size (the 1,000,000-row figures come from running it by hand)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_ops_pages_runs_at_a_tiny_size():
    result = subprocess.run(
        [
            sys.executable,
            "bench/bench_ops_pages.py",
            "--records",
            "1000",
            "--contacts",
            "100",
            "--repeat",
            "1",
            "--trace",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "filled 1,000 records" in out
    for page in ("sync log, first page", "sync log, current errors", "health page"):
        assert re.search(rf"^{page}\s+\d+\.\d+\s+\d+\.\d+\s+\d+$", out, re.M), out
    assert re.search(
        r"CSV export of all records: 1,000 rows, .*resident memory .* peak traced Python memory [\d.]+ MiB", out
    ), out
    assert "export view (errors only): HTTP 200" in out
