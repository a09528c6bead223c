"""The worker killed (``kill -9``) at a random point of a resync, in several runs; each
time a restarted cycle ends with every member in Salesforce exactly once and nobody else.

The smaller sibling of ``test_worker_killed.py`` (one kill in a 20,000-contact push): 1,500
contacts, killed a random 0.2–3 s (seeded) after the resync opened its run, ten seeds
(about 55 s in all, hence ``slow``, still in the default run). Salesforce answers
each API call after 250 ms (a latency fault), so the push (email look-ups, then creates 200 at a
time) spans the kill window whatever the machine's speed: kills land in the look-ups and between
creates. The app database, migrated, pulled and with its inclusion list chosen, is prepared once and
copied for each run.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from sandbox.salesforce.testing import running_salesforce_server
from sandbox.testing import running_hubspot, trusting_session
from tests.sync.subprocess_sync import ROOT, SETUP_LIST, app_env, manage, seed_store

CONTACTS = 1_500

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, Path, set[str]]:
    """(HubSpot store, app database, member emails): seeded, migrated, pulled, list chosen."""
    base = tmp_path_factory.mktemp("kill-template")
    hubspot_db = base / "hubspot" / "hubspot.sqlite3"
    expected = seed_store(hubspot_db, count=CONTACTS, seed=11)
    app_db = base / "app.sqlite3"
    with running_hubspot(hubspot_db.parent) as hubspot_url, running_salesforce_server(base / "sf") as sf:
        env = app_env(app_db, base / "data", hubspot_url, sf)
        for args in (("migrate", "-v0"), ("hubspot_pull",), ("shell", "-c", SETUP_LIST)):
            done = manage(env, *args)
            assert done.returncode == 0, done.stdout + done.stderr
    return hubspot_db, app_db, expected


def copy_sqlite(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")


@pytest.mark.parametrize("seed", range(1, 11))
def test_killed_at_a_random_point_the_next_cycle_completes_without_duplicates(tmp_path, template, seed):
    hubspot_template, app_template, expected = template
    hubspot_db, app_db = tmp_path / "hubspot" / "hubspot.sqlite3", tmp_path / "app.sqlite3"
    copy_sqlite(hubspot_template, hubspot_db)
    copy_sqlite(app_template, app_db)
    list_id = str(sqlite3.connect(app_db).execute("SELECT id FROM lists_contactlist").fetchone()[0])
    kill_after = random.Random(seed).uniform(0.2, 3.0)
    with running_hubspot(hubspot_db.parent) as hubspot_url, running_salesforce_server(tmp_path / "sf") as sf:
        session = trusting_session(sf.cert_path)
        faults = {"kind": "latency", "latency_ms": 250, "path": "^/services/data/"}
        assert session.post(f"{sf.url}/_sandbox/faults", json=faults, timeout=10).status_code == 200
        env = app_env(app_db, tmp_path / "data", hubspot_url, sf)
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "list_resync", list_id],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # The clock starts when the resync has queued its members and opened its run (Django's
        # start-up, ~1 s, is not a point worth killing at every time).
        db = sqlite3.connect(app_db, timeout=30)
        deadline = time.monotonic() + 60
        while worker.poll() is None and time.monotonic() < deadline:
            if db.execute("SELECT 1 FROM sync_syncrun WHERE trigger = 'list_resync'").fetchone():
                break
            time.sleep(0.02)
        db.close()
        time.sleep(kill_after)
        assert worker.poll() is None, f"the resync ended within {kill_after:.1f} s: nothing was killed"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        session.delete(f"{sf.url}/_sandbox/faults", timeout=10)
        from simple_salesforce import Salesforce

        salesforce = Salesforce(instance_url=sf.url, session_id="sandbox", session=session)
        created_before = salesforce.query("SELECT COUNT() FROM Lead")["totalSize"]

        restarted = manage(env, "salesforce_sync")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        emails = [
            r["Email"].lower()
            for r in salesforce.query_all("SELECT Email FROM Lead")["records"]
            + salesforce.query_all("SELECT Email FROM Contact")["records"]
            if r["Email"]
        ]
    print(f"seed {seed}: killed after {kill_after:.2f} s, {created_before} leads in Salesforce at the kill")
    duplicates = [email for email, n in Counter(emails).items() if n > 1]
    assert not duplicates, f"{len(duplicates)} members are in Salesforce twice"
    assert set(emails) <= expected
    db = sqlite3.connect(app_db)
    refused = {
        email.lower()
        for (email,) in db.execute("SELECT DISTINCT email FROM sync_syncrecord WHERE action = 'failed'")
        if email
    }
    pending = db.execute("SELECT COUNT(*) FROM sync_pendingsync").fetchone()[0]
    running = db.execute("SELECT COUNT(*) FROM sync_syncrun WHERE status = 'running'").fetchone()[0]
    resyncs = db.execute("SELECT error FROM sync_syncrun WHERE trigger = 'list_resync'").fetchall()
    db.close()
    missing = expected - set(emails) - refused
    assert not missing, f"{len(missing)} members never reached Salesforce"
    assert len(refused) < len(expected) / 10  # the seeded data errors only
    assert pending == 0 and running == 0
    # The killed resync, if it had started its run, is closed as interrupted.
    assert all(error.startswith("Interrupted") for (error,) in resyncs)
