"""The dry run ("Preview changes") over both emulators: it predicts what the real resync, switch
or cycle then does, record for record, and writes nothing anywhere while it computes."""

from __future__ import annotations

import pytest

from integration.models import SyncSettings
from integration.services import inclusion_list_set
from lists.services import list_create, list_refresh
from sync.models import DryRun, SyncRecord, SyncRun
from sync.services import hubspot_pull, list_resync, push_pending, sync_cycle
from sync.services.dry_run import dry_run_execute, dry_run_start
from tests.lists.factories import filter_branch, property_filter
from tests.sync.dry_run_helpers import (
    DryRunWorld,
    hubspot_state,
    person,
    product_state,
    recorded_calls,
    salesforce_state,
    writes,
)

pytestmark = pytest.mark.django_db

COUNTS = ("created", "updated", "unchanged", "skipped", "failed")


@pytest.fixture
def world(sandbox):
    return DryRunWorld(sandbox)


def preview(kind: str, contact_list=None) -> DryRun:
    dry_run = dry_run_start(kind=kind, contact_list=contact_list, run_async=False)
    return dry_run_execute(dry_run=dry_run)


def run_actions(run: SyncRun) -> dict[str, str]:
    """The real run's action per contact email."""
    return {
        r.email: r.action
        for r in SyncRecord.objects.filter(run=run, direction="to_salesforce").exclude(skip_reason="owner_unmatched")
    }


def test_a_resync_preview_counts_what_the_resync_then_does_and_writes_nothing(world, sandbox):
    contact_list = world.start()
    world.mix()
    before = (product_state(), salesforce_state(sandbox), hubspot_state(sandbox))

    with recorded_calls() as calls:
        dry_run = preview(DryRun.Kind.RESYNC, contact_list)

    assert dry_run.status == DryRun.Status.SUCCEEDED, dry_run.error
    assert calls, "the preview reads Salesforce"
    assert writes(calls) == [], "the preview made a write call"
    assert (product_state(), salesforce_state(sandbox), hubspot_state(sandbox)) == before
    predicted = {name: getattr(dry_run, name) for name in COUNTS}
    assert predicted == {"created": 2, "updated": 2, "unchanged": 6, "skipped": 0, "failed": 3}

    run = push_pending(run=list_resync(contact_list=contact_list, run_async=False))

    assert {name: getattr(run, name) for name in COUNTS} == predicted
    assert {row["email"]: row["action"] for row in dry_run.rows} == run_actions(run)


def test_the_preview_reads_in_batches_not_per_record(world):
    contact_list = world.start(n=30)
    with recorded_calls() as calls:
        dry_run = preview(DryRun.Kind.RESYNC, contact_list)
    assert dry_run.considered == 30
    # Login, describe, one read of the 30 records (a resync plans them again) at most per object.
    assert len(calls) <= 8, calls
    assert dry_run.salesforce_api_calls <= 6


def test_the_sample_shows_each_field_with_its_current_and_new_value(world):
    contact_list = world.start()
    world.mix()
    dry_run = preview(DryRun.Kind.RESYNC, contact_list)

    rows = {row["email"]: row for row in dry_run.rows}
    changed = rows[person(1)["email"]]
    assert changed["action"] == "updated"
    assert {(c["field"], c["current"], c["new"]) for c in changed["changes"]} == {
        ("Title", "CEO", "CFO"),
        ("Company", "Engines 1", "Analytical Engines"),
    }
    new = rows[person(100)["email"]]
    assert new["action"] == "created"
    assert ("LastName", None, "Lovelace100") in {(c["field"], c["current"], c["new"]) for c in new["changes"]}
    assert rows[person(103)["email"]]["error_code"] == "STRING_TOO_LONG"
    assert rows["not-an-email@nowhere"]["error_code"] == "INVALID_EMAIL_ADDRESS"
    assert rows[person(104)["email"]]["error_code"] == "REQUIRED_FIELD_MISSING"
    assert rows[person(5)["email"]]["action"] == "unchanged"
    assert rows[person(5)["email"]]["changes"] == []


def test_a_switch_preview_counts_what_the_next_cycle_after_the_switch_does(world, sandbox):
    world.start()
    world.create([person(200, country="Spain"), person(201, country="Spain", jobtitle="Chef")])
    world.edit(2, country="Spain", jobtitle="Director")
    world.edit(3, country="Spain")
    hubspot_pull()
    spain = list_create(
        name="Spanish",
        processing_type="DYNAMIC",
        filter_branch=filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="Spain")]),
    )
    list_refresh(contact_list=spain)
    spain.refresh_from_db()
    before = (product_state(), salesforce_state(sandbox))

    with recorded_calls() as calls:
        dry_run = preview(DryRun.Kind.SWITCH, spain)

    assert dry_run.status == DryRun.Status.SUCCEEDED, dry_run.error
    assert writes(calls) == []
    assert (product_state(), salesforce_state(sandbox)) == before
    assert dry_run.list_name == "Spanish"

    inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=spain)
    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    real = run_actions(run)
    predicted = {row["email"]: row["action"] for row in dry_run.rows}
    # The cycle also sends the contacts queued by the edits (they left France: skipped there).
    assert {email: real[email] for email in predicted} == predicted
    # Both who moved to Spain changed their country (a mapped field): updates.
    assert (dry_run.created, dry_run.updated, dry_run.unchanged) == (2, 2, 0)


def test_a_next_cycle_preview_counts_what_the_next_cycle_does(world, sandbox):
    world.start()
    world.mix()
    before = product_state()

    with recorded_calls() as calls:
        dry_run = preview(DryRun.Kind.NEXT_CYCLE)

    assert writes(calls) == []
    assert product_state() == before
    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    assert {name: getattr(dry_run, name) for name in COUNTS} == {name: getattr(run, name) for name in COUNTS}
    assert (dry_run.created, dry_run.updated, dry_run.failed) == (2, 2, 3)


def test_a_switch_to_a_static_list_or_without_a_list_is_refused_with_a_message(db):
    from django.core.exceptions import ValidationError

    from tests.lists.factories import ContactListFactory

    static = ContactListFactory(static=True)
    with pytest.raises(ValidationError, match="active lists"):
        dry_run_start(kind=DryRun.Kind.SWITCH, contact_list=static, run_async=False)
    with pytest.raises(ValidationError, match="Choose a list"):
        dry_run_start(kind=DryRun.Kind.RESYNC, run_async=False)
    with pytest.raises(ValidationError, match="Unknown"):
        dry_run_start(kind="everything", run_async=False)
    assert not DryRun.objects.exists()


def test_a_preview_stops_at_the_daily_api_allocation_with_a_message(world, sandbox):
    contact_list = world.start()
    SyncSettings.objects.update(daily_api_allocation=1)
    before = salesforce_state(sandbox)

    dry_run = preview(DryRun.Kind.RESYNC, contact_list)

    assert dry_run.status == DryRun.Status.FAILED
    assert "Daily API allocation of 1 calls reached" in dry_run.error
    assert dry_run.rows == [] and dry_run.created == 0
    assert salesforce_state(sandbox) == before


def test_two_contacts_with_one_email_are_previewed_as_the_push_sends_them(world):
    """The first creates the record; the other (its email in another case) updates that record."""
    from lists.models import ListMembership
    from tests.lists.factories import ContactFactory

    contact_list = world.start(n=2)
    world.create([person(300)])
    hubspot_pull()
    list_refresh(contact_list=contact_list)
    twin = ContactFactory(
        email=person(300)["email"].upper(),
        raw_properties={**person(300, jobtitle="Twin title"), "email": person(300)["email"].upper()},
    )
    ListMembership.objects.create(contact_list=contact_list, contact=twin)

    dry_run = preview(DryRun.Kind.RESYNC, contact_list)
    run = push_pending(run=list_resync(contact_list=contact_list, run_async=False))

    predicted = {(row["email"], row["action"]) for row in dry_run.rows}
    assert predicted == {(email, action) for email, action in run_actions(run).items()}
    assert (person(300)["email"].upper(), "updated") in predicted
    # The twin exists only here, not in HubSpot: the run's write of Salesforce's values to it
    # fails (a HubSpot failure, not a Salesforce one). Salesforce's side is as predicted.
    to_salesforce = SyncRecord.objects.filter(run=run, direction="to_salesforce")
    assert {name: getattr(dry_run, name) for name in COUNTS} == {
        name: to_salesforce.filter(action=name).count() for name in COUNTS
    }
    assert dry_run.to_hubspot == 1
