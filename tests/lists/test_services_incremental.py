"""Property test: after any batch of contact changes, the incremental update leaves every
active list exactly as a full refresh would, and reports exactly those joins and leaves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lists.models import Contact, ContactList, ContactProperty, ListMembership, MembershipChange
from lists.normalize import with_folded
from lists.services import list_create, list_refresh, memberships_update_for_contacts
from tests.lists.factories import ContactFactory, ContactPropertyFactory, filter_branch, in_list_filter, property_filter

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COUNTRIES = ["France", "Spain", "Germany", None]
STAGES = ["lead", "customer", None]

props = st.fixed_dictionaries(
    {
        "country": st.sampled_from(COUNTRIES),
        "numemployees": st.one_of(st.none(), st.integers(0, 300)),
        "lifecyclestage": st.sampled_from(STAGES),
    }
)


def stored(values: dict) -> dict:
    return with_folded({k: v for k, v in values.items() if v is not None})


def members(cl: ContactList) -> set[int]:
    return set(ListMembership.objects.filter(contact_list=cl).values_list("contact_id", flat=True))


LEAF_FILTERS = [
    property_filter("country", "STRING", "IS_EQUAL_TO", value="france"),
    property_filter("country", "STRING", "IS_NOT_EQUAL_TO", value="Spain", includeObjectsWithNoValueSet=True),
    property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=100),
    property_filter("numemployees", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=10, upperBound=200),
    property_filter("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["customer"]),
    property_filter("lifecyclestage", "ALL_PROPERTY", "IS_UNKNOWN"),
]

criteria = st.lists(st.lists(st.sampled_from(LEAF_FILTERS), min_size=1, max_size=3), min_size=1, max_size=3).map(
    lambda groups: filter_branch(*groups)
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.lists(props, min_size=1, max_size=12),
    after=st.lists(props, min_size=12, max_size=12),
    changes=st.lists(st.booleans(), min_size=12, max_size=12),
    definitions=st.lists(criteria, min_size=1, max_size=3),
    use_chain=st.booleans() | st.just(True),
)
def test_incremental_update_equals_full_refresh(db, before, after, changes, definitions, use_chain):
    with transaction.atomic():
        ContactPropertyFactory(name="country")
        ContactPropertyFactory(name="numemployees", type=ContactProperty.Type.NUMBER)
        ContactPropertyFactory(name="lifecyclestage", enum_values=["lead", "customer"])
        contacts = [ContactFactory(properties=p) for p in before]
        lists = [
            list_create(name=f"L{i}", processing_type="DYNAMIC", filter_branch=d) for i, d in enumerate(definitions)
        ]
        if use_chain:
            # A list built on the first list, and one on that: the update must follow the chain.
            lists.append(
                list_create(
                    name="On L0",
                    processing_type="DYNAMIC",
                    filter_branch=filter_branch([in_list_filter(lists[0].pk)], [LEAF_FILTERS[4], LEAF_FILTERS[2]]),
                )
            )
            lists.append(
                list_create(
                    name="Not on L0'",
                    processing_type="DYNAMIC",
                    filter_branch=filter_branch([in_list_filter(lists[-1].pk, "NOT_IN_LIST")]),
                )
            )
        for cl in lists:
            list_refresh(contact_list=cl, now=NOW)
            assert cl.processing_status == ContactList.ProcessingStatus.COMPLETE, cl.error
        before_members = {cl.pk: members(cl) for cl in lists}

        changed = []
        for c, new, change in zip(contacts, after, changes, strict=False):
            if change:
                Contact.objects.filter(pk=c.pk).update(properties=stored(new))
                changed.append(c.pk)
        delta = memberships_update_for_contacts(contact_ids=changed, now=NOW)
        incremental = {cl.pk: members(cl) for cl in lists}

        events = MembershipChange.objects.count()
        for cl in lists:
            list_refresh(contact_list=cl, now=NOW)
            assert members(cl) == incremental[cl.pk], cl.name
            assert delta.joined_list(cl.pk) == incremental[cl.pk] - before_members[cl.pk]
            assert delta.left_list(cl.pk) == before_members[cl.pk] - incremental[cl.pk]
            cl.refresh_from_db()
            assert cl.size == len(incremental[cl.pk])
        # The full refreshes after the update found nothing left to change.
        assert MembershipChange.objects.count() == events
        transaction.set_rollback(True)
