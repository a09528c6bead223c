"""Journey: before resyncing the inclusion list, an admin previews the changes from the settings
page, watches the preview run, reads the field changes and exports them; Salesforce is untouched."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from sync.models import DryRun
from tests.sync.conftest import sandbox  # noqa: F401 - the shared fixture: both emulators over HTTP
from tests.sync.dry_run_helpers import DryRunWorld, person, salesforce_state

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


def test_preview_a_resync_watch_it_read_the_changes_and_export_them(
    live_server,
    page,
    staff_login,
    screenshot,
    django_user_model,
    sandbox,  # noqa: F811
):
    from sync.services import hubspot_pull
    from sync.tasks import dry_run_task

    django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    world = DryRunWorld(sandbox)
    world.start(n=4)
    world.edit(1, jobtitle="Chief Engine Officer")
    world.create([person(10), person(11, lastname="L" * 90)])
    hubspot_pull()
    before = salesforce_state(sandbox)

    staff_login(page, "admin", PASSWORD)
    page.goto(f"{live_server.url}/admin/integration/salesforce/settings/?tab=sync")
    page.locator("#switch-impact summary").click()
    expect(page.locator("#resync-preview-button")).to_be_visible()
    screenshot(page, "0-settings")
    page.click("#resync-preview-button")
    status = page.locator("#dry-run-status")
    expect(status).to_have_text("Queued")
    expect(page.locator("#dry-run-progress")).to_contain_text("Waiting for a worker")
    screenshot(page, "1-queued")

    dry_run_task(DryRun.objects.get().pk)  # what the django-q2 worker runs for the queued task

    # The page follows the preview through sync:run_progress, then shows its records.
    expect(page.locator("#dry-run-sample")).to_be_visible(timeout=20000)
    expect(status).to_have_text("Done")
    counts = page.locator("#dry-run-counts")
    expect(counts.locator('[data-count="created"]')).to_have_text("1")
    expect(counts.locator('[data-count="updated"]')).to_have_text("1")
    expect(counts.locator('[data-count="unchanged"]')).to_have_text("3")
    expect(counts.locator('[data-count="failed"]')).to_have_text("1")
    updated = page.locator('table[data-action="updated"]')
    expect(updated).to_contain_text("Title")
    expect(updated).to_contain_text("CEO")
    expect(updated).to_contain_text("Chief Engine Officer")
    expect(page.locator('table[data-action="failed"]')).to_contain_text("STRING_TOO_LONG")
    screenshot(page, "2-done")

    with page.expect_download() as download_info:
        page.click("#dry-run-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8-sig"))))
    assert ("Would update", "Title", "CEO", "Chief Engine Officer") in {
        (r["action"], r["field"], r["current Salesforce value"], r["value to write"]) for r in rows
    }
    assert salesforce_state(sandbox) == before, "a preview wrote to Salesforce"
