"""Sync health: current errors per category, API usage, runs, progress, banner, charts, timeline."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from integration.models import ConnectionStatus, SalesforceConnection, SyncSettings
from lists.models import MembershipChange
from sync import selectors
from sync.charts import activity_chart, api_chart
from sync.models import Category, PendingSync, Reason, SyncRecord, SyncRun
from tests.lists.factories import (
    ContactFactory,
    ContactListFactory,
    ContactPropertyFactory,
    ListMembershipFactory,
    filter_branch,
    property_filter,
)
from tests.sync.factories import SyncRecordFactory, SyncRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


HEALTH = "/admin/sync/health/"


def ago(**kwargs) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kwargs)


# -- current failures -------------------------------------------------------------------------


def test_a_failure_stays_current_until_a_later_record_of_the_same_contact_and_direction():
    still_failing = SyncRecordFactory(failed=True, at=ago(hours=3))
    fixed = SyncRecordFactory(failed=True, at=ago(hours=3))
    SyncRecordFactory(contact=fixed.contact, action=SyncRecord.Action.UPDATED, at=ago(hours=1))
    refailed_old = SyncRecordFactory(failed=True, at=ago(hours=5))
    refailed_new = SyncRecordFactory(contact=refailed_old.contact, failed=True, at=ago(hours=2))
    # A later record in the other direction does not fix a failure towards Salesforce.
    other_direction = SyncRecordFactory(failed=True, at=ago(hours=4))
    SyncRecordFactory(
        contact=other_direction.contact, direction=SyncRecord.Direction.TO_HUBSPOT, action="updated", at=ago(hours=1)
    )
    ignored = SyncRecordFactory(failed=True, ignored=True)

    current = set(selectors.current_failures().values_list("pk", flat=True))

    assert current == {still_failing.pk, refailed_new.pk, other_direction.pk}
    assert fixed.pk not in current and refailed_old.pk not in current and ignored.pk not in current


def test_category_cards_count_current_records_and_errors_of_the_last_day():
    SyncRecordFactory.create_batch(2, failed=True, category=Category.DUPLICATE, error_code="DUPLICATES_DETECTED")
    SyncRecordFactory(failed=True, category=Category.PICKLIST, error_code="BAD_VALUE_FOR_RESTRICTED_PICKLIST")
    old = SyncRecordFactory(failed=True, category=Category.PICKLIST, error_code="X", at=ago(days=2))
    SyncRecordFactory(contact=old.contact, action="updated", at=ago(days=1, hours=1))

    cards = {c.category: c for c in selectors.category_cards()}

    assert [c.category for c in selectors.category_cards()] == list(Category.values)
    assert cards[Category.DUPLICATE].affected == 2
    assert cards[Category.DUPLICATE].errors_24h == 2
    assert cards[Category.DUPLICATE].top_codes == [("DUPLICATES_DETECTED", 2)]
    assert cards[Category.PICKLIST].affected == 1  # the 2-day-old one was fixed since
    assert cards[Category.PICKLIST].errors_24h == 1
    assert cards[Category.REQUIRED_FIELD].affected == 0


def test_health_page_shows_cards_linking_to_the_filtered_log(admin_client):
    SyncRecordFactory.create_batch(3, failed=True, category=Category.VALIDATION_RULE, error_code="FIELD_CUSTOM")
    response = admin_client.get(HEALTH)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Validation rule or custom code" in html
    card = re.search(r'<a class="sync-card sync-card-failing" href="([^"]+)" data-category="validation_rule">', html)
    assert card, "the failing category is highlighted and links somewhere"
    log = admin_client.get(card.group(1).replace("&amp;", "&"))
    assert log.status_code == 200
    assert len(log.context["cl"].result_list) == 3


def test_health_page_lists_recent_runs_with_counts_duration_and_api_calls(admin_client):
    SyncRunFactory(
        trigger=SyncRun.Trigger.WEBHOOK, created=4, updated=5, failed=2, salesforce_api_calls=321, at=ago(minutes=10)
    )
    response = admin_client.get(HEALTH)
    html = response.content.decode()
    assert "HubSpot webhook" in html and "321" in html and "0:30" in html


def test_api_usage_counts_the_last_24_hours_against_the_allocation():
    SyncSettings.load()
    SyncSettings.objects.update(daily_api_allocation=1000)
    SyncRunFactory(salesforce_api_calls=300, hubspot_api_calls=7, at=ago(hours=2))
    SyncRunFactory(salesforce_api_calls=200, at=ago(hours=23))
    SyncRunFactory(salesforce_api_calls=999, at=ago(hours=25))

    usage = selectors.api_usage()

    assert (usage.allocation, usage.used_24h, usage.hubspot_24h, usage.percent, usage.remaining) == (
        1000,
        500,
        7,
        50,
        500,
    )
    assert len(usage.per_hour) == 24 and sum(n for _h, n in usage.per_hour) == 500
    assert not usage.exhausted


def test_live_progress_endpoint_reports_the_running_run(admin_client):
    SyncRunFactory(at=ago(hours=1))
    run = SyncRunFactory(running=True, progress_total=200, progress_done=50, created=10, phase="push")
    data = admin_client.get(reverse("sync:run_progress")).json()
    assert data["run"]["id"] == run.pk and not data["run"]["finished"]
    assert (data["run"]["percent"], data["run"]["phase"], data["run"]["created"]) == (25, "push", 10)
    html = admin_client.get(HEALTH).content.decode()
    assert 'data-running="1"' in html and "width: 25%" in html

    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())
    data = admin_client.get(reverse("sync:run_progress")).json()
    assert data["run"]["id"] == run.pk and data["run"]["finished"]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("INVALID_SESSION_ID: Session expired or invalid", "authentication failed"),
        ("API_DISABLED_FOR_ORG: API is not enabled for this Organization or Partner", "API access disabled"),
        ("Daily API allocation of 15000 calls reached; automatic syncs resume when usage drops.", "daily API limit"),
    ],
)
def test_banner_when_the_integration_is_suspended_says_what_to_do(admin_client, reason, expected):
    SalesforceConnection.load()
    SalesforceConnection.objects.update(status=ConnectionStatus.SUSPENDED, status_reason=reason)
    html = admin_client.get(HEALTH).content.decode()
    assert 'class="sync-banner' in html
    assert expected in html
    assert reason.split(":")[0] in html


def test_no_banner_when_connected_but_one_when_the_allocation_is_used_up(admin_client):
    SalesforceConnection.load()
    SalesforceConnection.objects.update(status=ConnectionStatus.SANDBOX)
    assert 'class="sync-banner' not in admin_client.get(HEALTH).content.decode()
    SyncSettings.load()
    SyncSettings.objects.update(daily_api_allocation=100)
    SyncRunFactory(salesforce_api_calls=100, at=ago(hours=1))
    html = admin_client.get(HEALTH).content.decode()
    assert 'class="sync-banner sync-banner-limit"' in html


def test_health_needs_the_permission_to_view_the_log(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw-123456789", is_staff=True)
    client.force_login(user)
    assert client.get(HEALTH).status_code == 403
    assert client.get(reverse("sync:run_progress")).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_syncrecord"))
    assert client.get(HEALTH).status_code == 200


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(HEALTH)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# -- charts ---------------------------------------------------------------------------------


def test_hourly_totals_come_from_run_counters_over_seven_days():
    now = timezone.now()
    SyncRunFactory(created=3, updated=2, skipped=4, failed=1, at=now - dt.timedelta(hours=2))
    SyncRunFactory(created=1, at=now - dt.timedelta(hours=2, minutes=1))
    SyncRunFactory(created=50, at=now - dt.timedelta(days=8))
    totals = selectors.hourly_totals(now=now)
    assert len(totals) == 7 * 24
    assert sum(t.synced for t in totals) == 6
    busy = [t for t in totals if t.total]
    assert len(busy) <= 2 and sum(t.skipped for t in busy) == 4 and sum(t.failed for t in busy) == 1


def test_activity_chart_is_an_svg_with_a_titled_bar_per_hour_and_no_script():
    now = timezone.now()
    SyncRunFactory(created=3, skipped=1, failed=2, at=now - dt.timedelta(hours=1))
    svg = str(activity_chart(selectors.hourly_totals(now=now)))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<title>") == 7 * 24
    assert "synced 3, skipped 1, failed 2" in svg
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_api_chart_draws_the_hourly_share_of_the_allocation():
    usage = selectors.api_usage()
    svg = str(api_chart(usage.per_hour, allocation=2400))
    assert "stroke-dasharray" in svg and "100" in svg


def test_chart_labels_are_escaped():
    from sync.charts import Series, stacked_bars

    svg = str(stacked_bars(series=[Series("<b>", "#000", [1])], bar_titles=["<x>"], x_labels=[(0, "&")], label='"'))
    assert "<b>" not in svg and "&lt;x&gt;" in svg and "&amp;" in svg


# -- contact timeline -----------------------------------------------------------------------


def test_contact_timeline_shows_joins_queue_sends_with_changes_and_skips(admin_client):
    ContactPropertyFactory(name="email")
    ContactPropertyFactory(name="country")
    inclusion = ContactListFactory(
        name="EU customers",
        filter_branch=filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="France")]),
        complete=True,
    )
    SyncSettings.load()
    SyncSettings.objects.update(inclusion_list=inclusion)
    contact = ContactFactory(properties={"email": "ana@example.com", "country": "Spain"})
    MembershipChange.objects.create(contact_list=inclusion, contact=contact, kind="joined", at=ago(days=2))
    MembershipChange.objects.create(contact_list=inclusion, contact=contact, kind="left", at=ago(hours=5))
    SyncRecordFactory(
        contact=contact,
        action=SyncRecord.Action.UPDATED,
        payload_before={"Phone": "111", "Country": "France", "Api_Token__c": "s3cr3t-before"},
        payload_after={"Phone": "222", "Country": "France", "Api_Token__c": "s3cr3t-after"},
        reasons=[Reason.PROPERTY_CHANGED],
        at=ago(days=1),
    )
    SyncRecordFactory(contact=contact, skipped=True, reasons=[Reason.PROPERTY_CHANGED], at=ago(hours=4))
    PendingSync.objects.create(contact=contact, reasons=[Reason.CONTACT_RESYNC])

    response = admin_client.get(reverse("sync:contact_timeline", args=[contact.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Joined the list “EU customers”" in html and "Left the list “EU customers”" in html
    assert "Manual resync of the contact" in html  # queue reason of the pending entry
    assert "Mapped property changed" in html  # queue reason of the sends
    assert re.search(r"<th>Phone</th>.*111.*→.*222", html, re.S)
    assert "Country</th>" not in html  # unchanged fields are not listed
    assert "s3cr3t" not in html and "••••••" not in html  # secret changed but both redacted: equal
    assert "Not in the inclusion list" in html
    events = response.context["events"]
    assert [e.kind for e in events][:2] == ["queued", "skipped"]


def test_payload_changes_redact_secret_looking_keys():
    changes = selectors.payload_changes({"Password__c": "a", "Phone": "1"}, {"Password__c": "b", "Phone": "2"})
    assert [(c.field, c.before, c.after) for c in changes] == [("Phone", "1", "2")]
    changes = selectors.payload_changes(None, {"access_token": "xyz", "Email": "a@b.c"})
    assert {c.field: c.after for c in changes} == {"access_token": "••••••", "Email": "a@b.c"}


def test_every_skip_shows_the_inclusion_list_explanation(admin_client):
    ContactPropertyFactory(name="email")
    ContactPropertyFactory(name="country")
    inclusion = ContactListFactory(
        filter_branch=filter_branch(
            [property_filter("country", "ENUMERATION", "IS_ANY_OF", values=["France", "Germany"])]
        ),
        complete=True,
    )
    SyncSettings.load()
    SyncSettings.objects.update(inclusion_list=inclusion)
    contact = ContactFactory(properties={"email": "x@example.com", "country": "Spain"})
    SyncRecordFactory.create_batch(2, contact=contact, skipped=True)
    response = admin_client.get(reverse("sync:contact_timeline", args=[contact.pk]))
    skips = [e for e in response.context["events"] if e.kind == "skipped"]
    assert len(skips) == 2
    for event in skips:
        assert [(e.passed, "Spain" in e.sentence and "France" in e.sentence) for e in event.explanations] == [
            (False, True)
        ]
    html = response.content.decode()
    assert html.count('<li class="sync-fail">') == 3  # the panel "now" and each of the two skips


def test_timeline_of_a_member_says_so(admin_client):
    inclusion = ContactListFactory(complete=True)
    SyncSettings.load()
    SyncSettings.objects.update(inclusion_list=inclusion)
    membership = ListMembershipFactory(contact_list=inclusion)
    html = admin_client.get(reverse("sync:contact_timeline", args=[membership.contact_id])).content.decode()
    assert f"Member of “{inclusion.name}”" in html
    assert "Nothing has happened to this contact yet." in html


def test_timeline_of_an_unknown_contact_is_404(admin_client):
    assert admin_client.get(reverse("sync:contact_timeline", args=[999999])).status_code == 404


def test_the_sync_app_page_links_to_the_health_page(admin_client):
    html = admin_client.get("/admin/sync/").content.decode()
    assert 'href="/admin/sync/health/"' in html
