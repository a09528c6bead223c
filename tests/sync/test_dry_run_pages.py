"""The "Preview changes" buttons, the preview's page with its progress, and its CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from sync.models import DryRun
from sync.tasks import dry_run_task
from tests.sync.dry_run_helpers import DryRunWorld, person

pytestmark = pytest.mark.django_db

START = "/admin/sync/dryrun/start/"
SETTINGS = "/admin/integration/salesforce/settings/"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def queued(monkeypatch):
    """The dry run tasks the pages enqueue (run by the test when it wants)."""
    calls: list[tuple] = []
    monkeypatch.setattr("sync.services.dry_run.async_task", lambda *args, **kwargs: calls.append(args))
    return calls


@pytest.fixture
def world(sandbox):
    return DryRunWorld(sandbox)


def start(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(START, data)


def test_the_settings_page_offers_a_preview_of_the_resync_and_of_each_switch(admin_client, world):
    contact_list = world.start(n=2)
    page = admin_client.get(SETTINGS).content.decode()
    assert 'id="resync-preview-button"' in page
    assert 'name="kind" value="resync"' in page
    assert f'name="contact_list" value="{contact_list.pk}"' in page
    health = admin_client.get("/admin/sync/health/").content.decode()
    assert 'id="next-cycle-preview-button"' in health


def test_each_active_list_of_the_switch_preview_has_its_preview_button(admin_client, db):
    from integration.models import SyncSettings
    from tests.lists.factories import ContactListFactory, ContactPropertyFactory

    ContactPropertyFactory(name="email")
    current, other = ContactListFactory(complete=True), ContactListFactory(complete=True)
    static = ContactListFactory(static=True)
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": current})
    page = admin_client.get(SETTINGS).content.decode()
    assert f'data-preview-switch="{other.pk}"' in page
    assert f'data-preview-switch="{current.pk}"' not in page
    assert f'data-preview-switch="{static.pk}"' not in page


def test_the_list_of_previews_is_one_page_of_few_queries(
    admin_client, django_user_model, django_assert_max_num_queries
):
    user = django_user_model.objects.get(username="admin")
    for kind in DryRun.Kind.values * 10:
        DryRun.objects.create(kind=kind, created_by=user)
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:sync_dryrun_changelist"))
    assert response.status_code == 200
    assert response.content.decode().count("Next sync cycle") >= 10


def test_a_preview_its_worker_left_running_shows_as_interrupted(admin_client, db):
    import datetime as dt

    from django.utils import timezone

    dry_run = DryRun.objects.create(
        kind=DryRun.Kind.NEXT_CYCLE, status=DryRun.Status.RUNNING, started_at=timezone.now() - dt.timedelta(hours=3)
    )
    progress = admin_client.get(reverse("sync:run_progress") + f"?dry_run={dry_run.pk}").json()["run"]
    assert progress["finished"] and progress["status_label"] == "Interrupted"
    page = admin_client.get(reverse("admin:sync_dryrun_change", args=[dry_run.pk])).content.decode()
    assert "Interrupted" in page and "Preview again" in page and "dry-run-csv" not in page


def test_a_resync_preview_runs_in_the_background_and_its_page_shows_counts_diffs_and_progress(
    admin_client, world, queued, django_capture_on_commit_callbacks
):
    contact_list = world.start(n=3)
    world.edit(1, jobtitle="CFO")
    world.create([person(50)])
    from sync.services import hubspot_pull

    hubspot_pull()
    response = start(
        admin_client, django_capture_on_commit_callbacks, kind="resync", contact_list=contact_list.pk, next=SETTINGS
    )
    dry_run = DryRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:sync_dryrun_change", args=[dry_run.pk])
    assert queued == [("sync.tasks.dry_run_task", dry_run.pk)]
    progress_url = reverse("sync:run_progress") + f"?dry_run={dry_run.pk}"
    before = admin_client.get(progress_url).json()["run"]
    assert (before["status"], before["finished"], before["done"]) == ("queued", False, 0)
    page = admin_client.get(response["Location"]).content.decode()
    assert "data-run-progress" in page and f"?dry_run={dry_run.pk}" in page

    dry_run_task(dry_run.pk)

    after = admin_client.get(progress_url).json()["run"]
    assert after["finished"] and after["percent"] == 100
    assert (after["created"], after["updated"], after["unchanged"], after["done"], after["total"]) == (1, 1, 2, 4, 4)
    page = admin_client.get(response["Location"]).content.decode()
    assert "Lovelace50" in page and "CFO" in page
    assert "Export (CSV)" in page


def test_the_csv_has_one_line_per_field_change_with_current_and_new_values(
    admin_client, world, queued, django_capture_on_commit_callbacks
):
    contact_list = world.start(n=2)
    world.edit(0, jobtitle="=HYPERLINK(1)")
    from sync.services import hubspot_pull

    hubspot_pull()
    start(admin_client, django_capture_on_commit_callbacks, kind="resync", contact_list=contact_list.pk)
    dry_run = DryRun.objects.get()
    dry_run_task(dry_run.pk)

    response = admin_client.get(reverse("admin:sync_dryrun_csv", args=[dry_run.pk]))
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    changed = [r for r in rows if r["email"] == person(0)["email"]]
    assert [(r["action"], r["field"], r["current Salesforce value"], r["value to write"]) for r in changed] == [
        ("Would update", "Title", "CEO", "'=HYPERLINK(1)")
    ]
    assert {r["action"] for r in rows if r["email"] == person(1)["email"]} == {"Unchanged"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "everything"}, "Unknown kind of preview."),
        ({"kind": "resync"}, "Choose a list to preview."),
        ({"kind": "switch", "contact_list": "abc"}, "That list does not exist."),
        ({"kind": "switch", "contact_list": "999999"}, "That list does not exist."),
    ],
)
def test_bad_input_goes_back_with_a_message_never_an_error_page(admin_client, queued, data, message):
    response = admin_client.post(START, {**data, "next": SETTINGS}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == SETTINGS
    assert message in [str(m) for m in response.context["messages"]]
    assert not DryRun.objects.exists() and not queued


def test_a_foreign_next_address_is_not_followed(admin_client, queued):
    response = admin_client.post(START, {"kind": "resync", "next": "https://evil.example/"})
    assert response["Location"] == reverse("admin:sync_dryrun_changelist")


def test_starting_a_preview_needs_the_permission_to_trigger_a_sync(client, django_user_model, queued):
    user = django_user_model.objects.create_user("viewer", password="pass-1234-viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_syncrun"))
    client.force_login(user)
    assert client.post(START, {"kind": "next_cycle"}).status_code == 403
    dry_run = DryRun.objects.create(kind=DryRun.Kind.NEXT_CYCLE)
    # Those who see the runs may look at a preview.
    assert client.get(reverse("admin:sync_dryrun_change", args=[dry_run.pk])).status_code == 200
    assert client.get(reverse("sync:run_progress") + "?dry_run=x").status_code == 404


def test_the_next_cycle_preview_starts_from_the_health_page(admin_client, queued, django_capture_on_commit_callbacks):
    response = start(admin_client, django_capture_on_commit_callbacks, kind="next_cycle")
    dry_run = DryRun.objects.get()
    assert dry_run.kind == DryRun.Kind.NEXT_CYCLE and dry_run.contact_list is None
    assert response.status_code == 302 and queued


@pytest.mark.django_db
def test_previews_spend_the_daily_allocation_the_sync_and_the_health_page_read():
    from sync.models import DryRun, SyncRun

    DryRun.objects.create(kind=DryRun.Kind.NEXT_CYCLE, salesforce_api_calls=40, hubspot_api_calls=3)
    SyncRun.objects.create(salesforce_api_calls=10, hubspot_api_calls=1)
    usage = SyncRun.objects.api_calls_last_24h()
    assert (usage.salesforce, usage.hubspot) == (50, 4)
