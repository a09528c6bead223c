"""Lists v3 memberships over HTTP, and the sandbox's control routes for lists.

API routes (authenticated and rate-limited):

- ``GET /crm/v3/lists/{listId}/memberships`` and ``.../memberships/join-order`` (``after``,
  ``before``, ``limit`` default 100, at most 250) -> ``ApiCollectionResponseJoinTimeAndRecordId``;
- ``PUT .../memberships/add`` and ``.../memberships/remove`` (a JSON array of record ids),
  ``PUT .../memberships/add-and-remove`` (``MembershipChangeRequest``) ->
  ``MembershipsUpdateResponse``; ``PUT .../memberships/add-from/{sourceListId}`` and
  ``DELETE .../memberships`` -> 204. MANUAL and SNAPSHOT lists only: a DYNAMIC list is a 400;
- ``GET /crm/v3/lists/records/0-1/{recordId}/memberships`` -> the lists a contact is in.

Control routes (``/_sandbox/``: no auth, never faulted):

- ``PUT /_sandbox/lists/{listId}/memberships`` ``{"recordIds": [...]}``: the members HubSpot's
  processing computed, for a DYNAMIC or SNAPSHOT list whose filters the sandbox does not evaluate
  (409 for the others) -> ``{"list", "recordsIdsAdded", "recordIdsRemoved", "recordIdsMissing"}``;
- ``PUT /_sandbox/lists/{listId}/processing`` ``{"hold": true|false}``: keep a list
  ``PROCESSING`` (members frozen) or let it process -> ``{"list": ...}``;
- ``POST /_sandbox/lists/settle``: bring every list up to date now -> ``{"lists": n}``.
"""

from __future__ import annotations

from typing import Any

from sandbox.hubspot.app.lists import LIST, check_object_type, invalid, json_object_body, load_json, refused
from sandbox.hubspot.lists import public
from sandbox.hubspot.lists.common import ListError
from sandbox.hubspot.lists.members import Change
from sandbox.hubspot.lists.store import HubSpotLists
from sandbox.wsgi import HttpError, Request, Response, Router, empty_response, json_response

DEFAULT_LIMIT = 100
MAX_LIMIT = 250  # "The maximum limit is 250." (GET /crm/v3/lists/{listId}/memberships)


def _limit(request: Request) -> int:
    raw = request.arg("limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not raw.strip().isdigit():
        raise invalid("limit", f"limit {raw} is not a valid integer.", raw)
    limit = int(raw)
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid("limit", f"limit must be between 1 and {MAX_LIMIT}.", raw)
    return limit


def _ids(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise invalid(field, f"{field} must be an array of record ids (strings).", field)
    return [str(v) for v in value]


def _update_response(change: Change) -> dict[str, Any]:
    """``MembershipsUpdateResponse`` (the spec spells the first key ``recordsIdsAdded``)."""
    return {
        "recordsIdsAdded": [str(i) for i in change.added],
        "recordIdsRemoved": [str(i) for i in change.removed],
        "recordIdsMissing": change.missing,
    }


class MembershipHandlers:
    def __init__(self, lists: HubSpotLists) -> None:
        self.lists = lists

    def _page(self, request: Request, list_id: str, join_order: bool) -> Response:
        limit = _limit(request)
        after, before = request.arg("after") or None, request.arg("before") or None
        try:
            page = self.lists.page(
                list_id, after=after, before=None if after else before, limit=limit, join_order=join_order
            )
        except ListError as exc:
            raise refused(exc)
        path = request.path
        body: dict[str, Any] = {"results": [public.membership(c, ms) for c, ms in page.members]}
        paging: dict[str, Any] = {}
        if page.next_after:
            paging["next"] = {"after": page.next_after, "link": f"{path}?after={page.next_after}&limit={limit}"}
        if page.prev_before:
            paging["prev"] = {"before": page.prev_before, "link": f"{path}?before={page.prev_before}&limit={limit}"}
        if paging:
            body["paging"] = paging
        return json_response(200, body)

    def page_by_id(self, request: Request, list_id: str) -> Response:
        return self._page(request, list_id, join_order=False)

    def page_by_join(self, request: Request, list_id: str) -> Response:
        return self._page(request, list_id, join_order=True)

    def _change(self, list_id: str, add: list[str], remove: list[str]) -> Response:
        try:
            change = self.lists.change(list_id, add=add, remove=remove)
        except ListError as exc:
            raise refused(exc)
        return json_response(200, _update_response(change))

    def add(self, request: Request, list_id: str) -> Response:
        return self._change(list_id, _ids(load_json(request), "recordIds"), [])

    def remove(self, request: Request, list_id: str) -> Response:
        return self._change(list_id, [], _ids(load_json(request), "recordIds"))

    def add_and_remove(self, request: Request, list_id: str) -> Response:
        body = json_object_body(request)
        add = _ids(body.get("recordIdsToAdd", []), "recordIdsToAdd")
        remove = _ids(body.get("recordIdsToRemove", []), "recordIdsToRemove")
        return self._change(list_id, add, remove)

    def add_from(self, request: Request, list_id: str, source_list_id: str) -> Response:
        try:
            self.lists.add_from(list_id, source_list_id)
        except ListError as exc:
            raise refused(exc)
        return empty_response(204)

    def remove_all(self, request: Request, list_id: str) -> Response:
        try:
            self.lists.remove_all(list_id)
        except ListError as exc:
            raise refused(exc)
        return empty_response(204)

    def record_lists(self, request: Request, object_type_id: str, record_id: str) -> Response:
        check_object_type(object_type_id)
        if not record_id.strip().isdigit() or len(record_id.strip()) > 18:
            raise invalid("recordId", f"{record_id} is not a valid record id.", record_id)
        rows = self.lists.memberships_of(int(record_id))
        return json_response(200, {"results": [public.record_membership(row) for row in rows], "total": len(rows)})

    # -- control -------------------------------------------------------------------------

    def set_computed(self, request: Request, list_id: str) -> Response:
        body = json_object_body(request)
        ids = _ids(body.get("recordIds"), "recordIds")
        try:
            change = self.lists.set_computed_members(list_id, ids)
            row = self.lists.get(list_id, settle=False)
        except ListError as exc:
            raise refused(exc)
        return json_response(200, {"list": public.public_list(row, include_filters=True), **_update_response(change)})

    def processing(self, request: Request, list_id: str) -> Response:
        hold = json_object_body(request).get("hold")
        if not isinstance(hold, bool):
            raise HttpError(400, "hold (true or false) is required.", code="VALIDATION_ERROR")
        try:
            row = self.lists.hold(list_id, hold)
        except ListError as exc:
            raise refused(exc)
        return json_response(200, {"list": public.public_list(row, include_filters=True)})

    def settle(self, request: Request) -> Response:
        self.lists.settle()
        count = self.lists.store.read().execute("SELECT COUNT(*) FROM contact_list WHERE deleted_ms IS NULL").fetchone()
        return json_response(200, {"lists": count[0]})


def add_membership_routes(router: Router, lists: HubSpotLists) -> None:
    h = MembershipHandlers(lists)
    r = router
    members = LIST + r"/memberships"
    r.add("GET", members, h.page_by_id)
    r.add("DELETE", members, h.remove_all)
    r.add("GET", members + r"/join-order", h.page_by_join)
    r.add("PUT", members + r"/add", h.add)
    r.add("PUT", members + r"/remove", h.remove)
    r.add("PUT", members + r"/add-and-remove", h.add_and_remove)
    r.add("PUT", members + r"/add-from/(?P<source_list_id>[^/]+)", h.add_from)
    r.add("GET", r"/crm/v3/lists/records/(?P<object_type_id>[^/]+)/(?P<record_id>[^/]+)/memberships", h.record_lists)
    control = r"/_sandbox/lists/(?P<list_id>[^/]+)"
    r.add("PUT", control + r"/memberships", h.set_computed, public=True)
    r.add("PUT", control + r"/processing", h.processing, public=True)
    r.add("POST", r"/_sandbox/lists/settle", h.settle, public=True)
