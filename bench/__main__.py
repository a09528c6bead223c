"""Every benchmark, one table: ``python -m bench`` (or ``make bench``).

Each bench runs in its own process (a fresh database, its own peak-memory figure) and prints
its figures as ``BENCH_JSON``; this collects them into one table with targets, the baseline
measured in the same run and the ratio. ``--tiny`` runs everything at toy sizes (seconds, for
the test that keeps the benches from rotting); ``--only NAME`` runs the benches whose name
contains NAME. PostgreSQL figures run under ``.ci/with-postgres`` (a throwaway cluster).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

# name, command at full size, command at tiny size
BENCHES: list[tuple[str, list[str], list[str]]] = [
    (
        "list refresh (SQLite)",
        [PY, "bench/bench_list_refresh.py", "--contacts", "1000000"],
        [PY, "bench/bench_list_refresh.py", "--contacts", "2000"],
    ),
    (
        "list refresh (PostgreSQL)",
        ["bash", ".ci/with-postgres", PY, "bench/bench_list_refresh.py", "--contacts", "1000000", "--pg"],
        ["bash", ".ci/with-postgres", PY, "bench/bench_list_refresh.py", "--contacts", "2000", "--pg"],
    ),
    (
        "incremental membership update",
        [PY, "bench/bench_membership_update.py", "--contacts", "1000000"],
        [PY, "bench/bench_membership_update.py", "--contacts", "3000", "--rounds", "2"],
    ),
    (
        "sync, 10,000 contacts",
        [PY, "bench/bench_sync.py", "--members", "10000", "--latency"],
        [PY, "bench/bench_sync.py", "--members", "300", "--naive", "20"],
    ),
    (
        "sync, 100,000 contacts",
        [PY, "bench/bench_sync.py", "--members", "100000", "--naive", "1000"],
        [PY, "bench/bench_sync.py", "--members", "600", "--naive", "20"],
    ),
    (
        "first sync under a Professional account's limits",
        [PY, "bench/bench_first_sync_limits.py", "--contacts", "10000"],
        [PY, "bench/bench_first_sync_limits.py", "--contacts", "300"],
    ),
    (
        "field rules, 10,000 members edited on both sides",
        [PY, "bench/bench_field_rules.py", "--members", "10000"],
        [PY, "bench/bench_field_rules.py", "--members", "300"],
    ),
    (
        "workers on PostgreSQL",
        ["bash", ".ci/with-postgres", PY, "bench/bench_workers.py", "--members", "30000"],
        ["bash", ".ci/with-postgres", PY, "bench/bench_workers.py", "--members", "600", "--workers", "1", "2"],
    ),
    (
        "import of existing Salesforce records",
        [PY, "bench/bench_salesforce_import.py", "--leads", "20000"],
        [PY, "bench/bench_salesforce_import.py", "--leads", "300"],
    ),
    (
        "Salesforce emulator, collections upsert",
        [PY, "bench/bench_collections_upsert.py", "--records", "100000"],
        [PY, "bench/bench_collections_upsert.py", "--records", "450"],
    ),
    (
        "ops pages",
        [PY, "bench/bench_ops_pages.py", "--records", "1000000"],
        [PY, "bench/bench_ops_pages.py", "--records", "2000", "--contacts", "200", "--repeat", "1"],
    ),
    (
        "metrics scrape",
        [PY, "bench/bench_metrics_scrape.py", "--records", "1000000"],
        [PY, "bench/bench_metrics_scrape.py", "--records", "2000", "--contacts", "200", "--repeat", "2"],
    ),
    (
        "HubSpot lists pull under a Professional account's limits",
        [PY, "bench/bench_hubspot_lists.py", "--lists", "500", "--memberships", "1000000"],
        [PY, "bench/bench_hubspot_lists.py", "--lists", "6", "--memberships", "1200", "--contacts", "600"],
    ),
]


def run(name: str, command: list[str]) -> tuple[list[dict], float, str]:
    started = time.monotonic()
    result = subprocess.run([*command, "--json"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - started
    figures: list[dict] = []
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            figures += json.loads(line[len("BENCH_JSON ") :])
    error = "" if result.returncode == 0 and figures else (result.stderr or result.stdout)[-2000:]
    return figures, seconds, error


def scaling(rows: list[dict]) -> list[dict]:
    """Pushing 10× the members: time within 12×, memory flat (both measured in this run)."""
    pushes = sorted(
        (
            f
            for f in rows
            if f["name"].startswith("push of ") and (f["unit"] == "s" or f["name"].endswith("(child process)"))
        ),
        key=lambda f: int(f["name"].split()[2].replace(",", "")),
    )
    out = []
    for unit, label, target in (("s", "time", "< 12×"), ("MiB", "peak memory", "flat (≈ 1×)")):
        figures = [f for f in pushes if f["unit"] == unit]
        if len(figures) >= 2 and figures[0]["value"]:
            small, big = figures[0], figures[-1]
            out.append(
                {
                    "name": f"push {label}: {big['name'].split()[2]} vs {small['name'].split()[2]} members",
                    "value": big["value"],
                    "unit": unit,
                    "target": target,
                    "baseline": small["value"],
                    "baseline_name": "the smaller push",
                    "ratio": big["value"] / small["value"],
                }
            )
    return out


def fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="toy sizes, to check that every bench still runs")
    parser.add_argument("--only", default="", help="run the benches whose name contains this")
    args = parser.parse_args(argv)
    rows, failures = [], []
    for name, full, tiny in BENCHES:
        if args.only.lower() not in name.lower():
            continue
        print(f"… {name}", file=sys.stderr, flush=True)
        figures, seconds, error = run(name, tiny if args.tiny else full)
        if error:
            failures.append((name, error))
        rows += figures
        print(f"  done in {seconds:.0f} s", file=sys.stderr, flush=True)
    rows += scaling(rows)
    print("| figure | value | target | baseline (same run) | ratio |")
    print("|---|---|---|---|---|")
    for f in rows:
        baseline = f"{fmt(f['baseline'])} {f['unit']} ({f['baseline_name']})" if f["baseline"] is not None else ""
        ratio = f"{f['ratio']:.2f}×" if f["ratio"] is not None else ""
        print(f"| {f['name']} | {fmt(f['value'])} {f['unit']} | {f['target']} | {baseline} | {ratio} |")
    for name, error in failures:
        print(f"\nFAILED: {name}\n{error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
