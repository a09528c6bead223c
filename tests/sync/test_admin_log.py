"""The per-record sync log (``SyncRecord`` changelist): filters, search, links, actions, export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integration.models import SalesforceConnection, SettingChange
from sync.admin import WindowPaginator, salesforce_id_18
from sync.models import Category, PendingSync, Reason, SyncRecord, SyncRun
from tests.sync.factories import SyncRecordFactory, SyncRunFactory

pytestmark = pytest.mark.django_db

LOG = "/admin/sync/syncrecord/"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def shown(response) -> list[int]:
    return [r.pk for r in response.context["cl"].result_list]


def test_filters_by_run_action_category_direction_and_date(admin_client):
    run = SyncRunFactory()
    a = SyncRecordFactory(run=run, failed=True, category=Category.PICKLIST)
    b = SyncRecordFactory(run=run, action=SyncRecord.Action.UPDATED)
    c = SyncRecordFactory(failed=True, category=Category.DUPLICATE, direction=SyncRecord.Direction.TO_HUBSPOT)
    old = SyncRecordFactory(at=timezone.now() - dt.timedelta(days=20))

    assert set(shown(admin_client.get(LOG, {"run": run.pk}))) == {a.pk, b.pk}
    assert set(shown(admin_client.get(LOG, {"action__exact": "failed"}))) == {a.pk, c.pk}
    assert shown(admin_client.get(LOG, {"category__exact": "duplicate"})) == [c.pk]
    assert shown(admin_client.get(LOG, {"direction__exact": "to_hubspot"})) == [c.pk]
    since = str(timezone.now() - dt.timedelta(days=7))
    recent = shown(admin_client.get(LOG, {"created_at__gte": since}))
    assert old.pk not in recent and a.pk in recent


def test_current_errors_filter_matches_the_health_page(admin_client):
    fixed = SyncRecordFactory(failed=True, at=timezone.now() - dt.timedelta(hours=2))
    SyncRecordFactory(contact=fixed.contact, action="updated")
    current = SyncRecordFactory(failed=True)
    SyncRecordFactory(failed=True, ignored=True)
    assert shown(admin_client.get(LOG, {"current": "yes"})) == [current.pk]


def test_search_by_email_name_hubspot_id_and_salesforce_id(admin_client):
    target = SyncRecordFactory(
        email="Ana.Lopez@Example.com", name="Ana Lopez", salesforce_id=salesforce_id_18("00Q000000000042")
    )
    SyncRecordFactory(email="bob@example.com", name="Bob Stone")

    for term in ("Ana.Lopez@Example.com", "ana lopez", target.hubspot_id, target.salesforce_id, "00Q000000000042"):
        assert shown(admin_client.get(LOG, {"q": term})) == [target.pk], term
    assert shown(admin_client.get(LOG, {"q": "nobody@example.com"})) == []


def test_fifteen_character_salesforce_ids_are_made_case_safe():
    # Salesforce's documented example pair.
    assert salesforce_id_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert salesforce_id_18("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"


def test_rows_link_to_the_contact_timeline_and_the_salesforce_record(admin_client):
    SalesforceConnection.load()
    SalesforceConnection.objects.update(instance_url="https://acme.my.salesforce.com")
    record = SyncRecordFactory(salesforce_object="Contact", salesforce_id="003000000000001AAA")
    html = admin_client.get(LOG).content.decode()
    assert reverse("sync:contact_timeline", args=[record.contact_id]) in html
    assert "https://acme.my.salesforce.com/lightning/r/Contact/003000000000001AAA/view" in html


def test_the_log_is_read_only(admin_client):
    record = SyncRecordFactory()
    assert admin_client.get(reverse("admin:sync_syncrecord_add")).status_code == 403
    assert admin_client.get(reverse("admin:sync_syncrecord_delete", args=[record.pk])).status_code == 403
    response = admin_client.post(reverse("admin:sync_syncrecord_change", args=[record.pk]), {"email": "x@y.z"})
    assert response.status_code == 403
    record.refresh_from_db()
    assert record.email != "x@y.z"
    actions = [name for name, _label in admin_client.get(LOG).context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions and {"resync_selected", "ignore_selected"} <= set(actions)


def test_query_count_does_not_grow_with_the_rows_shown(admin_client, django_assert_num_queries):
    SyncRunFactory.create_batch(3)
    SyncRecordFactory.create_batch(5, failed=True)
    with CaptureQueriesContext(connection) as five:
        assert admin_client.get(LOG).status_code == 200
    SyncRecordFactory.create_batch(45)
    with django_assert_num_queries(len(five.captured_queries)):
        response = admin_client.get(LOG)
    assert len(response.context["cl"].result_list) == 50


def test_no_full_count_of_the_table(admin_client):
    SyncRecordFactory.create_batch(3)
    with CaptureQueriesContext(connection) as ctx:
        admin_client.get(LOG)
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the paginator counts a window"
    assert all("LIMIT" in sql.upper() for sql in counts), counts


def test_window_paginator_counts_only_a_few_pages_ahead():
    SyncRecordFactory.create_batch(12)
    paginator = WindowPaginator(SyncRecord.objects.order_by("-id"), 2, page_number=1)
    paginator.lookahead = 2
    assert paginator.count == 7 and paginator.capped  # window of 3 pages × 2, +1 to know there is more
    assert paginator.num_pages == 4
    assert len(paginator.page(4).object_list) == 1
    deep = WindowPaginator(SyncRecord.objects.order_by("-id"), 2, page_number=5)
    deep.lookahead = 2
    assert deep.count == 12 and not deep.capped and deep.num_pages == 6


def test_later_pages_are_reachable(admin_client):
    SyncRecordFactory.create_batch(105)
    response = admin_client.get(LOG, {"p": 2})
    assert response.status_code == 200 and len(shown(response)) == 5
    assert "105 records" in response.content.decode()


def test_resync_selected_queues_the_contacts_and_starts_a_run(admin_client, admin_user):
    failed = SyncRecordFactory.create_batch(2, failed=True)
    other = SyncRecordFactory(failed=True)
    response = admin_client.post(
        LOG, {"action": "resync_selected", "_selected_action": [r.pk for r in failed]}, follow=True
    )
    assert response.status_code == 200
    queued = PendingSync.objects.order_by("contact_id")
    assert [p.contact_id for p in queued] == sorted(r.contact_id for r in failed)
    assert all(Reason.CONTACT_RESYNC in p.reasons for p in queued)
    assert not PendingSync.objects.filter(contact=other.contact).exists()
    run = SyncRun.objects.get(trigger=SyncRun.Trigger.CONTACT_RESYNC)
    assert run.triggered_by == admin_user
    assert "2 contacts queued for a resync." in response.content.decode()


def test_ignore_takes_failures_off_the_health_page_and_is_audited(admin_client, admin_user):
    failure = SyncRecordFactory(failed=True)
    success = SyncRecordFactory()
    admin_client.post(LOG, {"action": "ignore_selected", "_selected_action": [failure.pk, success.pk]})
    failure.refresh_from_db()
    success.refresh_from_db()
    assert failure.ignored and not success.ignored
    assert SettingChange.objects.filter(actor=admin_user).exists()
    assert shown(admin_client.get(LOG, {"current": "yes"})) == []
    assert shown(admin_client.get(LOG, {"current": "ignored"})) == [failure.pk]


def test_actions_need_their_permissions(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="pw-123456789", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_syncrecord"))
    client.force_login(viewer)
    record = SyncRecordFactory(failed=True)
    response = client.get(LOG)
    assert response.status_code == 200
    assert (
        "action_form" not in response.context
        or response.context["action_form"] is None
        or not [c for c in response.context["action_form"].fields["action"].choices if c[0]]
    )
    client.post(LOG, {"action": "ignore_selected", "_selected_action": [record.pk]})
    client.post(LOG, {"action": "resync_selected", "_selected_action": [record.pk]})
    record.refresh_from_db()
    assert not record.ignored and not PendingSync.objects.exists()

    viewer.user_permissions.add(Permission.objects.get(codename="trigger_sync"))
    client.post(LOG, {"action": "resync_selected", "_selected_action": [record.pk]})
    assert PendingSync.objects.filter(contact=record.contact).exists()


def read_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_export_streams_the_failed_records_matching_the_filters(admin_client):
    dup = SyncRecordFactory(failed=True, category=Category.DUPLICATE, error_code="DUPLICATES_DETECTED")
    SyncRecordFactory(failed=True, category=Category.PICKLIST)
    SyncRecordFactory(action=SyncRecord.Action.CREATED)
    export = reverse("admin:sync_syncrecord_export")

    everything = admin_client.get(export)
    assert everything.streaming and everything["Content-Type"].startswith("text/csv")
    assert "attachment" in everything["Content-Disposition"]
    assert {row["action"] for row in read_csv(everything)} == {"failed"}
    assert len(read_csv(admin_client.get(export))) == 2

    rows = read_csv(admin_client.get(export, {"category__exact": "duplicate"}))
    assert [(r["email"], r["error code"], r["category"]) for r in rows] == [
        (dup.email, "DUPLICATES_DETECTED", "duplicate")
    ]


def test_export_button_keeps_the_current_filters(admin_client):
    SyncRecordFactory(failed=True)
    html = admin_client.get(LOG, {"category__exact": "duplicate"}).content.decode()
    assert reverse("admin:sync_syncrecord_export") + "?category__exact=duplicate" in html


def test_export_neutralises_spreadsheet_formulas(admin_client):
    SyncRecordFactory(failed=True, message='=HYPERLINK("http://evil")')
    rows = read_csv(admin_client.get(reverse("admin:sync_syncrecord_export")))
    assert rows[0]["message"].startswith("'=")


def test_export_reads_in_chunks(admin_client, monkeypatch):
    import sync.admin.export as ops_admin

    SyncRecordFactory.create_batch(7, failed=True)
    monkeypatch.setattr(ops_admin, "EXPORT_CHUNK", 3)
    seen = []
    original = ops_admin.QuerySet.iterator

    def spy(self, chunk_size=None):
        seen.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(ops_admin.QuerySet, "iterator", spy)
    assert len(read_csv(admin_client.get(reverse("admin:sync_syncrecord_export")))) == 7
    assert seen == [3]


def test_export_needs_the_view_permission(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="pw-123456789", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:sync_syncrecord_export")).status_code == 403


def test_run_admin_links_to_the_run_records(admin_client):
    run = SyncRunFactory(failed=3)
    html = admin_client.get(reverse("admin:sync_syncrun_changelist")).content.decode()
    assert f"{LOG}?run={run.pk}" in html


def test_record_page_shows_the_payload_change_and_links(admin_client):
    record = SyncRecordFactory(
        action=SyncRecord.Action.UPDATED,
        payload_before={"Phone": "111", "Password__c": "old-secret"},
        payload_after={"Phone": "222", "Password__c": "new-secret"},
    )
    html = admin_client.get(reverse("admin:sync_syncrecord_change", args=[record.pk])).content.decode()
    assert reverse("sync:contact_timeline", args=[record.contact_id]) in html
    assert "<th>Phone</th>" in html and "111" in html and "222" in html
    assert "Password__c</th>" not in html
    assert "secret" not in html  # the raw payloads are shown redacted too


def test_select_all_does_not_claim_the_window_is_the_total(admin_client, monkeypatch):
    SyncRecordFactory.create_batch(3)
    html = admin_client.get(LOG, {"p": 1}).content.decode()
    assert "Select all the records matching the filters" not in html  # 3 rows: everything is counted

    monkeypatch.setattr(WindowPaginator, "lookahead", 0)
    SyncRecordFactory.create_batch(100)
    html = admin_client.get(LOG).content.decode()
    assert "Select all the records matching the filters" in html
    assert "More than 100 records" in html
