"""Lists made in the HubSpot emulator through the unmodified hubspot-api-client (``crm.lists``),
and what HubSpot's own API answers about them, to compare with what was mirrored here."""

from __future__ import annotations

import json

import requests

from lists.models import Contact, ContactList
from sync.services import hubspot_pull
from sync.services.hubspot_lists import hubspot_lists_pull
from tests.sandbox.hubspot_helpers import and_branch, in_list, or_root, prop

__all__ = ["and_branch", "in_list", "or_root", "prop"]  # the filter builders, shared with the emulator's tests


# A filter type HubSpot documents that this product cannot evaluate: its membership is HubSpot's.
FORM_SUBMITTED = {
    "filterType": "FORM_SUBMISSION",
    "operator": "FILLED_OUT",
    "formId": "5c1a5b5a-0000-4000-8000-000000000001",
}


class HubSpotSide:
    """The emulator's Lists API, as an integration developer would drive it."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.client = sandbox.hubspot()
        self.lists = self.client.crm.lists.lists_api
        self.memberships = self.client.crm.lists.memberships_api

    def _json(self, call, *args, **kwargs) -> dict:
        return json.loads(call(*args, _preload_content=False, **kwargs).data or b"{}")

    def create(self, name: str, processing_type: str = "DYNAMIC", filter_branch: dict | None = None) -> str:
        body = {"name": name, "objectTypeId": "0-1", "processingType": processing_type}
        if filter_branch is not None:
            body["filterBranch"] = filter_branch
        return self._json(self.lists.create, body)["list"]["listId"]

    def get(self, list_id: str) -> dict:
        return self._json(self.lists.get_by_id, list_id, include_filters=True)["list"]

    def member_ids(self, list_id: str) -> set[str]:
        found, after = set(), None
        while True:
            page = self._json(self.memberships.get_page, list_id, after=after, limit=250)
            found |= {row["recordId"] for row in page.get("results", [])}
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return found

    def add(self, list_id: str, record_ids: list[str]) -> None:
        self.memberships.add(list_id, record_ids)

    def remove(self, list_id: str, record_ids: list[str]) -> None:
        self.memberships.remove(list_id, record_ids)

    def update_filters(self, list_id: str, filter_branch: dict) -> None:
        self._json(self.lists.update_list_filters, list_id, {"filterBranch": filter_branch})

    def rename(self, list_id: str, name: str) -> None:
        self._json(self.lists.update_name, list_id, list_name=name)

    def delete(self, list_id: str) -> None:
        self.lists.remove(list_id)

    def restore(self, list_id: str) -> None:
        self.lists.restore(list_id)

    def _control(self, method: str, path: str, body: dict | None = None) -> dict:
        response = requests.request(method, f"{self.sandbox.hubspot_url}/_sandbox{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else {}

    def set_computed_members(self, list_id: str, record_ids: list[str]) -> None:
        """What HubSpot's processing computed for a filter the emulator does not evaluate."""
        self._control("PUT", f"/lists/{list_id}/memberships", {"recordIds": record_ids})

    def hold(self, list_id: str, hold: bool = True) -> None:
        self._control("PUT", f"/lists/{list_id}/processing", {"hold": hold})

    def settle(self) -> None:
        self._control("POST", "/lists/settle")

    def update_contact(self, record_id: str, **properties: str) -> None:
        self.client.crm.contacts.basic_api.update(record_id, {"properties": properties})


def pull_all() -> None:
    """The cycle's two HubSpot reads: contacts (and schema), then lists."""
    hubspot_pull()
    hubspot_lists_pull()


def mirrored(list_id: str) -> ContactList:
    return ContactList.objects.get(hubspot_list_id=str(list_id))


def local_member_ids(contact_list: ContactList) -> set[str]:
    return set(Contact.objects.filter(memberships__contact_list=contact_list).values_list("hubspot_id", flat=True))
