"""The Python evaluator (``matches``) and ``explain``, operator by operator. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lists.criteria import explain, matches, parse
from lists.normalize import PropertySpec, normalize_properties
from tests.lists.factories import filter_branch, in_list_filter
from tests.lists.factories import property_filter as pf

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SCHEMA = {
    "country": PropertySpec("country", "string", label="Country"),
    "email": PropertySpec("email", "string"),
    "numemployees": PropertySpec("numemployees", "number", label="Employees"),
    "newsletter": PropertySpec("newsletter", "bool"),
    "birthday": PropertySpec("birthday", "date"),
    "lastseen": PropertySpec("lastseen", "datetime"),
    "lifecyclestage": PropertySpec("lifecyclestage", "enumeration", "radio", ("lead", "customer", "Évangéliste")),
    "interests": PropertySpec("interests", "enumeration", "checkbox", ("crm", "ops", "hr")),
}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def contact(**raw: str) -> dict:
    return normalize_properties(raw, SCHEMA)


def one(flt: dict, props: dict, list_ids=()) -> bool:
    return matches(parse(filter_branch([flt])), properties=props, list_ids=set(list_ids), now=NOW)


SPAIN = contact(
    country="Spain",
    email="Ana@Example.COM",
    numemployees="10",
    newsletter="true",
    birthday="1990-05-01",
    lastseen=str(ms(NOW - 3 * DAY)),
    lifecyclestage="LEAD",
    interests="ops;CRM",
)
EMPTY = contact()

CASES = [
    # (filter, passes for SPAIN)
    (pf("country", "STRING", "IS_EQUAL_TO", value="spain"), True),
    (pf("country", "STRING", "IS_EQUAL_TO", value="Spai"), False),
    (pf("country", "STRING", "IS_NOT_EQUAL_TO", value="France"), True),
    (pf("country", "STRING", "IS_NOT_EQUAL_TO", value="SPAIN"), False),
    (pf("email", "STRING", "CONTAINS", value="@example"), True),
    (pf("email", "STRING", "DOES_NOT_CONTAIN", value="EXAMPLE"), False),
    (pf("email", "STRING", "STARTS_WITH", value="ana@"), True),
    (pf("email", "STRING", "ENDS_WITH", value=".com"), True),
    (pf("email", "STRING", "ENDS_WITH", value="ana@example.com.fr"), False),
    (pf("country", "MULTISTRING", "IS_EQUAL_TO", values=["France", "SPAIN"]), True),
    (pf("country", "MULTISTRING", "IS_NOT_EQUAL_TO", values=["France", "SPAIN"]), False),
    (pf("country", "MULTISTRING", "CONTAINS", values=["xx", "pai"]), True),
    (pf("country", "MULTISTRING", "DOES_NOT_CONTAIN", values=["xx", "yy"]), True),
    (pf("country", "MULTISTRING", "STARTS_WITH", values=["Fr", "Sp"]), True),
    (pf("country", "MULTISTRING", "ENDS_WITH", values=["ce", "ny"]), False),
    (pf("numemployees", "NUMBER", "IS_GREATER_THAN", value="9"), True),  # 10 > 9 as numbers
    (pf("numemployees", "NUMBER", "IS_GREATER_THAN", value=10), False),
    (pf("numemployees", "NUMBER", "IS_GREATER_THAN_OR_EQUAL_TO", value=10), True),
    (pf("numemployees", "NUMBER", "IS_LESS_THAN", value=10.5), True),
    (pf("numemployees", "NUMBER", "IS_LESS_THAN_OR_EQUAL_TO", value=9.99), False),
    (pf("numemployees", "NUMBER", "IS_EQUAL_TO", value="10.0"), True),
    (pf("numemployees", "NUMBER", "IS_NOT_EQUAL_TO", value=10), False),
    (pf("numemployees", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=10, upperBound=20), True),  # inclusive
    (pf("numemployees", "NUMBER_RANGED", "IS_NOT_BETWEEN", lowerBound=1, upperBound=10), False),
    (pf("newsletter", "BOOL", "IS_EQUAL_TO", value=True), True),
    (pf("newsletter", "BOOL", "IS_NOT_EQUAL_TO", value="true"), False),
    (pf("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["lead", "customer"]), True),
    (pf("lifecyclestage", "ENUMERATION", "IS_NONE_OF", values=["Lead"]), False),
    (pf("interests", "ENUMERATION", "IS_ANY_OF", values=["crm"]), True),
    (pf("interests", "ENUMERATION", "IS_ANY_OF", values=["hr"]), False),
    (pf("interests", "ENUMERATION", "IS_NONE_OF", values=["hr"]), True),
    (pf("interests", "ENUMERATION", "IS_NONE_OF", values=["hr", "OPS"]), False),
    (pf("country", "ALL_PROPERTY", "IS_KNOWN"), True),
    (pf("country", "ALL_PROPERTY", "IS_UNKNOWN"), False),
    (pf("birthday", "DATETIME", "IS_BEFORE", timestamp="1990-05-02"), True),
    (pf("birthday", "DATETIME", "IS_AFTER", timestamp=ms(datetime(1990, 5, 1, tzinfo=UTC))), False),
    (pf("lastseen", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=7), True),
    (pf("lastseen", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=2), False),
    (pf("lastseen", "ROLLING_DATE_RANGE", "IS_MORE_THAN_X_DAYS_AGO", numberOfDays=2), True),
    (pf("lastseen", "ROLLING_DATE_RANGE", "IS_MORE_THAN_X_DAYS_AGO", numberOfDays=3), False),
]


@pytest.mark.parametrize(("flt", "expected"), CASES)
def test_operators(flt, expected):
    assert one(flt, SPAIN) is expected


@pytest.mark.parametrize(("flt", "_expected"), CASES)
def test_no_value_fails_every_operator_but_is_unknown_unless_included(flt, _expected):
    op = flt["operation"]
    assert one(flt, EMPTY) is (op["operator"] == "IS_UNKNOWN")
    included = {**flt, "operation": {**op, "includeObjectsWithNoValueSet": True}}
    assert one(included, EMPTY) is True


def test_blank_and_unparsable_values_are_no_value():
    odd = contact(country="  ", numemployees="many", newsletter="")
    assert not one(pf("country", "STRING", "IS_NOT_EQUAL_TO", value="x"), odd)
    assert not one(pf("numemployees", "NUMBER", "IS_NOT_EQUAL_TO", value=1), odd)
    assert one(pf("newsletter", "ALL_PROPERTY", "IS_UNKNOWN"), odd)


def test_rolling_range_edges():
    exactly_now = contact(lastseen=str(ms(NOW)))
    at_cutoff = contact(lastseen=str(ms(NOW - 2 * DAY)))
    future = contact(lastseen=str(ms(NOW + DAY)))
    less = pf("lastseen", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=2)
    more = pf("lastseen", "ROLLING_DATE_RANGE", "IS_MORE_THAN_X_DAYS_AGO", numberOfDays=2)
    assert one(less, exactly_now) and not one(less, at_cutoff) and not one(less, future)
    assert not one(more, at_cutoff) and not one(more, future)
    zero = pf("lastseen", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=0)
    assert not one(zero, exactly_now)  # an empty window


def test_unicode_case_insensitivity():
    props = contact(country="CÔTE D'IVOIRE", lifecyclestage="évangéliste")
    assert one(pf("country", "STRING", "STARTS_WITH", value="côte"), props)
    assert one(pf("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["ÉVANGÉLISTE"]), props)


def test_and_or_and_lists():
    data = filter_branch(
        [pf("country", "STRING", "IS_EQUAL_TO", value="France"), in_list_filter(7)],
        [pf("numemployees", "NUMBER", "IS_GREATER_THAN", value=5), in_list_filter(8, "NOT_IN_LIST")],
    )
    branch = parse(data)
    assert matches(branch, properties=SPAIN, list_ids=set(), now=NOW)  # group 2
    assert not matches(branch, properties=SPAIN, list_ids={8}, now=NOW)
    france = contact(country="france")
    assert matches(branch, properties=france, list_ids={7, 8}, now=NOW)  # group 1
    assert not matches(branch, properties=france, list_ids={8}, now=NOW)


def test_nested_or_inside_and():
    data = filter_branch([pf("country", "ALL_PROPERTY", "IS_KNOWN")])
    data["filterBranches"][0]["filterBranches"] = [
        {
            "filterBranchType": "OR",
            "filterBranches": [
                {"filterBranchType": "AND", "filters": [pf("newsletter", "BOOL", "IS_EQUAL_TO", value=False)]},
                {"filterBranchType": "AND", "filters": [pf("numemployees", "NUMBER", "IS_LESS_THAN", value=11)]},
            ],
        }
    ]
    branch = parse(data)
    assert matches(branch, properties=SPAIN, list_ids=(), now=NOW)
    assert not matches(branch, properties=contact(country="x", numemployees="50"), list_ids=(), now=NOW)


# explain ----------------------------------------------------------------------------------------


def sentence(flt: dict, props: dict = SPAIN, **kwargs) -> tuple[str, bool]:
    [result] = explain(parse(filter_branch([flt])), properties=props, list_ids=(), now=NOW, schema=SCHEMA, **kwargs)
    return result.sentence, result.passed


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (
            pf("country", "MULTISTRING", "IS_EQUAL_TO", values=["France", "Germany"]),
            "Country = Spain is not equal to any of France, Germany",
        ),
        (pf("country", "STRING", "IS_EQUAL_TO", value="spain"), "Country = Spain is equal to spain"),
        (pf("country", "STRING", "IS_NOT_EQUAL_TO", value="France"), "Country = Spain is not equal to France"),
        (pf("email", "STRING", "CONTAINS", value="zzz"), "email = Ana@Example.COM does not contain zzz"),
        (pf("email", "STRING", "DOES_NOT_CONTAIN", value="zzz"), "email = Ana@Example.COM does not contain zzz"),
        (pf("email", "STRING", "STARTS_WITH", value="bob"), "email = Ana@Example.COM does not start with bob"),
        (pf("email", "STRING", "ENDS_WITH", value=".com"), "email = Ana@Example.COM ends with .com"),
        (pf("country", "MULTISTRING", "CONTAINS", values=["pa", "x"]), "Country = Spain contains one of pa, x"),
        (pf("numemployees", "NUMBER", "IS_GREATER_THAN", value=9), "Employees = 10 is greater than 9"),
        (pf("numemployees", "NUMBER", "IS_LESS_THAN", value=9), "Employees = 10 is not less than 9"),
        (pf("numemployees", "NUMBER", "IS_GREATER_THAN_OR_EQUAL_TO", value=11), "Employees = 10 is less than 11"),
        (pf("numemployees", "NUMBER", "IS_LESS_THAN_OR_EQUAL_TO", value=9.5), "Employees = 10 is greater than 9.5"),
        (pf("numemployees", "NUMBER", "IS_EQUAL_TO", value=10), "Employees = 10 is equal to 10"),
        (pf("numemployees", "NUMBER", "IS_NOT_EQUAL_TO", value=10), "Employees = 10 is equal to 10"),
        (
            pf("numemployees", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=1, upperBound=5),
            "Employees = 10 is not between 1 and 5",
        ),
        (
            pf("numemployees", "NUMBER_RANGED", "IS_NOT_BETWEEN", lowerBound=1, upperBound=5),
            "Employees = 10 is not between 1 and 5",
        ),
        (pf("newsletter", "BOOL", "IS_EQUAL_TO", value=False), "newsletter = Yes is not No"),
        (pf("newsletter", "BOOL", "IS_NOT_EQUAL_TO", value=False), "newsletter = Yes is not No"),
        (
            pf("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["customer"]),
            "lifecyclestage = LEAD is not any of customer",
        ),
        (pf("lifecyclestage", "ENUMERATION", "IS_NONE_OF", values=["lead"]), "lifecyclestage = LEAD is one of lead"),
        (pf("interests", "ENUMERATION", "IS_ANY_OF", values=["crm"]), "interests = CRM, ops is any of crm"),
        (pf("country", "ALL_PROPERTY", "IS_KNOWN"), "Country = Spain is known"),
        (pf("country", "ALL_PROPERTY", "IS_UNKNOWN"), "Country = Spain is known"),
        (
            pf("birthday", "DATETIME", "IS_AFTER", timestamp="2000-01-01"),
            "birthday = 1990-05-01 is not after 2000-01-01",
        ),
        (
            pf("lastseen", "DATETIME", "IS_BEFORE", timestamp="2026-06-20T00:00:00Z"),
            "lastseen = 2026-06-12 12:00:00 UTC is before 2026-06-20 00:00:00 UTC",
        ),
        (
            pf("lastseen", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=7),
            "lastseen = 2026-06-12 12:00:00 UTC is less than 7 days ago",
        ),
        (
            pf("lastseen", "ROLLING_DATE_RANGE", "IS_MORE_THAN_X_DAYS_AGO", numberOfDays=7),
            "lastseen = 2026-06-12 12:00:00 UTC is not more than 7 days ago",
        ),
    ],
)
def test_explain_sentences(flt, expected):
    text, passed = sentence(flt)
    assert text == expected
    assert passed is one(flt, SPAIN)


def test_explain_no_value_and_lists():
    flt = pf("country", "STRING", "IS_EQUAL_TO", value="Spain")
    assert sentence(flt, EMPTY) == ("Country has no value (filter: is equal to Spain)", False)
    included = pf("country", "STRING", "IS_EQUAL_TO", value="Spain", includeObjectsWithNoValueSet=True)
    assert sentence(included, EMPTY) == ("Country has no value, which this filter accepts", True)
    assert sentence(pf("country", "ALL_PROPERTY", "IS_UNKNOWN"), EMPTY) == ("Country has no value", True)
    data = filter_branch([in_list_filter(3), in_list_filter(4, "NOT_IN_LIST")])
    first, second = explain(parse(data), properties=EMPTY, list_ids={3, 4}, now=NOW, list_names={3: "VIPs"})
    assert (first.sentence, first.passed, first.list_id, first.value) == ("is a member of VIPs", True, 3, True)
    assert (second.sentence, second.passed) == ("is a member of list 4", False)


def test_explain_positions_and_values():
    data = filter_branch(
        [pf("country", "ALL_PROPERTY", "IS_KNOWN")],
        [pf("numemployees", "NUMBER", "IS_GREATER_THAN", value=1), pf("interests", "ALL_PROPERTY", "IS_KNOWN")],
    )
    results = explain(parse(data), properties=SPAIN, list_ids=(), now=NOW)
    assert [(r.group_index, r.filter_index, r.place, r.property) for r in results] == [
        (0, 0, "Group 1, filter 1", "country"),
        (1, 0, "Group 2, filter 1", "numemployees"),
        (1, 1, "Group 2, filter 2", "interests"),
    ]
    assert [r.value for r in results] == ["Spain", 10, ["CRM", "ops"]]
    assert all(r.passed for r in results)
