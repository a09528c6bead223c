"""Services of lists: create/edit/delete, incremental update, static members (the full refresh:
``test_services_refresh.py``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integration.models import SyncSettings
from lists.models import Contact, ContactList, ListMembership, MembershipChange
from lists.selectors import list_members, lists_for_contact
from lists.services import (
    list_create,
    list_delete,
    list_refresh,
    list_rename,
    list_update,
    memberships_update_for_contacts,
    static_members_add,
    static_members_remove,
)
from tests.lists.factories import filter_branch, in_list_filter, property_filter
from tests.lists.services_helpers import (
    T1,
    T2,
    active,
    contact,
    country_is,
    employees_over,
    members,
    membership_fills_reading_it,
    set_props,
)

pytestmark = pytest.mark.django_db

Status = ContactList.ProcessingStatus


# ---------------------------------------------------------------------------- create / edit


def test_create_active_list_is_processing_and_queues_its_refresh(schema, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cl = active(country_is("France"))
    assert cl.processing_status == Status.PROCESSING
    assert enqueued == [("lists.tasks.list_refresh_task", cl.pk, 1)]


def test_create_static_list_is_complete_and_empty(schema, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cl = list_create(name="Hand-picked", processing_type="MANUAL", filter_branch=None)
    assert (cl.processing_status, cl.size) == (Status.COMPLETE, 0)
    assert enqueued == []


def test_create_refuses_bad_criteria_and_stores_nothing(schema, enqueued):
    bad = filter_branch([property_filter("no_such_property", "STRING", "IS_EQUAL_TO", value="x")])
    with pytest.raises(ValidationError) as exc:
        active(bad)
    assert "no_such_property" in str(exc.value)
    assert not ContactList.objects.exists()


def test_update_criteria_bumps_version_and_queues(schema, enqueued, django_capture_on_commit_callbacks):
    cl = active(country_is("France"))
    list_refresh(contact_list=cl)
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        list_update(contact_list=cl, filter_branch=country_is("Spain"))
    assert (cl.version, cl.processing_status) == (2, Status.PROCESSING)
    assert enqueued == [("lists.tasks.list_refresh_task", cl.pk, 2)]


def test_rename_does_not_touch_version_nor_status(schema, enqueued, django_capture_on_commit_callbacks):
    cl = active(country_is("France"))
    list_refresh(contact_list=cl)
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        list_rename(contact_list=cl, name="French")
    cl.refresh_from_db()
    assert (cl.name, cl.version, cl.processing_status) == ("French", 1, Status.COMPLETE)
    assert enqueued == []


@pytest.mark.parametrize(
    "bad",
    [
        filter_branch([property_filter("country", "NUMBER", "IS_GREATER_THAN", value=3)]),
        filter_branch([property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value="many")]),
        {"filterBranchType": "AND", "filters": [], "filterBranches": []},
        filter_branch([in_list_filter(999999)]),
    ],
)
def test_update_with_bad_criteria_keeps_the_stored_definition(schema, enqueued, bad):
    cl = active(country_is("France"), name="Before")
    list_refresh(contact_list=cl)
    with pytest.raises(ValidationError):
        list_update(contact_list=cl, name="After", filter_branch=bad)
    stored = ContactList.objects.get(pk=cl.pk)
    assert (stored.name, stored.filter_branch, stored.version) == ("Before", country_is("France"), 1)
    assert stored.processing_status == Status.COMPLETE
    assert (cl.name, cl.filter_branch) == ("Before", country_is("France"))


def test_update_refuses_an_in_list_cycle(schema, enqueued):
    a = active(country_is("France"), name="A")
    b = active(filter_branch([in_list_filter(a.pk)]), name="B")
    with pytest.raises(ValidationError):
        list_update(contact_list=a, filter_branch=filter_branch([in_list_filter(b.pk)]))
    assert ContactList.objects.get(pk=a.pk).filter_branch == country_is("France")


# ---------------------------------------------------------------------------- incremental


def test_incremental_update_reports_joins_and_leaves(schema, enqueued):
    a, b, untouched = contact("France"), contact("Germany"), contact("Germany")
    cl = active(country_is("France"))
    list_refresh(contact_list=cl, now=T1)
    set_props(a, country="Italy")
    set_props(b, country="France")
    set_props(untouched, country="France")  # changed, but not in the batch: not evaluated

    delta = memberships_update_for_contacts(contact_ids=[a.pk, b.pk], now=T2)
    assert delta.joined == {cl.pk: {b.pk}} and delta.left == {cl.pk: {a.pk}}
    assert members(cl) == {b.pk}
    cl.refresh_from_db()
    assert cl.size == 1
    assert set(MembershipChange.objects.filter(at=T2).values_list("contact_id", "kind", "list_version")) == {
        (a.pk, "left", 1),
        (b.pk, "joined", 1),
    }


def test_incremental_update_skips_lists_not_complete(schema, enqueued):
    c = contact("France")
    processing = active(country_is("France"), name="Processing")
    delta = memberships_update_for_contacts(contact_ids=[c.pk])
    assert not delta and members(processing) == set()


def test_incremental_update_follows_dependencies_in_one_call(schema, enqueued):
    c = contact("Germany", 500)
    # Created in the reverse order of the dependency, so id order would be wrong.
    big_french = active(country_is("Spain"), name="Big French")
    french = active(country_is("France"), name="French")
    ContactList.objects.filter(pk=big_french.pk).update(
        filter_branch=filter_branch([in_list_filter(french.pk), employees_over(100)])
    )
    for cl in (french, big_french):
        list_refresh(contact_list=cl)
    set_props(c, country="France")
    delta = memberships_update_for_contacts(contact_ids=[c.pk])
    assert delta.joined_list(french.pk) == {c.pk}
    assert delta.joined_list(big_french.pk) == {c.pk}


def test_incremental_update_evaluates_independent_lists_in_one_query(schema, enqueued, django_assert_num_queries):
    people = [contact("France", i) for i in range(20)]
    lists = [active(filter_branch([employees_over(i)]), name=f"Over {i}") for i in range(5)]
    for cl in lists:
        list_refresh(contact_list=cl)
    set_props(people[3], numemployees=0)  # leaves "Over 0", "Over 1" and "Over 2"
    # savepoint, lock the lists, touch the contacts, current memberships, ONE evaluation for the
    # five lists, then delete + change rows + sizes (executemany), release.
    with django_assert_num_queries(9):
        delta = memberships_update_for_contacts(contact_ids=[p.pk for p in people])
    assert delta.left == {lists[i].pk: {people[3].pk} for i in range(3)}
    assert [ContactList.objects.get(pk=cl.pk).size for cl in lists] == [18, 17, 16, 16, 15]


# ---------------------------------------------------------------------------- static lists


def test_static_add_and_remove(schema, enqueued):
    a, b, c = contact("France"), contact("Spain"), contact()
    cl = list_create(name="Hand-picked", processing_type="MANUAL", filter_branch=None)
    assert static_members_add(contact_list=cl, contacts=[a, b.pk], now=T1) == 2
    assert static_members_add(contact_list=cl, contacts=Contact.objects.filter(pk__in=[b.pk, c.pk]), now=T1) == 1
    assert cl.size == 3 and members(cl) == {a.pk, b.pk, c.pk}
    assert static_members_remove(contact_list=cl, contacts=[a, c], now=T2) == 2
    assert cl.size == 1 and members(cl) == {b.pk}
    assert set(MembershipChange.objects.filter(contact_list=cl).values_list("contact_id", "kind", "at")) == {
        (a.pk, "joined", T1),
        (b.pk, "joined", T1),
        (c.pk, "joined", T1),
        (a.pk, "left", T2),
        (c.pk, "left", T2),
    }
    assert list(lists_for_contact(contact=b)) == [cl]
    assert list(list_members(contact_list=cl)) == [b]


def test_static_add_of_a_queryset_repeating_contacts_adds_each_once(schema, enqueued):
    a, b = contact("France"), contact("Spain")
    first = list_create(name="First", processing_type="MANUAL", filter_branch=None)
    second = list_create(name="Second", processing_type="MANUAL", filter_branch=None)
    static_members_add(contact_list=first, contacts=[a, b], now=T1)
    static_members_add(contact_list=second, contacts=[a], now=T1)
    target = list_create(name="Target", processing_type="MANUAL", filter_branch=None)
    static_members_add(contact_list=target, contacts=[b], now=T1)
    repeating = Contact.objects.filter(memberships__contact_list__in=[first, second])  # a twice
    assert repeating.count() == 3

    with CaptureQueriesContext(connection) as ctx:
        assert static_members_add(contact_list=target, contacts=repeating, now=T2) == 1
    assert target.size == 2 and members(target) == {a.pk, b.pk}
    assert list(MembershipChange.objects.filter(contact_list=target, at=T2).values_list("contact_id", "kind")) == [
        (a.pk, "joined")
    ]
    assert membership_fills_reading_it(ctx) == [False]


def test_static_changes_refused_on_active_lists(schema, enqueued):
    c = contact("France")
    cl = active(country_is("France"), name="Auto")
    with pytest.raises(ValidationError, match="Auto"):
        static_members_add(contact_list=cl, contacts=[c])
    with pytest.raises(ValidationError):
        static_members_remove(contact_list=cl, contacts=[c])
    assert members(cl) == set()


# ---------------------------------------------------------------------------- delete


def test_delete_refused_for_the_inclusion_list(schema, enqueued):
    cl = active(country_is("France"), name="Inclusion")
    settings = SyncSettings.load()
    settings.inclusion_list = cl
    settings.save()
    with pytest.raises(ValidationError, match="inclusion list"):
        list_delete(contact_list=cl)
    assert ContactList.objects.filter(pk=cl.pk).exists()


def test_delete_refused_while_another_list_uses_it(schema, enqueued):
    used = active(country_is("France"), name="Used")
    active(filter_branch([in_list_filter(used.pk)]), name="User")
    with pytest.raises(ValidationError, match="User"):
        list_delete(contact_list=used)
    assert ContactList.objects.filter(pk=used.pk).exists()


def test_delete_removes_the_list_and_its_members(schema, enqueued):
    contact("France")
    cl = active(country_is("France"))
    list_refresh(contact_list=cl)
    list_delete(contact_list=cl)
    assert not ContactList.objects.exists() and not ListMembership.objects.exists()
