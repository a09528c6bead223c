"""The Salesforce settings for Salesforce's lifecycle (deletions, the lead assignment rule) and
"Import existing Salesforce records" on the settings page."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from integration.models import SettingChange, SyncSettings
from sync.models import SyncRun

pytestmark = pytest.mark.django_db

SALESFORCE_SIDE = "/admin/integration/salesforce/settings/?tab=sync&side=salesforce"
SAVE_URL = reverse("integration:sync_settings_save", args=["salesforce"])
IMPORT_URL = reverse("integration:salesforce_import")
Deletions = SyncSettings.SalesforceDeletions


def salesforce_side_post(**overrides: str) -> dict[str, str]:
    """The Salesforce side's form as the page posts it, with the stored values unless overridden
    (a checkbox that is off is not posted, as in a browser)."""
    stored = SyncSettings.load()
    data = {
        "salesforce_object_for_new": stored.salesforce_object_for_new,
        "salesforce_deletions": stored.salesforce_deletions,
        "daily_api_allocation": str(stored.daily_api_allocation),
    }
    for name in ("create_hubspot_contacts_from_salesforce", "use_lead_assignment_rules"):
        if getattr(stored, name):
            data[name] = "on"
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def user_in(django_user_model, group: str):
    user = django_user_model.objects.create_user(group.split()[0].lower(), "u@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple]:
    """The tasks the import enqueues, instead of a worker running them."""
    calls: list[tuple] = []
    # The module, not the function of the same name that sync.services re-exports.
    module = importlib.import_module("sync.services.salesforce_import")
    monkeypatch.setattr(module, "async_task", lambda *args, **kwargs: calls.append((args, kwargs)))
    return calls


# --------------------------------------------------------------------------------------------
# The two settings


def test_both_settings_are_on_the_salesforce_side_each_with_its_one_line_explanation(admin_client):
    html = admin_client.get(SALESFORCE_SIDE).content.decode()
    deletions_field = SyncSettings._meta.get_field("salesforce_deletions")
    rules_field = SyncSettings._meta.get_field("use_lead_assignment_rules")
    assert 'name="salesforce_deletions"' in html and 'name="use_lead_assignment_rules"' in html
    assert 'id="id_salesforce_deletions_helptext"' in html and 'id="id_use_lead_assignment_rules_helptext"' in html
    for help_text in (deletions_field.help_text, rules_field.help_text):
        assert escape(str(help_text)) in html
    for label in Deletions.labels:
        assert f">{escape(label)}</option>" in html
    assert f'<option value="{Deletions.KEEP_UNLINKED}" selected>' in html


def test_both_settings_save_through_the_audited_path(admin_client, admin_user):
    response = admin_client.post(
        SAVE_URL,
        salesforce_side_post(salesforce_deletions=Deletions.ARCHIVE_IN_HUBSPOT, use_lead_assignment_rules="on"),
    )
    assert response.status_code == 302
    assert response["Location"] == (
        "/admin/integration/salesforce/settings/?tab=sync&side=salesforce#salesforce-settings"
    )
    row = SyncSettings.load()
    assert (row.salesforce_deletions, row.use_lead_assignment_rules) == (Deletions.ARCHIVE_IN_HUBSPOT, True)
    audit = {
        change.setting: (change.old_value, change.new_value, change.actor)
        for change in SettingChange.objects.order_by("id")
    }
    assert audit == {
        "salesforce_deletions": ("keep_unlinked", "archive_in_hubspot", admin_user),
        "use_lead_assignment_rules": ("False", "True", admin_user),
    }
    assert ("success", "Settings saved.") in messages_of(response)

    # Turned off again (the box is not posted) and another choice: audited again, and shown.
    admin_client.post(
        SAVE_URL, salesforce_side_post(salesforce_deletions=Deletions.RECREATE, use_lead_assignment_rules=None)
    )
    row = SyncSettings.load()
    assert (row.salesforce_deletions, row.use_lead_assignment_rules) == (Deletions.RECREATE, False)
    assert SettingChange.objects.count() == 4
    html = admin_client.get(SALESFORCE_SIDE).content.decode()
    assert f'<option value="{Deletions.RECREATE}" selected>' in html


def test_saving_the_same_values_writes_no_audit(admin_client):
    response = admin_client.post(SAVE_URL, salesforce_side_post())
    assert ("info", "Nothing changed.") in messages_of(response)
    assert not SettingChange.objects.exists()


def test_an_unknown_deletion_choice_is_refused_with_a_message_and_nothing_stored_changes(admin_client):
    response = admin_client.post(
        SAVE_URL,
        salesforce_side_post(
            salesforce_deletions="delete_everything",
            use_lead_assignment_rules="on",
            salesforce_object_for_new="Contact",
        ),
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "When a record is deleted in Salesforce: Select a valid choice. delete_everything is not one of the "
        "available choices." in html
    )
    row = SyncSettings.load()
    assert (row.salesforce_deletions, row.use_lead_assignment_rules, row.salesforce_object_for_new) == (
        Deletions.KEEP_UNLINKED,
        False,
        "Lead",
    )
    assert not SettingChange.objects.exists()


def test_a_post_without_the_deletion_choice_keeps_the_stored_one(admin_client):
    """A page loaded before the setting existed still saves the others, and loses nothing."""
    SyncSettings.objects.update(salesforce_deletions=Deletions.RECREATE)
    admin_client.post(SAVE_URL, salesforce_side_post(salesforce_deletions=None, daily_api_allocation="9000"))
    row = SyncSettings.load()
    assert (row.salesforce_deletions, row.daily_api_allocation) == (Deletions.RECREATE, 9000)
    assert list(SettingChange.objects.values_list("setting", flat=True)) == ["daily_api_allocation"]


# --------------------------------------------------------------------------------------------
# "Import existing Salesforce records"


def test_the_import_button_sits_beside_the_setting_it_extends_with_its_explanation(admin_client):
    html = admin_client.get(SALESFORCE_SIDE).content.decode()
    setting = html.index('name="create_hubspot_contacts_from_salesforce"')
    button = html.index('id="salesforce-import-button"')
    assert setting < button < html.index('name="salesforce_deletions"')
    assert 'form="salesforce-import-form"' in html
    assert f'action="{IMPORT_URL}" id="salesforce-import-form"' in html
    assert (
        "Creates or de-duplicates (by email) a HubSpot contact for each existing Lead and Contact, whatever the "
        "inclusion list. Safe to run again." in html
    )


def test_import_starts_a_run_in_a_worker_and_shows_its_progress(
    admin_client, admin_user, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(IMPORT_URL)

    run = SyncRun.objects.get()
    assert (run.trigger, run.status, run.triggered_by) == (
        SyncRun.Trigger.SALESFORCE_IMPORT,
        SyncRun.Status.RUNNING,
        admin_user,
    )
    assert enqueued == [(("sync.tasks.salesforce_import_task", run.pk), {"task_name": f"salesforce-import-{run.pk}"})]
    assert response["Location"] == (
        f"/admin/integration/salesforce/settings/?tab=sync&side=salesforce&run={run.pk}#salesforce-import"
    )
    assert messages_of(response)[0][0] == "success"

    page = admin_client.get(response["Location"]).content.decode()
    assert f'data-url="/admin/sync/runs/progress/?run={run.pk}"' in page
    assert 'id="salesforce-import-button" disabled' in page
    assert "0</span> of <span" in page

    SyncRun.objects.filter(pk=run.pk).update(progress_done=40, progress_total=160)
    data = admin_client.get(reverse("sync:run_progress"), {"run": run.pk}).json()["run"]
    assert (data["done"], data["total"], data["percent"], data["finished"]) == (40, 160, 25, False)

    # Still shown, without ?run=, while it goes on; a finished one gives the button back.
    assert f"?run={run.pk}" in admin_client.get(SALESFORCE_SIDE).content.decode()
    SyncRun.objects.filter(pk=run.pk).update(progress_done=160, status=SyncRun.Status.SUCCEEDED)
    assert admin_client.get(reverse("sync:run_progress"), {"run": run.pk}).json()["run"]["finished"] is True
    page = admin_client.get(response["Location"]).content.decode()
    assert 'id="salesforce-import-button" disabled' not in page
    assert 'id="salesforce-import-progress"' in page
    assert 'id="salesforce-import-progress"' not in admin_client.get(SALESFORCE_SIDE).content.decode()


def test_a_second_click_follows_the_import_going_on(admin_client, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(IMPORT_URL)
        second = admin_client.post(IMPORT_URL)
    assert SyncRun.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert len(enqueued) == 1
    assert ("info", "An import of existing Salesforce records is already running.") in messages_of(second)


def test_refused_import_shows_why_as_an_error_and_starts_nothing(admin_client, enqueued):
    SyncSettings.objects.update(create_hubspot_contacts_from_salesforce=False)
    response = admin_client.post(IMPORT_URL, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [
        ("/admin/integration/salesforce/settings/?tab=sync&side=salesforce#salesforce-import", 302)
    ]
    refusal = (
        "New Salesforce records are set not to create HubSpot contacts: turn that setting on to import the "
        "existing ones."
    )
    assert messages_of(response) == [("error", refusal)]
    assert f'<li class="error">{refusal}</li>' in response.content.decode()
    assert not SyncRun.objects.exists() and not enqueued
    assert not SettingChange.objects.filter(setting="salesforce_import").exists()


def test_import_needs_the_permission_to_start_a_sync(client, django_user_model, enqueued):
    viewer = user_in(django_user_model, "List editors")
    client.force_login(viewer)
    assert "Import existing Salesforce records" not in client.get(SALESFORCE_SIDE).content.decode()
    assert client.post(IMPORT_URL).status_code == 403
    assert not SyncRun.objects.exists()


def test_a_sync_operator_may_import_without_the_right_to_change_settings(client, django_user_model, enqueued):
    operator = user_in(django_user_model, "Sync operators")
    client.force_login(operator)
    html = client.get(SALESFORCE_SIDE).content.decode()
    # The settings are read-only for them, the button is not (it is outside the disabled fieldsets).
    assert "<fieldset disabled>" in html
    fieldsets_closed = html[: html.index('id="salesforce-import-button"')].count("</fieldset>")
    assert fieldsets_closed == html[: html.index('id="salesforce-import-button"')].count("<fieldset")
    response = client.post(IMPORT_URL)
    assert response.status_code == 302
    assert SyncRun.objects.get().triggered_by == operator


def test_import_is_a_post(admin_client):
    assert admin_client.get(IMPORT_URL).status_code == 405
    assert not SyncRun.objects.exists()


def test_import_needs_a_csrf_token(client, admin_user):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)
    assert csrf_client.post(IMPORT_URL).status_code == 403
    assert not SyncRun.objects.exists()
