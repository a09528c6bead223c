"""For random edits on both sides, the dry run's per-record intents are what the cycle then
writes: the same action for each contact, and for each write the same fields and values."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.models import DryRun, SyncRecord, SyncRun
from sync.services import hubspot_pull, sync_cycle
from sync.services.dry_run import dry_run_execute, dry_run_start
from tests.sync.dry_run_helpers import DryRunWorld, person

pytestmark = pytest.mark.django_db

PEOPLE = 4
PROPERTIES = ("jobtitle", "company", "phone", "city")
VALUES = st.sampled_from(["", "CEO", "Head of Engines", "+33 1 23 45 67 89", "Lyon", "x" * 130])
HUBSPOT_EDIT = st.tuples(st.just("hubspot"), st.integers(0, PEOPLE - 1), st.sampled_from(PROPERTIES), VALUES)
SALESFORCE_EDIT = st.tuples(
    st.just("salesforce"), st.integers(0, PEOPLE - 1), st.just("Title"), st.sampled_from(["VP Sales", "CTO"])
)


class Edits:
    def __init__(self, sandbox) -> None:
        self.world = DryRunWorld(sandbox)
        self.world.start(n=PEOPLE)
        self.salesforce = sandbox.salesforce()
        self.sandbox = sandbox

    def apply(self, edits) -> None:
        for side, i, name, value in edits:
            if side == "hubspot":
                self.world.edit(i, **{name: value})
            else:
                email = person(i)["email"]
                lead = self.sandbox.soql(f"SELECT Id FROM Lead WHERE Email = '{email}'")[0]
                self.salesforce.Lead.update(lead["Id"], {name: value}, headers={"Sforce-Auto-Assign": "FALSE"})
            time.sleep(0.02)  # the next edit is later, on either side
        hubspot_pull()


@pytest.fixture
def edits(sandbox):
    holder: dict[str, Edits] = {}

    def get() -> Edits:
        if "edits" not in holder:
            holder["edits"] = Edits(sandbox)
        return holder["edits"]

    return get


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.one_of(HUBSPOT_EDIT, SALESFORCE_EDIT), min_size=1, max_size=5))
def test_the_dry_run_intents_are_what_the_cycle_then_writes(edits, changes):
    world = edits()
    world.apply(changes)
    dry_run = dry_run_execute(dry_run=dry_run_start(kind=DryRun.Kind.NEXT_CYCLE, run_async=False))
    assert dry_run.status == DryRun.Status.SUCCEEDED, dry_run.error

    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)

    written = {
        r.email: (r.action, r.payload_after or {})
        for r in SyncRecord.objects.filter(run=run, direction="to_salesforce").exclude(skip_reason="owner_unmatched")
    }
    predicted = {
        row["email"]: (
            row["action"],
            {c["field"]: c["new"] for c in row["changes"]} if row["action"] in ("created", "updated") else {},
        )
        for row in dry_run.rows
    }
    assert {
        email: (action, payload if action in ("created", "updated") else {})
        for email, (action, payload) in written.items()
    } == predicted
