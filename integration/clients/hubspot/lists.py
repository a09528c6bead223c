"""HubSpot's Lists v3 for contact lists, through hubspot-api-client's ``crm.lists``.

Definitions are read and written as raw JSON (``_preload_content=False``, dict bodies): the
library's models drop keys of ``filterBranch`` they do not know (a nested branch's filters, the
filter types added since the client was generated), and a definition must come back exactly as
HubSpot holds it. Pages are the largest the API allows: search ``count`` 500
(``ListSearchRequest.count``: "The max count is 500"), memberships ``limit`` 250
(https://developers.hubspot.com/docs/api-reference/crm-lists-v3/memberships/get-crm-v3-lists-listId-memberships).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from integration.clients.base import NotFound

CONTACT_OBJECT_TYPE = "0-1"
LIST_SEARCH_PAGE = 500
MEMBERSHIPS_PAGE = 250
PROCESSING_TYPES = ("DYNAMIC", "MANUAL", "SNAPSHOT")
# Asked of every search: what says, without reading members, whether they moved.
MEMBERSHIP_MARKS = ("hs_list_size", "hs_last_record_added_at", "hs_last_record_removed_at")


class ListsApi:
    """Mixed into ``HubSpotClient`` (which provides ``_call_json``, ``lists_api`` and
    ``memberships_api``)."""

    lists_api: Any
    memberships_api: Any
    _call_json: Any

    def search_lists(self) -> Iterator[dict[str, Any]]:
        """Every contact list (``POST /crm/v3/lists/search``, 500 a call), with the membership
        marks in ``additionalProperties``. Deleted lists are not returned (HubSpot leaves them out)."""
        offset = 0
        while True:
            body = {
                "count": LIST_SEARCH_PAGE,
                "offset": offset,
                "processingTypes": list(PROCESSING_TYPES),
                "additionalProperties": list(MEMBERSHIP_MARKS),
                "sort": "listId",
            }
            page = self._call_json(self.lists_api.do_search, list_search_request=body)
            lists = page.get("lists") or []
            for item in lists:
                if str(item.get("objectTypeId") or CONTACT_OBJECT_TYPE) == CONTACT_OBJECT_TYPE:
                    yield item
            if not page.get("hasMore") or not lists:
                return
            offset = int(page.get("offset") or offset + len(lists))

    def get_list(self, list_id: str) -> dict[str, Any] | None:
        """A list with its ``filterBranch`` (``GET /crm/v3/lists/{listId}?includeFilters=true``);
        None when HubSpot has none by that id (deleted, or never was)."""
        try:
            data = self._call_json(self.lists_api.get_by_id, list_id, include_filters=True)
        except NotFound:
            return None
        return data.get("list") or None

    def list_member_ids(self, list_id: str) -> Iterator[str]:
        """The record ids of a list's members, 250 a call, in HubSpot's order."""
        after = None
        while True:
            page = self._call_json(self.memberships_api.get_page, list_id, after=after, limit=MEMBERSHIPS_PAGE)
            for row in page.get("results") or []:
                yield str(row.get("recordId"))
            after = ((page.get("paging") or {}).get("next") or {}).get("after") or None
            if not after:
                return

    def create_list(self, *, name: str, filter_branch: dict[str, Any]) -> dict[str, Any]:
        """A DYNAMIC contact list (``POST /crm/v3/lists``); returns HubSpot's list."""
        body = {
            "name": name,
            "objectTypeId": CONTACT_OBJECT_TYPE,
            "processingType": "DYNAMIC",
            "filterBranch": filter_branch,
        }
        return self._call_json(self.lists_api.create, list_create_request=body).get("list") or {}

    def update_list_filters(self, list_id: str, filter_branch: dict[str, Any]) -> dict[str, Any]:
        """``PUT /crm/v3/lists/{listId}/update-list-filters``; returns the updated list."""
        data = self._call_json(
            self.lists_api.update_list_filters, list_id, list_filter_update_request={"filterBranch": filter_branch}
        )
        return data.get("updatedList") or {}

    def rename_list(self, list_id: str, name: str) -> dict[str, Any]:
        """``PUT /crm/v3/lists/{listId}/update-list-name?listName=``; returns the updated list."""
        return self._call_json(self.lists_api.update_name, list_id, list_name=name).get("updatedList") or {}

    def delete_list(self, list_id: str) -> None:
        """``DELETE /crm/v3/lists/{listId}`` (HubSpot can restore it for a while); gone already is fine."""
        try:
            self._call_json(self.lists_api.remove, list_id)
        except NotFound:
            return
