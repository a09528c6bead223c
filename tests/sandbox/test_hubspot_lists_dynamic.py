"""DYNAMIC lists follow their contacts: every write path (the API one by one and in batches, direct
store edits, ``bulk_insert``, archiving), IN_LIST chains, processing status (the delay setting and a
test's hold), and lists on filters the sandbox does not evaluate (memberships from the control
endpoint), through the unmodified hubspot-api-client over real HTTP."""

from __future__ import annotations

import time

import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInput,
)
from hubspot.crm.lists import ListFilterUpdateRequest, ListSearchRequest

from tests.sandbox.hubspot_helpers import (
    LISTS_SPEC,
    _create,
    and_branch,
    create_list,
    in_list,
    members,
    or_root,
    prop,
    raw,
)

CUSTOMERS = or_root(and_branch(prop("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["customer"])))
BIG = prop("employee_count", "NUMBER", "IS_GREATER_THAN", value=10)


def seed_stages(app, n: int = 6) -> None:
    """``n`` contacts, ids 1..n: odd ids customers with ``employee_count`` = 10 x id, even ids leads."""
    app.store.bulk_insert(
        (
            {
                "email": f"c{i}@example.com",
                "lifecyclestage": "customer" if i % 2 else "lead",
                "employee_count": str(10 * i),
            },
            1_700_000_000_000 + i,
            1_700_000_000_000 + i,
        )
        for i in range(1, n + 1)
    )


def stamps(client: HubSpot, list_id: str) -> dict[str, str]:
    page = client.crm.lists.memberships_api.get_page(list_id, limit=250)
    return {m.record_id: m.membership_timestamp for m in page.results}


def test_a_dynamic_list_follows_every_contact_write(client: HubSpot, hs):
    url, app = hs
    seed_stages(app)
    customers = create_list(client, "Customers", "DYNAMIC", CUSTOMERS)
    assert members(client, customers.list_id) == ["1", "3", "5"]
    before = stamps(client, customers.list_id)
    contacts = client.crm.contacts

    created = _create(client, email="new@example.com", lifecyclestage="customer")  # one by one
    contacts.basic_api.update("2", SimplePublicObjectInput(properties={"lifecyclestage": "customer"}))
    contacts.basic_api.update("3", SimplePublicObjectInput(properties={"lifecyclestage": "opportunity"}))
    assert members(client, customers.list_id) == ["1", "2", "5", created.id]
    # Only the contacts that changed moved: the others kept the time they joined.
    assert {k: v for k, v in stamps(client, customers.list_id).items() if k in ("1", "5")} == {
        k: before[k] for k in ("1", "5")
    }

    contacts.batch_api.create(  # in batches
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"email": "b1@example.com", "lifecyclestage": "customer"}}]
        )
    )
    contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(inputs=[{"id": "1", "properties": {"lifecyclestage": "lead"}}])
    )
    contacts.basic_api.archive("5")
    app.store.set_properties(4, {"lifecyclestage": "customer"})  # a person's edit in HubSpot
    app.store.bulk_insert([({"email": "seeded@example.com", "lifecyclestage": "customer"}, 1, 1)])  # a seed
    expected = sorted(["2", "4", created.id, "8", "9"], key=int)
    assert members(client, customers.list_id) == expected
    listed = client.crm.lists.lists_api.get_by_id(customers.list_id).list
    assert listed.size == 5 and listed.list_version == 1  # members move, the definition does not


def test_a_filter_update_recomputes_everyone_and_keeps_who_stays(client: HubSpot, hs):
    seed_stages(hs[1])
    customers = create_list(client, "Customers", "DYNAMIC", CUSTOMERS)
    before = stamps(client, customers.list_id)
    big_customers = or_root(and_branch(*CUSTOMERS["filterBranches"][0]["filters"], BIG))
    client.crm.lists.lists_api.update_list_filters(
        customers.list_id, ListFilterUpdateRequest(filter_branch=big_customers)
    )
    after = stamps(client, customers.list_id)
    assert sorted(after, key=int) == ["3", "5"] and after == {k: before[k] for k in ("3", "5")}


def test_in_list_filters_chain_lists_and_follow_their_members(client: HubSpot, hs):
    seed_stages(hs[1])
    customers = create_list(client, "Customers", "DYNAMIC", CUSTOMERS)
    big = create_list(client, "Big customers", "DYNAMIC", or_root(and_branch(in_list(customers.list_id), BIG)))
    others = create_list(
        client, "Not customers", "DYNAMIC", or_root(and_branch(in_list(customers.list_id, "NOT_IN_LIST")))
    )
    picked = create_list(client, "Picked", "MANUAL")
    picked_or_big = create_list(
        client,
        "Picked or big",
        "DYNAMIC",
        or_root(and_branch(in_list(picked.list_id)), and_branch(in_list(big.list_id))),
    )
    assert members(client, big.list_id) == ["3", "5"]
    assert members(client, others.list_id) == ["2", "4", "6"]
    assert members(client, picked_or_big.list_id) == ["3", "5"]

    hs[1].store.set_properties(6, {"lifecyclestage": "customer"})  # 60 employees: customer, then big
    client.crm.lists.memberships_api.add(picked.list_id, ["2"])
    assert members(client, big.list_id) == ["3", "5", "6"]
    assert members(client, others.list_id) == ["2", "4"]
    assert members(client, picked_or_big.list_id) == ["2", "3", "5", "6"]

    search = client.crm.lists.lists_api.do_search(ListSearchRequest(offset=0, list_ids=[customers.list_id]))
    assert search.lists[0].additional_properties["hs_list_reference_count"] == "2"

    # A deleted list has no members for the lists that name it, until it is restored.
    client.crm.lists.lists_api.remove(customers.list_id)
    assert members(client, big.list_id) == [] and members(client, others.list_id) == ["1", "2", "3", "4", "5", "6"]
    assert members(client, picked_or_big.list_id) == ["2"]
    client.crm.lists.lists_api.restore(customers.list_id)
    assert members(client, big.list_id) == ["3", "5", "6"] and members(client, others.list_id) == ["2", "4"]


def test_in_list_filters_name_live_lists_and_never_loop(client: HubSpot, hs, spec):
    customers = create_list(client, "Customers", "DYNAMIC", CUSTOMERS)
    big = create_list(client, "Big", "DYNAMIC", or_root(and_branch(in_list(customers.list_id), BIG)))
    api = client.crm.lists.lists_api
    for list_id, branch in (
        (customers.list_id, or_root(and_branch(in_list(big.list_id)))),  # a cycle through Big
        (customers.list_id, or_root(and_branch(in_list(customers.list_id)))),  # itself
        (customers.list_id, or_root(and_branch(in_list("999")))),  # no such list
        (customers.list_id, or_root(and_branch(in_list("first")))),  # not an id
        (customers.list_id, or_root(and_branch(in_list(big.list_id, "IN_SOME_LIST")))),
    ):
        answer = raw(api.update_list_filters, list_id, {"filterBranch": branch})
        spec(answer, "/crm/v3/lists/{listId}/update-list-filters", "put", LISTS_SPEC)
        assert answer.status_code == 400, branch
    api.remove(big.list_id)
    on_deleted = or_root(and_branch(in_list(big.list_id)))
    body = {"name": "On deleted", "objectTypeId": "0-1", "processingType": "DYNAMIC", "filterBranch": on_deleted}
    refused = raw(api.create, body)
    assert refused.status_code == 400 and "does not exist" in refused.json()["message"]
    numeric = create_list(client, "Numeric id", "DYNAMIC", or_root(and_branch({**in_list("1"), "listId": 1})))
    stored = api.get_by_id(numeric.list_id, include_filters=True, _preload_content=False).json()
    assert stored["list"]["filterBranch"]["filterBranches"][0]["filters"][0]["listId"] == "1"


def test_processing_takes_the_configured_time_and_a_test_can_hold_it(client: HubSpot, hs):
    url, app = hs
    seed_stages(app)
    assert requests.post(f"{url}/_sandbox/config", json={"list_processing_ms": 400}).json()["list_processing_ms"] == 400
    customers = create_list(client, "Customers", "DYNAMIC", CUSTOMERS)
    api = client.crm.lists.lists_api
    assert api.get_by_id(customers.list_id).list.processing_status == "PROCESSING"
    assert members(client, customers.list_id) == []  # not processed yet
    time.sleep(0.45)
    assert api.get_by_id(customers.list_id).list.processing_status == "COMPLETE"
    assert members(client, customers.list_id) == ["1", "3", "5"]
    # A filter update processes again; meanwhile the list keeps its members.
    leads = or_root(and_branch(prop("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["lead"])))
    api.update_list_filters(customers.list_id, ListFilterUpdateRequest(filter_branch=leads))
    assert api.get_by_id(customers.list_id).list.processing_status == "PROCESSING"
    assert members(client, customers.list_id) == ["1", "3", "5"]
    time.sleep(0.45)
    assert members(client, customers.list_id) == ["2", "4", "6"]
    assert requests.post(f"{url}/_sandbox/config", json={"list_processing_ms": 0}).ok
    assert requests.post(f"{url}/_sandbox/config", json={"list_processing_ms": -1}).status_code == 400

    held = requests.put(f"{url}/_sandbox/lists/{customers.list_id}/processing", json={"hold": True})
    assert held.json()["list"]["processingStatus"] == "PROCESSING"
    app.store.set_properties(1, {"lifecyclestage": "lead"})
    assert members(client, customers.list_id) == ["2", "4", "6"]  # frozen while held
    assert api.get_by_id(customers.list_id).list.processing_status == "PROCESSING"
    released = requests.put(f"{url}/_sandbox/lists/{customers.list_id}/processing", json={"hold": False})
    assert released.ok
    assert api.get_by_id(customers.list_id).list.processing_status == "COMPLETE"
    assert members(client, customers.list_id) == ["1", "2", "4", "6"]
    assert requests.put(f"{url}/_sandbox/lists/999/processing", json={"hold": True}).status_code == 404
    assert requests.put(f"{url}/_sandbox/lists/1/processing", json={}).status_code == 400

    # The lists' own functions, as a test of the product would use them.
    fresh = app.lists.create(name="Held from the start", processing_type="DYNAMIC", filter_branch=CUSTOMERS)
    app.lists.hold(fresh["id"])
    assert app.lists.get(fresh["id"])["size"] == 0 and app.lists.members(fresh["id"]) == []
    app.lists.hold(fresh["id"], False)
    assert app.lists.members(fresh["id"]) == [3, 5]


def test_filters_hubspot_evaluates_are_kept_and_their_members_set_by_the_control_route(client: HubSpot, hs, spec):
    url, app = hs
    seed_stages(app)
    form = {"filterType": "FORM_SUBMISSION", "operator": "FILLED_OUT", "formId": "3b8e4f0c"}
    email = {"filterType": "EMAIL_EVENT", "operator": "OPENED", "appId": "113", "emailId": "9001", "level": "ALL"}
    page = {"filterType": "PAGE_VIEW", "operator": "HAS_PAGEVIEW_EQ", "pageUrl": "https://example.com/pricing"}
    # HubSpot's own example: contacts associated with a closed-won deal (a deal property).
    deals = {
        "filterBranchType": "ASSOCIATION",
        "objectTypeId": "0-3",
        "operator": "IN_LIST",
        "associationTypeId": 4,
        "associationCategory": "HUBSPOT_DEFINED",
        "filters": [prop("hs_is_closed_won", "BOOL", "IS_EQUAL_TO", value=True)],
        "filterBranches": [],
    }
    branch = or_root(and_branch(form, email, page, branches=(deals,)))
    answer = raw(
        client.crm.lists.lists_api.create,
        {"name": "Engaged", "objectTypeId": "0-1", "processingType": "DYNAMIC", "filterBranch": branch},
    )
    spec(answer, "/crm/v3/lists", "post", LISTS_SPEC)
    stored = answer.json()["list"]
    list_id = stored["listId"]
    assert stored["filterBranch"]["filterBranches"][0]["filterBranches"][0]["filterBranchOperator"] == "AND"
    assert members(client, list_id) == []
    assert client.crm.lists.lists_api.get_by_id(list_id).list.processing_status == "COMPLETE"

    computed = requests.put(f"{url}/_sandbox/lists/{list_id}/memberships", json={"recordIds": ["2", "5", "99"]})
    assert computed.status_code == 200
    assert (computed.json()["recordsIdsAdded"], computed.json()["recordIdsMissing"]) == (["2", "5"], ["99"])
    assert computed.json()["list"]["size"] == 2
    assert members(client, list_id) == ["2", "5"]
    app.store.set_properties(2, {"lifecyclestage": "customer"})  # not a filter the sandbox evaluates
    assert members(client, list_id) == ["2", "5"]
    client.crm.contacts.basic_api.archive("5")
    assert members(client, list_id) == ["2"]  # archived records leave every list
    assert requests.put(f"{url}/_sandbox/lists/{list_id}/memberships", json={"recordIds": ["1"]}).ok
    assert members(client, list_id) == ["1"]
    assert app.lists.set_computed_members(list_id, [3, 4]).added == [3, 4]
    assert members(client, list_id) == ["3", "4"]
    # A manual change stays refused: the list is DYNAMIC.
    assert raw(client.crm.lists.memberships_api.add, list_id, ["1"]).status_code == 400

    customers = create_list(client, "Customers", "DYNAMIC", CUSTOMERS)
    manual = create_list(client, "Manual", "MANUAL")
    for other in (customers.list_id, manual.list_id):
        refused = requests.put(f"{url}/_sandbox/lists/{other}/memberships", json={"recordIds": ["1"]})
        assert refused.status_code == 409 and refused.json()["category"] == "CONFLICT"
    assert requests.put(f"{url}/_sandbox/lists/{list_id}/memberships", json={"recordIds": "1"}).status_code == 400


def test_a_reset_empties_the_lists(client: HubSpot, hs):
    url, _app = hs
    create_list(client, "Customers", "DYNAMIC", CUSTOMERS)
    assert requests.post(f"{url}/_sandbox/reset").ok
    assert client.crm.lists.lists_api.do_search(ListSearchRequest(offset=0)).total == 0
    assert create_list(client, "Customers", "MANUAL").list_id == "1"  # ids start again
