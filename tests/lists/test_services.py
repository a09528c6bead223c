"""Services of lists: create/edit/delete, full refresh, incremental update, static members."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from lists import services
from lists.models import Contact, ContactList, ContactProperty, ListMembership, MembershipChange
from lists.selectors import list_gates_in, list_members, lists_for_contact
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
from tests.lists.factories import (
    ContactFactory,
    ContactPropertyFactory,
    filter_branch,
    in_list_filter,
    property_filter,
)

pytestmark = pytest.mark.django_db

T1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T2 = T1 + timedelta(hours=5)
Status = ContactList.ProcessingStatus


@pytest.fixture
def schema(db):
    ContactPropertyFactory(name="email")
    ContactPropertyFactory(name="country")
    ContactPropertyFactory(name="numemployees", type=ContactProperty.Type.NUMBER)
    ContactPropertyFactory(name="lifecyclestage", enum_values=["lead", "customer"])


@pytest.fixture
def enqueued(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kw: calls.append((func, *args)))
    return calls


def country_is(value: str) -> dict:
    return filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value=value)])


def employees_over(n: int) -> dict:
    return property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=n)


def contact(country: str | None = None, employees: int | None = None, **kw) -> Contact:
    props = {}
    if country is not None:
        props["country"] = country
    if employees is not None:
        props["numemployees"] = employees
    return ContactFactory(properties=props, **kw)


def set_props(c: Contact, **props) -> None:
    # What the HubSpot pull does: replace the typed values (with the folded index) and save.
    from lists.normalize import public_properties, with_folded

    merged = {**public_properties(c.properties), **props}
    c.properties = with_folded({k: v for k, v in merged.items() if v is not None})
    c.save()


def members(cl: ContactList) -> set[int]:
    return set(ListMembership.objects.filter(contact_list=cl).values_list("contact_id", flat=True))


def active(criteria: dict, name: str = "L") -> ContactList:
    return list_create(name=name, processing_type="DYNAMIC", filter_branch=criteria)


def membership_fills_reading_it(ctx: CaptureQueriesContext) -> list[bool]:
    """For each captured INSERT into the membership table: whether its SELECT reads that table."""
    membership = connection.ops.quote_name(ListMembership._meta.db_table)
    into = f"INSERT INTO {membership}"
    fills = [q["sql"].split(into, 1)[1].split("RETURNING")[0] for q in ctx.captured_queries if into in q["sql"]]
    return [membership in sql for sql in fills]


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
    monkeypatch.setattr(services, "REFRESH_CHUNK_IDS", 2)
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
    real = services._evaluate_in_chunks

    def edited_meanwhile(*args, **kwargs):
        real(*args, **kwargs)
        ContactList.objects.filter(pk=cl.pk).update(version=F("version") + 1)

    monkeypatch.setattr(services, "_evaluate_in_chunks", edited_meanwhile)
    list_refresh(contact_list=cl)
    assert members(cl) == set()
    assert not MembershipChange.objects.exists()
    assert (cl.version, cl.processing_status, cl.size) == (2, Status.PROCESSING, 0)


def test_contact_saved_during_the_computation_is_seen(schema, enqueued, monkeypatch):
    late = contact("Germany")
    Contact.objects.update(updated_at=T1)  # nobody touched recently
    cl = active(country_is("France"))
    real = services._evaluate_in_chunks

    def contact_changes_meanwhile(*args, **kwargs):
        real(*args, **kwargs)
        set_props(late, country="France")

    monkeypatch.setattr(services, "_evaluate_in_chunks", contact_changes_meanwhile)
    list_refresh(contact_list=cl)
    assert members(cl) == {late.pk}


def test_contact_saved_between_the_publishing_statements_does_not_fail_the_refresh(schema, enqueued, monkeypatch):
    """On PostgreSQL each statement sees the latest commits: a member saved after its stale read
    was discarded, and before the fresh read, is read again (it was a duplicate key)."""
    member = contact("France")
    Contact.objects.update(updated_at=T1)  # read once, in the computation
    cl = active(country_is("France"))
    real = services._IdSet.discard

    def saved_right_after(self, queryset):
        real(self, queryset)
        # As another connection committing now would be seen by the next statement.
        Contact.objects.filter(pk=member.pk).update(updated_at=datetime.now(UTC))

    monkeypatch.setattr(services._IdSet, "discard", saved_right_after)
    list_refresh(contact_list=cl)
    cl.refresh_from_db()
    assert (cl.processing_status, members(cl)) == (Status.COMPLETE, {member.pk})


def test_change_reported_by_the_incremental_update_during_the_computation_is_seen(schema, enqueued, monkeypatch):
    from lists.normalize import with_folded

    late = contact("Germany")
    Contact.objects.update(updated_at=T1)  # nobody touched recently
    cl = active(country_is("France"))
    real = services._evaluate_in_chunks

    def pulled_meanwhile(*args, **kwargs):
        real(*args, **kwargs)
        # As the HubSpot pull stores a page: bulk_update (auto_now untouched), then the update.
        Contact.objects.filter(pk=late.pk).update(properties=with_folded({"country": "France"}))
        memberships_update_for_contacts(contact_ids=[late.pk])  # skips the list: still PROCESSING

    monkeypatch.setattr(services, "_evaluate_in_chunks", pulled_meanwhile)
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
    from lists.services import lists_refresh_using_properties

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
    from lists.selectors import list_dependency_order

    late_user = active(country_is("France"), name="First created")
    source = active(country_is("Spain"), name="Created later")
    ContactList.objects.filter(pk=late_user.pk).update(filter_branch=filter_branch([in_list_filter(source.pk)]))
    ordered = list_dependency_order(lists=ContactList.objects.all())
    assert [cl.pk for cl in ordered] == [source.pk, late_user.pk]


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
    from integration.models import SyncSettings

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
