"""Lists v3 (contact lists) over HTTP: the definitions. Memberships are :mod:`.list_memberships`.

Routes (shaped as ``crm-lists-v3.json``; authenticated and rate-limited as every API call):

- ``POST /crm/v3/lists/`` (``ListCreateRequest`` -> ``{"list": ...}`` with its ``filterBranch``);
- ``GET /crm/v3/lists/?listIds=1&listIds=2&includeFilters=`` (unknown ids left out);
- ``GET /crm/v3/lists/{listId}?includeFilters=`` (404 for an unknown or deleted list);
- ``GET /crm/v3/lists/object-type-id/0-1/name/{listName}?includeFilters=`` (name ignoring case);
- ``POST /crm/v3/lists/search`` (``query`` in the name ignoring case, ``processingTypes``,
  ``listIds``, ``offset``/``count`` (default 20, at most 500), ``additionalProperties``, ``sort``
  ``listId``/``name``/``createdAt``/``updatedAt``, ``-`` first for descending; by list id by default);
- ``PUT /crm/v3/lists/{listId}/update-list-filters`` (DYNAMIC lists only) and
  ``PUT /crm/v3/lists/{listId}/update-list-name?listName=`` -> ``{"updatedList": ...}``;
- ``DELETE /crm/v3/lists/{listId}`` and ``PUT /crm/v3/lists/{listId}/restore`` -> 204.

Only contact lists (``objectTypeId`` ``0-1``): another object type is HubSpot's
``ListError.INVALID_OBJECT_TYPE_FOR_LIST`` 400. Bodies are JSON of at most ``MAX_BODY`` bytes,
nested at most ``MAX_JSON_DEPTH`` levels (400 past either, never a 500).
"""

from __future__ import annotations

from typing import Any

from sandbox.hubspot.app.common import bool_arg
from sandbox.hubspot.lists import public
from sandbox.hubspot.lists.common import ListError
from sandbox.hubspot.lists.store import PROCESSING_TYPES, SEARCH_SORTS, HubSpotLists
from sandbox.wsgi import HttpError, Request, Response, Router, empty_response, json_response

LISTS = r"/crm/v3/lists"
LIST = LISTS + r"/(?P<list_id>[^/]+)"
MAX_BODY = 4 * 1024 * 1024
MAX_JSON_DEPTH = 64
SEARCH_DEFAULT_COUNT = 20  # ListSearchRequest.count: "Defaults to 20 ... The max count is 500."
SEARCH_MAX_COUNT = 500
_CATEGORIES = {400: "VALIDATION_ERROR", 404: "OBJECT_NOT_FOUND", 409: "CONFLICT"}


def refused(exc: ListError) -> HttpError:
    """A ``ListError`` as HubSpot's error (``category``, ``context``, ``errors``)."""
    return HttpError(
        exc.status, exc.message, code=_CATEGORIES.get(exc.status, "VALIDATION_ERROR"), context=exc.context, **exc.extra
    )


def invalid(field: str, message: str, value: Any = None) -> HttpError:
    return HttpError(400, message, code="VALIDATION_ERROR", context={field: [str(value if value is not None else "")]})


def load_json(request: Request) -> Any:
    """The body's JSON, refused with a 400 when too big or too deep, before anything walks it."""
    try:
        length = int(request.environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise HttpError(413, f"The request body is larger than {MAX_BODY} bytes.", code="VALIDATION_ERROR")
    try:
        data = request.json()
    except RecursionError:
        raise HttpError(400, "Invalid JSON input: nested too deeply.", code="VALIDATION_ERROR")
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise HttpError(
                400, f"Invalid JSON input: nested more than {MAX_JSON_DEPTH} levels.", code="VALIDATION_ERROR"
            )
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return data


def json_object_body(request: Request) -> dict[str, Any]:
    body = load_json(request)
    if not isinstance(body, dict):
        raise HttpError(400, "Invalid input JSON: an object is expected.", code="VALIDATION_ERROR")
    return body


def check_object_type(value: Any, field: str = "objectTypeId") -> None:
    if value != public.CONTACT_OBJECT_TYPE:
        # HubSpot's answer for an object type the portal has no lists of (seen in the wild:
        # singer-io/tap-hubspot#299); the sandbox serves contact lists only.
        raise HttpError(
            400,
            f"The objectTypeId {value} provided for the list is not valid for this portal.",
            code="VALIDATION_ERROR",
            subCategory="ListError.INVALID_OBJECT_TYPE_FOR_LIST",
            context={field: [str(value)]},
        )


def _int_field(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(key, f"{key} must be a whole number.", value)
    if not low <= value <= high:
        raise invalid(key, f"{key} must be between {low} and {high}.", value)
    return value


def _strings(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise invalid(key, f"{key} must be an array of strings.", value)
    return [str(v) for v in value]


class ListHandlers:
    def __init__(self, lists: HubSpotLists) -> None:
        self.lists = lists

    def create(self, request: Request) -> Response:
        body = json_object_body(request)
        check_object_type(body.get("objectTypeId"))
        extra: dict[str, Any] = {}
        for key, kind in (
            ("listPermissions", dict),
            ("membershipSettings", dict),
            ("customProperties", dict),
            ("listFolderId", int),
        ):
            if body.get(key) is not None:
                if not isinstance(body[key], kind) or isinstance(body[key], bool):
                    raise invalid(key, f"{key} must be a JSON {'object' if kind is dict else 'integer'}.", body[key])
                extra[key] = body[key]
        unknown = sorted(set(body) - {"name", "objectTypeId", "processingType", "filterBranch", *extra})
        if unknown:
            raise invalid(unknown[0], f"Unknown field(s): {', '.join(unknown)}.", unknown[0])
        try:
            row = self.lists.create(
                name=body.get("name"),
                processing_type=body.get("processingType"),
                filter_branch=body.get("filterBranch"),
                extra=extra,
            )
        except ListError as exc:
            raise refused(exc)
        return json_response(200, {"list": public.public_list(row, include_filters=True)})

    def get_many(self, request: Request) -> Response:
        rows = self.lists.get_many(request.args("listIds"))
        include = bool_arg(request, "includeFilters")
        return json_response(200, {"lists": [public.public_list(row, include_filters=include) for row in rows]})

    def get_one(self, request: Request, list_id: str) -> Response:
        try:
            row = self.lists.get(list_id)
        except ListError as exc:
            raise refused(exc)
        include = bool_arg(request, "includeFilters")
        return json_response(200, {"list": public.public_list(row, include_filters=include)})

    def by_name(self, request: Request, object_type_id: str, list_name: str) -> Response:
        check_object_type(object_type_id)
        row = self.lists.by_name(list_name)
        if row is None:
            raise HttpError(
                404, f"List {list_name} does not exist.", code="OBJECT_NOT_FOUND", context={"listName": [list_name]}
            )
        include = bool_arg(request, "includeFilters")
        return json_response(200, {"list": public.public_list(row, include_filters=include)})

    def search(self, request: Request) -> Response:
        body = json_object_body(request)
        query = body.get("query") or ""
        if not isinstance(query, str):
            raise invalid("query", "query must be a string.", query)
        offset = _int_field(body, "offset", 0, 0, 2**31 - 1)
        count = _int_field(body, "count", SEARCH_DEFAULT_COUNT, 0, SEARCH_MAX_COUNT) or SEARCH_DEFAULT_COUNT
        types = _strings(body, "processingTypes")
        for kind in types or ():
            if kind not in PROCESSING_TYPES:
                raise invalid("processingTypes", f"{kind} is not one of {', '.join(PROCESSING_TYPES)}.", kind)
        raw_ids = _strings(body, "listIds")
        list_ids = [int(i) for i in raw_ids if i.strip().isdigit() and len(i.strip()) <= 18] if raw_ids else None
        sort = body.get("sort")
        if sort is not None and (not isinstance(sort, str) or sort.lstrip("-") not in SEARCH_SORTS):
            raise invalid("sort", f"sort must be one of {', '.join(SEARCH_SORTS)}, '-' first for descending.", sort)
        wanted = _strings(body, "additionalProperties") or []
        object_type = body.get("objectTypeId")
        if object_type not in (None, public.CONTACT_OBJECT_TYPE):
            rows, total = [], 0  # the sandbox's portal has contact lists only
        else:
            rows, total = self.lists.search(
                query=query.strip(),
                processing_types=types,
                list_ids=list_ids if raw_ids is not None else None,
                offset=offset,
                count=count,
                sort=sort,
            )
        results = [public.search_result(row, wanted, self.lists.reference_count(row["id"])) for row in rows]
        end = offset + len(rows)
        return json_response(200, {"lists": results, "offset": end, "hasMore": end < total, "total": total})

    def update_filters(self, request: Request, list_id: str) -> Response:
        body = json_object_body(request)
        if "filterBranch" not in body:
            raise invalid("filterBranch", "filterBranch is required.", None)
        try:
            row = self.lists.update_filters(list_id, body["filterBranch"])
        except ListError as exc:
            raise refused(exc)
        return json_response(200, {"updatedList": public.public_list(row, include_filters=True)})

    def rename(self, request: Request, list_id: str) -> Response:
        name = request.arg("listName")
        if not name or not name.strip():
            raise invalid("listName", "listName is required.", name)
        try:
            row = self.lists.rename(list_id, name)
        except ListError as exc:
            raise refused(exc)
        include = bool_arg(request, "includeFilters")
        return json_response(200, {"updatedList": public.public_list(row, include_filters=include)})

    def delete(self, request: Request, list_id: str) -> Response:
        try:
            self.lists.delete(list_id)
        except ListError as exc:
            raise refused(exc)
        return empty_response(204)

    def restore(self, request: Request, list_id: str) -> Response:
        try:
            self.lists.restore(list_id)
        except ListError as exc:
            raise refused(exc)
        return empty_response(204)


def add_list_routes(router: Router, lists: HubSpotLists) -> None:
    """The Lists v3 routes of the definitions."""
    h = ListHandlers(lists)
    r = router
    r.add("POST", LISTS + r"/?", h.create)
    r.add("GET", LISTS + r"/?", h.get_many)
    r.add("POST", LISTS + r"/search", h.search)
    r.add("GET", LISTS + r"/object-type-id/(?P<object_type_id>[^/]+)/name/(?P<list_name>[^/]+)", h.by_name)
    r.add("GET", LIST, h.get_one)
    r.add("DELETE", LIST, h.delete)
    r.add("PUT", LIST + r"/restore", h.restore)
    r.add("PUT", LIST + r"/update-list-filters", h.update_filters)
    r.add("PUT", LIST + r"/update-list-name", h.rename)
