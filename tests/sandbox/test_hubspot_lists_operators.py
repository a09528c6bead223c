"""What each property operation the HubSpot emulator evaluates selects, with DESIGN §5's rules: values
compared case-insensitively, multiple checkboxes as sets, dates as instants (a date at midnight
UTC), and no value (absent, blank, or not of the compared type) failing every operator but
IS_UNKNOWN unless ``includeObjectsWithNoValueSet`` is true. One list per operation, created and
read through the unmodified hubspot-api-client."""

from __future__ import annotations

import datetime as dt

import pytest
from hubspot import HubSpot

from sandbox.hubspot.schema import iso_ms
from tests.sandbox.hubspot_helpers import and_branch, create_list, members, or_root, prop

NOW = dt.datetime.now(dt.UTC)
JAN_15 = int(dt.datetime(2024, 1, 15, tzinfo=dt.UTC).timestamp() * 1000)
# Ids 1..4, in this order. Contact 3 has no value but its email; 4 holds values of the wrong type.
CONTACTS = [
    {
        "email": "emilie@example.com",
        "firstname": "Émilie",
        "jobtitle": "Head of Sales",
        "employee_count": "5",
        "newsletter_opt_in": "true",
        "interests": "webinars;pricing",
        "industry_segment": "software",
        "last_event_date": "2024-01-10",
        "trial_started_at": "2024-03-01T12:00:00.000Z",
    },
    {
        "email": "bob@example.com",
        "firstname": "bob",
        "jobtitle": "   ",
        "employee_count": "50",
        "newsletter_opt_in": "false",
        "interests": "events",
        "industry_segment": "retail",
        "last_event_date": "2024-02-01",
        "trial_started_at": iso_ms(NOW - dt.timedelta(days=2)),
    },
    {"email": "nobody@example.com"},
    {
        "email": "upper@example.com",
        "firstname": "EMILIE",
        "employee_count": "abc",
        "newsletter_opt_in": "maybe",
        "interests": "Webinars",
        "trial_started_at": iso_ms(NOW + dt.timedelta(days=3)),
    },
]


def op(name: str, kind: str, operator: str, include: bool = False, **fields) -> dict:
    return prop(name, kind, operator, includeObjectsWithNoValueSet=include, **fields)


CASES = [
    # STRING: case-folded (É is not E).
    (op("firstname", "STRING", "IS_EQUAL_TO", value="émilie"), [1]),
    (op("firstname", "STRING", "IS_NOT_EQUAL_TO", value="BOB"), [1, 4]),
    (op("firstname", "STRING", "IS_NOT_EQUAL_TO", True, value="bob"), [1, 3, 4]),
    (op("firstname", "STRING", "CONTAINS", value="MIL"), [1, 4]),
    (op("firstname", "STRING", "DOES_NOT_CONTAIN", value="o"), [1, 4]),
    (op("firstname", "STRING", "STARTS_WITH", value="E"), [4]),
    (op("firstname", "STRING", "ENDS_WITH", value="LIE"), [1, 4]),
    # MULTISTRING: any value; the negative operators, none.
    (op("firstname", "MULTISTRING", "IS_EQUAL_TO", values=["bob", "emilie"]), [2, 4]),
    (op("firstname", "MULTISTRING", "DOES_NOT_CONTAIN", values=["b", "z"]), [1, 4]),
    # NUMBER and NUMBER_RANGED (bounds inclusive); "abc" is no number.
    (op("employee_count", "NUMBER", "IS_EQUAL_TO", value=5), [1]),
    (op("employee_count", "NUMBER", "IS_NOT_EQUAL_TO", value=5), [2]),
    (op("employee_count", "NUMBER", "IS_GREATER_THAN", value="10"), [2]),
    (op("employee_count", "NUMBER", "IS_LESS_THAN_OR_EQUAL_TO", value=5.0), [1]),
    (op("employee_count", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=5, upperBound=50), [1, 2]),
    (op("employee_count", "NUMBER_RANGED", "IS_NOT_BETWEEN", True, lowerBound=0, upperBound=10), [2, 3, 4]),
    (op("hs_object_id", "NUMBER", "IS_GREATER_THAN", value=2), [3, 4]),
    # BOOL ("maybe" is no bool).
    (op("newsletter_opt_in", "BOOL", "IS_EQUAL_TO", value=True), [1]),
    (op("newsletter_opt_in", "BOOL", "IS_NOT_EQUAL_TO", value=True), [2]),
    (op("newsletter_opt_in", "BOOL", "IS_EQUAL_TO", True, value=False), [2, 3, 4]),
    # ENUMERATION: a multiple checkbox is a set of options, compared ignoring case.
    (op("interests", "ENUMERATION", "IS_ANY_OF", values=["WEBINARS"]), [1, 4]),
    (op("interests", "ENUMERATION", "IS_NONE_OF", values=["webinars"]), [2]),
    (op("interests", "ENUMERATION", "IS_NONE_OF", True, values=["webinars"]), [2, 3]),
    (op("interests", "ENUMERATION", "IS_EXACTLY", values=["pricing", "webinars"]), [1]),
    (op("interests", "ENUMERATION", "CONTAINS_ALL", values=["webinars"]), [1, 4]),
    (op("interests", "ENUMERATION", "DOES_NOT_CONTAIN_ALL", values=["webinars", "pricing"]), [2, 4]),
    (op("industry_segment", "ENUMERATION", "IS_ANY_OF", values=["software", "retail"]), [1, 2]),
    # ALL_PROPERTY: a blank value is no value.
    (op("jobtitle", "ALL_PROPERTY", "IS_KNOWN"), [1]),
    (op("jobtitle", "ALL_PROPERTY", "IS_UNKNOWN"), [2, 3, 4]),
    # DATETIME / RANGED_DATE on a date (midnight UTC) and a datetime; ROLLING_DATE_RANGE.
    (op("last_event_date", "DATETIME", "IS_BEFORE", timestamp=JAN_15), [1]),
    (op("last_event_date", "DATETIME", "IS_AFTER", timestamp=JAN_15), [2]),
    (op("last_event_date", "RANGED_DATE", "IS_BETWEEN", lowerBound=JAN_15 - 5 * 86_400_000, upperBound=JAN_15), [1]),
    (op("trial_started_at", "DATETIME", "IS_AFTER", timestamp=JAN_15), [1, 2, 4]),
    (op("trial_started_at", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=7), [2]),
    (op("trial_started_at", "ROLLING_DATE_RANGE", "IS_MORE_THAN_X_DAYS_AGO", numberOfDays=7), [1]),
    (op("trial_started_at", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_FROM_NOW", numberOfDays=7), [4]),
    (op("createdate", "DATETIME", "IS_AFTER", timestamp=1_700_000_000_002), [3, 4]),
    ({"filterType": "CONSTANT", "shouldAccept": True}, [1, 2, 3, 4]),
]


def seed(app) -> None:
    app.store.bulk_insert(
        (values, 1_700_000_000_000 + i, 1_700_000_000_000 + i) for i, values in enumerate(CONTACTS, start=1)
    )


@pytest.mark.parametrize(
    ("item", "expected"), CASES, ids=lambda v: v.get("property", v.get("filterType")) if isinstance(v, dict) else None
)
def test_each_evaluated_operation_selects_as_design_says(client: HubSpot, hs, item, expected):
    seed(hs[1])
    created = create_list(client, "Operation", "DYNAMIC", or_root(and_branch(item)))
    assert members(client, created.list_id) == [str(i) for i in expected], item


def test_branches_combine_filters_with_and_and_or(client: HubSpot, hs):
    seed(hs[1])
    big_or_subscribed = {
        "filterBranchType": "OR",
        "filters": [],
        "filterBranches": [
            and_branch(op("employee_count", "NUMBER", "IS_GREATER_THAN", value=10)),
            and_branch(op("newsletter_opt_in", "BOOL", "IS_EQUAL_TO", value=True)),
        ],
    }
    branch = or_root(
        and_branch(op("firstname", "STRING", "CONTAINS", value="mil"), branches=(big_or_subscribed,)),
        and_branch(op("industry_segment", "ENUMERATION", "IS_ANY_OF", values=["retail"])),
    )
    assert members(client, create_list(client, "Combined", "DYNAMIC", branch).list_id) == ["1", "2"]
    empty_group = or_root(and_branch())  # an AND branch with nothing in it holds for everyone
    assert members(client, create_list(client, "Everyone", "DYNAMIC", empty_group).list_id) == ["1", "2", "3", "4"]
