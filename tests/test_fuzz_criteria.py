"""Property-based fuzzing of the criteria with arbitrary JSON: the engine through
``ContactList.full_clean``, the list editor's preview and save as staff with the lists'
permissions. Valid criteria with odd values (they reach the SQL), valid criteria with one value
replaced by anything, any JSON and any bytes: clear refusals, never a 500, only valid criteria
stored."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lists.criteria import OPERATORS
from lists.models import ContactList, ContactProperty
from tests.json_strategies import from_json, json_places, json_values, raw_bodies, to_json
from tests.lists.factories import ContactFactory, ContactListFactory, ContactPropertyFactory, filter_branch

pytestmark = pytest.mark.django_db

FUZZ_JSON = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
PREVIEW = "/admin/lists/contactlist/preview/"
# Lists the criteria refer to: A is built from the static list, B from A. Ids far above the
# sequence, which PostgreSQL does not move back when a test's transaction is rolled back.
LIST_A, LIST_STATIC, LIST_B = 900_001, 900_002, 900_003

texts = st.one_of(
    st.text(min_size=1, max_size=30).filter(str.strip),
    st.sampled_from(["%", "_", "\\", "'", '"', "a%b_c", "ÉMILE", "ß", "ﬁ", "🙂", "x" * 1_000, " France "]),
)
numbers = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.integers(min_value=10**20, max_value=10**99),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["12", " 1e308 ", "-0", "1,5", "0x10", "5e-324"]),
)
stamps = st.one_of(
    st.integers(min_value=-62135596800000, max_value=253402300799999),
    st.sampled_from(["2024-02-29", "2024-02-29T23:59:59Z", "0001-01-01", "9999-12-31T23:59:59.999+14:00"]),
)
include = st.booleans()


def operation(kind: str, **values: st.SearchStrategy) -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {"operationType": st.just(kind), "operator": st.sampled_from(OPERATORS[kind]), **values},
        optional={"includeObjectsWithNoValueSet": include},
    )


# Per property of the test schema, the operations that fit it, with values that parse but are odd.
OPERATIONS = {
    "country": st.one_of(
        operation("STRING", value=texts), operation("MULTISTRING", values=st.lists(texts, min_size=1, max_size=4))
    ),
    "numemployees": st.one_of(
        operation("NUMBER", value=numbers), operation("NUMBER_RANGED", lowerBound=numbers, upperBound=numbers)
    ),
    "newsletter": operation("BOOL", value=st.sampled_from([True, False, "true", "FALSE"])),
    "createdate": st.one_of(
        operation("DATETIME", timestamp=stamps),
        operation("ROLLING_DATE_RANGE", numberOfDays=st.integers(min_value=0, max_value=36_500)),
    ),
    "lifecyclestage": operation(
        "ENUMERATION", values=st.lists(st.sampled_from(["lead", "LEAD", "customer"]), min_size=1, max_size=3)
    ),
    "interests": operation("ENUMERATION", values=st.lists(st.sampled_from(["crm", "Ops"]), min_size=1, max_size=2)),
}
valid_filters = st.one_of(
    *(
        st.fixed_dictionaries({"filterType": st.just("PROPERTY"), "property": st.just(name), "operation": ops})
        for name, ops in OPERATIONS.items()
    ),
    st.fixed_dictionaries(
        {
            "filterType": st.just("PROPERTY"),
            "property": st.sampled_from(list(OPERATIONS)),
            "operation": operation("ALL_PROPERTY"),
        }
    ),
    st.fixed_dictionaries(
        {
            "filterType": st.just("IN_LIST"),
            "listId": st.sampled_from([str(LIST_A), LIST_STATIC, str(LIST_STATIC)]),
            "operator": st.sampled_from(["IN_LIST", "NOT_IN_LIST"]),
        }
    ),
)


def branches(filters: st.SearchStrategy) -> st.SearchStrategy:
    and_branch = st.fixed_dictionaries(
        {"filterBranchType": st.just("AND"), "filters": st.lists(filters, min_size=1, max_size=3)}
    )
    nested = st.fixed_dictionaries(
        {
            "filterBranchType": st.just("AND"),
            "filters": st.lists(filters, max_size=2),
            "filterBranches": st.lists(
                st.fixed_dictionaries(
                    {"filterBranchType": st.just("OR"), "filterBranches": st.lists(and_branch, min_size=1, max_size=2)}
                ),
                min_size=1,
                max_size=2,
            ),
        }
    )
    return st.fixed_dictionaries(
        {
            "filterBranchType": st.just("OR"),
            "filters": st.just([]),
            "filterBranches": st.lists(st.one_of(and_branch, nested), min_size=1, max_size=3),
        }
    )


@st.composite
def mutated(draw, base: st.SearchStrategy):
    """A value of ``base`` with one of its values replaced by any JSON value."""
    value = draw(base)
    places = list(json_places(value))
    container, key = draw(st.sampled_from(places))
    container[key] = draw(json_values)
    return value


valid_criteria = branches(valid_filters)
# Valid criteria with odd values (these reach the schema checks and the SQL), one value of them
# replaced by anything, and any JSON at all.
criteria = st.one_of(valid_criteria, mutated(valid_criteria), json_values)


@pytest.fixture
def schema():

    ContactPropertyFactory(name="country")
    ContactPropertyFactory(name="numemployees", type=ContactProperty.Type.NUMBER)
    ContactPropertyFactory(name="newsletter", type=ContactProperty.Type.BOOL)
    ContactPropertyFactory(name="createdate", type=ContactProperty.Type.DATETIME)
    ContactPropertyFactory(name="lifecyclestage", enum_values=["lead", "customer"])
    ContactPropertyFactory(name="interests", enum_values=["crm", "ops"], multiple=True)
    ContactFactory(properties={"country": "France", "numemployees": 50, "interests": ["crm"], "newsletter": True})
    ContactFactory(properties={"country": "%_\\", "createdate": 0, "lifecyclestage": "lead"})
    ContactListFactory(
        pk=LIST_A,
        filter_branch=filter_branch([{"filterType": "IN_LIST", "listId": str(LIST_STATIC), "operator": "IN_LIST"}]),
    )
    ContactListFactory(pk=LIST_STATIC, static=True)
    ContactListFactory(
        pk=LIST_B,
        filter_branch=filter_branch([{"filterType": "IN_LIST", "listId": str(LIST_A), "operator": "IN_LIST"}]),
    )


@FUZZ_JSON
@given(value=criteria)
def test_full_clean_refuses_any_json_with_a_validation_error(schema, value):

    contact_list = ContactList(name="Fuzzed", filter_branch=from_json(value))
    try:
        contact_list.full_clean()
    except ValidationError as exc:
        assert all(message for message in exc.message_dict["filter_branch"])


@pytest.fixture
def list_editor(client, django_user_model, schema, monkeypatch):
    """Staff with the lists' view, add and change permissions (no superuser shortcut)."""

    monkeypatch.setattr("lists.services.edit.async_task", lambda *args, **kwargs: None)
    user = django_user_model.objects.create_user("list-editor", password="pw-123456789", is_staff=True)
    codenames = ["view_contactlist", "add_contactlist", "change_contactlist"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


@FUZZ_JSON
@given(
    body=st.one_of(
        st.tuples(criteria, st.sampled_from([f'"{LIST_A}"', str(LIST_B), "null", '"x"'])).map(
            lambda c: '{"filter_branch": ' + to_json(c[0]) + ', "list_id": ' + c[1] + "}"
        ),
        raw_bodies,
    )
)
def test_preview_answers_any_body_without_a_500(list_editor, body):
    response = list_editor.post(PREVIEW, data=body, content_type="application/json")
    assert response.status_code in (200, 400, 413), response.status_code
    data = response.json()
    if response.status_code != 200:
        assert data["ok"] is False and all(entry["message"] for entry in data["errors"])


@FUZZ_JSON
@given(
    text=st.one_of(criteria.map(to_json), raw_bodies.map(lambda b: b.decode("utf-8", "replace"))), change=st.booleans()
)
def test_save_answers_any_criteria_without_a_500_and_stores_only_valid_ones(list_editor, text, change):

    if change:
        url = reverse("admin:lists_contactlist_change", args=[LIST_A])
        data = {"name": "Fuzzed", "filter_branch": text}
    else:
        url = reverse("admin:lists_contactlist_add")
        data = {"name": "Fuzzed", "processing_type": "DYNAMIC", "filter_branch": text}
    response = list_editor.post(url, data)
    assert response.status_code in (302, 400), response.status_code
    for stored in ContactList.objects.filter(processing_type="DYNAMIC"):
        stored.full_clean()
