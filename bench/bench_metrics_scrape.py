"""Bench: a Prometheus scrape of ``GET /metrics`` over a big sync log, on SQLite.

    .venv/bin/python bench/bench_metrics_scrape.py [--records 1000000] [--contacts 50000] [--repeat 5]

Fills a fresh, migrated SQLite file as the ops pages' bench does (``executemany``, indexes built
after the load): about 2,000 runs over 7 days, their records, their contacts; queues 10,000
contacts. Then, through Django's test client (the whole request, token check included), times:

- the first scrape ever, or after the cache was emptied (nothing folded yet: every run's records
  are counted once);
- a scrape as Prometheus makes them (target: under 100 ms), each after a new run of 500 records
  has finished, median of ``--repeat``;

and, as the baseline, the one query a scrape without folded totals would need: every record
counted by direction and action.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, emit, setup_django  # noqa: E402

TARGET_MS = 100
TOKEN = "bench-metrics-token"


def new_run(records: int) -> None:
    """A run that has just finished, with ``records`` records (bulk-inserted)."""
    from django.utils import timezone

    from sync.models import SyncRecord, SyncRun

    now = timezone.now()
    run = SyncRun.objects.create(status=SyncRun.Status.SUCCEEDED, finished_at=now + timedelta(seconds=20))
    SyncRecord.objects.bulk_create(
        SyncRecord(run=run, hubspot_id=str(i), email=f"new{i}@example.com", action="updated") for i in range(records)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="also print the figures for python -m bench")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    try:
        os.environ["METRICS_TOKEN"] = TOKEN
        os.environ["SECURE_SSL_REDIRECT"] = "false"
        os.environ.pop("REDIS_URL", None)  # the database's cache table, as the demo has it
        setup_django(tmp / "bench.sqlite3")
        from django.db import connection
        from django.db.models import Count
        from django.test import Client
        from django.utils import timezone

        from bench.bench_ops_pages import fill
        from lists.models import Contact
        from sync.models import PendingSync, SyncRecord

        t0 = time.perf_counter()
        made = fill(records=args.records, contacts=args.contacts, seed=1, now=timezone.now())
        queued = min(10_000, made["contacts"])
        PendingSync.objects.bulk_create(
            PendingSync(contact_id=pk) for pk in Contact.objects.values_list("pk", flat=True)[:queued]
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"filled {made['records']:,} records, {made['runs']:,} runs in {time.perf_counter() - t0:.1f} s")

        client = Client()

        def scrape() -> float:
            started = time.perf_counter()
            response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.content[:500]
            assert b"inclusion_sync_records_total" in response.content
            return elapsed

        first = scrape()
        steady = []
        for _ in range(args.repeat):
            new_run(500)
            steady.append(scrape())

        started = time.perf_counter()
        list(SyncRecord.objects.values("direction", "action").annotate(n=Count("id")).order_by())
        naive = (time.perf_counter() - started) * 1000

        records = f"{made['records']:,}"
        emit(
            [
                Figure(f"metrics scrape over {records} records, after a run", statistics.median(steady), "ms",
                       f"< {TARGET_MS} ms", naive, "every record counted at each scrape"),
                Figure(f"metrics scrape over {records} records, first, nothing folded yet (cache empty)", first, "ms"),
            ],
            as_json=args.json,
        )  # fmt: skip
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
