"""Bench: the SQL that ``lists.criteria.to_q`` compiles vs hand-written SQL, on SQLite.

    .venv/bin/python bench/bench_criteria_sql.py [--contacts 1000000] [--seed 1] [--repeat 3]

Builds a fresh SQLite file (migrated, WAL as in production) in a temporary directory, fills
``lists_contact`` with ``executemany`` (properties normalised by ``lists.normalize``), then, for
several criteria of 3-4 filters, times selecting the ids of the matching contacts:

- with the hand-written query a developer would write over the same table (the floor);
- with ``Contact.objects.filter(to_q(...))`` of the criteria parsed and annotated, as
  ``check_filter_branch`` returns them to ``list_refresh``;

checks both return the same ids, and prints the ratio (target: <= 2x) and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COUNTRIES = [
    "France",
    "Germany",
    "Spain",
    "Italy",
    "United States",
    "Canada",
    "Brazil",
    "Japan",
    "Belgium",
    "Côte d'Ivoire",
]
STAGES = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
INTERESTS = ["crm", "sales", "marketing", "ops", "finance", "hr"]
TITLES = ["CEO", "CTO", "Engineer", "Marketing Manager", "Sales Rep", "Analyst"]
CREATED_FROM, CREATED_TO = 1577836800000, 1767225600000  # 2020-01-01 .. 2026-01-01
CUTOFF = 1672531200000  # 2023-01-01
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def setup_django(db_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def schema():
    from lists.normalize import PropertySpec

    return {
        "email": PropertySpec("email", "string"),
        "firstname": PropertySpec("firstname", "string"),
        "lastname": PropertySpec("lastname", "string"),
        "country": PropertySpec("country", "string"),
        "jobtitle": PropertySpec("jobtitle", "string"),
        "lifecyclestage": PropertySpec("lifecyclestage", "enumeration", "radio", tuple(STAGES)),
        "interests": PropertySpec("interests", "enumeration", "checkbox", tuple(INTERESTS)),
        "numemployees": PropertySpec("numemployees", "number"),
        "createdate": PropertySpec("createdate", "datetime"),
        "newsletter": PropertySpec("newsletter", "bool"),
    }


def raw_properties(rng: random.Random, n: int) -> dict[str, str]:
    raw = {
        "email": f"contact{n}@example.com",
        "firstname": f"First{n}",
        "lastname": f"Last{n}",
        "country": rng.choice(COUNTRIES),
        "jobtitle": rng.choice(TITLES),
        "lifecyclestage": rng.choice(STAGES),
        "interests": ";".join(rng.sample(INTERESTS, rng.randint(0, 3))),
        "numemployees": str(rng.randint(1, 5000)),
        "createdate": str(rng.randint(CREATED_FROM, CREATED_TO)),
        "newsletter": rng.choice(["true", "false"]),
    }
    for name in ("country", "numemployees", "lifecyclestage"):
        if rng.random() < 0.08:
            raw[name] = ""
    return raw


def generate(count: int, seed: int, batch: int = 20_000) -> float:
    from django.db import connection

    from lists.normalize import normalize_properties

    started = time.perf_counter()
    rng = random.Random(seed)
    specs = schema()
    stamp = connection.ops.adapt_datetimefield_value(NOW)
    sql = (
        "INSERT INTO lists_contact (hubspot_id, email, firstname, lastname, properties, raw_properties, "
        "hubspot_created_at, hubspot_updated_at, archived, salesforce_id, salesforce_object, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    with connection.cursor() as cursor:
        for start in range(0, count, batch):
            rows = []
            for n in range(start, min(count, start + batch)):
                raw = raw_properties(rng, n)
                props = normalize_properties(raw, specs)
                rows.append(
                    (str(n), raw["email"], raw["firstname"], raw["lastname"], json.dumps(props), json.dumps(raw))
                    + (stamp, stamp, False, "", "", stamp, stamp)
                )
            cursor.executemany(sql, rows)
    return time.perf_counter() - started


def pf(prop: str, kind: str, operator: str, **operation) -> dict:
    return {
        "filterType": "PROPERTY",
        "property": prop,
        "operation": {"operationType": kind, "operator": operator, **operation},
    }


def root(*groups) -> dict:
    return {
        "filterBranchType": "OR",
        "filters": [],
        "filterBranches": [{"filterBranchType": "AND", "filters": list(g), "filterBranches": []} for g in groups],
    }


# (name, criteria, hand-written WHERE clause, its parameters)
CASES = [
    (
        "4 filters: country any of 3, stage any of 3, employees > 50, created after 2023",
        root(
            [
                pf("country", "MULTISTRING", "IS_EQUAL_TO", values=["France", "Germany", "Belgium"]),
                pf("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=STAGES[1:4]),
                pf("numemployees", "NUMBER", "IS_GREATER_THAN", value=50),
                pf("createdate", "DATETIME", "IS_AFTER", timestamp=CUTOFF),
            ]
        ),
        "json_extract(properties, '$._folded.country') IN ('france', 'germany', 'belgium')"
        " AND json_extract(properties, '$._folded.lifecyclestage') IN ('lead', 'marketingqualifiedlead', 'salesqualifiedlead')"
        " AND json_extract(properties, '$.numemployees') > 50"
        " AND json_extract(properties, '$.createdate') > %s",
        [CUTOFF],
    ),
    (
        "3 filters: title contains 'manager', newsletter = yes, created < 365 days ago",
        root(
            [
                pf("jobtitle", "STRING", "CONTAINS", value="Manager"),
                pf("newsletter", "BOOL", "IS_EQUAL_TO", value=True),
                pf("createdate", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=365),
            ]
        ),
        "instr(json_extract(properties, '$._folded.jobtitle'), 'manager') > 0"
        " AND json_extract(properties, '$.newsletter') = 1"
        " AND json_extract(properties, '$.createdate') > %s AND json_extract(properties, '$.createdate') <= %s",
        [int(NOW.timestamp() * 1000) - 365 * 86_400_000, int(NOW.timestamp() * 1000)],
    ),
    (
        "2 groups: (interests any of crm, ops AND employees between 10 and 500) OR stage = customer",
        root(
            [
                pf("interests", "ENUMERATION", "IS_ANY_OF", values=["crm", "ops"]),
                pf("numemployees", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=10, upperBound=500),
            ],
            [pf("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["customer"])],
        ),
        "((instr(json_extract(properties, '$._folded.interests'), ';crm;') > 0"
        "   OR instr(json_extract(properties, '$._folded.interests'), ';ops;') > 0)"
        "  AND json_extract(properties, '$.numemployees') BETWEEN 10 AND 500)"
        " OR json_extract(properties, '$._folded.lifecyclestage') = 'customer'",
        [],
    ),
]


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-criteria-"))
    try:
        setup_django(workdir / "bench.sqlite3")
        from django.db import connection

        from lists.criteria import annotate, parse, to_q
        from lists.models import Contact

        specs = schema()
        seconds = generate(args.contacts, args.seed)
        print(f"{args.contacts:,} contacts generated in {seconds:.1f} s")
        worst = 0.0
        for name, criteria, where, params in CASES:

            def hand(where=where, params=params):
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT id FROM lists_contact WHERE {where}", params)
                    return {row[0] for row in cursor.fetchall()}

            def compiled(criteria=criteria):
                # As list_refresh gets it from check_filter_branch: parsed, then annotated.
                q = to_q(annotate(parse(criteria), specs), now=NOW)
                return set(Contact.objects.filter(q).order_by().values_list("id", flat=True))

            hand(), compiled()  # warm the page cache for both
            # Interleaved, so that a busy machine slows both alike; medians.
            hand_times, ours_times = [], []
            for _ in range(args.repeat):
                expected, seconds = timed(hand, 1)
                hand_times.append(seconds)
                got, seconds = timed(compiled, 1)
                ours_times.append(seconds)
            tracemalloc.start()  # a separate run: tracing slows allocations down
            compiled()
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            hand_s, ours_s = statistics.median(hand_times), statistics.median(ours_times)
            if got != expected:
                print(f"MISMATCH in {name}: {len(got)} vs {len(expected)}")
                return 1
            ratio = ours_s / hand_s
            worst = max(worst, ratio)
            print(
                f"{name}\n  {len(got):,} matches; hand-written {hand_s:.3f} s, to_q {ours_s:.3f} s, "
                f"ratio {ratio:.2f}x, peak Python allocations {peak / 2**20:.1f} MiB"
            )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"worst ratio {worst:.2f}x (target <= 2x); max RSS {rss:.0f} MiB")
        return 0 if worst <= 2 else 2
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
