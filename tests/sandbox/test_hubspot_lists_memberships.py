"""The HubSpot emulator's list memberships: pages by record id (``after``/``before``/``limit``) and by
join order, manual adds and removes on MANUAL lists, the refusal on DYNAMIC lists, and the lists a
contact is in, through the unmodified hubspot-api-client (``crm.lists.memberships_api``)."""

from __future__ import annotations

import json
import time

import pytest
from hubspot import HubSpot
from hubspot.crm.lists import MembershipChangeRequest
from hubspot.crm.lists.exceptions import ApiException

from tests.sandbox.hubspot_helpers import (
    LISTS_SPEC,
    and_branch,
    create_list,
    members,
    or_root,
    prop,
    raw,
)

MEMBERSHIPS = "/crm/v3/lists/{listId}/memberships"
EVERYONE = or_root(and_branch(prop("email", "ALL_PROPERTY", "IS_KNOWN")))


def seed(app, n: int) -> None:
    """``n`` contacts with ids 1..n."""
    app.store.bulk_insert(({"email": f"m{i}@example.com"}, 1, 1) for i in range(1, n + 1))


def ids(page) -> list[str]:
    return [m.record_id for m in page.results]


def test_memberships_page_by_record_id_forwards_and_backwards(client: HubSpot, hs, spec):
    seed(hs[1], 7)
    everyone = create_list(client, "Everyone", "DYNAMIC", EVERYONE)
    api = client.crm.lists.memberships_api

    answer = raw(api.get_page, everyone.list_id, limit=3)
    spec(answer, MEMBERSHIPS, "get", LISTS_SPEC)
    first = answer.json()
    assert [m["recordId"] for m in first["results"]] == ["1", "2", "3"]
    assert first["paging"]["next"]["after"] == "3" and "prev" not in first["paging"]
    assert all(m["membershipTimestamp"].endswith("Z") for m in first["results"])

    second = api.get_page(everyone.list_id, after="3", limit=3)
    assert ids(second) == ["4", "5", "6"] and second.paging.next.after == "6" and second.paging.prev.before == "4"
    last = api.get_page(everyone.list_id, after="6", limit=3)
    assert ids(last) == ["7"] and last.paging.next is None and last.paging.prev.before == "7"

    # Only a before offset: descending, from just below it.
    back = api.get_page(everyone.list_id, before="4", limit=2)
    assert ids(back) == ["3", "2"] and back.paging.prev.before == "2" and back.paging.next.after == "3"
    # after wins over before.
    assert ids(api.get_page(everyone.list_id, after="5", before="2", limit=5)) == ["6", "7"]
    assert members(client, everyone.list_id) == [str(i) for i in range(1, 8)]


def test_the_page_size_defaults_to_100_and_is_at_most_250(client: HubSpot, hs, spec):
    seed(hs[1], 260)
    everyone = create_list(client, "Everyone", "DYNAMIC", EVERYONE)
    api = client.crm.lists.memberships_api
    assert len(api.get_page(everyone.list_id).results) == 100
    assert len(api.get_page(everyone.list_id, limit=250).results) == 250
    for wrong in (251, 0):
        answer = raw(api.get_page, everyone.list_id, limit=wrong)
        spec(answer, MEMBERSHIPS, "get", LISTS_SPEC)
        assert answer.status_code == 400 and "limit" in answer.json()["context"]
    assert raw(api.get_page, everyone.list_id, after="not-a-cursor").status_code == 400
    assert raw(api.get_page, "404").status_code == 404


def test_join_order_pages_follow_the_time_records_joined(client: HubSpot, hs, spec):
    seed(hs[1], 4)
    manual = create_list(client, "Picked", "MANUAL")
    api = client.crm.lists.memberships_api
    for record in ("3", "1", "4", "2"):
        api.add(manual.list_id, [record])
        time.sleep(0.002)  # one join a millisecond at least: the order is the joins' times
    answer = raw(api.get_page_ordered_by_added_to_list_date, manual.list_id, limit=2)
    spec(answer, MEMBERSHIPS + "/join-order", "get", LISTS_SPEC)
    page = answer.json()
    assert [m["recordId"] for m in page["results"]] == ["3", "1"]
    rest = api.get_page_ordered_by_added_to_list_date(manual.list_id, after=page["paging"]["next"]["after"], limit=2)
    assert ids(rest) == ["4", "2"] and rest.paging.next is None
    assert page["results"][0]["membershipTimestamp"] < page["results"][1]["membershipTimestamp"]


def test_records_are_added_to_and_removed_from_a_manual_list(client: HubSpot, hs, spec):
    seed(hs[1], 5)
    manual = create_list(client, "Picked", "MANUAL")
    api = client.crm.lists.memberships_api

    answer = raw(api.add, manual.list_id, ["1", "2", "2", "999", "x"])
    spec(answer, MEMBERSHIPS + "/add", "put", LISTS_SPEC)
    assert answer.json() == {"recordsIdsAdded": ["1", "2"], "recordIdsRemoved": [], "recordIdsMissing": ["999", "x"]}
    again = api.add(manual.list_id, ["2", "3"])  # a member already in is ignored
    assert (again.records_ids_added, again.record_ids_missing) == (["3"], [])
    assert client.crm.lists.lists_api.get_by_id(manual.list_id).list.size == 3

    removed = raw(api.remove, manual.list_id, ["1", "4", "999"])
    spec(removed, MEMBERSHIPS + "/remove", "put", LISTS_SPEC)
    assert removed.json() == {"recordsIdsAdded": [], "recordIdsRemoved": ["1"], "recordIdsMissing": ["999"]}

    both = raw(
        api.add_and_remove,
        manual.list_id,
        MembershipChangeRequest(record_ids_to_add=["4", "5"], record_ids_to_remove=["2"]),
    )
    spec(both, MEMBERSHIPS + "/add-and-remove", "put", LISTS_SPEC)
    assert both.json()["recordsIdsAdded"] == ["4", "5"] and both.json()["recordIdsRemoved"] == ["2"]
    assert members(client, manual.list_id) == ["3", "4", "5"]

    # An archived contact leaves the list, and cannot be added back.
    client.crm.contacts.basic_api.archive("4")
    assert members(client, manual.list_id) == ["3", "5"]
    assert api.add(manual.list_id, ["4"]).record_ids_missing == ["4"]

    copy = create_list(client, "Copy", "MANUAL")
    assert raw(api.add_all_from_list, copy.list_id, manual.list_id).status_code == 204
    assert members(client, copy.list_id) == ["3", "5"]
    assert raw(api.add_all_from_list, copy.list_id, copy.list_id).status_code == 400
    assert raw(api.remove_all, copy.list_id).status_code == 204
    assert members(client, copy.list_id) == [] and members(client, manual.list_id) == ["3", "5"]
    listed = client.crm.lists.lists_api.get_by_id(copy.list_id).list
    assert listed.size == 0 and listed.list_version == 1  # memberships are not the definition


def test_a_dynamic_list_refuses_manual_changes_in_hubspots_error_format(client: HubSpot, hs, spec):
    seed(hs[1], 2)
    dynamic = create_list(client, "Everyone", "DYNAMIC", EVERYONE)
    api = client.crm.lists.memberships_api
    for path, call, args in (
        ("/add", api.add, (["1"],)),
        ("/remove", api.remove, (["1"],)),
        ("/add-and-remove", api.add_and_remove, ({"recordIdsToAdd": ["1"], "recordIdsToRemove": []},)),
        ("", api.remove_all, ()),
    ):
        answer = raw(call, dynamic.list_id, *args)
        spec(answer, MEMBERSHIPS + path, "put" if path else "delete", LISTS_SPEC)
        error = answer.json()
        assert answer.status_code == 400 and error["category"] == "VALIDATION_ERROR"
        assert error["context"]["processingType"] == ["DYNAMIC"] and "MANUAL and SNAPSHOT" in error["message"]
    with pytest.raises(ApiException) as exc:
        api.add(dynamic.list_id, ["2"])
    assert json.loads(exc.value.body)["status"] == "error"
    assert members(client, dynamic.list_id) == ["1", "2"]


def test_a_contact_lists_the_lists_it_is_in(client: HubSpot, hs):
    seed(hs[1], 3)
    everyone = create_list(client, "Everyone", "DYNAMIC", EVERYONE)
    manual = create_list(client, "Picked", "MANUAL")
    client.crm.lists.memberships_api.add(manual.list_id, ["2"])
    found = client.crm.lists.memberships_api.get_lists("0-1", "2")
    assert [(m.list_id, m.list_version) for m in found.results] == [(everyone.list_id, 1), (manual.list_id, 1)]
    assert [m.list_id for m in client.crm.lists.memberships_api.get_lists("0-1", "3").results] == [everyone.list_id]
    client.crm.lists.lists_api.remove(manual.list_id)
    assert [m.list_id for m in client.crm.lists.memberships_api.get_lists("0-1", "2").results] == [everyone.list_id]
