"""Bench: the field-level merge at scale, edits on both sides, against both emulators in their own process.

    .venv/bin/python bench/bench_field_rules.py [--members 10000] [--edited 0.1] [--json]

1. ``sandbox_seed`` writes N contacts into the HubSpot emulator; ``sandbox_serve`` serves both
   emulators; the app's database is a fresh SQLite file. Everyone with an email is a member, and a
   first sync puts them in Salesforce (not measured: ``bench_sync`` measures it).
2. A share of the members (``--edited``, 10 % by default) is edited on both sides, as people do:
   the phone in HubSpot, the title in Salesforce, and for one in five of them the title in both
   (a conflict; Salesforce's edit comes last, so it wins).
3. One sync cycle: seconds, Salesforce and HubSpot API calls, and their ratio to the edited
   contacts (the merge must not cost a call per record), then a check that every edit landed.
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

from bench.bench_sync import email_known  # noqa: E402
from bench.common import Figure, emit, manage, sandbox_env, sandbox_served, setup_django  # noqa: E402

BATCH = 100


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000, help="contacts seeded (≈99%% have an email)")
    parser.add_argument("--edited", type=float, default=0.1, help="share of the members edited on both sides")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-rules-"))
    env = sandbox_env(tmp)
    os.environ.update(env)
    setup_django(tmp / "app.sqlite3")
    print(f"Field rules bench: {args.members:,} HubSpot contacts, {args.edited:.0%} edited on both sides")
    manage("sandbox_seed", "--contacts", str(args.members), "--seed", "1", env=env)
    try:
        with sandbox_served(env):
            figures = scenario(args, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    emit(figures, as_json=args.json)
    return figures


def scenario(args, env: dict) -> list[Figure]:
    import requests

    from integration.clients.salesforce import get_salesforce_client
    from integration.models import SyncSettings
    from integration.services import inclusion_list_set
    from lists.models import Contact
    from lists.services import list_create, list_refresh
    from sync.models import SyncRun
    from sync.services import hubspot_pull, list_resync, push_pending, sync_cycle

    hubspot_pull()
    everyone = list_create(name="Everyone with an email", processing_type="DYNAMIC", filter_branch=email_known())
    list_refresh(contact_list=everyone)
    inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=everyone)
    push_pending(run=list_resync(contact_list=everyone, run_async=False))
    sync_cycle(trigger=SyncRun.Trigger.COMMAND)  # settles what the first sync left (pull-back, echoes)

    linked = list(
        Contact.objects.exclude(salesforce_id="")
        .filter(salesforce_object="Lead")
        .order_by("pk")
        .values_list("hubspot_id", "salesforce_id")
    )
    edited = linked[:: max(1, round(1 / args.edited))]
    both = set(edited[::5])
    hubspot = requests.Session()
    hubspot.headers["Authorization"] = "Bearer sandbox"
    salesforce = get_salesforce_client()

    def hubspot_edits(rows: list[dict]) -> None:
        for start in range(0, len(rows), BATCH):
            response = hubspot.post(
                env["SANDBOX_HUBSPOT_URL"] + "/crm/v3/objects/contacts/batch/update",
                json={"inputs": rows[start : start + BATCH]},
                timeout=60,
            )
            response.raise_for_status()

    hubspot_edits([{"id": h, "properties": {"phone": f"+1 555 {i:05d}"}} for i, (h, _s) in enumerate(edited)])
    hubspot_edits([{"id": h, "properties": {"jobtitle": "Edited in HubSpot"}} for h, _s in both])
    time.sleep(0.01)  # Salesforce's edits come later: they win the conflicts
    titles = [{"Id": s, "Title": f"Title {i}"} for i, (_h, s) in enumerate(edited)]
    for start in range(0, len(titles), 200):
        salesforce.collections_update("Lead", titles[start : start + 200])

    started = time.monotonic()
    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    seconds = time.monotonic() - started

    lost = check(env, edited, salesforce)
    n = len(edited)
    print(
        f"  {n:,} contacts edited on both sides ({len(both):,} of them the same field); cycle: "
        f"{run.updated:,} updated in Salesforce, {run.updated_in_hubspot:,} in HubSpot, {run.conflicts:,} "
        f"conflicts, {run.failed:,} failed; {lost} edits lost"
    )
    if lost:
        raise SystemExit(f"{lost} edits did not land on the other side")
    return [
        Figure(f"merge cycle, {n:,} members edited on both sides: time", seconds, "s"),
        Figure(
            f"merge cycle, {n:,} members edited on both sides: Salesforce API calls",
            run.salesforce_api_calls,
            "calls",
            "well under 1 a record",
            n,
            "1 call per edited record",
        ),
        Figure(
            f"merge cycle, {n:,} members edited on both sides: HubSpot API calls",
            run.hubspot_api_calls,
            "calls",
            "well under 1 a record",
            n,
            "1 call per edited record",
        ),
        Figure(f"merge cycle, {n:,} members edited on both sides: conflicts logged", run.conflicts, "records"),
    ]


def check(env: dict, edited: list[tuple[str, str]], salesforce) -> int:
    """Edits that did not reach the other side: a HubSpot phone not in Salesforce, a Salesforce
    title not in HubSpot."""
    import requests

    phones: dict[str, str] = {}
    for start in range(0, len(edited), 500):
        ids = ", ".join(f"'{s}'" for _h, s in edited[start : start + 500])
        for row in salesforce.query(f"SELECT Id, Phone, Title FROM Lead WHERE Id IN ({ids})"):
            phones[row["Id"][:15]] = (row.get("Phone") or "", row.get("Title") or "")
    lost = 0
    titles = {}
    for start in range(0, len(edited), BATCH):
        response = requests.post(
            env["SANDBOX_HUBSPOT_URL"] + "/crm/v3/objects/contacts/batch/read",
            headers={"Authorization": "Bearer sandbox"},
            json={"inputs": [{"id": h} for h, _s in edited[start : start + BATCH]], "properties": ["jobtitle"]},
            timeout=60,
        )
        titles.update({r["id"]: r["properties"].get("jobtitle") for r in response.json()["results"]})
    for i, (h, s) in enumerate(edited):
        phone, title = phones.get(s[:15], ("", ""))
        lost += phone != f"+1 555 {i:05d}"
        lost += titles.get(h) != f"Title {i}" or title != f"Title {i}"
    return lost


if __name__ == "__main__":
    main()
