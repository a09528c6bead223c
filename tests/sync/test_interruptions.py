"""A worker that dies leaves nothing stuck: its claims are freed and its run is closed."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from sync.engine import queue
from sync.models import PendingSync, Reason, SyncRun
from sync.services import runs_close_interrupted, sync_run_start
from tests.lists.factories import ContactFactory

pytestmark = pytest.mark.django_db


def dead_worker() -> str:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}:abcdef"


def test_claims_of_a_dead_process_are_released_and_a_live_ones_kept():
    a, b = ContactFactory(), ContactFactory()
    queue.enqueue(contact_ids=[a.pk, b.pk], reason=Reason.LIST_RESYNC)
    first = queue.claim(worker=dead_worker(), limit=1)
    live = queue.claim(worker=queue.worker_name(), limit=1)
    assert queue.release_dead_claims() == 1
    freed = PendingSync.objects.get(pk=first[0].pk)
    assert freed.claimed_by == "" and freed.claimed_at is None
    assert PendingSync.objects.get(pk=live[0].pk).claimed_by != ""


def test_runs_of_dead_workers_are_closed_as_interrupted():
    alive = sync_run_start(trigger=SyncRun.Trigger.SCHEDULE)
    dead = sync_run_start(trigger=SyncRun.Trigger.SCHEDULE)
    SyncRun.objects.filter(pk=dead.pk).update(worker=dead_worker())
    closed = runs_close_interrupted()
    assert [r.pk for r in closed] == [dead.pk]
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED and "Interrupted" in dead.error
    assert alive.status == SyncRun.Status.RUNNING


def test_workers_on_other_hosts_are_presumed_alive():
    assert queue.process_alive("some-other-host:1:abc")
