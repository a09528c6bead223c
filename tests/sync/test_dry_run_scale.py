"""The dry run at the size of a real list: 2,000 seeded HubSpot contacts (a realistic mix, some
Salesforce refuses), 1,500 synced before and 500 new, previewed then resynced. Its reads go a
batch at a time, and its counts are the resync's."""

from __future__ import annotations

import time

import pytest

from integration.models import SyncSettings
from integration.services import inclusion_list_set
from lists.services import list_create, list_refresh
from sync.models import DryRun, SyncRun
from sync.services import hubspot_pull, list_resync, push_pending, sync_cycle
from sync.services.dry_run import dry_run_execute, dry_run_start
from tests.lists.factories import filter_branch, property_filter
from tests.sync.dry_run_helpers import recorded_calls, writes

pytestmark = pytest.mark.django_db

EVERYONE = filter_branch([property_filter("email", "ALL_PROPERTY", "IS_KNOWN")])
COUNTS = ("created", "updated", "unchanged", "skipped", "failed")


def test_a_preview_of_a_big_resync_reads_in_batches_and_predicts_it(sandbox, capsys):
    sandbox.seed(1500)
    hubspot_pull()
    contact_list = list_create(name="Everyone with an email", processing_type="DYNAMIC", filter_branch=EVERYONE)
    list_refresh(contact_list=contact_list)
    inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
    sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    sandbox.seed(500, seed=2)
    hubspot_pull()
    contact_list.refresh_from_db()
    members = contact_list.size
    assert members > 1900

    started = time.monotonic()
    with recorded_calls() as calls:
        dry_run = dry_run_execute(
            dry_run=dry_run_start(kind=DryRun.Kind.RESYNC, contact_list=contact_list, run_async=False)
        )
    preview_seconds = time.monotonic() - started
    assert dry_run.status == DryRun.Status.SUCCEEDED, dry_run.error
    assert writes(calls) == []

    started = time.monotonic()
    run = push_pending(run=list_resync(contact_list=contact_list, run_async=False))
    resync_seconds = time.monotonic() - started
    assert {name: getattr(dry_run, name) for name in COUNTS} == {name: getattr(run, name) for name in COUNTS}
    assert dry_run.created > 0 and dry_run.unchanged > 0 and dry_run.failed > 0
    # The preview reads as the push reads (the same batches): its calls are the resync's reads,
    # plus one describe per object, never one per record.
    assert dry_run.salesforce_api_calls <= run.salesforce_api_calls + 2
    with capsys.disabled():
        print(
            f"\n{members} members: preview {preview_seconds:.1f} s, {dry_run.salesforce_api_calls} Salesforce "
            f"and {dry_run.hubspot_api_calls} HubSpot calls; resync {resync_seconds:.1f} s, "
            f"{run.salesforce_api_calls} Salesforce calls; "
            + ", ".join(f"{name} {getattr(dry_run, name)}" for name in COUNTS)
        )
