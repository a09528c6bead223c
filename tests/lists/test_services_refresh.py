"""Services of lists: the full refresh (``list_refresh``), its publication, its failures and the
lists that depend on others."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from integration.models import SyncSettings
from lists.models import Contact, ContactList, ContactProperty, ListMembership, MembershipChange
from lists.normalize import with_folded
from lists.selectors import list_dependency_order
from lists.services import (
    list_refresh,
    list_rename,
    list_update,
    lists_refresh_using_properties,
    memberships_update_for_contacts,
)
from lists.services import refresh as services_refresh
from lists.services import sql as services_sql
from sync.engine.gate import Gate
from tests.lists.factories import ContactFactory, ContactPropertyFactory, filter_branch, in_list_filter, property_filter
from tests.lists.services_helpers import (
    T1,
    T2,
    active,
    after_each_call,
    contact,
    country_is,
    employees_over,
    members,
    membership_fills_reading_it,
    set_props,
)

pytestmark = pytest.mark.django_db

Status = ContactList.ProcessingStatus


def list_gates_in(*, contact_list: ContactList, contact: Contact) -> bool:
    """Whether the send-time gate (``sync.engine.gate``) lets ``contact`` through with this list as
    the inclusion list: a list still processing or failed gates nobody in."""
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": contact_list})
    return contact.pk in Gate.current().members([contact.pk])


# ---------------------------------------------------------------------------- full refresh


def test_refresh_records_joins_leaves_times_and_size(schema, enqueued):
    alice, bob = contact("France"), contact("Germany")
    contact("France", archived=True)  # deleted in HubSpot: in no list
    contact()  # no country at all
    cl = active(country_is("france"))  # case-insensitive like HubSpot

    list_refresh(contact_list=cl, now=T1)
    assert members(cl) == {alice.pk}
    assert (cl.processing_status, cl.size, cl.processed_at, cl.progress, cl.error) == (
        Status.COMPLETE,
        1,
        T1,
        100,
        "",
    )

    set_props(alice, country="Spain")
    set_props(bob, country="FRANCE")
    list_refresh(contact_list=cl, now=T2)
    assert members(cl) == {bob.pk}
    assert cl.size == 1
    events = list(
        MembershipChange.objects.filter(contact_list=cl).order_by("at", "kind").values_list("contact_id", "kind", "at")
    )
    assert events == [(alice.pk, "joined", T1), (bob.pk, "joined", T2), (alice.pk, "left", T2)]
    assert ListMembership.objects.get(contact_list=cl).added_at == T2


def test_refresh_without_change_writes_no_event(schema, enqueued):
    contact("France")
    cl = active(country_is("France"))
    list_refresh(contact_list=cl, now=T1)
    list_refresh(contact_list=cl, now=T2)
    assert MembershipChange.objects.filter(contact_list=cl).count() == 1


def test_refresh_joins_are_written_without_reading_the_membership_table(schema, enqueued):
    # On PostgreSQL an anti-join against the table being filled, planned from statistics that
    # still call it empty, rescans it once per row: 57k joins took 25 s instead of 0.5 s.
    stays, leaves, joins = contact("France"), contact("France"), contact("Germany")
    cl = active(country_is("France"))
    list_refresh(contact_list=cl, now=T1)
    set_props(leaves, country="Spain")
    set_props(joins, country="France")

    with CaptureQueriesContext(connection) as ctx:
        list_refresh(contact_list=cl, now=T2)
    assert membership_fills_reading_it(ctx) == [False]
    assert members(cl) == {stays.pk, joins.pk}
    assert ListMembership.objects.get(contact_list=cl, contact=stays).added_at == T1
    events = set(MembershipChange.objects.filter(contact_list=cl, at=T2).values_list("contact_id", "kind"))
    assert events == {(joins.pk, "joined"), (leaves.pk, "left")}
    assert cl.size == 2


def test_refresh_reports_progress_chunk_by_chunk(schema, enqueued, monkeypatch):
    people = [contact("France") for _ in range(7)]
    monkeypatch.setattr(services_refresh, "REFRESH_CHUNK_IDS", 2)
    seen: list[int] = []
    stored: list[int] = []

    def progress(percent: int) -> None:
        seen.append(percent)
        stored.append(ContactList.objects.get(pk=cl.pk).progress)

    cl = active(country_is("France"))
    list_refresh(contact_list=cl, progress=progress)
    assert seen == sorted(seen) and seen[-1] == 100 and len(seen) >= 4
    assert 0 < stored[0] < 100  # written to the row while computing, not only at the end
    assert members(cl) == {p.pk for p in people}


def test_stale_refresh_is_not_published(schema, enqueued, monkeypatch):
    contact("France")
    cl = active(country_is("France"))

    def edited_meanwhile():
        ContactList.objects.filter(pk=cl.pk).update(version=F("version") + 1)

    after_each_call(monkeypatch, services_refresh, "_evaluate_in_chunks", edited_meanwhile)
    list_refresh(contact_list=cl)
    assert members(cl) == set()
    assert not MembershipChange.objects.exists()
    assert (cl.version, cl.processing_status, cl.size) == (2, Status.PROCESSING, 0)


def test_contact_saved_during_the_computation_is_seen(schema, enqueued, monkeypatch):
    late = contact("Germany")
    Contact.objects.update(updated_at=T1)  # nobody touched recently
    cl = active(country_is("France"))
    after_each_call(monkeypatch, services_refresh, "_evaluate_in_chunks", lambda: set_props(late, country="France"))
    list_refresh(contact_list=cl)
    assert members(cl) == {late.pk}


def test_contact_saved_between_the_publishing_statements_does_not_fail_the_refresh(schema, enqueued, monkeypatch):
    """On PostgreSQL each statement sees the latest commits: a member saved after its stale read
    was discarded, and before the fresh read, is read again (it was a duplicate key)."""
    member = contact("France")
    Contact.objects.update(updated_at=T1)  # read once, in the computation
    cl = active(country_is("France"))

    def saved_right_after():
        # As another connection committing now would be seen by the next statement.
        Contact.objects.filter(pk=member.pk).update(updated_at=datetime.now(UTC))

    after_each_call(monkeypatch, services_sql._IdSet, "discard", saved_right_after)
    list_refresh(contact_list=cl)
    cl.refresh_from_db()
    assert (cl.processing_status, members(cl)) == (Status.COMPLETE, {member.pk})


def test_change_reported_by_the_incremental_update_during_the_computation_is_seen(schema, enqueued, monkeypatch):
    late = contact("Germany")
    Contact.objects.update(updated_at=T1)  # nobody touched recently
    cl = active(country_is("France"))

    def pulled_meanwhile():
        # As the HubSpot pull stores a page: bulk_update (auto_now untouched), then the update.
        Contact.objects.filter(pk=late.pk).update(properties=with_folded({"country": "France"}))
        memberships_update_for_contacts(contact_ids=[late.pk])  # skips the list: still PROCESSING

    after_each_call(monkeypatch, services_refresh, "_evaluate_in_chunks", pulled_meanwhile)
    list_refresh(contact_list=cl)
    assert members(cl) == {late.pk}


def test_property_deleted_in_hubspot_fails_the_list_with_its_name(schema, enqueued):
    ContactPropertyFactory(name="score", type=ContactProperty.Type.NUMBER)
    scored = ContactFactory(properties={"score": 80})
    cl = active(filter_branch([property_filter("score", "NUMBER", "IS_GREATER_THAN", value=50)]))
    list_refresh(contact_list=cl)
    assert list_gates_in(contact_list=cl, contact=scored)

    ContactProperty.objects.filter(name="score").delete()
    list_refresh(contact_list=cl)
    assert cl.processing_status == Status.FAILED
    assert "score" in cl.error
    assert not list_gates_in(contact_list=cl, contact=scored)  # a failed list gates nobody in


def test_failed_list_can_be_renamed_and_saving_its_criteria_retries_it(schema, enqueued):
    ContactPropertyFactory(name="score", type=ContactProperty.Type.NUMBER)
    criteria = filter_branch([property_filter("score", "NUMBER", "IS_GREATER_THAN", value=50)])
    cl = active(criteria)
    ContactProperty.objects.filter(name="score").delete()
    list_refresh(contact_list=cl)
    list_rename(contact_list=cl, name="Renamed while failed")
    assert (cl.name, cl.processing_status) == ("Renamed while failed", Status.FAILED)

    ContactPropertyFactory(name="score", type=ContactProperty.Type.NUMBER)  # back in HubSpot
    enqueued.clear()
    list_update(contact_list=cl, filter_branch=criteria)
    assert (cl.processing_status, cl.version, cl.error) == (Status.PROCESSING, 2, "")
    list_refresh(contact_list=cl)
    assert cl.processing_status == Status.COMPLETE


def test_lists_using_a_changed_property_are_refreshed(schema, enqueued):
    ContactPropertyFactory(name="score", type=ContactProperty.Type.NUMBER)
    scored = active(filter_branch([property_filter("score", "NUMBER", "IS_GREATER_THAN", value=50)]), name="Scored")
    on_scored = active(filter_branch([in_list_filter(scored.pk)]), name="On scored")
    french = active(country_is("France"), name="French")
    for cl in (scored, on_scored, french):
        list_refresh(contact_list=cl)
    ContactProperty.objects.filter(name="score").delete()

    refreshed = lists_refresh_using_properties(names=["score"])
    assert [cl.name for cl in refreshed] == ["Scored", "On scored"]
    statuses = dict(ContactList.objects.values_list("name", "processing_status"))
    assert statuses == {"Scored": Status.FAILED, "On scored": Status.FAILED, "French": Status.COMPLETE}


def test_failure_of_a_list_fails_the_lists_using_it(schema, enqueued):
    ContactPropertyFactory(name="score", type=ContactProperty.Type.NUMBER)
    a = active(filter_branch([property_filter("score", "NUMBER", "IS_GREATER_THAN", value=50)]), name="Scored")
    b = active(filter_branch([in_list_filter(a.pk)]), name="Uses scored")
    list_refresh(contact_list=a)
    ContactProperty.objects.filter(name="score").delete()
    list_refresh(contact_list=a)
    b.refresh_from_db()
    assert b.processing_status == Status.FAILED
    assert "Scored" in b.error


def test_processing_list_gates_nobody_in(schema, enqueued):
    c = contact("France")
    cl = active(country_is("France"))
    list_refresh(contact_list=cl)
    assert list_gates_in(contact_list=cl, contact=c)
    list_update(
        contact_list=cl, filter_branch=filter_branch([property_filter("country", "STRING", "CONTAINS", value="ra")])
    )
    assert not list_gates_in(contact_list=cl, contact=c)


def test_dependent_lists_refresh_after_their_dependency(schema, enqueued):
    fr_big, fr_small, de_big = contact("France", 500), contact("France", 5), contact("Germany", 900)
    french = active(country_is("France"), name="French")
    big_french = active(filter_branch([in_list_filter(french.pk), employees_over(100)]), name="Big French")
    not_big_french = active(
        filter_branch([in_list_filter(big_french.pk, "NOT_IN_LIST"), employees_over(0)]), name="Others"
    )
    for cl in (french, big_french, not_big_french):
        list_refresh(contact_list=cl)
    assert members(big_french) == {fr_big.pk}
    assert members(not_big_french) == {fr_small.pk, de_big.pk}

    set_props(de_big, country="France")
    list_refresh(contact_list=french)  # the chain follows, in order
    assert members(french) == {fr_big.pk, fr_small.pk, de_big.pk}
    assert members(big_french) == {fr_big.pk, de_big.pk}
    assert members(not_big_french) == {fr_small.pk}


def test_dependency_order_does_not_follow_ids(schema, enqueued):
    late_user = active(country_is("France"), name="First created")
    source = active(country_is("Spain"), name="Created later")
    ContactList.objects.filter(pk=late_user.pk).update(filter_branch=filter_branch([in_list_filter(source.pk)]))
    ordered = list_dependency_order(lists=ContactList.objects.all())
    assert [cl.pk for cl in ordered] == [source.pk, late_user.pk]
