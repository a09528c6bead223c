"""``to_q`` in the database (SQLite, and PostgreSQL with DATABASE_URL=postgres://...): operator
by operator, and a hypothesis test holding it equal to the Python evaluator. Also the
database-backed check behind ``ContactList.full_clean()``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lists.criteria import annotate, matches, parse, to_q
from lists.models import Contact, ContactList, ListMembership
from lists.normalize import PropertySpec, normalize_properties, storable_raw
from lists.selectors import criteria_check
from tests.lists.factories import (
    ContactFactory,
    ContactListFactory,
    ContactPropertyFactory,
    filter_branch,
    in_list_filter,
)
from tests.lists.factories import property_filter as pf

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
DAY_MS = 86_400_000

SCHEMA = {
    "s1": PropertySpec("s1", "string"),
    "s2": PropertySpec("s2", "string"),
    "n1": PropertySpec("n1", "number"),
    "b1": PropertySpec("b1", "bool"),
    "d1": PropertySpec("d1", "date"),
    "t1": PropertySpec("t1", "datetime"),
    "e1": PropertySpec("e1", "enumeration", "select", ("a", "B", "Ç", "lead")),
    "m1": PropertySpec("m1", "enumeration", "checkbox", ("x", "Y", "z", "é")),
}

# Pools from which both contacts and criteria draw, so that filters hit, miss and meet edges.
STRINGS = [
    "a",
    "A",
    "ab",
    "Ab",
    "bA",
    "é",
    "É",
    "ée",
    "ß",
    "SS",
    "straße",
    "İ",
    "σς",
    "Σ",
    "x;y",
    "%",
    "_",
    "a b",
    "日本",
]
NUMBERS = ["0", "1", "-1", "9", "10", "1.5", "-0.5", "0.1", "1e2", "100", "abc", "1 000"]
DAY_VALUES = [NOW_MS - k * DAY_MS for k in (0, 1, 2, 3, 7, 30)] + [NOW_MS + DAY_MS, NOW_MS - DAY_MS // 2]
DATES = [str(v) for v in DAY_VALUES] + ["2026-06-13", "2026-06-15T12:00:00Z", "not a date"]
E1 = ["a", "A", "B", "b", "ç", "Ç", "lead", "LEAD"]
M1 = ["x", "Y", "z", "é", "X", "É"]


def maybe(values) -> st.SearchStrategy:
    """A raw HubSpot value: absent, null, blank or one of ``values``."""
    return st.one_of(st.just(None), st.just(""), st.just("  "), st.sampled_from(values))


RAW_CONTACT = st.fixed_dictionaries(
    {
        "s1": maybe(STRINGS),
        "s2": st.one_of(maybe(STRINGS), st.text(max_size=6)),
        "n1": maybe(NUMBERS),
        "b1": maybe(["true", "false", "TRUE", "maybe"]),
        "d1": maybe(DATES),
        "t1": maybe(DATES),
        "e1": maybe(E1),
        "m1": st.one_of(maybe(M1), st.lists(st.sampled_from(M1), max_size=3).map(";".join)),
    }
)

STRING_OPS = ["IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH"]
NUMBER_OPS = [
    "IS_EQUAL_TO",
    "IS_NOT_EQUAL_TO",
    "IS_GREATER_THAN",
    "IS_GREATER_THAN_OR_EQUAL_TO",
    "IS_LESS_THAN",
    "IS_LESS_THAN_OR_EQUAL_TO",
]
FILTER_VALUES = [v for v in STRINGS if v.strip()] + ["b", "s", "ss", "Σς"]
NUMBER_VALUES = [-1, 0, 0.1, 1, 1.5, 9, 10, 100, "10", "9.5"]


@st.composite
def property_filters(draw) -> dict:
    include = draw(st.booleans())
    prop = draw(st.sampled_from(sorted(SCHEMA)))
    kind = SCHEMA[prop].type
    extra = {"includeObjectsWithNoValueSet": include}
    if draw(st.integers(0, 9)) == 0:
        return pf(prop, "ALL_PROPERTY", draw(st.sampled_from(["IS_KNOWN", "IS_UNKNOWN"])), **extra)
    if kind == "string":
        if draw(st.booleans()):
            return pf(
                prop, "STRING", draw(st.sampled_from(STRING_OPS)), value=draw(st.sampled_from(FILTER_VALUES)), **extra
            )
        values = draw(st.lists(st.sampled_from(FILTER_VALUES), min_size=1, max_size=4))
        return pf(prop, "MULTISTRING", draw(st.sampled_from(STRING_OPS)), values=values, **extra)
    if kind == "number":
        if draw(st.booleans()):
            return pf(
                prop, "NUMBER", draw(st.sampled_from(NUMBER_OPS)), value=draw(st.sampled_from(NUMBER_VALUES)), **extra
            )
        low, high = sorted(float(draw(st.sampled_from(NUMBER_VALUES))) for _ in range(2))
        operator = draw(st.sampled_from(["IS_BETWEEN", "IS_NOT_BETWEEN"]))
        return pf(prop, "NUMBER_RANGED", operator, lowerBound=low, upperBound=high, **extra)
    if kind == "bool":
        return pf(
            prop, "BOOL", draw(st.sampled_from(["IS_EQUAL_TO", "IS_NOT_EQUAL_TO"])), value=draw(st.booleans()), **extra
        )
    if kind == "enumeration":
        options = list(SCHEMA[prop].options)
        values = draw(st.lists(st.sampled_from(options + [o.upper() for o in options]), min_size=1, max_size=3))
        return pf(prop, "ENUMERATION", draw(st.sampled_from(["IS_ANY_OF", "IS_NONE_OF"])), values=values, **extra)
    if draw(st.booleans()):
        stamp = draw(st.sampled_from(DAY_VALUES + ["2026-06-14", "2026-06-15T12:00:00+00:00"]))
        return pf(prop, "DATETIME", draw(st.sampled_from(["IS_BEFORE", "IS_AFTER"])), timestamp=stamp, **extra)
    operator = draw(st.sampled_from(["IS_LESS_THAN_X_DAYS_AGO", "IS_MORE_THAN_X_DAYS_AGO"]))
    return pf(prop, "ROLLING_DATE_RANGE", operator, numberOfDays=draw(st.sampled_from([0, 1, 2, 3, 7])), **extra)


def list_filters(list_ids: list[int]) -> st.SearchStrategy:
    return st.builds(in_list_filter, st.sampled_from(list_ids), st.sampled_from(["IN_LIST", "NOT_IN_LIST"]))


@st.composite
def criteria(draw, list_ids: list[int]) -> dict:
    flt = st.one_of(property_filters(), property_filters(), list_filters(list_ids))
    groups = draw(st.lists(st.lists(flt, min_size=1, max_size=3), min_size=1, max_size=3))
    data = filter_branch(*groups)
    if draw(st.integers(0, 3)) == 0:  # a nested OR inside the first group
        nested = draw(st.lists(st.lists(flt, min_size=1, max_size=2), min_size=1, max_size=2))
        data["filterBranches"][0]["filterBranches"] = [
            {
                "filterBranchType": "OR",
                "filters": [],
                "filterBranches": [{"filterBranchType": "AND", "filters": g, "filterBranches": []} for g in nested],
            }
        ]
    return data


@pytest.fixture
def static_lists():
    return [ContactListFactory(static=True, name=f"Static {i}").pk for i in range(3)]


@settings(
    max_examples=int(__import__("os").environ.get("CRITERIA_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_database_equals_python_evaluator(static_lists, data):
    raws = data.draw(st.lists(RAW_CONTACT, min_size=1, max_size=12), label="contacts")
    definition = data.draw(criteria(static_lists), label="criteria")
    branch = parse(definition)
    if data.draw(st.booleans(), label="annotated"):
        # What criteria_check returns: enumerations compiled for their known kind.
        branch = annotate(branch, SCHEMA)
    with transaction.atomic():
        contacts = Contact.objects.bulk_create(
            Contact(hubspot_id=f"h{i}", properties=normalize_properties(raw, SCHEMA), raw_properties=storable_raw(raw))
            for i, raw in enumerate(raws)
        )
        contacts = list(Contact.objects.filter(hubspot_id__in=[c.hubspot_id for c in contacts]))
        memberships: dict[int, set[int]] = {}
        for contact in contacts:
            chosen = data.draw(st.sets(st.sampled_from(static_lists), max_size=3), label="lists")
            memberships[contact.pk] = chosen
            ListMembership.objects.bulk_create(ListMembership(contact=contact, contact_list_id=x) for x in chosen)

        q = to_q(branch, now=NOW, memberships=ListMembership.objects.all())
        in_db = set(Contact.objects.filter(q).values_list("pk", flat=True))
        outside = set(Contact.objects.exclude(q).values_list("pk", flat=True))
        in_python = {
            c.pk for c in contacts if matches(branch, properties=c.properties, list_ids=memberships[c.pk], now=NOW)
        }
        assert in_db == in_python, {c.pk: (c.properties, memberships[c.pk]) for c in contacts}
        # The SQL is never NULL: excluding is the exact complement.
        assert outside == {c.pk for c in contacts} - in_db
        transaction.set_rollback(True)


# Operator by operator, on stored contacts -------------------------------------------------------


def stored(**raw: str) -> Contact:
    return ContactFactory(raw_properties=raw, schema=SCHEMA)


def hits(flt: dict, *contacts: Contact) -> list[int]:
    q = to_q(parse(filter_branch([flt])), now=NOW, memberships=ListMembership.objects.all())
    ids = set(Contact.objects.filter(q).values_list("pk", flat=True))
    return [i for i, c in enumerate(contacts) if c.pk in ids]


def test_numbers_compare_as_numbers():
    nine, ten, text = stored(n1="9"), stored(n1="10"), stored(s1="10")
    assert hits(pf("n1", "NUMBER", "IS_GREATER_THAN", value="9"), nine, ten, text) == [1]
    assert hits(pf("n1", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=9, upperBound=9.5), nine, ten) == [0]


def test_strings_are_case_insensitive_beyond_ascii():
    a, b = stored(s1="ÉCOLE Normale"), stored(s1="ecole")
    assert hits(pf("s1", "STRING", "STARTS_WITH", value="école"), a, b) == [0]
    assert hits(pf("s1", "STRING", "CONTAINS", value="NORMALE"), a, b) == [0]
    assert hits(pf("s1", "STRING", "DOES_NOT_CONTAIN", value="normale"), a, b) == [1]


def test_like_wildcards_are_plain_characters():
    percent, plain = stored(s1="100%"), stored(s1="1000")
    assert hits(pf("s1", "STRING", "ENDS_WITH", value="0%"), percent, plain) == [0]
    assert hits(pf("s1", "STRING", "CONTAINS", value="_"), percent, plain) == []


def test_multiple_checkbox_sets():
    xy, z, none = stored(m1="x;Y"), stored(m1="z"), stored()
    assert hits(pf("m1", "ENUMERATION", "IS_ANY_OF", values=["y"]), xy, z, none) == [0]
    assert hits(pf("m1", "ENUMERATION", "IS_NONE_OF", values=["Y"]), xy, z, none) == [1]
    included = pf("m1", "ENUMERATION", "IS_NONE_OF", values=["Y"], includeObjectsWithNoValueSet=True)
    assert hits(included, xy, z, none) == [1, 2]


def test_booleans_and_dates():
    yes, no, blank = stored(b1="true", d1="2026-06-14"), stored(b1="false", d1="2026-06-01"), stored(b1="")
    assert hits(pf("b1", "BOOL", "IS_NOT_EQUAL_TO", value=True), yes, no, blank) == [1]
    assert hits(pf("d1", "DATETIME", "IS_AFTER", timestamp="2026-06-10"), yes, no, blank) == [0]
    assert hits(pf("d1", "ROLLING_DATE_RANGE", "IS_MORE_THAN_X_DAYS_AGO", numberOfDays=7), yes, no, blank) == [1]
    assert hits(pf("d1", "ALL_PROPERTY", "IS_UNKNOWN"), yes, no, blank) == [2]


def test_big_value_lists_travel_as_one_parameter():
    values = [f"v{i}" for i in range(5000)] + ["Target"]
    hit, miss = stored(s1="target"), stored(s1="w")
    assert hits(pf("s1", "MULTISTRING", "IS_EQUAL_TO", values=values), hit, miss) == [0]
    assert hits(pf("s1", "MULTISTRING", "ENDS_WITH", values=values), hit, miss) == [0]
    assert hits(pf("s1", "MULTISTRING", "DOES_NOT_CONTAIN", values=values), hit, miss) == [1]


def test_lists_of_lists():
    inner = ContactListFactory(static=True)
    member, other = stored(s1="a"), stored(s1="b")
    ListMembership.objects.create(contact_list=inner, contact=member)
    assert hits(in_list_filter(inner.pk), member, other) == [0]
    assert hits(in_list_filter(str(inner.pk), "NOT_IN_LIST"), member, other) == [1]


# The database-backed check (ContactList.full_clean) ----------------------------------------------


@pytest.fixture
def properties():
    ContactPropertyFactory(name="email")
    ContactPropertyFactory(name="country")
    ContactPropertyFactory(name="numemployees", type="number")
    ContactPropertyFactory(name="old", archived=True)
    ContactPropertyFactory(name="lifecyclestage", enum_values=["lead", "customer"])


def test_full_clean_validates_the_criteria(properties):
    good = filter_branch([pf("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["Lead"])])
    ContactList(name="Leads", filter_branch=good).full_clean()
    bad = filter_branch([pf("country", "ALL_PROPERTY", "IS_KNOWN")], [pf("old", "ALL_PROPERTY", "IS_KNOWN")])
    with pytest.raises(ValidationError) as info:
        ContactList(name="Bad", filter_branch=bad).full_clean()
    [message] = info.value.message_dict["filter_branch"]
    assert message.startswith("Group 2, filter 1 (old):") and "archived" in message


def test_cycles_through_stored_lists_are_refused(properties):
    a = ContactListFactory(name="A")
    b = ContactListFactory(name="B", filter_branch=filter_branch([in_list_filter(a.pk)]))
    c = ContactListFactory(name="C", filter_branch=filter_branch([in_list_filter(b.pk)]))
    criteria_check(filter_branch=filter_branch([in_list_filter(c.pk)]), list_id=None)
    with pytest.raises(ValidationError) as info:
        criteria_check(filter_branch=filter_branch([in_list_filter(c.pk)]), list_id=a.pk)
    assert "cycle" in info.value.message_dict["filter_branch"][0]
    with pytest.raises(ValidationError) as info:
        criteria_check(filter_branch=filter_branch([in_list_filter(10**9)]), list_id=a.pk)
    assert "no list" in info.value.message_dict["filter_branch"][0]


def test_in_list_filters_need_the_memberships_passed_in():
    with pytest.raises(TypeError, match="memberships"):
        to_q(parse(filter_branch([in_list_filter(1)])), now=NOW)


def test_rolling_ranges_use_the_given_now():
    recent = stored(t1=str(NOW_MS - 2 * DAY_MS))
    flt = pf("t1", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=3)
    branch = parse(filter_branch([flt]))
    assert Contact.objects.filter(to_q(branch, now=NOW), pk=recent.pk).exists()
    assert not Contact.objects.filter(to_q(branch, now=NOW + timedelta(days=2)), pk=recent.pk).exists()
