"""Bench: the import of existing Salesforce records into HubSpot, against both emulators in their
own process.

    .venv/bin/python bench/bench_salesforce_import.py [--leads 20000] [--json]

1. ``sandbox_serve`` serves both emulators; N Leads with an email are inserted into the Salesforce
   emulator by one Bulk API 2.0 job (not measured); HubSpot is empty; the app's database is a
   fresh SQLite file.
2. ``salesforce_import``, in this process: seconds, records a second, and the API calls of each
   service against the fewest its page sizes allow (Salesforce: a count and one query page of
   2,000 per object; HubSpot: one batch of 100 per record set).
3. A check that every Lead is in HubSpot exactly once; then the import runs again (nothing to
   create: every record is linked) and its time is reported too.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, emit, sandbox_env, sandbox_served, setup_django  # noqa: E402


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=20_000, help="existing Salesforce Leads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    env = sandbox_env(tmp)
    os.environ.update(env)
    setup_django(tmp / "app.sqlite3")
    print(f"Salesforce import bench: {args.leads:,} existing Leads")
    try:
        with sandbox_served(env):
            figures = scenario(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    emit(figures, as_json=args.json)
    return figures


def scenario(args) -> list[Figure]:
    from integration.clients.salesforce import get_salesforce_client
    from sync.services import salesforce_import

    salesforce = get_salesforce_client()
    leads = [
        {"LastName": f"Existing {i}", "Company": "Before the integration", "Email": f"existing{i}@import.example"}
        for i in range(args.leads)
    ]
    results = salesforce.bulk_insert("Lead", leads)
    if not all(r.success for r in results):
        raise SystemExit("the Leads were not all inserted")

    started = time.monotonic()
    run = salesforce_import()
    seconds = time.monotonic() - started
    created = count_hubspot(args.leads)
    print(
        f"  import: {run.created_in_hubspot:,} created or de-duplicated in {seconds:.2f} s, "
        f"{run.salesforce_api_calls} Salesforce and {run.hubspot_api_calls} HubSpot calls; "
        f"{created:,} distinct in HubSpot"
    )
    if created != args.leads or run.created_in_hubspot != args.leads:
        raise SystemExit(f"{created:,} Leads in HubSpot, {args.leads:,} expected")

    started = time.monotonic()
    again = salesforce_import()
    rerun = time.monotonic() - started
    print(f"  again: {again.created_in_hubspot:,} created in {rerun:.2f} s")

    n = args.leads
    # A count per object and ceil(n / 2,000) pages of Leads (no Contacts: no page).
    fewest_salesforce = 2 + math.ceil(n / 2000)
    fewest_hubspot = math.ceil(n / 100)
    return [
        Figure(f"import of {n:,} existing Leads: time", seconds, "s"),
        Figure(f"import of {n:,} existing Leads: throughput", n / seconds if seconds else 0, "records/s"),
        Figure(
            f"import of {n:,} existing Leads: Salesforce API calls",
            run.salesforce_api_calls,
            "calls",
            "the fewest the page size allows",
            fewest_salesforce,
            "a count per object, pages of 2,000",
        ),
        Figure(
            f"import of {n:,} existing Leads: HubSpot API calls",
            run.hubspot_api_calls,
            "calls",
            "one batch of 100 a call",
            fewest_hubspot,
            "batches of 100",
        ),
        Figure(f"import of {n:,} existing Leads run again: time", rerun, "s"),
    ]


def count_hubspot(expected: int) -> int:
    """Distinct emails among HubSpot's contacts (each Lead once: as many as Leads)."""
    from integration.clients.hubspot import get_hubspot_client

    emails = set()
    total = 0
    for page in get_hubspot_client().iter_contacts(["email"]):
        for contact in page.contacts:
            total += 1
            emails.add((contact.properties.get("email") or "").lower())
    if total != len(emails):
        raise SystemExit(f"{total - len(emails)} duplicates in HubSpot")
    return len(emails)


if __name__ == "__main__":
    main()
