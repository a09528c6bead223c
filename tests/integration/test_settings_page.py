"""The Salesforce settings page: "Limit syncs", its figures, resync, other settings, permissions."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from integration.models import SettingChange, SyncSettings
from integration.selectors import inclusion_switch_impacts, switch_impact
from lists.models import ContactList
from sync.models import SyncedState, SyncRun
from sync.selectors import inclusion_list_stats
from tests.lists.factories import ContactFactory, ContactListFactory, ListMembershipFactory

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/admin/integration/salesforce/settings/"
SAVE_URL = "/admin/integration/salesforce/settings/inclusion-list/"


def complete_list(name: str, members=(), **kwargs) -> ContactList:
    contact_list = ContactListFactory(name=name, complete=True, size=len(members), **kwargs)
    for contact in members:
        ListMembershipFactory(contact_list=contact_list, contact=contact)
    return contact_list


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def staff(django_user_model):
    def make(username: str, *groups: str, perms: tuple[str, ...] = ()):
        user = django_user_model.objects.create_user(username, f"{username}@example.com", "pw-123456789", is_staff=True)
        for name in groups:
            user.groups.add(Group.objects.get(name=name))
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return user

    return make


# --------------------------------------------------------------------------------------------
# The dropdown


def test_dropdown_offers_active_lists_only_with_size_and_status(admin_client):
    complete_list("Marketing qualified", members=ContactFactory.create_batch(3))
    ContactListFactory(name="Being computed")  # PROCESSING by default
    ContactListFactory(name="Hand picked", static=True)

    response = admin_client.get(SETTINGS_URL)

    assert response.status_code == 200
    options = [o["label"] for o in response.context["options"]]
    assert options == ["Being computed (Processing)", "Marketing qualified (Complete · 3 contacts)"]
    html = response.content.decode()
    assert "Hand picked" not in html
    assert 'id="id_inclusion_list" data-autosubmit' in html
    assert "No inclusion list" in html
    # Saving needs no Save click: the only Save button of the section is for browsers without JS.
    section = html.split('id="inclusion-list-form"')[1].split("</form>")[0]
    assert "<noscript><button" in section


def test_picking_a_list_saves_it_at_once_with_an_audit_and_a_message(admin_client, admin_user):
    first = complete_list("First", members=ContactFactory.create_batch(2))
    response = admin_client.post(SAVE_URL, {"inclusion_list": first.pk})

    assert response.status_code == 302
    assert response["Location"].startswith(SETTINGS_URL + "?tab=sync")
    assert SyncSettings.load().inclusion_list_id == first.pk
    change = SettingChange.objects.get(setting="inclusion_list")
    assert (change.actor, change.old_value, change.new_value) == (admin_user, "", f"First (#{first.pk})")
    assert any(
        "“First” is the inclusion list" in m and "2 contacts will start syncing" in m for m in messages_of(response)
    )

    page = admin_client.get(SETTINGS_URL).content.decode()
    assert f'<option value="{first.pk}" selected>' in page


def test_no_inclusion_list_is_a_choice(admin_client):
    first = complete_list("First")
    admin_client.post(SAVE_URL, {"inclusion_list": first.pk})
    response = admin_client.post(SAVE_URL, {"inclusion_list": ""})
    assert SyncSettings.load().inclusion_list_id is None
    assert any("No contact is sent to Salesforce" in m for m in messages_of(response))
    assert list(SettingChange.objects.filter(setting="inclusion_list").values_list("new_value", flat=True)) == [
        "",
        f"First (#{first.pk})",
    ]


def test_static_list_posted_directly_is_refused_and_setting_unchanged(admin_client):
    active = complete_list("Active")
    static = ContactListFactory(name="Hand picked", static=True)
    admin_client.post(SAVE_URL, {"inclusion_list": active.pk})

    response = admin_client.post(SAVE_URL, {"inclusion_list": static.pk}, follow=True)

    assert SyncSettings.load().inclusion_list_id == active.pk
    assert SettingChange.objects.filter(setting="inclusion_list").count() == 1
    html = response.content.decode()
    assert "Only active lists can be the inclusion list" in html
    assert "“Hand picked” is static" in html


def test_unknown_list_id_is_refused_with_a_message(admin_client):
    response = admin_client.post(SAVE_URL, {"inclusion_list": 999999}, follow=True)
    assert SyncSettings.load().inclusion_list_id is None
    assert "This list does not exist (any more)." in response.content.decode()


# --------------------------------------------------------------------------------------------
# Figures under the dropdown


def test_members_and_never_synced_counts():
    sent, linked, never_a, never_b = ContactFactory.create_batch(4)
    linked.salesforce_id = "00Q000000000001AAA"
    linked.save()
    SyncedState.objects.create(contact=sent, last_sent_at=timezone.now())
    SyncedState.objects.create(contact=never_a, last_sent_at=None)  # state row, never sent
    contact_list = complete_list("Members", members=[sent, linked, never_a, never_b])
    complete_list("Other", members=ContactFactory.create_batch(2))

    stats = inclusion_list_stats(contact_list=contact_list)

    assert (stats.members, stats.never_synced) == (4, 2)


def test_page_shows_the_rules_and_the_figures(admin_client):
    contacts = ContactFactory.create_batch(3)
    SyncedState.objects.create(contact=contacts[0], last_sent_at=timezone.now())
    chosen = complete_list("Chosen", members=contacts)
    admin_client.post(SAVE_URL, {"inclusion_list": chosen.pk})

    html = admin_client.get(SETTINGS_URL).content.decode()

    assert "Only active lists can be the inclusion list" in html
    assert "Choosing a list does not sync anything by itself" in html
    assert 'id="stat-members">3<' in html
    assert 'id="stat-never-synced">2<' in html
    assert "Resync this list now" in html


def test_switch_impact_is_the_set_differences_of_memberships(django_assert_num_queries):
    a, b, c, d, e = ContactFactory.create_batch(5)
    current = complete_list("Current", members=[a, b, c])
    overlapping = complete_list("Overlapping", members=[b, c, d, e])
    disjoint = complete_list("Disjoint", members=[e])
    empty = complete_list("Empty")

    with django_assert_num_queries(3):
        impacts = inclusion_switch_impacts(current=current)

    assert (impacts[overlapping.pk].would_start, impacts[overlapping.pk].would_stop) == (2, 1)
    assert (impacts[disjoint.pk].would_start, impacts[disjoint.pk].would_stop) == (1, 3)
    assert (impacts[empty.pk].would_start, impacts[empty.pk].would_stop) == (0, 3)
    assert (impacts[None].would_start, impacts[None].would_stop) == (0, 3)
    assert (impacts[current.pk].would_start, impacts[current.pk].would_stop) == (0, 0)
    single = switch_impact(current=current, candidate=overlapping)
    assert (single.would_start, single.would_stop) == (2, 1)
    from_nothing = inclusion_switch_impacts(current=None)
    assert from_nothing[overlapping.pk].would_start == 4


def test_impact_preview_is_computed_on_demand(admin_client):
    a, b, c = ContactFactory.create_batch(3)
    current = complete_list("Current", members=[a, b])
    other = complete_list("Other", members=[b, c])
    admin_client.post(SAVE_URL, {"inclusion_list": current.pk})

    assert "−1" not in admin_client.get(SETTINGS_URL).content.decode()
    html = admin_client.get(SETTINGS_URL, {"tab": "sync", "impact": "1"}).content.decode()
    assert f'<tr data-list="{other.pk}"><td>Other</td><td class="ia-num" data-start>+1</td>' in html
    assert '<td class="ia-num" data-stop>−1</td>' in html
    assert '<td class="ia-num" data-stop>−2</td>' in html  # no inclusion list: both members stop

    data = admin_client.get(reverse("integration:switch_impacts")).json()
    rows = {row["list"]: (row["start"], row["stop"]) for row in data["impacts"]}
    assert rows == {current.pk: (0, 0), other.pk: (1, 1), None: (0, 2)}


def test_impact_json_endpoint(admin_client):
    a, b = ContactFactory.create_batch(2)
    current = complete_list("Current", members=[a])
    other = complete_list("Other", members=[a, b])
    admin_client.post(SAVE_URL, {"inclusion_list": current.pk})
    data = admin_client.get(reverse("integration:switch_impact"), {"list": other.pk}).json()
    assert data == {"ok": True, "list": other.pk, "start": 1, "stop": 0}
    static = ContactListFactory(static=True)
    assert admin_client.get(reverse("integration:switch_impact"), {"list": static.pk}).status_code == 404


# --------------------------------------------------------------------------------------------
# "+ Create inclusion list" and the way back


def test_create_link_opens_the_editor_with_next_back_here(admin_client):
    html = admin_client.get(SETTINGS_URL).content.decode()
    assert (
        'href="/admin/lists/contactlist/add/?next=%2Fadmin%2Fintegration%2Fsalesforce%2Fsettings%2F%3Ftab%3Dsync'
        in html
    )
    assert "+ Create inclusion list" in html


def test_new_list_created_by_this_user_is_highlighted_with_one_click_to_use_it(
    admin_client, admin_user, django_user_model
):
    since = int(time.time()) - 1
    other_user = django_user_model.objects.create_user("other", is_staff=True)
    ContactListFactory(name="Someone else's", created_by=other_user)
    old = ContactListFactory(name="Old one", created_by=admin_user)
    ContactList.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    new = ContactListFactory(name="Fresh list", created_by=admin_user)

    response = admin_client.get(SETTINGS_URL, {"tab": "sync", "new_since": since})

    assert response.context["new_list"] == new
    html = response.content.decode()
    assert "New list “Fresh list” (Processing): use it as the inclusion list?" in html
    assert f'value="{new.pk}" data-new="1"' in html
    response = admin_client.post(SAVE_URL, {"inclusion_list": new.pk})
    assert SyncSettings.load().inclusion_list_id == new.pk
    # Once used, it is not announced again.
    assert admin_client.get(SETTINGS_URL, {"tab": "sync", "new_since": since}).context["new_list"] is None


def test_no_highlight_without_a_new_list(admin_client, admin_user):
    old = ContactListFactory(name="Old one", created_by=admin_user)
    ContactList.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    response = admin_client.get(SETTINGS_URL, {"tab": "sync", "new_since": int(time.time())})
    assert response.context["new_list"] is None
    assert 'id="new-list"' not in response.content.decode()


# --------------------------------------------------------------------------------------------
# Resync


def test_resync_runs_list_resync_and_shows_its_progress(admin_client):
    members = ContactFactory.create_batch(3)
    chosen = complete_list("Chosen", members=members)
    admin_client.post(SAVE_URL, {"inclusion_list": chosen.pk})

    response = admin_client.post(reverse("integration:resync"))

    run = SyncRun.objects.get(trigger=SyncRun.Trigger.LIST_RESYNC)
    assert run.contact_list == chosen and run.progress_total == 3
    assert SettingChange.objects.filter(setting="manual_resync").exists()
    assert response["Location"] == f"{SETTINGS_URL}?tab=sync&run={run.pk}#resync"
    page = admin_client.get(response["Location"]).content.decode()
    assert f'data-url="/admin/sync/runs/progress/?run={run.pk}"' in page

    SyncRun.objects.filter(pk=run.pk).update(progress_done=2)
    data = admin_client.get(reverse("sync:run_progress"), {"run": run.pk}).json()["run"]
    assert (data["done"], data["total"], data["percent"], data["finished"]) == (2, 3, 67, False)
    SyncRun.objects.filter(pk=run.pk).update(progress_done=3, status=SyncRun.Status.SUCCEEDED)
    assert admin_client.get(reverse("sync:run_progress"), {"run": run.pk}).json()["run"]["finished"] is True


def test_resync_without_inclusion_list_says_so(admin_client):
    response = admin_client.post(reverse("integration:resync"), follow=True)
    assert "Choose an inclusion list first." in response.content.decode()
    assert not SyncRun.objects.exists()


# --------------------------------------------------------------------------------------------
# Other settings


def test_salesforce_side_settings_saved_and_audited_with_last_24h_usage(admin_client, admin_user):
    SyncRun.objects.create(salesforce_api_calls=120)
    SyncRun.objects.create(salesforce_api_calls=30)
    old = SyncRun.objects.create(salesforce_api_calls=5000)
    SyncRun.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(hours=25))

    page = admin_client.get(SETTINGS_URL, {"tab": "sync", "side": "salesforce"}).content.decode()
    assert "Used in the last 24 hours: 150 of 15,000 Salesforce API calls." in page

    response = admin_client.post(
        reverse("integration:sync_settings_save", args=["salesforce"]),
        {"salesforce_object_for_new": "Contact", "daily_api_allocation": "20000"},
    )
    assert response.status_code == 302
    row = SyncSettings.load()
    assert (row.salesforce_object_for_new, row.create_hubspot_contacts_from_salesforce) == ("Contact", False)
    assert row.daily_api_allocation == 20000
    assert set(SettingChange.objects.values_list("setting", flat=True)) == {
        "salesforce_object_for_new",
        "create_hubspot_contacts_from_salesforce",
        "daily_api_allocation",
    }


def test_hubspot_side_settings_refuse_external_id_without_a_field(admin_client):
    response = admin_client.post(
        reverse("integration:sync_settings_save", args=["hubspot"]),
        {"sync_enabled": "on", "dedupe_key": "external_id", "external_id_field": "", "polling_interval_minutes": "1"},
        follow=True,
    )
    assert "Name the external ID field used to de-duplicate." in response.content.decode()
    assert SyncSettings.load().dedupe_key == "email"
    response = admin_client.post(
        reverse("integration:sync_settings_save", args=["hubspot"]),
        {"dedupe_key": "external_id", "external_id_field": "HubSpot_Id__c", "polling_interval_minutes": "2"},
    )
    row = SyncSettings.load()
    assert (row.dedupe_key, row.external_id_field, row.sync_enabled) == ("external_id", "HubSpot_Id__c", False)


# --------------------------------------------------------------------------------------------
# Permissions


def test_anonymous_goes_to_login(client):
    for url in (SETTINGS_URL, "/admin/integration/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    response = client.post(SAVE_URL, {"inclusion_list": ""})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_permission_gets_403(client, staff):
    active = complete_list("Active")
    client.force_login(staff("nobody"))
    assert client.get(SETTINGS_URL).status_code == 403
    assert client.get("/admin/integration/").status_code == 403
    assert client.post(SAVE_URL, {"inclusion_list": active.pk}).status_code == 403
    assert SyncSettings.load().inclusion_list_id is None


def test_viewer_sees_the_page_but_cannot_change_or_resync(client, staff):
    active = complete_list("Active")
    client.force_login(staff("editor", "List editors"))
    response = client.get(SETTINGS_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-autosubmit disabled" in html
    assert "Resync this list now" not in html
    assert client.post(SAVE_URL, {"inclusion_list": active.pk}).status_code == 403
    assert client.post(reverse("integration:sync_settings_save", args=["salesforce"]), {}).status_code == 403
    assert client.post(reverse("integration:salesforce_connection_action"), {"action": "disconnect"}).status_code == 403
    assert SyncSettings.load().inclusion_list_id is None


def test_sync_operator_can_resync_but_not_change_settings(client, staff):
    chosen = complete_list("Chosen", members=ContactFactory.create_batch(1))
    SyncSettings.objects.filter(pk=SyncSettings.load().pk).update(inclusion_list=chosen)
    client.force_login(staff("operator", "Sync operators"))
    assert client.post(SAVE_URL, {"inclusion_list": ""}).status_code == 403
    assert client.post(reverse("integration:resync")).status_code == 302
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.LIST_RESYNC).count() == 1


def test_integration_admin_can_change(client, staff):
    active = complete_list("Active")
    client.force_login(staff("integrator", "Integration admins"))
    assert client.post(SAVE_URL, {"inclusion_list": active.pk}).status_code == 302
    assert SyncSettings.load().inclusion_list_id == active.pk


def test_sync_tab_queries_do_not_grow_with_the_number_of_lists(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    chosen = complete_list("Chosen", members=ContactFactory.create_batch(3))
    SyncSettings.objects.filter(pk=SyncSettings.load().pk).update(inclusion_list=chosen)
    admin_client.get(SETTINGS_URL)  # warm the session and the content types

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(SETTINGS_URL).status_code == 200
        return len(queries)

    few = count()
    for i in range(25):
        complete_list(f"More {i}", members=ContactFactory.create_batch(1))
    assert count() == few
