"""Bench: push throughput with 1, 2 and 4 django-q2 workers on PostgreSQL with the Redis broker.

    bash .ci/with-postgres .venv/bin/python bench/bench_workers.py [--members 30000] [--workers 1 2 4]

For each worker count: a fresh Salesforce emulator, every member queued by a list resync, then W
``qcluster`` processes (one worker each) share the push through the database queue
(``SELECT ... FOR UPDATE SKIP LOCKED``); seconds until the run closes, records per second.
Needs DATABASE_URL (PostgreSQL) and TEST_REDIS_URL, which ``.ci/with-postgres`` provides.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_sync import email_known  # noqa: E402
from bench.common import ROOT, Figure, emit, setup_django  # noqa: E402


def wait_for_clusters(redis_url: str, count: int, timeout: float = 60) -> None:
    """Until ``count`` django-q2 clusters report to Redis: a cluster that starts first would
    otherwise take every task before the others are up."""
    import redis

    client = redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(client.keys("django_q:*:cluster:*")) >= count:
            return
        time.sleep(0.2)
    raise SystemExit(f"only {len(client.keys('django_q:*:cluster:*'))} of {count} clusters started")


def push_with_workers(*, run_id: int, workers: int, env: dict, timeout: float = 1800) -> float:
    """Start ``workers`` qcluster processes, give them the run's push, return seconds to done."""
    from sync.models import SyncRun

    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(workers)
    ]
    try:
        wait_for_clusters(env["REDIS_URL"], workers)
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             f"from django_q.tasks import async_task\nfor _ in range({workers}): async_task('sync.tasks.push_task', {run_id})"],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        while time.monotonic() - started < timeout:
            if SyncRun.objects.filter(pk=run_id).exclude(status=SyncRun.Status.RUNNING).exists():
                return time.monotonic() - started
            time.sleep(0.2)
        raise SystemExit(f"the push with {workers} worker(s) did not finish")
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=30_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not redis_url:
        raise SystemExit("run under .ci/with-postgres (PostgreSQL and Redis)")
    setup_django(database_url=os.environ["DATABASE_URL"])
    from django.conf import settings

    from integration.clients import hubspot as hubspot_client
    from integration.models import SyncSettings
    from integration.services import inclusion_list_set
    from lists.services import list_create, list_refresh
    from sandbox.hubspot import HubSpotStore
    from sandbox.hubspot.seed import seed_contacts
    from sandbox.salesforce.testing import running_salesforce_server
    from sandbox.testing import running_hubspot
    from sync.services import hubspot_pull, list_resync

    tmp = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    store = HubSpotStore(tmp / "hubspot" / "hubspot.sqlite3")
    seed_contacts(store, count=args.members, seed=5)
    store.close()
    figures: list[Figure] = []
    with running_hubspot(tmp / "hubspot") as hubspot_url:
        settings.SANDBOX_HUBSPOT_URL = hubspot_url
        hubspot_client._cache.clear()
        hubspot_pull()
        contact_list = list_create(
            name="Everyone with an email", processing_type="DYNAMIC", filter_branch=email_known()
        )
        list_refresh(contact_list=contact_list)
        contact_list.refresh_from_db()
        inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
        members = contact_list.size
        baseline = None
        for workers in args.workers:
            with running_salesforce_server(tmp / f"sf-{workers}") as sf:
                settings.SANDBOX_SALESFORCE_URL = sf.url
                settings.SANDBOX_SALESFORCE_CERT = str(sf.cert_path)
                run = list_resync(contact_list=contact_list, run_async=False)
                env = {
                    **os.environ,
                    "REDIS_URL": redis_url,
                    "Q_WORKERS": "1",
                    # Workers claim 2,000 contacts at a time; jobs of a share each let one
                    # worker's Bulk job run while the others still claim and prepare theirs.
                    "SYNC_BULK_BATCH": str(max(2001, members // (2 * workers))),
                    "SANDBOX_HUBSPOT_URL": hubspot_url,
                    "SANDBOX_SALESFORCE_URL": sf.url,
                    "SANDBOX_SALESFORCE_CERT": str(sf.cert_path),
                    "LOG_LEVEL": "WARNING",
                    "DEBUG": "false",
                }
                seconds = push_with_workers(run_id=run.pk, workers=workers, env=env)
            rate = members / seconds
            baseline = baseline or rate
            print(f"  {workers} worker(s): {members:,} members in {seconds:.1f} s ({rate:,.0f} records/s)")
            figures.append(
                Figure(
                    f"push throughput, {workers} worker(s), PostgreSQL + Redis",
                    rate,
                    "records/s",
                    "grows with workers",
                    baseline if workers != args.workers[0] else None,
                    f"{args.workers[0]} worker(s)",
                )
            )
    emit(figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()
