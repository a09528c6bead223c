"""Three django-q2 workers on PostgreSQL with the Redis broker share one push of 30,000 members:
each member ends in Salesforce exactly once and the run's counters add up.

It once failed now and then: followers of an email pair, re-checked every second while their
leaders' Bulk job ran, read "is the email linked?" just before the leaders' commit and "is a lower
contact queued?" just after it, and each created a second Lead. ``Pusher._email_owners`` now reads
the queue first; tests/sync/test_gate_and_dedup.py replays that interleaving deterministically."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from bench.bench_sync import email_known
from bench.bench_workers import push_with_workers
from integration.models import SyncSettings
from lists.services import list_create, list_refresh
from sandbox.hubspot import HubSpotStore
from sandbox.hubspot.seed import seed_contacts
from sandbox.salesforce.testing import running_salesforce_server
from sandbox.testing import running_hubspot
from sync.models import SyncRun

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = 30_300  # about 30,000 with an email
WORKERS = 3

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def redis_url():
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL (make test's second pass)")
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_REDIS_URL is not set: .ci/with-postgres starts Redis")
        pytest.skip("no Redis (TEST_REDIS_URL)")
    return url


def test_three_workers_push_each_member_exactly_once(tmp_path, settings, redis_url):
    from django_q.models import Task

    from integration.clients import hubspot as hubspot_client
    from integration.services import inclusion_list_set
    from sync.services import hubspot_pull, list_resync

    hubspot_db = tmp_path / "hubspot" / "hubspot.sqlite3"
    hubspot_db.parent.mkdir()
    store = HubSpotStore(hubspot_db)
    seed_contacts(store, count=CONTACTS, seed=3)
    store.close()
    with running_hubspot(hubspot_db.parent) as hubspot_url, running_salesforce_server(tmp_path / "sf") as sf:
        settings.SANDBOX_HUBSPOT_URL = hubspot_url
        settings.SANDBOX_SALESFORCE_URL = sf.url
        settings.SANDBOX_SALESFORCE_CERT = str(sf.cert_path)
        hubspot_client._cache.clear()
        hubspot_pull()
        contact_list = list_create(
            name="Everyone with an email", processing_type="DYNAMIC", filter_branch=email_known()
        )
        list_refresh(contact_list=contact_list)
        contact_list.refresh_from_db()
        inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
        run = list_resync(contact_list=contact_list, run_async=False)
        members = contact_list.size
        assert run.progress_total == members > 29_000

        env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "Q_WORKERS": "1",
            "SYNC_BULK_BATCH": "5000",  # several Bulk jobs per worker, sent while the others still claim
            "SANDBOX_HUBSPOT_URL": hubspot_url,
            "SANDBOX_SALESFORCE_URL": sf.url,
            "SANDBOX_SALESFORCE_CERT": str(sf.cert_path),
            "LOG_LEVEL": "WARNING",
        }
        push_with_workers(run_id=run.pk, workers=WORKERS, env=env, timeout=900)
        run.refresh_from_db()
        from simple_salesforce import Salesforce

        from sandbox.testing import trusting_session

        leads = Salesforce(instance_url=sf.url, session_id="sandbox", session=trusting_session(sf.cert_path))
        emails = [r["Email"].lower() for r in leads.query_all("SELECT Email FROM Lead")["records"]]

    assert run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL), run.error
    deadline = time.monotonic() + 30  # the last task's result is saved just after the run closes
    while Task.objects.filter(func="sync.tasks.push_task").count() < WORKERS and time.monotonic() < deadline:
        time.sleep(0.2)
    tasks = list(Task.objects.filter(func="sync.tasks.push_task"))
    assert len(tasks) == WORKERS and all(t.success for t in tasks), [t.result for t in tasks]
    shares = [t.result.get("considered", 0) for t in tasks]
    assert sum(1 for n in shares if n) >= 2, f"the work was not shared: {shares}"
    assert sum(shares) == members
    assert not [e for e, n in Counter(emails).items() if n > 1], "a member is in Salesforce twice"
    # The run's counters add up: every member was decided once, and Salesforce holds the sent ones.
    assert run.considered == members
    assert run.created + run.updated + run.unchanged + run.skipped + run.failed == members
    assert run.created == len(emails)  # Salesforce was empty: every Lead there was created once
