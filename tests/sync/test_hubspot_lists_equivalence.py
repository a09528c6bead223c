"""A HubSpot list evaluated here must have exactly HubSpot's members: random definitions over the
seeded contacts (every property type, every operator family, with and without
``includeObjectsWithNoValueSet``, IN_LIST and NOT_IN_LIST), created in the emulator through the
unmodified client, processed by HubSpot's side, mirrored and evaluated here; any difference is a
bug in one of the two evaluations."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lists.models import ContactList
from sync.services.hubspot_lists import hubspot_lists_pull
from tests.sync.hubspot_lists_helpers import (
    HubSpotSide,
    and_branch,
    in_list,
    local_member_ids,
    mirrored,
    or_root,
    prop,
    pull_all,
)

pytestmark = pytest.mark.django_db(transaction=True)

DAY_MS = 86_400_000
NOW_MS = int(time.time() * 1000)
NO_VALUE = st.booleans()


def _with(fields: dict, include: bool) -> dict:
    return {**fields, "includeObjectsWithNoValueSet": include}


FILTERS = st.one_of(
    st.builds(
        lambda op, vals, inc: prop("country", "MULTISTRING", op, **_with({"values": vals}, inc)),
        st.sampled_from(["IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "STARTS_WITH", "ENDS_WITH", "DOES_NOT_CONTAIN"]),
        st.lists(st.sampled_from(["France", "germany", "Spain", "ited", "Ita"]), min_size=1, max_size=2),
        NO_VALUE,
    ),
    st.builds(
        lambda op, vals, inc: prop("lifecyclestage", "ENUMERATION", op, **_with({"values": vals}, inc)),
        st.sampled_from(["IS_ANY_OF", "IS_NONE_OF"]),
        st.lists(st.sampled_from(["lead", "customer", "subscriber", "opportunity"]), min_size=1, max_size=2),
        NO_VALUE,
    ),
    st.builds(
        lambda op, vals, inc: prop("interests", "ENUMERATION", op, **_with({"values": vals}, inc)),
        st.sampled_from(["IS_ANY_OF", "IS_NONE_OF"]),
        st.lists(st.sampled_from(["webinars", "events", "pricing"]), min_size=1, max_size=2),
        NO_VALUE,
    ),
    st.builds(
        lambda op, value, inc: prop("employee_count", "NUMBER", op, **_with({"value": value}, inc)),
        st.sampled_from(
            ["IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "IS_GREATER_THAN", "IS_LESS_THAN_OR_EQUAL_TO", "IS_LESS_THAN"]
        ),
        st.sampled_from([10, 50, 200, 1000]),
        NO_VALUE,
    ),
    st.builds(
        lambda op, low, span, inc: prop(
            "employee_count", "NUMBER_RANGED", op, **_with({"lowerBound": low, "upperBound": low + span}, inc)
        ),
        st.sampled_from(["IS_BETWEEN", "IS_NOT_BETWEEN"]),
        st.sampled_from([10, 50, 200]),
        st.sampled_from([0, 100, 1000]),
        NO_VALUE,
    ),
    st.builds(
        lambda op, value, inc: prop("newsletter_opt_in", "BOOL", op, **_with({"value": value}, inc)),
        st.sampled_from(["IS_EQUAL_TO", "IS_NOT_EQUAL_TO"]),
        st.booleans(),
        NO_VALUE,
    ),
    st.builds(
        lambda name, op: prop(name, "ALL_PROPERTY", op),
        st.sampled_from(["jobtitle", "phone", "annualrevenue", "last_event_date"]),
        st.sampled_from(["IS_KNOWN", "IS_UNKNOWN"]),
    ),
    st.builds(
        lambda name, op, value, inc: prop(name, "STRING", op, **_with({"value": value}, inc)),
        st.sampled_from(["email", "company", "jobtitle"]),
        st.sampled_from(["CONTAINS", "STARTS_WITH", "ENDS_WITH", "IS_EQUAL_TO", "DOES_NOT_CONTAIN"]),
        st.sampled_from(["a", "gmail", ".de", "Manager", "X"]),
        NO_VALUE,
    ),
    st.builds(
        lambda name, op, days, inc: prop(name, "DATETIME", op, **_with({"timestamp": NOW_MS - days * DAY_MS}, inc)),
        st.sampled_from(["last_event_date", "trial_started_at"]),
        st.sampled_from(["IS_BEFORE", "IS_AFTER"]),
        st.sampled_from([30, 365, 900]),
        NO_VALUE,
    ),
    st.builds(
        lambda op, days, inc: prop("last_event_date", "ROLLING_DATE_RANGE", op, **_with({"numberOfDays": days}, inc)),
        st.sampled_from(["IS_LESS_THAN_X_DAYS_AGO", "IS_MORE_THAN_X_DAYS_AGO"]),
        st.sampled_from([7, 90, 400]),
        NO_VALUE,
    ),
    st.sampled_from([in_list("PICKED"), in_list("PICKED", "NOT_IN_LIST")]),
)
DEFINITIONS = st.lists(st.lists(FILTERS, min_size=1, max_size=3), min_size=1, max_size=2)


@pytest.fixture
def world(sandbox):
    sandbox.seed(150, seed=11)
    hs = HubSpotSide(sandbox)
    picked = hs.create("Picked", "MANUAL")
    hs.add(picked, [str(i) for i in range(1, 151, 3)])
    pull_all()
    return hs, picked


def _resolve(branches: list[list[dict]], picked: str) -> dict:
    def fix(item: dict) -> dict:
        return {**item, "listId": picked} if item.get("filterType") == "IN_LIST" else item

    return or_root(*(and_branch(*(fix(f) for f in filters)) for filters in branches))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(definition=DEFINITIONS)
def test_a_list_evaluated_here_has_exactly_hubspots_members(world, definition):
    hs, picked = world
    list_id = hs.create(f"Random {time.monotonic_ns()}", "DYNAMIC", _resolve(definition, picked))
    hs.settle()
    hubspot_lists_pull()
    here = mirrored(list_id)
    assert here.membership_source == ContactList.MembershipSource.LOCAL, here.hubspot_filter_branch
    assert here.processing_status == ContactList.ProcessingStatus.COMPLETE, here.error
    assert local_member_ids(here) == hs.member_ids(list_id), here.hubspot_filter_branch
