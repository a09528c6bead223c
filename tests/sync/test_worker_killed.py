"""The worker killed (SIGKILL) in the middle of a 20,000-record push, then restarted: every member
ends in Salesforce exactly once, and nobody else does."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from sandbox.salesforce.testing import running_salesforce_server
from sandbox.testing import running_hubspot, trusting_session
from tests.sync.subprocess_sync import ROOT, SETUP_LIST, app_env, manage, seed_store

CONTACTS = 20_000

pytestmark = pytest.mark.slow


def test_killed_push_resumes_without_duplicates(tmp_path):
    hubspot_db = tmp_path / "hubspot" / "hubspot.sqlite3"
    expected = seed_store(hubspot_db, count=CONTACTS, seed=7)
    app_db = tmp_path / "app.sqlite3"
    with running_hubspot(hubspot_db.parent) as hubspot_url, running_salesforce_server(tmp_path / "sf") as sf:
        env = app_env(app_db, tmp_path / "data", hubspot_url, sf)
        assert manage(env, "migrate", "-v0").returncode == 0
        pulled = manage(env, "hubspot_pull")
        assert pulled.returncode == 0, pulled.stderr
        made = manage(env, "shell", "-c", SETUP_LIST)
        assert made.returncode == 0, made.stderr
        list_id = made.stdout.strip().splitlines()[-1]

        worker = subprocess.Popen(
            [sys.executable, "manage.py", "list_resync", list_id],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Kill it once the push is under way: a Bulk job submitted, or records already written.
        deadline = time.monotonic() + 300
        db = sqlite3.connect(app_db, timeout=30)
        while time.monotonic() < deadline and worker.poll() is None:
            row = db.execute(
                "SELECT open_bulk_jobs, created FROM sync_syncrun WHERE trigger = 'list_resync' ORDER BY id DESC"
            ).fetchone()
            if row and (row[0] not in (None, "[]") or row[1] > 0):
                break
            time.sleep(0.05)
        assert worker.poll() is None, "the push ended before it could be killed"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        db.close()

        restarted = manage(env, "salesforce_sync")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr

        session = trusting_session(sf.cert_path)
        from simple_salesforce import Salesforce

        salesforce = Salesforce(instance_url=sf.url, session_id="sandbox", session=session)
        emails = [r["Email"].lower() for r in salesforce.query_all("SELECT Email FROM Lead")["records"]]
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
    interrupted = db.execute("SELECT COUNT(*) FROM sync_syncrun WHERE error LIKE 'Interrupted%'").fetchone()[0]
    db.close()
    missing = expected - set(emails) - refused
    assert not missing, f"{len(missing)} members never reached Salesforce"
    assert pending == 0
    assert interrupted == 1
