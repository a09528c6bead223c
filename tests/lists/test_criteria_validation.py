"""Parsing and validating criteria: what is accepted, and 20+ kinds of bad criteria refused
with a message that names the group and the filter. No database."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from lists.criteria import (
    MAX_DEPTH,
    MAX_FILTERS,
    MAX_VALUES,
    CriteriaError,
    InListFilter,
    PropertyFilter,
    check_filter_branch,
    load_list_graph,
    load_schema,
    parse,
    referenced_list_ids,
    referenced_properties,
    validate,
)
from lists.normalize import PropertySpec
from tests.json_strategies import CRITERIA_KEYS, json_places
from tests.lists.factories import filter_branch, in_list_filter
from tests.lists.factories import property_filter as pf

SCHEMA = {
    "country": PropertySpec("country", "string", label="Country"),
    "numemployees": PropertySpec("numemployees", "number"),
    "newsletter": PropertySpec("newsletter", "bool"),
    "birthday": PropertySpec("birthday", "date"),
    "createdate": PropertySpec("createdate", "datetime"),
    "lifecyclestage": PropertySpec("lifecyclestage", "enumeration", "radio", ("lead", "customer")),
    "interests": PropertySpec("interests", "enumeration", "checkbox", ("crm", "Ops")),
}
# List 1 references nothing; 2 references 1; 3 references 2 (so 3 -> 2 -> 1).
GRAPH = {1: set(), 2: {1}, 3: {2}, 4: set()}

GOOD = filter_branch(
    [
        pf("country", "STRING", "IS_EQUAL_TO", value="France"),
        pf("numemployees", "NUMBER", "IS_GREATER_THAN", value="50"),
    ],
    [
        pf("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["LEAD"]),
        pf("createdate", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=30),
        in_list_filter(1),
    ],
)


def check(data, *, list_id=None, schema=SCHEMA, graph=GRAPH):
    validate(parse(data), schema=schema, list_ids=graph, list_id=list_id)


def refused(data, **kwargs) -> list[str]:
    with pytest.raises(CriteriaError) as info:
        check(data, **kwargs)
    assert info.value.messages
    return info.value.messages


def test_good_criteria_parse_into_typed_nodes_and_round_trip():
    branch = parse(GOOD)
    check(GOOD, list_id=4)
    first, second = branch.branches
    assert isinstance(first.filters[0], PropertyFilter)
    assert first.filters[1].operation.value == 50  # the numeric string became a number
    assert isinstance(second.filters[2], InListFilter) and second.filters[2].list_id == 1
    assert referenced_properties(branch) == {"country", "numemployees", "lifecyclestage", "createdate"}
    assert referenced_list_ids(branch) == {1}
    assert parse(json.loads(json.dumps(branch.to_dict()))) == branch


def test_hubspot_extras_are_accepted():
    data = copy.deepcopy(GOOD)
    data["filterBranchOperator"] = "OR"
    data["filterBranches"][0]["filterBranchOperator"] = "AND"
    data["filterBranches"][1]["filters"][1]["operation"]["requiresTimeZoneConversion"] = False
    data["filterBranches"][1]["filters"][2]["listId"] = 1  # a number, not a string
    check(data)


def with_filter(flt: object) -> dict:
    return filter_branch([pf("country", "ALL_PROPERTY", "IS_KNOWN"), flt])


# (kind of mistake, criteria, fragments the message must contain). Filter 2 of group 1 unless said.
BAD = [
    ("unknown property", with_filter(pf("shoe_size", "NUMBER", "IS_EQUAL_TO", value=4)), ["shoe_size", "no property"]),
    (
        "operator not fitting the type",
        with_filter(pf("country", "NUMBER", "IS_GREATER_THAN", value=3)),
        ["(country)", "IS_GREATER_THAN", "text property"],
    ),
    (
        "string operator on a number",
        with_filter(pf("numemployees", "STRING", "CONTAINS", value="3")),
        ["CONTAINS", "number property"],
    ),
    ("missing value", with_filter(pf("numemployees", "NUMBER", "IS_EQUAL_TO")), ["value is missing"]),
    ("non-numeric value", with_filter(pf("numemployees", "NUMBER", "IS_EQUAL_TO", value="lots")), ["not a number"]),
    ("boolean as a number", with_filter(pf("numemployees", "NUMBER", "IS_EQUAL_TO", value=True)), ["not a number"]),
    (
        "bad date",
        with_filter(pf("createdate", "DATETIME", "IS_AFTER", timestamp="2024-13-45")),
        ["timestamp", "not a date"],
    ),
    (
        "date out of range",
        with_filter(pf("createdate", "DATETIME", "IS_AFTER", timestamp=10**18)),
        ["not a date"],
    ),
    (
        "negative number of days",
        with_filter(pf("createdate", "ROLLING_DATE_RANGE", "IS_MORE_THAN_X_DAYS_AGO", numberOfDays=-1)),
        ["numberOfDays", "0 or more"],
    ),
    (
        "empty group",
        {"filterBranchType": "OR", "filters": [], "filterBranches": [{"filterBranchType": "AND", "filters": []}]},
        ["Group 1", "empty"],
    ),
    ("no group at all", {"filterBranchType": "OR", "filters": [], "filterBranches": []}, ["at least one group"]),
    ("root not OR", {"filterBranchType": "AND", "filters": [], "filterBranches": []}, ["root", "OR"]),
    ("root not an object", ["OR"], ["JSON object"]),
    (
        "unsupported filter type",
        with_filter({"filterType": "PAGE_VIEW", "pageUrl": "/pricing"}),
        ["PAGE_VIEW", "unsupported filter type"],
    ),
    (
        "unsupported operator",
        with_filter(pf("country", "STRING", "HAS_EVER_BEEN_EQUAL_TO", value="x")),
        ["HAS_EVER_BEEN_EQUAL_TO", "not supported"],
    ),
    (
        "unsupported operation type",
        with_filter(pf("createdate", "CALENDAR_DATE", "IN_THIS_TIME_UNIT")),
        ["CALENDAR_DATE"],
    ),
    ("unknown list", with_filter(in_list_filter(99)), ["list 99", "no list 99"]),
    ("list of itself", with_filter(in_list_filter(3)), ["itself"]),
    ("IN_LIST cycle", with_filter(in_list_filter(2)), ["cycle", "2 → 1"]),
    ("bad list id", with_filter(in_list_filter("12abc")), ["listId", "not a list id"]),
    ("bad list operator", with_filter({"filterType": "IN_LIST", "listId": "1", "operator": "IS"}), ["IS"]),
    (
        "enumeration value not an option",
        with_filter(pf("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["lead", "vip"])),
        ["vip", "not an option"],
    ),
    (
        "empty enumeration values",
        with_filter(pf("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=[])),
        ["values is empty"],
    ),
    (
        "thousands of values past the cap",
        with_filter(pf("country", "MULTISTRING", "IS_EQUAL_TO", values=[f"c{i}" for i in range(MAX_VALUES + 1)])),
        [str(MAX_VALUES), "limit"],
    ),
    ("values not a list", with_filter(pf("country", "MULTISTRING", "CONTAINS", values="France")), ["must be a list"]),
    (
        "value of the wrong JSON type",
        with_filter(pf("country", "STRING", "IS_EQUAL_TO", value=["x"])),
        ["must be text"],
    ),
    ("blank value", with_filter(pf("country", "STRING", "CONTAINS", value="  ")), ["value is empty"]),
    (
        "non-boolean for a yes/no",
        with_filter(pf("newsletter", "BOOL", "IS_EQUAL_TO", value="maybe")),
        ["true or false"],
    ),
    (
        "includeObjectsWithNoValueSet not a boolean",
        with_filter(pf("country", "ALL_PROPERTY", "IS_KNOWN", includeObjectsWithNoValueSet="yes")),
        ["includeObjectsWithNoValueSet"],
    ),
    (
        "range upside down",
        with_filter(pf("numemployees", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=10, upperBound=1)),
        ["lowerBound", "greater than upperBound"],
    ),
    ("filter not an object", with_filter("country = France"), ["a filter must be a JSON object"]),
    (
        "operationType an object",
        with_filter({"filterType": "PROPERTY", "property": "country", "operation": {"operationType": {"a": 1}}}),
        ["unsupported operation type"],
    ),
    (
        "operationType a list",
        with_filter({"filterType": "PROPERTY", "property": "country", "operation": {"operationType": ["STRING"]}}),
        ["unsupported operation type"],
    ),
    (
        "a number of 5,000 digits",
        with_filter(pf("numemployees", "NUMBER", "IS_EQUAL_TO", value=int("9" * 4000) * 10**1000)),
        ["(numemployees)", "more than 100 digits"],
    ),
    (
        "a number too large for a float",
        with_filter(pf("numemployees", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=1, upperBound=10**99 * 10**250)),
        ["upperBound", "more than 100 digits"],
    ),
    (
        "a number text of 5,000 digits",
        with_filter(pf("numemployees", "NUMBER", "IS_EQUAL_TO", value="9" * 5000)),
        ["not a number"],
    ),
    (
        "a timestamp text of 5,000 digits",
        with_filter(pf("createdate", "DATETIME", "IS_AFTER", timestamp="1" * 5000)),
        ["not a date"],
    ),
    (
        "a number of days in non-ASCII digits",
        with_filter(pf("createdate", "ROLLING_DATE_RANGE", "IS_MORE_THAN_X_DAYS_AGO", numberOfDays="²")),
        ["numberOfDays", "whole number"],
    ),
    ("a list id past 64 bits", with_filter(in_list_filter(10**30)), ["not a list id"]),
    (
        "NaN as a value",
        with_filter(pf("numemployees", "NUMBER", "IS_EQUAL_TO", value=float("nan"))),
        ["too large"],
    ),
    (
        "a NUL character in a value",
        with_filter(pf("country", "STRING", "IS_EQUAL_TO", value="Fr\x00ance")),
        ["cannot be stored"],
    ),
    (
        "an unpaired surrogate in a value",
        with_filter(pf("country", "STRING", "IS_EQUAL_TO", value="Fr\ud800")),
        ["cannot be stored"],
    ),
    (
        "a Python object that is not JSON",
        with_filter(pf("country", "MULTISTRING", "IS_EQUAL_TO", values={"France"})),
        ["not a JSON value"],
    ),
    ("no property named", with_filter({"filterType": "PROPERTY", "operation": {}}), ["names no property"]),
    (
        "unknown keys in an operation",
        with_filter(pf("country", "STRING", "IS_EQUAL_TO", value="x", propertyParser="weird")),
        ["unknown keys", "propertyParser"],
    ),
    (
        "a property name that could break SQL",
        with_filter(pf('x"; DROP TABLE', "ALL_PROPERTY", "IS_KNOWN")),
        ["not a property name"],
    ),
    (
        "date operator on a yes/no",
        with_filter(pf("newsletter", "DATETIME", "IS_BEFORE", timestamp=0)),
        ["yes/no property"],
    ),
]


@pytest.mark.parametrize(("kind", "data", "fragments"), BAD, ids=[b[0] for b in BAD])
def test_bad_criteria_are_refused_with_a_located_message(kind, data, fragments):
    messages = refused(data, list_id=1 if kind == "IN_LIST cycle" else 3 if kind == "list of itself" else None)
    text = " | ".join(messages)
    for fragment in fragments:
        assert fragment in text, (kind, text)
    if kind not in ("root not OR", "root not an object", "no group at all", "empty group"):
        # The message names the group and the filter.
        assert "Group 1, filter 2" in text, text


def test_at_least_twenty_kinds():
    assert len(BAD) >= 20


def test_nested_branches_past_the_depth_limit():
    inner: dict = {"filterBranchType": "AND", "filters": [pf("country", "ALL_PROPERTY", "IS_KNOWN")]}
    for _ in range(MAX_DEPTH + 2):
        inner = {
            "filterBranchType": "AND",
            "filters": [],
            "filterBranches": [{"filterBranchType": "OR", "filterBranches": [inner]}],
        }
    data = {"filterBranchType": "OR", "filterBranches": [inner]}
    text = " | ".join(refused(data))
    assert f"more than {MAX_DEPTH} levels" in text


def test_filter_branches_as_text_is_a_clear_message():
    for data in (
        {"filterBranchType": "OR", "filterBranches": "AND"},
        filter_branch([pf("country", "ALL_PROPERTY", "IS_KNOWN")]) | {"filterBranches": "[]"},
    ):
        assert "filterBranches must be a list" in " | ".join(refused(data))
    nested = filter_branch([pf("country", "ALL_PROPERTY", "IS_KNOWN")])
    nested["filterBranches"][0]["filterBranches"] = "OR"
    assert refused(nested) == ["Group 1: filterBranches must be a list."]


def test_nine_hundred_nested_branches_are_refused_before_the_parser_recurses():
    inner: dict = {"filterBranchType": "AND", "filters": [pf("country", "ALL_PROPERTY", "IS_KNOWN")]}
    for _ in range(900):
        inner = {"filterBranchType": "AND", "filterBranches": [inner]}
    messages = refused({"filterBranchType": "OR", "filterBranches": [inner]})
    assert messages == ["Group 1: nested more than 64 levels deep (the limit)."]


def test_messages_are_capped_and_the_rest_counted():
    data = {"filterBranchType": "OR", "filterBranches": [1] * 10_000}
    messages = refused(data)
    assert len(messages) == 51
    assert messages[-1] == "… and 9950 more problems."


def test_a_thousand_levels_do_not_crash():
    inner: object = {}
    for _ in range(5000):
        inner = {"filterBranchType": "AND", "filterBranches": [inner]}
    with pytest.raises(CriteriaError):
        parse({"filterBranchType": "OR", "filterBranches": [inner]})


def test_too_many_filters():
    group = [pf("country", "ALL_PROPERTY", "IS_KNOWN")] * (MAX_FILTERS // 2 + 1)
    text = " | ".join(refused(filter_branch(group, group)))
    assert f"more than {MAX_FILTERS} filters" in text
    assert "Group 2, filter" in text


def test_nested_group_messages_name_the_path():
    data = filter_branch([pf("country", "ALL_PROPERTY", "IS_KNOWN")])
    data["filterBranches"][0]["filterBranches"] = [
        {
            "filterBranchType": "OR",
            "filterBranches": [
                {"filterBranchType": "AND", "filters": [pf("country", "NUMBER", "IS_EQUAL_TO", value=1)]}
            ],
        }
    ]
    assert any(m.startswith("Group 1.1.1, filter 1 (country)") for m in refused(data))


def test_every_problem_is_reported_not_only_the_first():
    data = filter_branch(
        [pf("nope", "ALL_PROPERTY", "IS_KNOWN")],
        [pf("numemployees", "NUMBER", "IS_EQUAL_TO", value="x"), in_list_filter(99)],
    )
    with pytest.raises(CriteriaError) as info:
        check(data)
    # Parse errors come first; the schema is checked once the structure is sound.
    assert any("Group 2, filter 1" in m for m in info.value.messages)
    fixed = filter_branch([pf("nope", "ALL_PROPERTY", "IS_KNOWN")], [in_list_filter(99)])
    with pytest.raises(CriteriaError) as info:
        check(fixed)
    assert len(info.value.messages) == 2


def test_enumeration_options_are_case_insensitive_and_cycles_through_callables():
    check(with_filter(pf("interests", "ENUMERATION", "IS_NONE_OF", values=["CRM", "ops"])))
    graph = {1: set(), 2: {1}}
    with pytest.raises(CriteriaError):
        validate(parse(with_filter(in_list_filter(2))), schema=SCHEMA, list_ids=graph.get, list_id=1)
    validate(parse(with_filter(in_list_filter(2))), schema=SCHEMA, list_ids=graph.get, list_id=5)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
KEYS = st.sampled_from(CRITERIA_KEYS)
SHAPED = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["OR", "AND", "PROPERTY", "IN_LIST", "NUMBER", "STRING", "IS_EQUAL_TO", "country"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(JSON, SHAPED))
def test_any_json_gives_criteria_or_a_criteria_error(data):
    try:
        check(data)
    except CriteriaError as exc:
        assert all(isinstance(m, str) and m for m in exc.messages)


MUTATIONS = st.one_of(
    JSON,
    st.sampled_from([{}, [], {"a": [1]}, ["STRING"], "", "AND", 10**200, -1, True, None, 1.5, "9" * 5000]),
)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_mutation_of_valid_criteria_is_accepted_or_refused_with_messages(data):
    """One value anywhere in a valid definition replaced by any JSON value (or a Python value
    JSON cannot hold): the engine answers with messages, never another exception."""
    mutated = copy.deepcopy(GOOD)
    places = list(json_places(mutated))
    container, key = data.draw(st.sampled_from(places))
    container[key] = data.draw(MUTATIONS)
    try:
        check_filter_branch(mutated, schema=SCHEMA, list_ids=GRAPH, list_id=4)
    except ValidationError as exc:
        assert exc.message_dict["filter_branch"] and all(m for m in exc.message_dict["filter_branch"])


def test_check_filter_branch_reads_nothing_but_what_it_is_given():
    # No database here: the stored schema and lists are the caller's to pass.
    branch = check_filter_branch(GOOD, schema=SCHEMA, list_ids=GRAPH, list_id=4)
    assert referenced_list_ids(branch) == {1}
    with pytest.raises(ValidationError) as info:
        check_filter_branch(GOOD, schema=SCHEMA, list_ids=GRAPH, list_id=1)
    assert "itself" in info.value.message_dict["filter_branch"][0]


def test_schema_and_list_graph_are_built_from_the_rows_given():
    row = SimpleNamespace(name="country", type="string", field_type="", options=[], label="Country")
    assert load_schema([row]) == {"country": SCHEMA["country"]}
    assert load_list_graph([(1, None), (2, filter_branch([in_list_filter(1)])), (3, {"bad": [1]})]) == {
        1: set(),
        2: {1},
        3: set(),
    }
