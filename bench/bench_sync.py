"""Bench: the gated sync end to end, against both emulators in their own process.

    .venv/bin/python bench/bench_sync.py [--members 10000] [--naive 500] [--latency] [--json]

1. ``sandbox_seed`` writes N contacts into the HubSpot emulator; ``sandbox_serve`` serves both
   emulators (a separate process, as in the demo); the app's database is a fresh SQLite file.
2. HubSpot pull of the N contacts: seconds and HubSpot API calls (first load, 100 a page).
3. An inclusion list of every contact with an email; ``list_resync`` pushes its members (a first
   sync: nobody is in Salesforce yet) in a child process: seconds, Salesforce API calls, peak RSS.
4. Baseline in the same run: a naive client making one lookup and one create per record (what a
   record-at-a-time integration does), on ``--naive`` members, extrapolated to N.
5. ``--latency``: a django-q2 worker (``qcluster``) runs; one HubSpot edit reaches Salesforce
   (a) after a signed HubSpot webhook, (b) by the minute-by-minute polling alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROOT,
    Figure,
    emit,
    manage,
    max_rss_mib,
    sandbox_env,
    sandbox_served,
    setup_django,
    stop,
)


def email_known() -> dict:
    """Criteria of an inclusion list of every contact with an email."""
    from tests.lists.factories import filter_branch, property_filter

    return filter_branch([property_filter("email", "ALL_PROPERTY", "IS_KNOWN")])


def child_push(list_id: int) -> None:
    """In a child process: the push of a list resync, reporting its own peak memory."""
    setup_django(migrate=False, database_url=os.environ["DATABASE_URL"])
    from lists.models import ContactList
    from sync.services import list_resync, push_pending

    started = time.monotonic()
    run = list_resync(contact_list=ContactList.objects.get(pk=list_id), run_async=False)
    # The peak when half the members are pushed, against the whole push's: flat when the push
    # streams (no memory that grows with the number of contacts).
    half: list[float] = []
    pushing = threading.Event()
    pushing.set()

    def watch() -> None:
        from django.db import connection

        from sync.models import SyncRun

        while pushing.is_set() and not half:
            done = SyncRun.objects.filter(pk=run.pk).values_list("progress_done", flat=True).first() or 0
            if done * 2 >= run.progress_total:
                half.append(max_rss_mib())
            time.sleep(0.2)
        connection.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    run = push_pending(run=run)
    pushing.clear()
    watcher.join()
    print(
        "CHILD "
        + json.dumps(
            {
                "seconds": time.monotonic() - started,
                "rss_mib": max_rss_mib(),
                "rss_half_mib": half[0] if half else None,
                "calls": run.salesforce_api_calls,
                "created": run.created,
                "failed": run.failed,
                "skipped": run.skipped,
                "status": run.status,
            }
        )
    )


def naive_baseline(client, emails: list[str], payloads: list[dict]) -> tuple[float, int]:
    """One SOQL lookup and one create per record: (seconds, calls) for these records."""
    from simple_salesforce.exceptions import SalesforceError

    from integration.clients.salesforce import soql_quote

    before = int(client.api_calls)
    started = time.monotonic()
    for email, payload in zip(emails, payloads, strict=True):
        found = list(client.query(f"SELECT Id FROM Lead WHERE Email = {soql_quote(email)}"))
        if not found:
            # A refusal (the seeded oddities) spent its call all the same.
            with contextlib.suppress(SalesforceError):
                client.sf.Lead.create({**payload, "Email": email})
    return time.monotonic() - started, int(client.api_calls) - before


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000, help="contacts seeded (≈99%% have an email)")
    parser.add_argument("--naive", type=int, default=500, help="records pushed by the naive baseline")
    parser.add_argument("--latency", action="store_true", help="measure webhook and polling latency")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child-push", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_push:
        child_push(args.child_push)
        return []

    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    env = sandbox_env(tmp)
    os.environ.update(env)
    setup_django(tmp / "app.sqlite3")
    n = args.members
    print(f"Gated sync bench: {n:,} HubSpot contacts (data in {tmp})")
    manage("sandbox_seed", "--contacts", str(n), "--seed", "1", env=env)
    worker = None
    try:
        with sandbox_served(env):
            figures = run_scenario(args, env, n)
            if args.latency:
                worker = subprocess.Popen(
                    [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                figures += latency(env)
                stop(worker)
    finally:
        stop(worker)
        shutil.rmtree(tmp, ignore_errors=True)
    emit(figures, as_json=args.json)
    return figures


def sandbox_cpu_seconds(env: dict) -> float:
    """CPU time used so far by the emulators' process (``sandbox_serve``: Bulk jobs included)."""
    from integration.clients.salesforce import sandbox_certificate, sandbox_session

    session = sandbox_session(sandbox_certificate())
    status = session.get(env["SANDBOX_SALESFORCE_URL"] + "/_sandbox/status", timeout=30).json()
    return status["handler"]["process_cpu_seconds"]


def run_scenario(args, env: dict, n: int) -> list[Figure]:
    from integration.clients.salesforce import get_salesforce_client
    from integration.models import SyncSettings
    from integration.services import inclusion_list_set
    from lists.models import Contact
    from lists.services import list_create, list_refresh
    from sync.services import hubspot_pull

    started = time.monotonic()
    pulled = hubspot_pull()
    pull_seconds = time.monotonic() - started
    contact_list = list_create(name="Everyone with an email", processing_type="DYNAMIC", filter_branch=email_known())
    list_refresh(contact_list=contact_list)
    inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
    contact_list.refresh_from_db()
    members = contact_list.size

    emulator_cpu = sandbox_cpu_seconds(env)
    child = subprocess.run(
        [sys.executable, "bench/bench_sync.py", "--child-push", str(contact_list.pk)],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    push = json.loads(next(line for line in child.stdout.splitlines() if line.startswith("CHILD "))[6:])
    emulator_cpu = sandbox_cpu_seconds(env) - emulator_cpu

    sample = list(
        Contact.objects.exclude(email="")
        .exclude(lastname="")
        .order_by("pk")
        .values("email", "raw_properties")[: args.naive]
    )
    emails = [f"naive.{c['email']}" for c in sample]
    payloads = [
        {"LastName": c["raw_properties"].get("lastname") or "x", "Company": c["raw_properties"].get("company") or "x"}
        for c in sample
    ]
    naive_seconds, naive_calls = naive_baseline(get_salesforce_client(), emails, payloads)
    scale = members / max(1, len(sample))
    print(
        f"  pulled {pulled.pulled:,} contacts; {members:,} members; push: {push['created']:,} created, "
        f"{push['failed']:,} refused by Salesforce, {push['skipped']:,} skipped ({push['status']})"
    )
    return [
        Figure(f"HubSpot pull of {n:,} contacts: API calls", pulled.hubspot_api_calls, "calls", "≤ 1% of contacts"),
        Figure(f"HubSpot pull of {n:,} contacts: time", pull_seconds, "s"),
        Figure(
            f"push of {members:,} new members: Salesforce API calls",
            push["calls"],
            "calls",
            "≤ 60 for 10,000; ≤ 30 for 100,000 (Bulk)",
            naive_calls * scale,
            "naive, 2 calls/record",
        ),
        Figure(
            f"push of {members:,} new members: time",
            push["seconds"],
            "s",
            "",
            naive_seconds * scale,
            f"naive, extrapolated from {len(sample)}",
        ),
        Figure(
            f"push of {members:,} new members: the emulators' CPU, share of the push time",
            100 * emulator_cpu / push["seconds"],
            "%",
            "< 50 % (the emulators are not the bottleneck)",
        ),
        Figure(f"push of {members:,} new members: peak memory (child process)", push["rss_mib"], "MiB"),
        Figure(
            f"push of {members:,} new members: peak memory, whole push vs its first half",
            push["rss_mib"],
            "MiB",
            "flat (≈ 1×)",
            push["rss_half_mib"],
            "peak when half were pushed",
        ),
    ]


def latency(env: dict) -> list[Figure]:
    """Seconds from a HubSpot edit to the value in Salesforce, with a webhook and by polling."""
    import base64
    import hashlib
    import hmac

    from django.test import Client
    from hubspot import HubSpot

    from integration.clients.salesforce import get_salesforce_client
    from integration.models import HubSpotConnection
    from lists.models import Contact
    from sync.models import SyncRun

    # Let the worker start and finish its first scheduled cycle, so the webhook's cycle runs alone.
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        if SyncRun.objects.filter(trigger="schedule").exclude(finished_at=None).exists():
            break
        time.sleep(0.5)
    secret = "bench-webhook-secret"
    connection = HubSpotConnection.load()
    connection.client_secret = secret
    connection.save()
    hubspot = HubSpot(access_token="sandbox", host=env["SANDBOX_HUBSPOT_URL"]).crm.contacts.basic_api
    salesforce = get_salesforce_client()
    linked = list(Contact.objects.exclude(salesforce_id="").order_by("pk")[:2])
    results = []
    for contact, use_webhook in zip(linked, (True, False), strict=True):
        title = f"Title {time.time():.0f}"
        started = time.monotonic()
        hubspot.update(contact.hubspot_id, {"properties": {"jobtitle": title}})
        if use_webhook:
            body = json.dumps([{"subscriptionType": "contact.propertyChange", "objectId": int(contact.hubspot_id)}])
            stamp = str(int(time.time() * 1000))
            uri = "https://testserver/webhooks/hubspot/"  # DEBUG=false: HTTPS only
            digest = hmac.new(secret.encode(), ("POST" + uri + body + stamp).encode(), hashlib.sha256).digest()
            response = Client().post(
                "/webhooks/hubspot/",
                secure=True,
                data=body,
                content_type="application/json",
                HTTP_X_HUBSPOT_SIGNATURE_V3=base64.b64encode(digest).decode(),
                HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=stamp,
            )
            if response.status_code != 200:
                raise SystemExit(f"webhook refused: {response.status_code} {response.content[:200]!r}")
        deadline = started + 240
        while time.monotonic() < deadline:
            rows = list(
                salesforce.query(f"SELECT Title FROM {contact.salesforce_object} WHERE Id = '{contact.salesforce_id}'")
            )
            if rows and rows[0].get("Title") == title:
                break
            time.sleep(0.1)
        else:
            raise SystemExit("the edit never reached Salesforce")
        results.append(time.monotonic() - started)
    return [
        Figure("one HubSpot edit to Salesforce, webhook", results[0], "s", "≤ 5 s"),
        Figure("one HubSpot edit to Salesforce, polling alone", results[1], "s", "≤ polling interval + a cycle"),
    ]


if __name__ == "__main__":
    main()
