"""The HubSpot emulator's search API: operators, OR groups, sorts and the 10,000-result cap."""

from __future__ import annotations

import json

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    PublicObjectSearchRequest,
)
from hubspot.crm.contacts.exceptions import ApiException

from tests.sandbox.hubspot_helpers import CONTACTS, _create, _seed


def _search(client: HubSpot, filters=None, *, groups=None, sorts=None, limit=100, after=None, properties=None):
    request = PublicObjectSearchRequest(
        filter_groups=groups if groups is not None else ([{"filters": filters}] if filters else []),
        sorts=sorts or [],
        limit=limit,
        after=after,
        properties=properties or ["email", "firstname", "employee_count", "interests", "country"],
    )
    return client.crm.contacts.search_api.do_search(public_object_search_request=request)


@pytest.fixture
def people(client: HubSpot):
    rows = [
        {
            "email": "a@x.com",
            "firstname": "Ann",
            "employee_count": "5",
            "country": "France",
            "interests": "webinars;events",
        },
        {"email": "b@x.com", "firstname": "bob", "employee_count": "50", "country": "Germany", "interests": "events"},
        {"email": "c@x.com", "firstname": "Cid", "employee_count": "500", "country": "france"},
        {"email": "d@x.com", "firstname": "Dee", "country": "Spain", "last_event_date": "2024-05-01"},
    ]
    return {row["firstname"].lower(): _create(client, **row).id for row in rows}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "country", "operator": "EQ", "value": "FRANCE"}, {"ann", "cid"}),
        ({"propertyName": "country", "operator": "NEQ", "value": "France"}, {"bob", "dee"}),
        ({"propertyName": "employee_count", "operator": "GT", "value": "5"}, {"bob", "cid"}),
        ({"propertyName": "employee_count", "operator": "GTE", "value": "50"}, {"bob", "cid"}),
        ({"propertyName": "employee_count", "operator": "LT", "value": "50"}, {"ann"}),  # numeric, not "500" < "50"
        ({"propertyName": "employee_count", "operator": "LTE", "value": "50"}, {"ann", "bob"}),
        ({"propertyName": "country", "operator": "IN", "values": ["spain", "germany"]}, {"bob", "dee"}),
        ({"propertyName": "employee_count", "operator": "HAS_PROPERTY"}, {"ann", "bob", "cid"}),
        ({"propertyName": "employee_count", "operator": "NOT_HAS_PROPERTY"}, {"dee"}),
        ({"propertyName": "interests", "operator": "EQ", "value": "events"}, {"ann", "bob"}),
        ({"propertyName": "interests", "operator": "IN", "values": ["webinars"]}, {"ann"}),
        ({"propertyName": "last_event_date", "operator": "GTE", "value": "1714521600000"}, {"dee"}),
        ({"propertyName": "employee_count", "operator": "BETWEEN", "value": "10", "highValue": "500"}, {"bob", "cid"}),
        ({"propertyName": "firstname", "operator": "CONTAINS_TOKEN", "value": "b*"}, {"bob"}),
    ],
)
def test_search_operators(client: HubSpot, people, flt, expected):
    result = _search(client, [flt])
    names = {r.properties["firstname"].lower() for r in result.results}
    assert names == expected and result.total == len(expected)


def test_search_groups_or_and_sorts(client: HubSpot, people, http, hs, spec):
    groups = [
        {"filters": [{"propertyName": "country", "operator": "EQ", "value": "france"}]},
        {"filters": [{"propertyName": "employee_count", "operator": "EQ", "value": "50"}]},
    ]
    result = _search(client, groups=groups, sorts=[{"propertyName": "employee_count", "direction": "DESCENDING"}])
    assert [r.properties["firstname"] for r in result.results] == ["Cid", "bob", "Ann"]
    ascending = _search(client, sorts=["firstname"])  # case-insensitive; "-name" is descending
    assert [r.properties["firstname"] for r in ascending.results] == ["Ann", "bob", "Cid", "Dee"]
    modified = _search(client, sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}])
    assert [r.id for r in modified.results] == sorted((r.id for r in modified.results), key=int)

    response = http.post(
        f"{hs[0]}{CONTACTS}/search", json={"filterGroups": groups, "sorts": ["-createdate"], "limit": 2}
    )
    assert response.status_code == 200 and response.json()["paging"]["next"]["after"] == "2"
    assert "X-HubSpot-RateLimit-Max" not in response.headers  # search does not send them
    spec(response, "/crm/v3/objects/contacts/search", "post")
    for bad in (
        {"limit": 201},
        {"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]},
        {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "1"}]}]},
        {"sorts": ["email", "firstname"]},
    ):
        refused = http.post(f"{hs[0]}{CONTACTS}/search", json=bad)
        assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"
        spec(refused, "/crm/v3/objects/contacts/search", "post")


def test_search_stops_at_10000_results(client: HubSpot, hs, http):
    url, app = hs
    _seed(app, 10_050)
    page = _search(client, limit=200, after="9900", properties=["email"])
    assert page.total == 10_050 and len(page.results) == 100
    assert page.paging.next.after == "10000"
    with pytest.raises(ApiException) as exc:
        _search(client, limit=200, after=page.paging.next.after)
    assert exc.value.status == 400 and "10000" in json.loads(exc.value.body)["message"]
    # Narrowing on lastmodifieddate gets past the cap, as a client must do.
    last_seen = _search(client, limit=1, after="9999", sorts=["lastmodifieddate"], properties=["lastmodifieddate"])
    since = last_seen.results[0].properties["lastmodifieddate"]
    rest = _search(
        client,
        [{"propertyName": "lastmodifieddate", "operator": "GT", "value": since}],
        limit=200,
        properties=["email"],
    )
    assert rest.total == 50
