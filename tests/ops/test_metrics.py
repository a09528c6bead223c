"""GET /metrics: Prometheus text when METRICS_TOKEN is set (bearer token, else 401), no URL
without it (404); figures computed at scrape time from the database, moving as records are
synced, counters that never go down (not even when the retention sweep deletes records)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from integration.models import SyncSettings
from integration.services import inclusion_list_set
from lists.models import Contact
from lists.services import list_create, list_refresh
from sync.metrics import TOTALS_KEY
from sync.models import PendingSync, SyncRecord, SyncRun
from sync.retention import records_sweep
from sync.services import hubspot_pull, sync_cycle
from tests.lists.factories import ContactListFactory, filter_branch, property_filter
from tests.sync.factories import SyncRecordFactory, SyncRunFactory

pytestmark = pytest.mark.django_db

URL = "/metrics"
TOKEN = "scrape-token-0123456789"
REQUIRED = (
    "inclusion_sync_pending",
    "inclusion_sync_records",
    "inclusion_sync_run_duration_seconds",
    "inclusion_sync_salesforce_api_calls_24h",
    "inclusion_sync_hubspot_api_calls_24h",
    "inclusion_sync_last_run_timestamp_seconds",
    "inclusion_sync_list_members",
)


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    cache.delete(TOTALS_KEY)
    yield TOKEN
    cache.delete(TOTALS_KEY)


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape: (sample name, sorted labels) → value."""
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def records(samples, direction: str, action: str) -> float:
    return samples[("inclusion_sync_records_total", (("action", action), ("direction", direction)))]


def runs_timed(samples) -> float:
    return samples[("inclusion_sync_run_duration_seconds_count", ())]


# --- the door ---------------------------------------------------------------------------------


def test_without_metrics_token_the_url_does_not_exist(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get(URL).status_code == 404
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer tökén"],
)
def test_a_scrape_without_the_token_is_a_401(client, token, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = client.get(URL, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"inclusion_sync" not in response.content


def test_every_documented_metric_is_exposed_in_prometheus_text(client, token):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert set(REQUIRED) <= names
    assert client.post(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


# --- the figures, from the database -----------------------------------------------------------


def test_figures_follow_the_queue_the_runs_and_the_lists(client, token):
    members = ContactListFactory(name="Members", complete=True, size=7)
    ContactListFactory(name="Other", complete=True, size=3)
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": members})
    for contact in Contact.objects.bulk_create(Contact(hubspot_id=str(i), email=f"p{i}@x.example") for i in range(4)):
        PendingSync.objects.create(contact=contact)
    recent = SyncRunFactory(salesforce_api_calls=12, hubspot_api_calls=5, at=timezone.now() - timedelta(minutes=10))
    SyncRunFactory(salesforce_api_calls=1000, hubspot_api_calls=1000, at=timezone.now() - timedelta(hours=25))

    samples = scrape(client)
    assert samples[("inclusion_sync_pending", ())] == 4
    assert samples[("inclusion_sync_salesforce_api_calls_24h", ())] == 12
    assert samples[("inclusion_sync_hubspot_api_calls_24h", ())] == 5
    assert samples[("inclusion_sync_last_run_timestamp_seconds", ())] == pytest.approx(recent.finished_at.timestamp())
    lists = {labels: value for (name, labels), value in samples.items() if name == "inclusion_sync_list_members"}
    assert lists == {
        (("inclusion", "true"), ("list", "Members"), ("list_id", str(members.pk))): 7,
        (("inclusion", "false"), ("list", "Other"), ("list_id", str(members.pk + 1))): 3,
    }


def test_records_are_counted_by_direction_and_action_and_durations_bucketed(client, token):
    run = SyncRunFactory()
    SyncRun.objects.filter(pk=run.pk).update(finished_at=run.started_at + timedelta(seconds=42))
    SyncRecordFactory.create_batch(3, run=run)
    SyncRecordFactory.create_batch(2, run=run, failed=True)
    SyncRecordFactory(run=run, direction=SyncRecord.Direction.TO_HUBSPOT, action=SyncRecord.Action.UPDATED)
    # A field skipped for want of an owner is a note about a record, not a record.
    SyncRecordFactory(run=run, skipped=True, skip_reason=SyncRecord.SkipReason.OWNER_UNMATCHED)
    # A run skipped because the sync is off is not timed.
    SyncRunFactory(status=SyncRun.Status.SKIPPED)

    samples = scrape(client)
    assert records(samples, "to_salesforce", "created") == 3
    assert records(samples, "to_salesforce", "failed") == 2
    assert records(samples, "to_hubspot", "updated") == 1
    assert records(samples, "to_salesforce", "skipped") == 0
    assert runs_timed(samples) == 1
    assert samples[("inclusion_sync_run_duration_seconds_sum", ())] == pytest.approx(42)
    assert samples[("inclusion_sync_run_duration_seconds_bucket", (("le", "30.0"),))] == 0
    assert samples[("inclusion_sync_run_duration_seconds_bucket", (("le", "60.0"),))] == 1
    assert samples[("inclusion_sync_run_duration_seconds_bucket", (("le", "+Inf"),))] == 1


def test_a_running_run_is_counted_live_and_once_when_it_ends(client, token):
    done = SyncRunFactory()
    SyncRecordFactory.create_batch(2, run=done)
    going = SyncRunFactory(running=True)
    SyncRecordFactory.create_batch(3, run=going)
    after = SyncRunFactory()  # finished, after the one still going
    SyncRecordFactory(run=after)
    assert records(scrape(client), "to_salesforce", "created") == 6
    # Only the first run is folded for good: the others stay live until the one going ends.
    assert cache.get(TOTALS_KEY)["through"] == done.pk

    SyncRecordFactory.create_batch(4, run=going)
    assert records(scrape(client), "to_salesforce", "created") == 10
    SyncRun.objects.filter(pk=going.pk).update(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())
    assert records(scrape(client), "to_salesforce", "created") == 10
    assert cache.get(TOTALS_KEY)["through"] == after.pk
    assert records(scrape(client), "to_salesforce", "created") == 10


def test_counters_never_go_down_when_the_retention_sweep_deletes_records(client, token):
    old = SyncRunFactory()
    SyncRecordFactory.create_batch(5, run=old)
    before = scrape(client)
    assert records(before, "to_salesforce", "created") == 5
    SyncRecord.objects.update(created_at=timezone.now() - timedelta(days=60))
    assert records_sweep(days=30) == 5

    after = scrape(client)
    assert records(after, "to_salesforce", "created") == 5
    assert runs_timed(after) == runs_timed(before)


def test_totals_lost_from_the_cache_are_counted_again_from_the_records(client, token):
    for _ in range(3):
        SyncRecordFactory.create_batch(2, run=SyncRunFactory())
    first = scrape(client)
    cache.delete(TOTALS_KEY)
    assert scrape(client) == first


def test_a_run_abandoned_a_day_ago_does_not_hold_later_runs_live(client, token):
    stuck = SyncRunFactory(running=True)
    SyncRun.objects.filter(pk=stuck.pk).update(started_at=timezone.now() - timedelta(hours=25))
    later = SyncRunFactory()
    SyncRecordFactory(run=later)
    assert records(scrape(client), "to_salesforce", "created") == 1
    assert cache.get(TOTALS_KEY)["through"] == later.pk


def test_a_scrape_makes_the_same_few_queries_whatever_the_history(client, token, django_assert_max_num_queries):
    for _ in range(30):
        SyncRecordFactory.create_batch(2, run=SyncRunFactory())
    scrape(client)  # folds the thirty runs
    SyncRecordFactory(run=SyncRunFactory())
    with django_assert_max_num_queries(15):
        samples = scrape(client)
    assert records(samples, "to_salesforce", "created") == 61


# --- through a real sync, against both emulators ------------------------------------------------


FRENCH = filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="France")])


def test_figures_move_when_a_sync_run_sends_records_to_the_emulators(client, token, sandbox):
    hubspot = sandbox.hubspot().crm.contacts.basic_api
    ids = [
        hubspot.create(
            {
                "properties": {
                    "email": f"ada{i}@metrics.example",
                    "firstname": "Ada",
                    "lastname": f"Lovelace{i}",
                    "company": "Engines",
                    "country": "France",
                }
            }
        ).id
        for i in range(3)
    ]
    hubspot_pull()
    french = list_create(name="French", processing_type="DYNAMIC", filter_branch=FRENCH)
    list_refresh(contact_list=french)
    inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=french)
    before = scrape(client)

    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    after = scrape(client)
    assert records(after, "to_salesforce", "created") - records(before, "to_salesforce", "created") == 3
    assert runs_timed(after) == runs_timed(before) + 1
    assert (
        after[("inclusion_sync_salesforce_api_calls_24h", ())] > before[("inclusion_sync_salesforce_api_calls_24h", ())]
    )
    assert after[("inclusion_sync_hubspot_api_calls_24h", ())] > 0
    run.refresh_from_db()
    assert after[("inclusion_sync_last_run_timestamp_seconds", ())] == pytest.approx(run.finished_at.timestamp())
    assert after[("inclusion_sync_pending", ())] == PendingSync.objects.count() == 0
    inclusion = {labels: v for (name, labels), v in after.items() if name == "inclusion_sync_list_members"}
    assert inclusion == {(("inclusion", "true"), ("list", "French"), ("list_id", str(french.pk))): 3}

    hubspot.update(ids[0], {"properties": {"company": "Analytical Engines"}})
    assert sync_cycle(trigger=SyncRun.Trigger.COMMAND).status == SyncRun.Status.SUCCEEDED
    later = scrape(client)
    assert records(later, "to_salesforce", "updated") - records(after, "to_salesforce", "updated") == 1
    assert records(later, "to_salesforce", "created") == records(after, "to_salesforce", "created")
    assert not math.isnan(later[("inclusion_sync_run_duration_seconds_sum", ())])
