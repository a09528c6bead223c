"""Bench: incremental membership update of 100 changed contacts against 20 active lists.

    .venv/bin/python bench/bench_membership_update.py [--contacts 1000000] [--rounds 20] [--keep]

Fresh SQLite file database (see bench_list_refresh.py), N contacts, 20 COMPLETE active lists
(2-3 filters each, two built on other lists with IN_LIST), then for each round: 100 random
contacts get new property values (as a HubSpot pull would store them) and
``memberships_update_for_contacts`` runs for them. Target: <= 100 ms per batch.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_list_refresh import (  # noqa: E402
    COUNTRIES,
    CUTOFF,
    STAGES,
    create_schema,
    generate_contacts,
    random_properties,
    setup_django,
)


def definitions() -> list[dict]:
    from tests.lists.factories import filter_branch, property_filter

    def country(*values):
        return property_filter("country", "MULTISTRING", "IS_EQUAL_TO", values=list(values))

    def stage(*values):
        return property_filter("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=list(values))

    def over(n):
        return property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=n)

    out = []
    for i, c in enumerate(COUNTRIES):
        out.append(filter_branch([country(c), over(10 * (i + 1))]))
    for s in STAGES:
        out.append(
            filter_branch(
                [stage(s), property_filter("createdate", "DATETIME", "IS_AFTER", timestamp=CUTOFF)],
                [stage(s), property_filter("newsletter", "BOOL", "IS_EQUAL_TO", value=True), over(1000)],
            )
        )
    out.append(filter_branch([property_filter("jobtitle", "STRING", "CONTAINS", value="manager")]))
    out.append(
        filter_branch([property_filter("numemployees", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=100, upperBound=900)])
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print the figures for python -m bench")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench_membership_update_"))
    try:
        setup_django(workdir / "bench.sqlite3")
        from django.db import connection, transaction
        from django.utils import timezone

        from lists.models import Contact, ContactList
        from lists.normalize import with_folded
        from lists.services import list_create, list_refresh, memberships_update_for_contacts
        from tests.lists.factories import filter_branch, in_list_filter, property_filter

        create_schema()
        gen = generate_contacts(args.contacts, seed=args.seed)
        print(f"contacts: {args.contacts:,} generated in {gen:.1f} s")

        started = time.perf_counter()
        lists = [
            list_create(name=f"List {i + 1}", processing_type="DYNAMIC", filter_branch=d)
            for i, d in enumerate(definitions())
        ]
        # Two lists built on others, so the update follows dependencies.
        lists.append(
            list_create(
                name="Big French",
                processing_type="DYNAMIC",
                filter_branch=filter_branch(
                    [
                        in_list_filter(lists[0].pk),
                        property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=500),
                    ]
                ),
            )
        )
        lists.append(
            list_create(
                name="Not big French",
                processing_type="DYNAMIC",
                filter_branch=filter_branch([in_list_filter(lists[-1].pk, "NOT_IN_LIST"), in_list_filter(lists[1].pk)]),
            )
        )
        assert len(lists) == 20, len(lists)
        for cl in lists:
            list_refresh(contact_list=cl)
            if cl.processing_status != ContactList.ProcessingStatus.COMPLETE:
                print(f"list {cl.name} FAILED: {cl.error}")
                return 1
        print(f"20 active lists computed in {time.perf_counter() - started:.1f} s (sizes {[cl.size for cl in lists]})")

        rng = random.Random(args.seed + 1)
        lo, hi = Contact.objects.order_by("pk").values_list("pk", flat=True)[:1][0], Contact.objects.latest("pk").pk
        table = connection.ops.quote_name(Contact._meta.db_table)
        timings, joins, leaves = [], 0, 0
        for _round in range(args.rounds):
            ids = rng.sample(range(lo, hi + 1), args.batch)
            now = timezone.now()
            stamp = connection.ops.adapt_datetimefield_value(now)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET properties = %s, updated_at = %s WHERE id = %s",
                    [(json.dumps(with_folded(random_properties(rng, pk))), stamp, pk) for pk in ids],
                )
            t0 = time.perf_counter()
            delta = memberships_update_for_contacts(contact_ids=ids, now=now)
            timings.append((time.perf_counter() - t0) * 1000)
            joins += sum(len(v) for v in delta.joined.values())
            leaves += sum(len(v) for v in delta.left.values())

        # Spot check against a full refresh: the incremental result must be what a refresh finds.
        for cl in lists[:3] + lists[-2:]:
            before = set(cl.memberships.values_list("contact_id", flat=True))
            list_refresh(contact_list=cl)
            after = set(cl.memberships.values_list("contact_id", flat=True))
            if before != after:
                print(f"MISMATCH on {cl.name}: incremental and full refresh differ by {len(before ^ after)} contacts")
                return 1

        median, worst = statistics.median(timings), max(timings)
        print(
            f"memberships_update_for_contacts, {args.batch} changed contacts x 20 lists, {args.rounds} rounds: "
            f"median {median:.1f} ms, best {min(timings):.1f} ms, worst {worst:.1f} ms "
            f"({joins} joins, {leaves} leaves in all)"
        )
        print(f"target <= 100 ms: {'OK' if median <= 100 else 'OVER TARGET'} (median)")
        from bench.common import Figure, emit

        emit(
            [
                Figure(
                    f"incremental membership update, {args.batch} contacts × 20 lists ({args.contacts:,} contacts)",
                    median,
                    "ms",
                    "≤ 100 ms",
                )
            ],
            as_json=args.json,
        )
        return 0
    finally:
        if args.keep:
            print(f"database kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
