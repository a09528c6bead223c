"""The editor's live preview (lists.selectors.list_preview) and the read selectors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from lists import selectors
from lists.models import ContactList, ContactProperty
from lists.selectors import active_lists_with_counts, list_preview
from lists.services import list_create, list_refresh
from tests.lists.factories import ContactFactory, ContactPropertyFactory, filter_branch, property_filter

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    ContactPropertyFactory(name="country")
    ContactPropertyFactory(name="numemployees", type=ContactProperty.Type.NUMBER)
    rows = [("France", 10), ("France", 500), ("Spain", 800), ("Spain", 5), ("France", None)]
    return [
        ContactFactory(properties={"country": c, **({"numemployees": n} if n is not None else {})}) for c, n in rows
    ]


CRITERIA = filter_branch(
    [
        property_filter("country", "STRING", "IS_EQUAL_TO", value="France"),
        property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=100),
    ],
    [property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=700)],
)


def test_preview_counts_total_first_contacts_and_each_filter(people):
    preview = list_preview(filter_branch=CRITERIA, limit=2)
    assert preview.total == 2 and not preview.estimated
    assert [c.pk for c in preview.contacts] == [people[1].pk, people[2].pk]
    assert [(fc.path, fc.position, fc.count) for fc in preview.filter_counts] == [
        ((1,), 1, 3),  # France
        ((1,), 2, 2),  # more than 100 employees
        ((2,), 1, 1),  # more than 700 employees
    ]
    assert "Group 1" in preview.filter_counts[0].label
    assert not ContactList.objects.exists()  # nothing saved


def test_preview_refuses_bad_criteria_with_the_engine_message(people):
    bad = filter_branch([property_filter("nope", "STRING", "IS_EQUAL_TO", value="x")])
    with pytest.raises(ValidationError, match="nope"):
        list_preview(filter_branch=bad)


def test_preview_of_a_big_database_is_an_estimate_from_a_fixed_sample(people, monkeypatch):
    for _ in range(15):
        ContactFactory(properties={"country": "France", "numemployees": 900})
    monkeypatch.setattr(selectors, "PREVIEW_EXACT_MAX_IDS", 4)
    monkeypatch.setattr(selectors, "PREVIEW_SAMPLE_IDS", 10)
    monkeypatch.setattr(selectors, "PREVIEW_SAMPLE_WINDOWS", 2)
    estimate = list_preview(filter_branch=CRITERIA)
    assert estimate.estimated
    assert estimate == list_preview(filter_branch=CRITERIA)  # steady from one call to the next
    exact = list_preview(filter_branch=CRITERIA, exact=True)
    assert (exact.total, exact.estimated) == (17, False)
    assert 0 < estimate.total <= 20


def test_active_lists_with_counts(people):
    french = list_create(
        name="French",
        processing_type="DYNAMIC",
        filter_branch=filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="France")]),
    )
    list_create(name="Static", processing_type="MANUAL", filter_branch=None)
    list_refresh(contact_list=french)
    assert [(cl.name, cl.size) for cl in active_lists_with_counts()] == [("French", 3)]
