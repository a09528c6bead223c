"""Filter definitions the HubSpot emulator accepts, stores and refuses: HubSpot's structure (an OR
root of AND branches, filters in AND branches only), the spec's filter and operation types with
their fields, property types, and 400 ``VALIDATION_ERROR``s locating each problem, never a 500.
The sandbox's tables of the spec are held equal to the spec itself."""

from __future__ import annotations

import json

import pytest
import requests
from hubspot import HubSpot

from sandbox.hubspot.lists import catalogue as cat
from tests.sandbox.hubspot_helpers import AUTH, LISTS_SPEC, SPEC_DIR, and_branch, create_list, or_root, prop, raw

NAME = prop("firstname", "STRING", "IS_EQUAL_TO", value="Ada")


def nested_and(depth: int) -> dict:
    branch = and_branch(NAME)
    for _ in range(depth):
        branch = and_branch(branches=(branch,))
    return branch


REFUSED = {
    "root is AND": and_branch(NAME),
    "root holds a filter": {"filterBranchType": "OR", "filters": [NAME], "filterBranches": [and_branch(NAME)]},
    "root holds no branch": or_root(),
    "OR under OR": or_root({"filterBranchType": "OR", "filters": [], "filterBranches": [and_branch(NAME)]}),
    "OR with filters under AND": or_root(
        and_branch(branches=({"filterBranchType": "OR", "filters": [NAME], "filterBranches": []},))
    ),
    "unknown branch type": or_root(and_branch(branches=({"filterBranchType": "XOR", "filters": []},))),
    "unknown filter type": or_root(and_branch({"filterType": "MAGIC"})),
    "unknown property": or_root(and_branch(prop("favourite_colour", "STRING", "IS_EQUAL_TO", value="red"))),
    "operation of another type": or_root(and_branch(prop("firstname", "NUMBER", "IS_GREATER_THAN", value=3))),
    "operator of another type": or_root(and_branch(prop("firstname", "STRING", "IS_ANY_OF", value="a"))),
    "unknown operation type": or_root(and_branch(prop("firstname", "FUZZY", "IS_NEAR", value="a"))),
    "missing value": or_root(and_branch(prop("firstname", "STRING", "IS_EQUAL_TO"))),
    "bool as text": or_root(and_branch(prop("newsletter_opt_in", "BOOL", "IS_EQUAL_TO", value="yes"))),
    "bounds reversed": or_root(
        and_branch(prop("employee_count", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=9, upperBound=1))
    ),
    "fractional bound": or_root(
        and_branch(prop("employee_count", "NUMBER_RANGED", "IS_BETWEEN", lowerBound=1.5, upperBound=9))
    ),
    "no values": or_root(and_branch(prop("interests", "ENUMERATION", "IS_ANY_OF", values=[]))),
    "negative days": or_root(
        and_branch(prop("trial_started_at", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=-1))
    ),
    "unknown field": or_root(and_branch({**NAME, "propertyName": "firstname"})),
    "bad enum": or_root(and_branch({"filterType": "FORM_SUBMISSION", "operator": "SUBMITTED"})),
    "missing field": or_root(and_branch({"filterType": "EMAIL_EVENT", "operator": "OPENED", "emailId": "1"})),
    "not an object": [or_root(and_branch(NAME))],
    "too deep": or_root(nested_and(21)),
    "too many filters": or_root(and_branch(*[NAME] * 501)),
    "includeObjectsWithNoValueSet as text": or_root(
        and_branch(prop("firstname", "STRING", "IS_EQUAL_TO", value="a", includeObjectsWithNoValueSet="no"))
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_malformed_definition_is_refused_naming_where(client: HubSpot, spec, case):
    body = {"name": "Refused", "objectTypeId": "0-1", "processingType": "DYNAMIC", "filterBranch": REFUSED[case]}
    answer = raw(client.crm.lists.lists_api.create, body)
    spec(answer, "/crm/v3/lists", "post", LISTS_SPEC)
    error = answer.json()
    assert answer.status_code == 400 and error["category"] == "VALIDATION_ERROR", error
    assert all(key.startswith("filterBranch") for key in error["context"]), error
    assert error["errors"] and all(item["in"].startswith("filterBranch") for item in error["errors"])
    assert client.crm.lists.lists_api.get_all(list_ids=["1"]).lists == []  # nothing stored


def test_json_nested_too_deep_or_too_big_is_a_400_not_a_500(hs):
    url, _app = hs
    deep = (
        '{"name": "x", "objectTypeId": "0-1", "processingType": "DYNAMIC", "filterBranch": '
        + "[" * 5000
        + "]" * 5000
        + "}"
    )
    headers = {**AUTH, "Content-Type": "application/json"}
    answer = requests.post(f"{url}/crm/v3/lists/", data=deep, headers=headers)
    assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR"
    deeper = requests.post(f"{url}/crm/v3/lists/", data="[" * 100_000 + "]" * 100_000, headers=headers)
    assert deeper.status_code in (400, 413)
    not_json = requests.put(f"{url}/crm/v3/lists/1/memberships/add", data="[1,", headers=headers)
    assert not_json.status_code == 400


def test_the_stored_form_fills_in_what_hubspot_answers_with(client: HubSpot):
    branch = or_root(
        and_branch(
            prop("employee_count", "NUMBER", "IS_GREATER_THAN", value="12.5"),
            prop("trial_started_at", "DATETIME", "IS_AFTER", timestamp="1700000000000"),
            prop("interests", "ENUMERATION", "IS_ANY_OF", values=["webinars", 7]),
            {"filterType": "IN_LIST", "listId": 1, "operator": "NOT_IN_LIST"},
        )
    )
    create_list(client, "Manual", "MANUAL")
    created = client.crm.lists.lists_api.create(
        {"name": "Stored", "objectTypeId": "0-1", "processingType": "DYNAMIC", "filterBranch": branch},
        _preload_content=False,
    )
    filters = json.loads(created.data)["list"]["filterBranch"]["filterBranches"][0]["filters"]
    assert filters[0]["operation"] == {
        "includeObjectsWithNoValueSet": False,
        "operationType": "NUMBER",
        "operator": "IS_GREATER_THAN",
        "value": 12.5,
    }
    assert filters[1]["operation"]["timestamp"] == 1_700_000_000_000
    assert filters[1]["operation"]["requiresTimeZoneConversion"] is False
    assert filters[2]["operation"]["values"] == ["webinars", "7"]
    assert filters[3] == {"filterType": "IN_LIST", "listId": "1", "operator": "NOT_IN_LIST"}


def test_operators_hubspot_documents_but_the_sandbox_does_not_evaluate_are_accepted(client: HubSpot, hs):
    url, app = hs
    app.store.bulk_insert([({"email": "a@example.com"}, 1, 1)])
    ever = or_root(and_branch(prop("firstname", "STRING", "HAS_EVER_BEEN_EQUAL_TO", value="Ada")))
    created = create_list(client, "Ever Ada", "DYNAMIC", ever)
    assert created.processing_status == "PROCESSING"
    assert requests.put(f"{url}/_sandbox/lists/{created.list_id}/memberships", json={"recordIds": [1]}).ok
    assert app.lists.members(created.list_id) == [1]
    # Any operator is taken for an operation type whose operators the spec leaves open.
    calendar = or_root(and_branch(prop("last_event_date", "CALENDAR_DATE", "IN_LAST_TIME_UNIT", timeUnit="WEEK")))
    assert create_list(client, "Last week", "DYNAMIC", calendar).list_id


# -- the tables against the spec -----------------------------------------------------------------


def _kind(schema: dict) -> str:
    if "$ref" in schema or "oneOf" in schema or schema.get("type") == "object":
        return "object"
    if schema["type"] == "array":
        item = _kind(schema["items"])
        return f"list[{item if item in ('str', 'int') else 'object'}]"
    return {"string": "str", "integer": "int", "number": "number", "boolean": "bool"}[schema["type"]]


def _tables(discriminator: str, skip: set[str]) -> dict[str, tuple[dict, dict]]:
    schemas = json.loads((SPEC_DIR / f"{LISTS_SPEC}.json").read_text())["components"]["schemas"]
    found = {}
    for schema in schemas.values():
        properties = schema.get("properties", {})
        if len(properties.get(discriminator, {}).get("enum", [])) != 1:
            continue
        kind = properties[discriminator]["enum"][0]
        required = {k: _kind(properties[k]) for k in schema.get("required", []) if k not in skip}
        optional = {k: _kind(v) for k, v in properties.items() if k not in skip and k not in schema.get("required", [])}
        found[kind] = (required, optional)
    return found


@pytest.fixture
def spec_file(hubspot_spec_dir):
    return hubspot_spec_dir


def test_the_filter_and_branch_tables_are_the_specs(spec_file):
    assert _tables("filterType", {"filterType"}) == cat.FILTER_TYPES
    branch_fields = {"filterBranchType", "filterBranchOperator", "filterBranches", "filters"}
    assert _tables("filterBranchType", branch_fields) == cat.BRANCH_TYPES


def test_the_operation_tables_are_the_specs(spec_file):
    common = {"operationType", "operator", "includeObjectsWithNoValueSet"}
    tables = _tables("operationType", common)
    tables["TIME_RANGED"] = _tables("type", common)["TIME_RANGED"]  # discriminated by ``type``
    for kind, flags in cat.REQUIRED_FLAGS.items():  # required in answers, optional in requests
        for flag in flags:
            tables[kind][1][flag] = tables[kind][0].pop(flag)
    assert tables == cat.OPERATION_TYPES
