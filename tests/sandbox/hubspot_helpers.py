"""What the HubSpot emulator tests share besides fixtures: paths, a spec checker, contact makers,
the OAuth token call, and the Lists v3 tests' definition builders and raw client calls."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
from hubspot.crm.lists import ListCreateRequest
from hubspot.crm.lists.exceptions import ApiException as ListsApiException
from openapi_schema_validator import OAS30Validator, oas30_format_checker, validate

AUTH = {"Authorization": "Bearer sandbox"}
CONTACTS = "/crm/v3/objects/contacts"
SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "hubspot"


class SpecChecker:
    """Validates a response body against the spec's schema for (path, method, status).

    Without the spec files (a checkout without ../shared) it only records what it was given,
    so the behavioural assertions of a test still run; CI=true makes the files mandatory."""

    def __init__(self, spec_dir: Path | None) -> None:
        self.specs = (
            {
                name: json.loads((spec_dir / f"{name}.json").read_text())
                for name in ("crm-contacts-v3", "crm-properties-v3", "crm-lists-v3")
            }
            if spec_dir
            else {}
        )
        self.checked: set[tuple[str, str, int]] = set()

    def __call__(self, response: requests.Response, path: str, method: str, spec: str = "crm-contacts-v3") -> None:
        self.checked.add((path, method, response.status_code))
        if not self.specs:
            return
        document = self.specs[spec]
        responses = document["paths"][path][method.lower()]["responses"]
        entry = responses.get(str(response.status_code)) or responses["default"]
        if "$ref" in entry:
            entry = document["components"]["responses"][entry["$ref"].rsplit("/", 1)[1]]
        content = entry.get("content") or {}
        if not content:
            assert response.content == b"", f"{path} {response.status_code} must have no body"
            return
        schema = next(iter(content.values()))["schema"]
        validate(
            response.json(),
            {**schema, "components": document["components"]},
            cls=OAS30Validator,
            format_checker=oas30_format_checker,
        )


def oauth_token(url: str, grant_type: str, **fields: str) -> requests.Response:
    """``POST /oauth/v1/token`` as the app ``c`` (secret ``s``) with ``grant_type`` and ``fields``."""
    return requests.post(
        f"{url}/oauth/v1/token", data={"grant_type": grant_type, "client_id": "c", "client_secret": "s", **fields}
    )


def _create(client: HubSpot, **properties: str):
    return client.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties=properties))


def _seed(app, n: int, *, start_ms: int = 1_700_000_000_000, **extra) -> None:
    app.store.bulk_insert(
        (
            {"email": f"user{i:05d}@example.com", "firstname": f"U{i}", "lastname": "Test", **extra},
            start_ms + i,
            start_ms + i * 1000,
        )
        for i in range(n)
    )


# -- Lists v3 ------------------------------------------------------------------------------

LISTS_SPEC = "crm-lists-v3"


class RawAnswer:
    """A client call's answer as the spec checker reads it (``status_code``, ``content``, ``json()``)."""

    def __init__(self, status: int, content: bytes) -> None:
        self.status_code = status
        self.content = content

    def json(self):
        return json.loads(self.content)


def raw(call, *args, **kwargs) -> RawAnswer:
    """``call`` (a ``crm.lists`` API method) with ``_preload_content=False``: its raw answer,
    errors included, for the spec checker."""
    try:
        answer = call(*args, _preload_content=False, **kwargs)
    except ListsApiException as exc:
        body = exc.body or b""
        return RawAnswer(exc.status, body.encode() if isinstance(body, str) else body)
    return RawAnswer(answer.status, answer.data)


def and_branch(*filters: dict, branches: tuple[dict, ...] = ()) -> dict:
    return {"filterBranchType": "AND", "filters": list(filters), "filterBranches": list(branches)}


def or_root(*and_branches: dict) -> dict:
    """HubSpot's filter structure: an OR root holding AND branches."""
    return {"filterBranchType": "OR", "filters": [], "filterBranches": list(and_branches)}


def prop(name: str, operation_type: str, operator: str, **fields) -> dict:
    return {
        "filterType": "PROPERTY",
        "property": name,
        "operation": {"operationType": operation_type, "operator": operator, **fields},
    }


def in_list(list_id: str, operator: str = "IN_LIST") -> dict:
    return {"filterType": "IN_LIST", "listId": str(list_id), "operator": operator}


def create_list(client: HubSpot, name: str, processing_type: str = "DYNAMIC", filter_branch: dict | None = None):
    """A contact list created through ``crm.lists``; its ``PublicObjectList``."""
    request = ListCreateRequest(
        name=name, object_type_id="0-1", processing_type=processing_type, filter_branch=filter_branch
    )
    return client.crm.lists.lists_api.create(request).list


def members(client: HubSpot, list_id: str) -> list[str]:
    """Every member's record id, through the memberships pages (250 a page)."""
    found, after = [], None
    while True:
        page = client.crm.lists.memberships_api.get_page(list_id, after=after, limit=250)
        found += [m.record_id for m in page.results]
        if not page.paging or not page.paging.next:
            return found
        after = page.paging.next.after
