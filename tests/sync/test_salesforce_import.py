"""The existing Salesforce Leads and Contacts reach HubSpot through ``salesforce_import``: each
once, de-duplicated by email, whatever the inclusion list; again safely; after a ``kill -9``,
from where it stopped."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from integration.clients.salesforce import get_salesforce_client
from integration.models import SyncSettings
from lists.models import Contact
from sandbox.salesforce.testing import running_salesforce_server
from sandbox.testing import running_hubspot
from sync.models import SyncRun, Watermark
from sync.services import ImportRefused, hubspot_pull, salesforce_import
from tests.sync.subprocess_sync import ROOT, app_env, manage

pytestmark = pytest.mark.django_db


def leads(count: int, prefix: str = "old") -> list[dict]:
    return [
        {"FirstName": "Grace", "LastName": f"Hopper {i}", "Company": "Navy", "Email": f"{prefix}{i}@import.example"}
        for i in range(count)
    ]


def hubspot_emails(sandbox) -> Counter:
    api = sandbox.hubspot().crm.contacts.basic_api
    emails: Counter = Counter()
    after = None
    while True:
        page = api.get_page(limit=100, after=after, properties=["email"])
        emails.update((c.properties.get("email") or "").lower() for c in page.results)
        if not page.paging:
            return emails
        after = page.paging.next.after


def test_existing_records_reach_hubspot_once_each_whatever_the_inclusion_list(sandbox):
    # No inclusion list: nothing is sent to Salesforce, and creation in HubSpot is not gated.
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": None})
    salesforce = get_salesforce_client()
    salesforce.collections_create("Lead", leads(30))
    salesforce.collections_create("Contact", [{"LastName": "Byron", "Email": "byron@import.example"}])
    salesforce.collections_create("Lead", [{"LastName": "No email", "Company": "Nowhere"}])
    converted = salesforce.collections_create("Lead", leads(1, prefix="converted"))[0].id
    sandbox.session().post(f"{sandbox.salesforce_url}/_sandbox/leads/{converted}/convert", json={}).raise_for_status()
    # Already in HubSpot, with another case: found by email, not created again.
    sandbox.hubspot().crm.contacts.basic_api.create({"properties": {"email": "OLD3@import.example"}})
    hubspot_pull()

    run = salesforce_import()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    emails = hubspot_emails(sandbox)
    expected = {f"old{i}@import.example" for i in range(30)} | {"byron@import.example", "converted0@import.example"}
    assert set(emails) == expected and set(emails.values()) == {1}
    assert Contact.objects.get(email__iexact="old3@import.example").salesforce_id
    assert run.progress_done == run.progress_total == 32  # the one without email is not read

    again = salesforce_import()  # every record is linked now: nothing to create
    assert (again.status, again.created_in_hubspot) == (SyncRun.Status.SUCCEEDED, 0)
    assert hubspot_emails(sandbox) == emails


def test_the_import_is_refused_while_salesforce_records_do_not_create_hubspot_contacts(sandbox):
    SyncSettings.objects.update_or_create(pk=1, defaults={"create_hubspot_contacts_from_salesforce": False})
    with pytest.raises(ImportRefused, match="turn that setting on"):
        salesforce_import()
    with pytest.raises(CommandError, match="turn that setting on"):
        call_command("salesforce_import")
    assert not SyncRun.objects.exists()
    assert not Watermark.objects.filter(source=Watermark.Source.SALESFORCE_LEAD_IMPORT).exists()


@pytest.mark.slow
def test_an_import_killed_half_way_and_run_again_brings_each_record_once(tmp_path):
    """5,000 existing Leads; the import process is killed (SIGKILL) once it has done half of them,
    then run again: every Lead is in HubSpot exactly once, and the rerun goes on from where the
    first stopped."""
    count = 5_000
    hubspot_db = tmp_path / "hubspot" / "hubspot.sqlite3"
    hubspot_db.parent.mkdir(parents=True)
    with running_hubspot(hubspot_db.parent) as hubspot_url, running_salesforce_server(tmp_path / "sf") as sf:
        sf.app.store.update_settings({"daily_api_max": 10_000_000})
        env = app_env(tmp_path / "app.sqlite3", tmp_path / "data", hubspot_url, sf)
        done = manage(env, "migrate", "-v0")
        assert done.returncode == 0, done.stderr
        from simple_salesforce import Salesforce

        from sandbox.testing import trusting_session

        salesforce = Salesforce(instance_url=sf.url, session_id="sandbox", session=trusting_session(sf.cert_path))
        results = salesforce.bulk2.Lead.insert(records=leads(count))
        assert sum(int(r["numberRecordsProcessed"]) for r in results) == count

        first = subprocess.Popen(
            [sys.executable, "manage.py", "salesforce_import"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        for line in first.stderr:
            if line.split()[0].isdigit() and int(line.split()[0]) >= count // 2:
                os.kill(first.pid, signal.SIGKILL)
                break
        first.wait(timeout=60)
        assert first.returncode == -signal.SIGKILL
        halfway = _hubspot_emails(hubspot_db)
        assert count // 2 <= sum(halfway.values()) < count

        second = manage(env, "salesforce_import", timeout=600)
        assert second.returncode == 0, second.stdout + second.stderr
        progress = [line for line in second.stderr.splitlines() if line.split() and line.split()[0].isdigit()]
        # Resumed: the rerun counted only what was left to do.
        assert int(progress[0].split()[2]) <= count - count // 2

    emails = _hubspot_emails(hubspot_db)
    assert set(emails) == {f"old{i}@import.example" for i in range(count)}
    assert set(emails.values()) == {1}


def _hubspot_emails(hubspot_db) -> Counter:
    with sqlite3.connect(hubspot_db) as db:
        rows = db.execute("SELECT lower(json_extract(props, '$.email')) FROM contact WHERE archived = 0").fetchall()
    return Counter(row[0] for row in rows if row[0])
