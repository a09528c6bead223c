"""Journey: Sync settings → Salesforce settings: choose what a deletion in Salesforce does and turn
on the lead assignment rule, save, see them saved; "Import existing Salesforce records" with its
live progress (the worker is the test, moving the run); refused while new Salesforce records do
not create HubSpot contacts; the same side in French."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from integration.models import SettingChange, SyncSettings
from sync.models import SyncRun

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


def test_lifecycle_settings_and_import_journey(live_server, page_factory, staff_login, screenshot, django_user_model):
    django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    page = page_factory()
    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/integration/salesforce/settings/")
    page.click(".ia-subtab >> nth=1")
    deletions, rules = page.locator("#id_salesforce_deletions"), page.locator("#id_use_lead_assignment_rules")
    expect(deletions).to_have_value("keep_unlinked")
    expect(rules).not_to_be_checked()
    expect(page.locator("#id_use_lead_assignment_rules_helptext")).to_contain_text("lead assignment rule")
    screenshot(page, "1-salesforce-settings")

    # The two settings: saved together, audited, shown as saved.
    deletions.select_option("archive_in_hubspot")
    rules.check()
    page.click("#salesforce-settings-form button.default")
    expect(page.locator(".messagelist")).to_contain_text("Settings saved.")
    expect(deletions).to_have_value("archive_in_hubspot")
    expect(rules).to_be_checked()
    row = SyncSettings.load()
    assert (row.salesforce_deletions, row.use_lead_assignment_rules) == ("archive_in_hubspot", True)
    assert set(SettingChange.objects.values_list("setting", flat=True)) == {
        "salesforce_deletions",
        "use_lead_assignment_rules",
    }
    screenshot(page, "2-saved")

    # The import: a run in a worker (here: the test moves it), its progress polled on the page.
    page.click("#salesforce-import-button")
    page.wait_for_url(re.compile(r".*[?&]run=\d+.*"))
    run = SyncRun.objects.get(trigger=SyncRun.Trigger.SALESFORCE_IMPORT)
    progress = page.locator("#salesforce-import-progress")
    expect(progress).to_be_visible()
    expect(page.locator(".messagelist")).to_contain_text("Import of existing Salesforce records started")
    expect(page.locator("#salesforce-import-button")).to_be_disabled()
    SyncRun.objects.filter(pk=run.pk).update(progress_done=40, progress_total=160)
    expect(progress.locator(".ia-progress-text")).to_have_text("40 of 160 Salesforce records processed")
    expect(progress.locator("progress")).to_have_attribute("value", "25")
    screenshot(page, "3-import-progress")
    SyncRun.objects.filter(pk=run.pk).update(progress_done=160, status=SyncRun.Status.SUCCEEDED)
    expect(progress.locator(".ia-progress-status")).to_have_text("Succeeded")
    expect(page.locator("#salesforce-import-button")).to_be_enabled()
    screenshot(page, "4-import-done")

    # Refused while new Salesforce records create no HubSpot contact: the page says why.
    page.uncheck("#id_create_hubspot_contacts_from_salesforce")
    page.click("#salesforce-settings-form button.default")
    expect(page.locator(".messagelist")).to_contain_text("Settings saved.")
    page.click("#salesforce-import-button")
    expect(page.locator(".messagelist .error")).to_contain_text("turn that setting on to import the existing ones")
    assert SyncRun.objects.count() == 1
    screenshot(page, "5-import-refused")

    # The same side in French: the labels are longer, the layout must hold.
    french = page_factory("fr-FR")
    staff_login(french, "ops", PASSWORD)
    french.goto(f"{live_server.url}/admin/integration/salesforce/settings/?tab=sync&side=salesforce")
    expect(french.locator("html")).to_have_attribute("lang", "fr")
    expect(french.locator("#salesforce-import-button")).to_have_text(
        "Importer les enregistrements Salesforce existants"
    )
    screenshot(french, "6-french")
