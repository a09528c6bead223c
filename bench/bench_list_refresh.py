"""Bench: full refresh of an active list with 4 filters over N contacts, on SQLite or PostgreSQL.

    .venv/bin/python bench/bench_list_refresh.py [--contacts 1000000] [--seed 1] [--keep]
    bash .ci/with-postgres .venv/bin/python bench/bench_list_refresh.py --contacts 1000000 --pg

Builds a fresh SQLite file database in a temporary directory (migrated, WAL as in
production), or uses DATABASE_URL with ``--pg``, fills ``lists_contact`` with ``executemany``,
then measures:

- the hand-written SQL query counting the same contacts (the floor: one pass over the table);
- the hand-written SQL doing a refresh's job from an empty list: ``INSERT ... SELECT`` of the
  members and of their join events, the list's size, in one committed transaction (the floor
  for a refresh: the same rows, indexes and foreign-key checks, none of the bookkeeping);
- ``list_refresh`` from an empty list (every member joins: membership and change rows written);
- ``list_refresh`` again with nothing changed (the daily refresh of a settled list);
- ``list_preview`` of the same criteria (total, first contacts, per-filter counts);

with the peak of Python allocations (tracemalloc) and the process's maximum RSS. Target: the
refresh within 2x the hand-written query; the ratio to the hand-written refresh is printed too.
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

COUNTRIES = ["France", "Germany", "Spain", "Italy", "United States", "Canada", "Brazil", "Japan", "India", "Belgium"]
STAGES = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
CITIES = ["Paris", "Lyon", "Berlin", "Madrid", "Rome", "Toronto", "Tokyo", "Mumbai", "Brussels", "Austin"]
TITLES = ["CEO", "CTO", "Engineer", "Marketing Manager", "Sales Rep", "Analyst"]
# 2020-01-01 .. 2026-01-01, epoch milliseconds.
CREATED_FROM, CREATED_TO = 1577836800000, 1767225600000
CUTOFF = 1672531200000  # 2023-01-01


def setup_django(db_path: Path, database_url: str | None = None) -> None:
    """Point Django at a fresh SQLite file (or ``database_url``) and migrate it (before anything
    imports models)."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # DEBUG would keep every query in memory (connection.queries) and skew time and memory.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_schema() -> None:
    from lists.models import ContactProperty

    T = ContactProperty.Type
    rows = [
        ("email", T.STRING, "text", []),
        ("firstname", T.STRING, "text", []),
        ("lastname", T.STRING, "text", []),
        ("country", T.STRING, "text", []),
        ("city", T.STRING, "text", []),
        ("jobtitle", T.STRING, "text", []),
        ("lifecyclestage", T.ENUMERATION, "radio", [{"label": s.title(), "value": s} for s in STAGES]),
        ("numemployees", T.NUMBER, "number", []),
        ("createdate", T.DATETIME, "date", []),
        ("newsletter", T.BOOL, "booleancheckbox", []),
    ]
    for name, kind, field_type, options in rows:
        ContactProperty.objects.update_or_create(
            name=name, defaults={"label": name.title(), "type": kind, "field_type": field_type, "options": options}
        )


def random_properties(rng: random.Random, n: int) -> dict:
    props = {
        "email": f"contact{n}@example.com",
        "firstname": f"First{n}",
        "lastname": f"Last{n}",
        "country": rng.choice(COUNTRIES),
        "city": rng.choice(CITIES),
        "jobtitle": rng.choice(TITLES),
        "lifecyclestage": rng.choice(STAGES),
        "numemployees": rng.randint(1, 5000),
        "createdate": rng.randint(CREATED_FROM, CREATED_TO),
        "newsletter": rng.random() < 0.4,
    }
    # Real data has holes: some contacts have no value for some properties.
    for name in ("country", "numemployees", "lifecyclestage"):
        if rng.random() < 0.08:
            del props[name]
    return props


def generate_contacts(count: int, *, seed: int = 1, batch: int = 20_000) -> float:
    """Insert ``count`` contacts with ``executemany``; returns the seconds it took."""
    from django.db import connection, transaction

    from lists.models import Contact
    from lists.normalize import public_properties, with_folded

    started = time.perf_counter()
    rng = random.Random(seed)
    # Last modified a day ago: a refresh's re-check of contacts touched while it runs sees none.
    touched = datetime(2026, 1, 1, tzinfo=UTC)
    stamp = connection.ops.adapt_datetimefield_value(touched)
    table = connection.ops.quote_name(Contact._meta.db_table)
    sql = (
        f"INSERT INTO {table} (hubspot_id, email, firstname, lastname, properties, raw_properties, "
        "hubspot_created_at, hubspot_updated_at, archived, salesforce_id, salesforce_object, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    with connection.cursor() as cursor:
        for start in range(0, count, batch):
            rows = []
            for n in range(start, min(count, start + batch)):
                props = random_properties(rng, n)
                stored = with_folded(props)
                raw = {
                    k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in public_properties(stored).items()
                }
                rows.append(
                    (
                        str(1_000_000 + n),
                        props["email"],
                        props["firstname"],
                        props["lastname"],
                        json.dumps(stored),
                        json.dumps(raw),
                        stamp,
                        stamp,
                        rng.random() < 0.01,
                        "",
                        "",
                        stamp,
                        stamp,
                    )
                )
            # One transaction per batch: in autocommit every row would be a commit of its own.
            with transaction.atomic():
                cursor.executemany(sql, rows)
    return time.perf_counter() - started


def bench_criteria() -> dict:
    from tests.lists.factories import filter_branch, property_filter

    return filter_branch(
        [
            property_filter("country", "MULTISTRING", "IS_EQUAL_TO", values=["France", "Germany", "Belgium"]),
            property_filter("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=STAGES[1:4]),
            property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=50),
            property_filter("createdate", "DATETIME", "IS_AFTER", timestamp=CUTOFF),
        ]
    )


# The criteria as a person would write them, per database.
CONDITIONS = """
NOT archived
  AND json_extract(properties, '$._folded.country') IN ('france', 'germany', 'belgium')
  AND json_extract(properties, '$._folded.lifecyclestage') IN ('lead', 'marketingqualifiedlead', 'salesqualifiedlead')
  AND json_extract(properties, '$.numemployees') > 50
  AND json_extract(properties, '$.createdate') > %s
"""
CONDITIONS_POSTGRES = """
NOT archived
  AND properties -> '_folded' ->> 'country' IN ('france', 'germany', 'belgium')
  AND properties -> '_folded' ->> 'lifecyclestage' IN ('lead', 'marketingqualifiedlead', 'salesqualifiedlead')
  AND (properties ->> 'numemployees')::numeric > 50
  AND (properties ->> 'createdate')::numeric > %s
"""
HAND_WRITTEN = f"SELECT COUNT(*) FROM lists_contact WHERE {CONDITIONS}"
HAND_WRITTEN_POSTGRES = f"SELECT COUNT(*) FROM lists_contact WHERE {CONDITIONS_POSTGRES}"


def conditions() -> str:
    from django.db import connection

    return CONDITIONS_POSTGRES if connection.vendor == "postgresql" else CONDITIONS


def hand_written_count() -> tuple[int, float]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM lists_contact WHERE {conditions()}", [CUTOFF])
        count = cursor.fetchone()[0]
    return count, time.perf_counter() - started


def hand_written_refresh(list_id: int) -> tuple[int, float]:
    """The job of a refresh from an empty list, by hand: members and their join events written
    set-based in one committed transaction (foreign keys checked at commit, as for the
    refresh), the list's size set. Returns (members, seconds); the rows are deleted after."""
    from django.db import connection, transaction

    now = connection.ops.adapt_datetimefield_value(datetime.now(UTC))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO lists_listmembership (contact_list_id, contact_id, added_at) "
            f"SELECT %s, id, %s FROM lists_contact WHERE {conditions()}",
            [list_id, now, CUTOFF],
        )
        members = cursor.rowcount
        cursor.execute(
            "INSERT INTO lists_membershipchange (contact_list_id, contact_id, kind, at, list_version) "
            "SELECT contact_list_id, contact_id, 'joined', added_at, 1 FROM lists_listmembership "
            "WHERE contact_list_id = %s",
            [list_id],
        )
        cursor.execute("UPDATE lists_contactlist SET size = %s WHERE id = %s", [members, list_id])
    seconds = time.perf_counter() - started
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM lists_membershipchange WHERE contact_list_id = %s", [list_id])
        cursor.execute("DELETE FROM lists_listmembership WHERE contact_list_id = %s", [list_id])
        cursor.execute("UPDATE lists_contactlist SET size = 0 WHERE id = %s", [list_id])
    if connection.vendor == "postgresql":
        # Leave the refresh measured next no dead rows to step over.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM lists_listmembership, lists_membershipchange")
    return members, seconds


def measured(fn):
    """Run ``fn``; return (result, seconds, peak Python allocation in MiB)."""
    tracemalloc.start()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database file")
    parser.add_argument("--json", action="store_true", help="also print the figures for python -m bench")
    parser.add_argument("--pg", action="store_true", help="run on DATABASE_URL (PostgreSQL) instead of a SQLite file")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench_list_refresh_"))
    try:
        setup_django(workdir / "bench.sqlite3", os.environ["DATABASE_URL"] if args.pg else None)
        from lists.models import ContactList
        from lists.selectors import list_preview
        from lists.services import list_create, list_refresh

        create_schema()
        gen = generate_contacts(args.contacts, seed=args.seed)
        print(f"contacts: {args.contacts:,} generated in {gen:.1f} s")

        hand_runs = [hand_written_count() for _ in range(3)]  # warms the page cache too
        expected = hand_runs[0][0]
        hand = statistics.median(s for _c, s in hand_runs)
        print(f"hand-written SQL query: {expected:,} contacts in {hand:.3f} s (median of 3)")

        from django.utils import timezone

        from lists.criteria import to_q
        from lists.models import Contact
        from lists.selectors import criteria_check

        engine_qs = Contact.objects.filter(archived=False).filter(
            to_q(criteria_check(filter_branch=bench_criteria()), now=timezone.now())
        )
        started = time.perf_counter()
        engine_count = engine_qs.count()
        engine = time.perf_counter() - started
        print(
            f"the criteria engine's query alone (COUNT): {engine_count:,} contacts in {engine:.3f} s ({engine / hand:.2f}x)"
        )

        contact_list = list_create(name="Bench", processing_type="DYNAMIC", filter_branch=bench_criteria())
        refresh_runs = [hand_written_refresh(contact_list.pk) for _ in range(3)]
        if any(members != expected for members, _s in refresh_runs):
            print(f"MISMATCH: the hand-written refresh wrote {refresh_runs} members, the query counts {expected:,}")
            return 1
        hand_refresh = statistics.median(s for _m, s in refresh_runs)
        print(
            f"hand-written SQL refresh (INSERT ... SELECT of members and join events, committed): "
            f"{expected:,} members in {hand_refresh:.3f} s (median of 3)"
        )
        marks: list[float] = []

        def progress(percent: int) -> None:
            if percent == 99 and not marks:  # the last chunk evaluated; 100 comes once published
                marks.append(time.perf_counter())

        started = time.perf_counter()
        _r, first, first_peak = measured(lambda: list_refresh(contact_list=contact_list, progress=progress))
        if marks:
            evaluate = marks[0] - started
            print(
                f"  of which evaluating the criteria into the temporary table: {evaluate:.3f} s, publishing: {first - evaluate:.3f} s"
            )
        if contact_list.processing_status != ContactList.ProcessingStatus.COMPLETE:
            print(f"refresh FAILED: {contact_list.error}")
            return 1
        if contact_list.size != expected:
            print(f"MISMATCH: list has {contact_list.size:,} members, the hand-written query {expected:,}")
            return 1
        print(
            f"full refresh, empty list -> {contact_list.size:,} members: {first:.3f} s "
            f"({first / hand:.2f}x the hand-written query, {first / hand_refresh:.2f}x the hand-written refresh), "
            f"peak Python memory {first_peak:.1f} MiB"
        )
        _r, again, again_peak = measured(lambda: list_refresh(contact_list=contact_list))
        print(
            f"full refresh, nothing changed: {again:.3f} s ({again / hand:.2f}x), peak Python memory {again_peak:.1f} MiB"
        )
        preview, seconds, peak = measured(lambda: list_preview(filter_branch=bench_criteria()))
        counts = ", ".join(f"{c.count:,}" for c in preview.filter_counts)
        print(
            f"list_preview{' (estimated)' if preview.estimated else ''}: total {preview.total:,}, per-filter [{counts}], {len(preview.contacts)} first contacts: "
            f"{seconds:.3f} s, peak Python memory {peak:.1f} MiB"
        )
        exact, seconds, peak = measured(lambda: list_preview(filter_branch=bench_criteria(), exact=True))
        counts = ", ".join(f"{c.count:,}" for c in exact.filter_counts)
        print(
            f"list_preview(exact=True): total {exact.total:,}, per-filter [{counts}]: {seconds:.3f} s, "
            f"peak Python memory {peak:.1f} MiB"
        )
        print(f"max RSS of the process: {max_rss_mib():.0f} MiB")
        from bench.common import Figure, emit

        vendor = "PostgreSQL" if args.pg else "SQLite"
        emit(
            [
                Figure(
                    f"list refresh, 4 filters, {args.contacts:,} contacts ({vendor})",
                    first,
                    "s",
                    "≤ 2× hand-written SQL",
                    hand,
                    "hand-written SQL",
                ),
                Figure(
                    f"list refresh, 4 filters, {args.contacts:,} contacts, vs the same writes by hand ({vendor})",
                    first,
                    "s",
                    "",
                    hand_refresh,
                    "hand-written SQL refresh",
                ),
                Figure(f"list refresh, nothing changed ({vendor})", again, "s", "", hand, "hand-written SQL"),
                Figure(f"list refresh: peak memory ({vendor})", max_rss_mib(), "MiB"),
            ],
            as_json=args.json,
        )
        verdict = "OK" if first <= 2 * hand else "OVER TARGET"
        print(
            f"target refresh <= 2x hand-written: {verdict} ({first / hand:.2f}x the query, "
            f"{first / hand_refresh:.2f}x the hand-written refresh)"
        )
        return 0
    finally:
        if args.keep:
            print(f"database kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
