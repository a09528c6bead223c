"""What the HubSpot emulator tests share besides fixtures: paths, a spec checker, contact makers and
the OAuth token call."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
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
                for name in ("crm-contacts-v3", "crm-properties-v3")
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
