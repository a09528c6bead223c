"""The HubSpot emulator's Lists v3 definitions: create (each processing type), fetch (by id, several,
by name), search, rename, filter updates, delete and restore, through the unmodified
hubspot-api-client (``crm.lists``) over real HTTP, every answer checked against the spec."""

from __future__ import annotations

import json

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.lists import ListFilterUpdateRequest, ListSearchRequest
from hubspot.crm.lists.exceptions import ApiException

from tests.sandbox.hubspot_helpers import (
    AUTH,
    LISTS_SPEC,
    and_branch,
    create_list,
    members,
    or_root,
    prop,
    raw,
)

LIST_PATH = "/crm/v3/lists/{listId}"
CUSTOMERS = or_root(and_branch(prop("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["customer"])))
LEADS = or_root(and_branch(prop("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["lead"])))


def seed_stages(app, n: int = 6) -> None:
    """``n`` contacts, ids 1..n: odd ids customers, even ids leads."""
    app.store.bulk_insert(
        ({"email": f"c{i}@example.com", "lifecyclestage": "customer" if i % 2 else "lead"}, 1, 1)
        for i in range(1, n + 1)
    )


def refusal(exc: pytest.ExceptionInfo, status: int = 400) -> dict:
    body = json.loads(exc.value.body)
    assert exc.value.status == status, body
    assert body["status"] == "error" and body["correlationId"]
    return body


# -- create ------------------------------------------------------------------------------------


def test_a_dynamic_list_is_created_processing_with_its_stored_definition(client: HubSpot, hs, spec):
    seed_stages(hs[1])
    created = raw(
        client.crm.lists.lists_api.create,
        {"name": "Customers", "objectTypeId": "0-1", "processingType": "DYNAMIC", "filterBranch": CUSTOMERS},
    )
    spec(created, "/crm/v3/lists", "post", LISTS_SPEC)
    listed = created.json()["list"]
    assert listed["processingStatus"] == "PROCESSING" and listed["processingType"] == "DYNAMIC"
    assert listed["listVersion"] == 1 and listed["objectTypeId"] == "0-1" and listed["name"] == "Customers"
    assert listed["createdAt"] == listed["updatedAt"] == listed["filtersUpdatedAt"]
    # HubSpot's stored form: every branch names its operator, every operation its no-value rule.
    assert listed["filterBranch"] == {
        "filterBranchOperator": "OR",
        "filterBranchType": "OR",
        "filters": [],
        "filterBranches": [
            {
                "filterBranchOperator": "AND",
                "filterBranchType": "AND",
                "filterBranches": [],
                "filters": [
                    {
                        "filterType": "PROPERTY",
                        "property": "lifecyclestage",
                        "operation": {
                            "includeObjectsWithNoValueSet": False,
                            "operationType": "ENUMERATION",
                            "operator": "IS_ANY_OF",
                            "values": ["customer"],
                        },
                    }
                ],
            }
        ],
    }
    fetched = client.crm.lists.lists_api.get_by_id(listed["listId"])
    assert fetched.list.processing_status == "COMPLETE" and fetched.list.size == 3
    assert members(client, listed["listId"]) == ["1", "3", "5"]


def test_a_manual_list_is_complete_at_once_and_has_no_filters(client: HubSpot, spec):
    manual = create_list(client, "Hand picked", "MANUAL")
    assert manual.processing_status == "COMPLETE" and manual.size == 0 and manual.filter_branch is None
    answer = raw(client.crm.lists.lists_api.get_by_id, manual.list_id, include_filters=True)
    spec(answer, LIST_PATH, "get", LISTS_SPEC)
    assert "filterBranch" not in answer.json()["list"]


def test_a_snapshot_list_takes_its_members_once_then_changes_only_by_hand(client: HubSpot, hs):
    seed_stages(hs[1])
    snapshot = create_list(client, "Customers today", "SNAPSHOT", CUSTOMERS)
    assert snapshot.processing_status == "PROCESSING"
    assert members(client, snapshot.list_id) == ["1", "3", "5"]
    hs[1].store.set_properties(2, {"lifecyclestage": "customer"})
    assert members(client, snapshot.list_id) == ["1", "3", "5"]  # a snapshot does not follow
    client.crm.lists.memberships_api.add(snapshot.list_id, ["2"])
    assert members(client, snapshot.list_id) == ["1", "2", "3", "5"]
    with pytest.raises(ApiException) as exc:
        client.crm.lists.lists_api.update_list_filters(snapshot.list_id, ListFilterUpdateRequest(filter_branch=LEADS))
    assert "DYNAMIC" in refusal(exc)["message"]


def test_creating_needs_a_unique_name_a_known_type_and_filters_only_where_they_belong(client: HubSpot, spec):
    create_list(client, "Customers", "DYNAMIC", CUSTOMERS)
    api = client.crm.lists.lists_api
    for body, field in (
        ({"name": "customers ", "objectTypeId": "0-1", "processingType": "MANUAL"}, "name"),
        ({"name": "", "objectTypeId": "0-1", "processingType": "MANUAL"}, "name"),
        ({"name": "X", "objectTypeId": "0-1", "processingType": "ACTIVE"}, "processingType"),
        ({"name": "X", "objectTypeId": "0-1", "processingType": "MANUAL", "filterBranch": CUSTOMERS}, "filterBranch"),
        ({"name": "X", "objectTypeId": "0-1", "processingType": "DYNAMIC"}, "filterBranch"),
        ({"name": "X", "objectTypeId": "0-2", "processingType": "MANUAL"}, "objectTypeId"),
        ({"name": "X", "objectTypeId": "0-1", "processingType": "MANUAL", "colour": "red"}, "colour"),
    ):
        answer = raw(api.create, body)
        spec(answer, "/crm/v3/lists", "post", LISTS_SPEC)
        assert answer.status_code == 400, body
        error = answer.json()
        assert error["category"] == "VALIDATION_ERROR" and field in error["context"], error
    other_type = raw(api.create, {"name": "X", "objectTypeId": "0-2", "processingType": "MANUAL"}).json()
    assert other_type["subCategory"] == "ListError.INVALID_OBJECT_TYPE_FOR_LIST"


# -- fetch -------------------------------------------------------------------------------------


def test_a_list_is_fetched_by_id_with_or_without_its_filters(client: HubSpot, spec):
    created = create_list(client, "Customers", "DYNAMIC", CUSTOMERS)
    api = client.crm.lists.lists_api
    plain = raw(api.get_by_id, created.list_id)
    spec(plain, LIST_PATH, "get", LISTS_SPEC)
    assert "filterBranch" not in plain.json()["list"]
    with_filters = raw(api.get_by_id, created.list_id, include_filters=True)
    spec(with_filters, LIST_PATH, "get", LISTS_SPEC)
    assert with_filters.json()["list"]["filterBranch"]["filterBranches"][0]["filters"][0]["property"] == (
        "lifecyclestage"
    )
    missing = raw(api.get_by_id, "999")
    spec(missing, LIST_PATH, "get", LISTS_SPEC)
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    assert raw(api.get_by_id, "abc").status_code == 400


def test_several_lists_are_fetched_by_id_unknown_ones_left_out(client: HubSpot, spec):
    first = create_list(client, "One", "MANUAL")
    second = create_list(client, "Two", "DYNAMIC", CUSTOMERS)
    api = client.crm.lists.lists_api
    answer = raw(api.get_all, list_ids=[second.list_id, "404", first.list_id], include_filters=True)
    spec(answer, "/crm/v3/lists", "get", LISTS_SPEC)
    found = answer.json()["lists"]
    assert [item["listId"] for item in found] == [second.list_id, first.list_id]
    assert "filterBranch" in found[0] and "filterBranch" not in found[1]
    assert api.get_all().lists == []


def test_a_list_is_fetched_by_name_ignoring_case(client: HubSpot, spec):
    created = create_list(client, "Trade Show 2024", "MANUAL")
    api = client.crm.lists.lists_api
    answer = raw(api.get_by_name, "trade show 2024", "0-1")
    spec(answer, "/crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}", "get", LISTS_SPEC)
    assert answer.json()["list"]["listId"] == created.list_id
    assert raw(api.get_by_name, "Trade Show 2025", "0-1").status_code == 404
    assert raw(api.get_by_name, "Trade Show 2024", "0-2").status_code == 400


# -- search ------------------------------------------------------------------------------------


def test_search_finds_lists_by_name_and_type_and_pages_by_offset(client: HubSpot, hs, spec):
    seed_stages(hs[1])
    customers = create_list(client, "Customers EMEA", "DYNAMIC", CUSTOMERS)
    create_list(client, "Leads EMEA", "DYNAMIC", LEADS)
    manual = create_list(client, "emea picks", "MANUAL")
    create_list(client, "Americas", "MANUAL")
    api = client.crm.lists.lists_api

    answer = raw(api.do_search, {"query": "EMEA", "offset": 0, "additionalProperties": []})
    spec(answer, "/crm/v3/lists/search", "post", LISTS_SPEC)
    page = answer.json()
    assert [item["name"] for item in page["lists"]] == ["Customers EMEA", "Leads EMEA", "emea picks"]
    assert (page["total"], page["offset"], page["hasMore"]) == (3, 3, False)
    first = page["lists"][0]
    assert first["additionalProperties"]["hs_list_size"] == "3" and "size" not in first
    assert first["additionalProperties"]["hs_list_reference_count"] == "0"
    assert first["processingStatus"] == "COMPLETE"

    typed = api.do_search(ListSearchRequest(query="emea", offset=0, processing_types=["MANUAL"]))
    assert [item.list_id for item in typed.lists] == [manual.list_id]

    first_page = api.do_search(ListSearchRequest(offset=0, count=2))
    second_page = api.do_search(ListSearchRequest(offset=first_page.offset, count=2))
    assert (first_page.total, first_page.offset, first_page.has_more) == (4, 2, True)
    assert [item.name for item in second_page.lists] == ["emea picks", "Americas"] and not second_page.has_more

    by_id = api.do_search(ListSearchRequest(offset=0, list_ids=[customers.list_id, manual.list_id]))
    assert [item.list_id for item in by_id.lists] == [customers.list_id, manual.list_id]
    by_name = api.do_search(ListSearchRequest(offset=0, sort="-name"))
    assert [item.name for item in by_name.lists][0] == "Leads EMEA"
    for wrong in ({"offset": 0, "count": 501}, {"offset": -1}, {"offset": 0, "processingTypes": ["ACTIVE"]}):
        assert raw(api.do_search, wrong).status_code == 400, wrong


# -- updates -----------------------------------------------------------------------------------


def test_a_rename_bumps_the_version_and_keeps_names_unique(client: HubSpot, spec):
    first = create_list(client, "First", "MANUAL")
    create_list(client, "Second", "MANUAL")
    api = client.crm.lists.lists_api
    answer = raw(api.update_name, first.list_id, list_name="First, renamed")
    spec(answer, "/crm/v3/lists/{listId}/update-list-name", "put", LISTS_SPEC)
    renamed = answer.json()["updatedList"]
    assert renamed["name"] == "First, renamed" and renamed["listVersion"] == 2
    assert renamed["updatedAt"] >= renamed["createdAt"] and renamed["filtersUpdatedAt"] == renamed["createdAt"]
    assert api.get_by_id(first.list_id).list.name == "First, renamed"
    assert raw(api.update_name, first.list_id, list_name="SECOND").status_code == 400
    assert raw(api.update_name, first.list_id).status_code == 400
    assert raw(api.update_name, "999", list_name="x").status_code == 404


def test_a_filter_update_bumps_the_version_and_recomputes_the_members(client: HubSpot, hs, spec):
    seed_stages(hs[1])
    created = create_list(client, "Stage", "DYNAMIC", CUSTOMERS)
    assert members(client, created.list_id) == ["1", "3", "5"]
    api = client.crm.lists.lists_api
    answer = raw(api.update_list_filters, created.list_id, {"filterBranch": LEADS})
    spec(answer, "/crm/v3/lists/{listId}/update-list-filters", "put", LISTS_SPEC)
    updated = answer.json()["updatedList"]
    assert updated["listVersion"] == 2 and updated["processingStatus"] == "PROCESSING"
    assert updated["filtersUpdatedAt"] == updated["updatedAt"] >= updated["createdAt"]
    assert updated["filterBranch"]["filterBranches"][0]["filters"][0]["operation"]["values"] == ["lead"]
    assert members(client, created.list_id) == ["2", "4", "6"]
    assert api.get_by_id(created.list_id).list.processing_status == "COMPLETE"

    manual = create_list(client, "Manual", "MANUAL")
    refused = raw(api.update_list_filters, manual.list_id, {"filterBranch": LEADS})
    spec(refused, "/crm/v3/lists/{listId}/update-list-filters", "put", LISTS_SPEC)
    assert refused.status_code == 400
    assert (
        raw(api.update_list_filters, created.list_id, {"filterBranch": {"filterBranchType": "AND"}}).status_code == 400
    )
    assert api.get_by_id(created.list_id).list.list_version == 2  # a refused update changes nothing


def test_a_deleted_list_is_gone_until_restored(client: HubSpot, hs, spec):
    seed_stages(hs[1])
    created = create_list(client, "Customers", "DYNAMIC", CUSTOMERS)
    api = client.crm.lists.lists_api
    deleted = raw(api.remove, created.list_id)
    spec(deleted, LIST_PATH, "delete", LISTS_SPEC)
    assert deleted.status_code == 204
    assert raw(api.get_by_id, created.list_id).status_code == 404
    assert api.do_search(ListSearchRequest(offset=0)).total == 0
    assert raw(api.remove, created.list_id).status_code == 404
    create_list(client, "Customers", "MANUAL")  # the name is free again...
    assert raw(api.restore, created.list_id).status_code == 400  # ...so the old list cannot take it back
    api.update_name(api.get_by_name("Customers", "0-1").list.list_id, list_name="Other")
    restored = raw(api.restore, created.list_id)
    spec(restored, "/crm/v3/lists/{listId}/restore", "put", LISTS_SPEC)
    assert restored.status_code == 204
    assert members(client, created.list_id) == ["1", "3", "5"]
    assert raw(api.restore, created.list_id).status_code == 400  # not deleted


def test_lists_need_a_token_and_count_against_the_rate_limit(hs):
    url, app = hs
    assert requests.get(f"{url}/crm/v3/lists/1").status_code == 401
    app.limiter.configure(1, 10_000)
    first = requests.post(f"{url}/crm/v3/lists/search", json={"offset": 0}, headers=AUTH)
    assert first.status_code == 200 and first.headers["X-HubSpot-RateLimit-Max"] == "1"
    limited = requests.post(f"{url}/crm/v3/lists/search", json={"offset": 0}, headers=AUTH)
    assert limited.status_code == 429 and limited.json()["category"] == "RATE_LIMITS"
