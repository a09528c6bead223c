"""Bench: a first sync of N contacts with the emulators' limits ON (a Professional account's).

    .venv/bin/python bench/bench_first_sync_limits.py [--contacts 10000] [--json]

1. ``sandbox_seed`` writes N contacts into the HubSpot emulator; ``sandbox_serve`` serves both
   emulators with their default limits: HubSpot 190 calls / 10 s, search 5 / s, 650,000 a day
   (a Professional account's private app); Salesforce 100,000 API requests a day.
2. The first sync, timed phase by phase: the HubSpot pull, the lists (HubSpot's own mirrored, and
   the inclusion list: every contact with an email, refreshed and chosen), and the push of its
   members to Salesforce.
3. Each phase's API calls, as the emulators counted them (HubSpot: calls answered and 429s;
   Salesforce: its daily usage), and the least time the limits allow those calls: HubSpot's calls
   ÷ 19 a second (190 / 10 s), Salesforce's ÷ its daily allocation (a day for 100,000: only past it
   does Salesforce's limit cost time). The ratio measured ÷ minimum says how close to the limits the
   sync runs: 1 would be a sync that only ever waits for the throttle.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    Figure,
    emit,
    manage,
    paced_as_in_production,
    sandbox_env,
    sandbox_served,
    setup_django,
)

HUBSPOT_BURST = 190
HUBSPOT_INTERVAL_S = 10
HUBSPOT_DAILY = 650_000
SALESFORCE_DAILY = 100_000
DAY_S = 86_400


def email_known() -> dict:
    from tests.lists.factories import filter_branch, property_filter

    return filter_branch([property_filter("email", "ALL_PROPERTY", "IS_KNOWN")])


def counters(env: dict) -> dict[str, int]:
    """What the emulators have counted so far: HubSpot calls answered and refused, Salesforce calls."""
    import requests

    from integration.clients.salesforce import sandbox_certificate, sandbox_session

    hubspot = requests.get(env["SANDBOX_HUBSPOT_URL"] + "/_sandbox/status", timeout=30).json()
    salesforce = sandbox_session(sandbox_certificate()).get(
        env["SANDBOX_SALESFORCE_URL"] + "/_sandbox/status", timeout=30
    )
    return {
        "hubspot": hubspot["daily_limit"]["used"],
        "hubspot_429": sum(hubspot["throttled"].values()),
        "salesforce": salesforce.json()["api_usage"]["used"],
    }


def least_seconds(hubspot_calls: int, salesforce_calls: int) -> float:
    """The least time the limits allow these calls: HubSpot's burst rate (its daily allowance
    and Salesforce's cost whole days only once exceeded)."""
    hubspot = hubspot_calls * HUBSPOT_INTERVAL_S / HUBSPOT_BURST
    hubspot_days = (hubspot_calls - 1) // HUBSPOT_DAILY
    salesforce_days = max(0, salesforce_calls - 1) // SALESFORCE_DAILY
    return hubspot + max(hubspot_days, salesforce_days) * DAY_S


def run_sync(env: dict, n: int) -> list[Figure]:
    from integration.models import SyncSettings
    from integration.services import inclusion_list_set
    from lists.services import list_create, list_refresh
    from sync.services import hubspot_pull, list_resync, push_pending
    from sync.services.hubspot_lists import hubspot_lists_pull

    phases: list[tuple[str, float, dict[str, int]]] = []

    def timed(name: str, work) -> object:
        before = counters(env)
        started = time.monotonic()
        result = work()
        seconds = time.monotonic() - started
        after = counters(env)
        phases.append((name, seconds, {key: after[key] - before[key] for key in after}))
        return result

    pulled = timed("pull", hubspot_pull)

    def lists():
        hubspot_lists_pull()  # HubSpot's own lists mirrored (the seed has none: one search)
        contact_list = list_create(
            name="Everyone with an email", processing_type="DYNAMIC", filter_branch=email_known()
        )
        list_refresh(contact_list=contact_list)
        inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
        contact_list.refresh_from_db()
        return contact_list

    contact_list = timed("lists", lists)
    run = timed("push", lambda: push_pending(run=list_resync(contact_list=contact_list, run_async=False)))

    total_seconds = sum(seconds for _name, seconds, _calls in phases)
    hubspot_calls = sum(calls["hubspot"] for _n, _s, calls in phases)
    salesforce_calls = sum(calls["salesforce"] for _n, _s, calls in phases)
    throttled = sum(calls["hubspot_429"] for _n, _s, calls in phases)
    minimum = least_seconds(hubspot_calls, salesforce_calls)
    print(
        f"  pulled {pulled.pulled:,} contacts; {contact_list.size:,} members; push: {run.created:,} created, "
        f"{run.failed:,} refused by Salesforce, {run.skipped:,} skipped ({run.status})"
    )
    for name, seconds, calls in phases:
        print(
            f"  {name}: {seconds:,.1f} s, HubSpot {calls['hubspot']:,} calls ({calls['hubspot_429']:,} answered 429), "
            f"Salesforce {calls['salesforce']:,} calls"
        )
    label = f"first sync of {n:,} contacts under a Professional account's limits"
    return [
        Figure(f"{label}: time", total_seconds, "s", "", minimum, "least the limits allow"),
        Figure(f"{label}: HubSpot API calls", hubspot_calls, "calls"),
        Figure(f"{label}: HubSpot calls answered 429", throttled, "calls"),
        Figure(f"{label}: Salesforce API calls", salesforce_calls, "calls", f"≤ {SALESFORCE_DAILY:,} a day"),
        *(Figure(f"{label}, {name}: time", seconds, "s") for name, seconds, _calls in phases),
    ]


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000, help="contacts seeded (≈99%% have an email)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    env = paced_as_in_production(sandbox_env(tmp))
    os.environ.update(env)
    setup_django(tmp / "app.sqlite3")
    n = args.contacts
    print(f"First sync under limits: {n:,} HubSpot contacts (data in {tmp})")
    manage("sandbox_seed", "--contacts", str(n), "--seed", "1", env=env)
    try:
        with sandbox_served(env, limits=()):  # the default: a Professional account's limits
            figures = run_sync(env, n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    emit(figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()
