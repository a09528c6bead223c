"""Journeys of the ops view.

- With the real engine and both sandboxes: a sync fails for a contact without a company; open
  Sync health, click the category, see the record, export the errors, fix the contact in the
  HubSpot sandbox, resync it from the log, see it succeed (health, log, timeline).
- With a log made by factories: triage a category, resync one, export, open the timeline;
  watch a run's progress bar move live; the suspension banner.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from integration.models import ConnectionStatus, SalesforceConnection, SyncSettings
from sync.models import Category, PendingSync, Reason, SyncRecord, SyncRun
from tests.lists.factories import ContactFactory, filter_branch, property_filter
from tests.sync.conftest import sandbox  # noqa: F401 - the shared fixture: both emulators over HTTP
from tests.sync.factories import SyncRecordFactory, SyncRunFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


def test_fix_in_hubspot_resync_and_see_it_succeed(
    live_server,
    page,
    staff_login,
    screenshot,
    django_user_model,
    sandbox,  # noqa: F811
):
    from django.core.management import call_command
    from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate

    from lists.services import list_create, list_refresh
    from sync.tasks import push_task

    django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    hubspot = sandbox.hubspot().crm.contacts.basic_api
    people = [("Lena", "Weber", "Weber GmbH"), ("Hugo", "Blanc", "Blanc SARL"), ("Nora", "Company-less", None)]
    ids = {}
    for first, last, company in people:
        properties = {"email": f"{first.lower()}@example.com", "firstname": first, "lastname": last}
        if company:
            properties["company"] = company
        ids[first] = hubspot.create(SimplePublicObjectInputForCreate(properties=properties)).id
    call_command("hubspot_pull")
    inclusion = list_create(
        name="Sync to Salesforce",
        processing_type="DYNAMIC",
        filter_branch=filter_branch([property_filter("email", "STRING", "ENDS_WITH", value="@example.com")]),
    )
    list_refresh(contact_list=inclusion)
    SyncSettings.objects.filter(pk=SyncSettings.load().pk).update(inclusion_list=inclusion)
    call_command("salesforce_sync")
    assert SyncRecord.objects.filter(action="failed", category=Category.REQUIRED_FIELD).count() == 1

    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/sync/health/")
    card = page.locator('.sync-card[data-category="required_field"]')
    expect(card.locator(".sync-card-count")).to_have_text("1")
    screenshot(page, "1-health-after-failed-sync")
    card.click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Nora")
    expect(rows.first).to_contain_text("REQUIRED_FIELD_MISSING")
    screenshot(page, "2-required-field")

    with page.expect_download() as download_info:
        page.click("a.sync-export")
    exported = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8-sig"))))
    assert [(r["email"], r["error code"]) for r in exported] == [("nora@example.com", "REQUIRED_FIELD_MISSING")]

    # The fix happens in HubSpot; the next pull (the schedule's job) brings it in.
    hubspot.update(ids["Nora"], SimplePublicObjectInput(properties={"company": "Company-less Ltd"}))
    call_command("hubspot_pull")

    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "resync_selected")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("1 contact queued for a resync.")
    run = SyncRun.objects.get(trigger=SyncRun.Trigger.CONTACT_RESYNC)
    push_task(run.pk)  # what the django-q2 worker runs for the queued task
    run.refresh_from_db()
    assert (run.status, run.created, run.failed) == (SyncRun.Status.SUCCEEDED, 1, 0)

    page.goto(f"{live_server.url}/admin/sync/health/")
    expect(card.locator(".sync-card-count")).to_have_text("0")
    expect(page.locator(".sync-runs tbody tr").first).to_contain_text("Contact resync")
    screenshot(page, "3-health-after-resync")

    page.goto(f"{live_server.url}/admin/sync/syncrecord/?q=nora@example.com")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    latest = page.locator("#result_list tbody tr").first
    expect(latest).to_contain_text("Created")
    salesforce_id = SyncRecord.objects.get(action="created", email="nora@example.com").salesforce_id
    assert salesforce_id
    sf_link = latest.locator("a.sync-sf-link")
    expect(sf_link).to_have_attribute("href", re.compile(rf"/lightning/r/Lead/{salesforce_id}/view$"))
    screenshot(page, "4-log")
    assert sandbox.soql(f"SELECT Id, Company FROM Lead WHERE Id = '{salesforce_id}'")[0]["Company"] == (
        "Company-less Ltd"
    )

    latest.locator("a.sync-contact-link").click()
    timeline = page.locator(".sync-timeline")
    expect(timeline).to_contain_text("Created in Lead")
    expect(timeline).to_contain_text("Manual resync of the contact")
    expect(timeline).to_contain_text("Failed (Required field missing): REQUIRED_FIELD_MISSING")
    expect(timeline.locator(".sync-changes")).to_contain_text("Company-less Ltd")
    expect(page.locator(".sync-explain .sync-pass")).to_have_count(1)
    screenshot(page, "5-timeline")


@pytest.fixture
def failed_sync(django_user_model):
    """A finished run of the engine's shape: some created, some skipped, three categories failing."""
    django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    SalesforceConnection.load()
    SalesforceConnection.objects.update(status=ConnectionStatus.SANDBOX)
    SyncSettings.load()
    SyncSettings.objects.update(daily_api_allocation=2400)
    now = timezone.now()
    for hours in range(1, 60, 3):  # earlier runs, for the charts
        SyncRunFactory(
            created=hours % 7,
            updated=hours % 5,
            skipped=hours % 3,
            failed=hours % 4 == 0,
            salesforce_api_calls=10 + hours,
            at=now - dt.timedelta(hours=hours),
        )
    run = SyncRunFactory(
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.PARTIAL,
        considered=9,
        created=3,
        skipped=1,
        failed=5,
        salesforce_api_calls=12,
        hubspot_api_calls=3,
        at=now - dt.timedelta(minutes=5),
    )
    for i in range(3):
        SyncRecordFactory(run=run, action=SyncRecord.Action.CREATED, salesforce_id=f"00Q00000000000{i}AAA")
    SyncRecordFactory(run=run, skipped=True)
    missing = []
    for i, last in enumerate(["Durand", "Martin", "Bernard"]):
        contact = ContactFactory(firstname="Ana", lastname=last, email=f"ana.{last.lower()}@example.com")
        missing.append(
            SyncRecordFactory(
                run=run, contact=contact, failed=True, message=f"Required fields are missing: [Company] ({i})"
            )
        )
    SyncRecordFactory(
        run=run,
        failed=True,
        category=Category.PICKLIST,
        error_code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        message="Country: bad value for restricted picklist field: Espagne",
        fields=["Country"],
    )
    SyncRecordFactory(
        run=run,
        failed=True,
        category=Category.DUPLICATE,
        error_code="DUPLICATES_DETECTED",
        message="Use one of these records?",
    )
    return missing


def test_triage_a_category_resync_one_and_export(live_server, page, staff_login, screenshot, failed_sync):
    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/sync/health/")
    expect(page.locator("h1")).to_have_text("Sync health")
    card = page.locator('.sync-card[data-category="required_field"]')
    expect(card.locator(".sync-card-count")).to_have_text("3")
    expect(page.locator('.sync-card[data-category="picklist"] .sync-card-count')).to_have_text("1")
    expect(page.locator('.sync-card[data-category="permission"] .sync-card-count')).to_have_text("0")
    expect(page.locator(".sync-chart")).to_have_count(2)
    expect(page.locator(".sync-banner")).to_have_count(0)
    screenshot(page, "1-health")

    card.click()
    page.wait_for_url(re.compile(r".*/admin/sync/syncrecord/\?.*category__exact=required_field"))
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#result_list")).to_contain_text("Required fields are missing: [Company]")
    screenshot(page, "2-category")

    target = failed_sync[0]
    row = rows.filter(has_text="Ana Durand")
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "resync_selected")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("1 contact queued for a resync.")
    screenshot(page, "3-resynced")
    pending = PendingSync.objects.get()
    assert pending.contact_id == target.contact_id
    assert Reason.CONTACT_RESYNC in pending.reasons
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.CONTACT_RESYNC).count() == 1

    with page.expect_download() as download_info:
        page.click("a.sync-export")
    download = download_info.value
    assert download.suggested_filename.startswith("sync-errors-") and download.suggested_filename.endswith(".csv")
    body = Path(download.path()).read_text(encoding="utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(body)))
    assert sorted(r["email"] for r in exported) == sorted(r.email for r in failed_sync)
    assert {r["error code"] for r in exported} == {"REQUIRED_FIELD_MISSING"}

    row.locator("a.sync-contact-link").click()
    expect(page.locator("h1")).to_contain_text("Sync timeline of Ana Durand")
    expect(page.locator(".sync-timeline")).to_contain_text("Failed (Required field missing): REQUIRED_FIELD_MISSING")
    expect(page.locator(".sync-timeline")).to_contain_text("Manual resync of the contact")
    screenshot(page, "4-timeline")

    page.locator(".sync-ev-failed .sync-ev-time a", has_text="record").click()
    expect(page.locator("#content-main")).to_contain_text("REQUIRED_FIELD_MISSING")
    expect(page.locator("#content-main")).to_contain_text("timeline")
    screenshot(page, "5-record")


def test_progress_bar_follows_the_running_run(live_server, page, staff_login, screenshot, failed_sync):
    run = SyncRunFactory(
        running=True, trigger=SyncRun.Trigger.MANUAL, progress_total=400, progress_done=100, phase="push"
    )
    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/sync/health/")
    bar = page.locator("#sync-current-run .sync-progress-bar")
    expect(bar).to_have_attribute("style", re.compile(r"width: 25%"))
    SyncRun.objects.filter(pk=run.pk).update(progress_done=300, created=250)
    expect(bar).to_have_attribute("style", re.compile(r"width: 75%"), timeout=8000)
    expect(page.locator('#sync-current-run [data-field="created"]')).to_have_text("250")
    screenshot(page, "running")
    SyncRun.objects.filter(pk=run.pk).update(
        progress_done=400, status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now()
    )
    expect(page.locator(".sync-run-finished")).to_be_visible(timeout=8000)
    expect(bar).to_have_attribute("style", re.compile(r"width: 100%"))


def test_suspended_banner_in_french(live_server, page_factory, staff_login, screenshot, failed_sync):
    SalesforceConnection.objects.update(
        status=ConnectionStatus.SUSPENDED, status_reason="INVALID_SESSION_ID: Session expired or invalid"
    )
    page = page_factory("fr-FR")
    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/sync/health/")
    expect(page.locator(".sync-banner")).to_contain_text("INVALID_SESSION_ID")
    screenshot(page, "suspended-fr")
