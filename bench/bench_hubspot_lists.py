"""Bench: mirroring HubSpot's lists (``hubspot_lists_pull``) against the HubSpot emulator served in
its own process with a Professional account's rate limits ON (190 calls per 10 s).

    .venv/bin/python bench/bench_hubspot_lists.py [--lists 500] [--memberships 1000000] [--json]

1. The emulator holds C contacts and L static lists whose memberships add up to M (inserted into
   its store directly, not measured); the app holds the same contacts (inserted, not pulled).
2. First pull: every list is new (one search call per 500 lists, one read per list, the members
   250 a call). Reported: calls, seconds, the 429s HubSpot answered, and the ratio of the time
   to the least the limits allow (calls ÷ 19 per second).
3. Second pull, nothing changed: one search call.
4. A tenth of the lists change (members added and removed): only those are read again.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, emit, paced_as_in_production, sandbox_env, sandbox_served, setup_django  # noqa: E402

CALLS_PER_SECOND = 19.0  # 190 per 10 seconds: HubSpot's burst limit for a Professional private app


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lists", type=int, default=500)
    parser.add_argument("--memberships", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-lists-"))
    # The emulator's limits are on: the client paces itself as in production.
    env = paced_as_in_production(sandbox_env(tmp))
    os.environ.update(env)
    setup_django(tmp / "app.sqlite3")
    print(f"HubSpot lists bench: {args.lists:,} lists, {args.memberships:,} memberships, {args.contacts:,} contacts")
    try:
        seed(args, Path(env["DATA_DIR"]) / "sandbox" / "hubspot.sqlite3")
        with sandbox_served(env, limits=()):
            figures = scenario(args, Path(env["DATA_DIR"]) / "sandbox" / "hubspot.sqlite3")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    emit(figures, as_json=args.json)
    return figures


def seed(args, path: Path) -> None:
    from lists.models import Contact
    from sandbox.hubspot import HubSpotStore
    from sandbox.hubspot.lists.store import HubSpotLists

    path.parent.mkdir(parents=True, exist_ok=True)
    store = HubSpotStore(path)
    try:
        stamp = 1_700_000_000_000
        store.bulk_insert(({"email": f"c{i}@lists.example"}, stamp, stamp) for i in range(1, args.contacts + 1))
        lists = HubSpotLists(store)
        rng = random.Random(7)
        per_list = args.memberships // args.lists
        for n in range(args.lists):
            row = lists.create(name=f"Segment {n}", processing_type="MANUAL")
            lists.change(row["id"], add=rng.sample(range(1, args.contacts + 1), per_list))
    finally:
        store.close()
    Contact.objects.bulk_create(
        (Contact(hubspot_id=str(i), email=f"c{i}@lists.example") for i in range(1, args.contacts + 1)),
        batch_size=5000,
    )


def _pull() -> tuple[float, object, object]:
    from sync.services.hubspot_lists import hubspot_lists_pull

    started = time.monotonic()
    run, result = hubspot_lists_pull()
    return time.monotonic() - started, run, result


def scenario(args, path: Path) -> list[Figure]:
    from integration.clients.hubspot import retry as hubspot_retry
    from lists.models import ContactList, ListMembership
    from sandbox.hubspot import HubSpotStore
    from sandbox.hubspot.lists.store import HubSpotLists

    refused = {"429": 0}
    original = hubspot_retry.CountingRetry.increment

    def counting(self, *a, **kw):
        response = kw.get("response")
        if response is not None and getattr(response, "status", 0) == 429:
            refused["429"] += 1
        return original(self, *a, **kw)

    hubspot_retry.CountingRetry.increment = counting

    seconds, run, result = _pull()
    mirrored = ListMembership.objects.count()
    minimum = run.hubspot_api_calls / CALLS_PER_SECOND
    print(
        f"  first pull: {result.seen:,} lists, {mirrored:,} memberships in {seconds:.1f} s; "
        f"{run.hubspot_api_calls:,} calls ({refused['429']} answered 429); least the limits allow {minimum:.1f} s"
    )
    if mirrored != args.memberships // args.lists * args.lists or ContactList.objects.count() != args.lists:
        raise SystemExit("the lists were not all mirrored")
    fewest = (
        math.ceil(args.lists / 500)
        + args.lists
        + sum(max(1, math.ceil(args.memberships // args.lists / 250)) for _ in range(args.lists))
    )

    again_seconds, again, _result = _pull()
    print(f"  nothing changed: {again.hubspot_api_calls} call(s) in {again_seconds:.2f} s")

    store = HubSpotStore(path)
    try:
        lists = HubSpotLists(store)
        changed = max(1, args.lists // 10)
        for list_id in range(1, changed + 1):
            members = lists.members(list_id)
            lists.change(list_id, add=[m % args.contacts + 1 for m in members[:5]], remove=members[-5:])
    finally:
        store.close()
    changed_seconds, changed_run, changed_result = _pull()
    print(
        f"  {changed} list(s) changed: {changed_result.memberships_read} read again, "
        f"{changed_run.hubspot_api_calls} calls in {changed_seconds:.1f} s"
    )
    return [
        Figure(
            f"HubSpot lists pull, {args.lists:,} lists / {args.memberships:,} memberships, limits on: time vs least allowed",
            seconds,
            "s",
            baseline=minimum,
        ),
        Figure(
            "HubSpot lists pull: calls vs fewest the page sizes allow", run.hubspot_api_calls, "calls", baseline=fewest
        ),
        Figure("HubSpot lists pull: 429 answers", refused["429"], "answers"),
        Figure("HubSpot lists pull, nothing changed: calls", again.hubspot_api_calls, "calls", baseline=1),
        Figure(
            f"HubSpot lists pull, {changed} list(s) changed: calls",
            changed_run.hubspot_api_calls,
            "calls",
            baseline=1 + changed * max(1, math.ceil(args.memberships // args.lists / 250)),
        ),
    ]


if __name__ == "__main__":
    main()
