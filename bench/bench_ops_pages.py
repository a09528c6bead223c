"""Bench: the ops pages over a big sync log, on SQLite.

    .venv/bin/python bench/bench_ops_pages.py [--records 1000000] [--contacts 50000] [--seed 1] [--repeat 3]

Builds a fresh SQLite file (migrated, WAL as in production) in a temporary directory and fills
``sync_syncrecord`` with ``executemany``: records spread over 7 days, about 5 % failed (some
contacts keep failing, others recover), runs every few minutes. Then, through Django's test
client (the whole request: middleware, admin, templates), it times:

- the sync log (``SyncRecord`` changelist): first page, a category filter, "current errors",
  a search by email, page 50;
- the health page;

(target: each under 0.5 s), prints the queries each page made, and streams the CSV export of
every record (``sync.admin.export_rows``, as the export view does) while tracing Python's peak
memory (target: flat, whatever the row count), then the export view itself (the errors).
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.5
CATEGORIES = [
    ("required_field", "REQUIRED_FIELD_MISSING", "Required fields are missing: [Company]"),
    ("invalid_value", "INVALID_EMAIL_ADDRESS", "Email: invalid email address"),
    ("picklist", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Country: bad value for restricted picklist"),
    ("duplicate", "DUPLICATES_DETECTED", "Use one of these records?"),
    ("permission", "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"),
    ("validation_rule", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Phone must have 10 digits"),
    ("api_limit", "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    ("connection", "SERVER_UNAVAILABLE", "Service unavailable"),
    ("other", "UNKNOWN_EXCEPTION", "An unexpected error occurred."),
]


def setup_django(db_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _ts(moment: datetime) -> str:
    # Django's SQLite format for aware datetimes stored in UTC.
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_sql(model, columns: list[str]) -> tuple[str, tuple]:
    """An INSERT for ``columns`` of ``model``'s table, and the values of every other column
    (their defaults), so the bench keeps working when the engine adds a field."""
    from django.db import connection

    provided = set(columns)
    extra = [f for f in model._meta.concrete_fields if f.column not in provided and not f.primary_key]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in extra)
    names = [*columns, *(f.column for f in extra)]
    quoted = ", ".join(connection.ops.quote_name(n) for n in names)
    return f"INSERT INTO {model._meta.db_table} ({quoted}) VALUES ({', '.join(['%s'] * len(names))})", defaults


def fill(*, records: int, contacts: int, seed: int, now: datetime) -> dict[str, int]:
    """Insert contacts, runs and records with executemany; returns what was made."""
    from django.db import connection, transaction

    from lists.models import Contact
    from sync.models import SyncRecord, SyncRun

    rng = random.Random(seed)
    start = now - timedelta(days=7)
    span = (now - start).total_seconds()
    contacts = max(1, min(contacts, records))
    per_run = max(1, records // 2000)
    runs = (records + per_run - 1) // per_run
    # 3 % of contacts keep failing (bad data), the others fail now and then and recover.
    broken = {c: CATEGORIES[c % len(CATEGORIES)] for c in rng.sample(range(contacts), max(1, contacts * 3 // 100))}
    with transaction.atomic(), connection.cursor() as cur:
        sql, rest = insert_sql(
            Contact, ["id", "hubspot_id", "email", "firstname", "lastname", "created_at", "updated_at"]
        )
        cur.executemany(
            sql,
            [
                (c + 1, str(100000 + c), f"person{c}@example.com", "Person", f"N{c}", _ts(start), _ts(start), *rest)
                for c in range(contacts)
            ],
        )
        run_rows = []
        for r in range(runs):
            begun = start + timedelta(seconds=span * r / runs)
            run_rows.append((r + 1, "schedule", "succeeded", "", _ts(begun), _ts(begun + timedelta(seconds=20))))
        sql, rest = insert_sql(SyncRun, ["id", "trigger", "status", "phase", "started_at", "finished_at"])
        cur.executemany(sql, [(*row, *rest) for row in run_rows])
        # Building the log's indexes once after the load is much faster than updating them per row.
        cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sync_syncrecord' AND sql IS NOT NULL"
        )
        indexes = cur.fetchall()
        for name, _sql in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        counters = [[0, 0, 0, 0, 0] for _ in range(runs)]  # created, updated, unchanged, skipped, failed
        batch = []
        failed = 0
        sql, rest = insert_sql(
            SyncRecord,
            [
                "run_id", "contact_id", "hubspot_id", "email", "name", "action", "skip_reason", "salesforce_id",
                "error_code", "category", "message", "fields", "payload_before", "payload_after", "reasons",
                "created_at", "direction", "salesforce_object", "attempt", "ignored",
            ],
        )  # fmt: skip
        constant = ("to_salesforce", "Lead", 1, False, *rest)
        for i in range(records):
            run = i // per_run
            c = rng.randrange(contacts)
            at = start + timedelta(seconds=span * i / records)
            roll = rng.random()
            sf_id = f"00Q{c:015d}"
            before = after = "null"
            code = category = message = skip = ""
            fields = "[]"
            if c in broken or roll < 0.02:
                action = "failed"
                category, code, message = broken.get(c) or CATEGORIES[rng.randrange(len(CATEGORIES))]
                fields = json.dumps(["Company"]) if category == "required_field" else "[]"
                sf_id = ""
                counters[run][4] += 1
                failed += 1
            elif roll < 0.09:
                action, skip, sf_id = "skipped", "not_member", ""
                counters[run][3] += 1
            elif roll < 0.20:
                action = "created"
                after = json.dumps({"Email": f"person{c}@example.com", "LastName": f"N{c}", "Company": "Acme"})
                counters[run][0] += 1
            elif roll < 0.50:
                action = "updated"
                before = json.dumps({"Phone": "555-0100"})
                after = json.dumps({"Phone": f"555-{rng.randrange(10000):04d}"})
                counters[run][1] += 1
            else:
                action = "unchanged"
                counters[run][2] += 1
            batch.append(
                (
                    run + 1,
                    c + 1,
                    str(100000 + c),
                    f"person{c}@example.com",
                    f"Person N{c}",
                    action,
                    skip,
                    sf_id,
                    code,
                    category,
                    message,
                    fields,
                    before,
                    after,
                    '["property_changed"]',
                    _ts(at),
                    *constant,
                )
            )
            if len(batch) >= 20000:
                cur.executemany(sql, batch)
                batch = []
        if batch:
            cur.executemany(sql, batch)
        for _name, index_sql in indexes:
            cur.execute(index_sql)
        cur.executemany(
            "UPDATE sync_syncrun SET created=%s, updated=%s, unchanged=%s, skipped=%s, failed=%s, considered=%s, "
            "progress_done=%s, progress_total=%s, salesforce_api_calls=%s, hubspot_api_calls=%s WHERE id=%s",
            [
                (cr, up, un, sk, fa, sum(x), sum(x), sum(x), 1 + (cr + up + fa) // 200 + 1, 2, r + 1)
                for r, x in enumerate(counters)
                for cr, up, un, sk, fa in [x]
            ],
        )
    return {"contacts": contacts, "runs": runs, "records": records, "failed": failed}


def timed(client, url: str, repeat: int) -> tuple[float, float, int, int]:
    """(first, median of the following, status, queries) for one GET."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    status = 0
    for i in range(repeat + 1):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
            else:
                response.content  # noqa: B018 - rendered already; the access is the point
            times.append(time.perf_counter() - t0)
        status = response.status_code
        if i == 0:
            queries = len(ctx.captured_queries)
    return times[0], statistics.median(times[1:]) if repeat else times[0], status, queries


def rss_mib() -> float:
    """Resident memory of this process now (Linux), else its high-water mark."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_memory(*, trace: bool) -> dict[str, float]:
    """Stream the CSV of every record as the export view does, sampling memory as it goes.

    Resident memory is sampled every 10,000 rows (cheap); ``trace`` also traces Python's
    allocations (exact, but several times slower).
    """
    from sync.admin import export_rows
    from sync.models import SyncRecord

    qs = SyncRecord.objects.order_by("-created_at", "-id")
    if trace:
        tracemalloc.start()
    before = rss_mib()
    samples = []
    t0 = time.perf_counter()
    rows = size = 0
    for line in export_rows(qs):
        rows += 1
        size += len(line)
        if rows % 10000 == 0:
            samples.append(rss_mib())
    seconds = time.perf_counter() - t0
    traced = 0.0
    if trace:
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    samples = samples or [rss_mib()]
    return {
        "rows": rows - 1,
        "mib": size / 2**20,
        "seconds": seconds,
        "rss_before": before,
        "rss_first": samples[0],
        "rss_peak": max(samples),
        "rss_last": samples[-1],
        "traced": traced,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database file and print its path")
    parser.add_argument("--trace", action="store_true", help="also trace Python allocations during the export (slow)")
    parser.add_argument("--json", action="store_true", help="also print the figures for python -m bench")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    db_path = tmp / "bench.sqlite3"
    try:
        setup_django(db_path)
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.utils import timezone

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        now = timezone.now()
        t0 = time.perf_counter()
        made = fill(records=args.records, contacts=args.contacts, seed=args.seed, now=now)
        print(
            f"filled {made['records']:,} records ({made['failed']:,} failed), {made['runs']:,} runs, "
            f"{made['contacts']:,} contacts in {time.perf_counter() - t0:.1f} s ({db_path.stat().st_size / 2**20:.0f} MiB)"
        )
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass-1234")
        client = Client()
        client.force_login(user)
        email = "person7@example.com"
        deep = max(1, min(50, made["records"] // 100))
        pages = [
            ("sync log, first page", "/admin/sync/syncrecord/"),
            ("sync log, category filter", "/admin/sync/syncrecord/?category__exact=duplicate"),
            ("sync log, current errors", "/admin/sync/syncrecord/?current=yes"),
            ("sync log, search by email", f"/admin/sync/syncrecord/?q={email}"),
            (f"sync log, page {deep}", f"/admin/sync/syncrecord/?p={deep}"),
            ("health page", "/admin/sync/health/"),
        ]
        worst = 0.0
        medians: dict[str, float] = {}
        print(f"{'page':32} {'first':>8} {'median':>8} {'queries':>8}")
        for label, url in pages:
            first, median, status, queries = timed(client, url, args.repeat)
            if status != 200:
                print(f"{label}: HTTP {status}")
                return 1
            worst = max(worst, median)
            medians[label] = median
            print(f"{label:32} {first:8.3f} {median:8.3f} {queries:8d}")
        m = export_memory(trace=args.trace)
        print(
            f"CSV export of all records: {m['rows']:,} rows, {m['mib']:.0f} MiB in {m['seconds']:.1f} s; "
            f"resident memory {m['rss_before']:.0f} MiB before, {m['rss_first']:.0f} MiB after 10,000 rows, "
            f"peak {m['rss_peak']:.0f} MiB, {m['rss_last']:.0f} MiB at the end"
            + (f"; peak traced Python memory {m['traced']:.1f} MiB" if args.trace else "")
        )
        first, _median, status, queries = timed(client, "/admin/sync/syncrecord/export/", 0)
        print(f"export view (errors only): HTTP {status} in {first:.2f} s, {queries} queries")
        print(f"max RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        from bench.common import Figure, emit

        emit(
            [
                Figure(f"sync log page, {made['records']:,} records", medians["sync log, first page"], "s", "< 0.5 s"),
                Figure("sync log, current errors filter", medians["sync log, current errors"], "s", "< 0.5 s"),
                Figure(f"health page, {made['records']:,} records", medians["health page"], "s", "< 0.5 s"),
                Figure(
                    f"CSV export of {m['rows']:,} rows: peak resident memory",
                    m["rss_peak"],
                    "MiB",
                    "flat",
                    m["rss_first"],
                    "after 10,000 rows",
                ),
            ],
            as_json=args.json,
        )
        verdict = "OK" if worst < TARGET else "SLOW"
        print(f"slowest page median {worst:.3f} s (target < {TARGET} s): {verdict}")
        if args.keep:
            print(f"database kept at {db_path}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
