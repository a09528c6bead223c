"""The Owners API (CRM v3): a page of owners and one owner, as the spec shapes ``PublicOwner``; and
the sandbox's control routes that add an owner and archive (or restore) one.

``GET /crm/v3/owners/`` takes ``email`` (exact, ignoring case), ``after`` (the cursor the previous
page's ``paging.next.after`` gave), ``limit`` (default 100, at most 500) and ``archived`` (default
false: only the active owners; true: only the archived ones). ``GET /crm/v3/owners/{ownerId}``
takes ``idProperty`` (``id``, the default, or ``userId``) and ``archived``; an owner it does not
find is HubSpot's 404 ``OBJECT_NOT_FOUND``. Both are authenticated and rate-limited as every API
call is. The owners themselves are :mod:`sandbox.hubspot.owners`.
"""

from __future__ import annotations

from typing import Any

from sandbox.hubspot.app.common import bool_arg, json_object
from sandbox.hubspot.owners import OwnerConflict
from sandbox.hubspot.store import HubSpotStore
from sandbox.wsgi import HttpError, Request, Response, json_response

OWNERS_PATH = "/crm/v3/owners/"
# "limit ... default: 100" (https://developers.hubspot.com/docs/api-reference/crm-crm-owners-v3/owners/
# get-crm-v3-owners-); "the v3 endpoint will only return up to 500 records at a time"
# (https://developers.hubspot.com/changelog/sunset-v2-owners-api).
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
ID_PROPERTIES = ("id", "userId")  # get-crm-v3-owners-ownerId: "idProperty ... id, userId", default id


def _invalid_parameter(name: str, message: str, reason: str) -> HttpError:
    return HttpError(400, message, code="VALIDATION_ERROR", context={name: [reason]})


def _limit(request: Request) -> int:
    raw = request.arg("limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise _invalid_parameter("limit", "Invalid limit value.", f"{raw} is not a valid integer")
    if limit < 1:
        raise _invalid_parameter("limit", "Invalid limit value.", "Must be greater than or equal to 1")
    if limit > MAX_LIMIT:
        raise _invalid_parameter("limit", "Invalid limit value.", f"Must be less than or equal to {MAX_LIMIT}")
    return limit


def _after(request: Request) -> int:
    raw = request.arg("after") or "0"
    try:
        return int(raw)
    except ValueError:
        raise _invalid_parameter("after", "Invalid after value.", f"{raw} is not a valid paging cursor")


def _owner_not_found(ident: str) -> HttpError:
    return HttpError(404, f"Owner {ident} not found.", code="OBJECT_NOT_FOUND", context={"ownerId": [ident]})


class OwnerHandlers:
    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def list_owners(self, request: Request) -> Response:
        limit, after = _limit(request), _after(request)
        email = request.arg("email") or None
        owners, next_after = self.store.owner_page(
            after=after, limit=limit, email=email, archived=bool_arg(request, "archived")
        )
        body: dict[str, Any] = {"results": [owner.to_public() for owner in owners]}
        if next_after is not None:
            body["paging"] = {"next": {"after": str(next_after), "link": f"{OWNERS_PATH}?after={next_after}"}}
        return json_response(200, body)

    def get_owner(self, request: Request, owner_id: str) -> Response:
        id_property = request.arg("idProperty") or "id"
        if id_property not in ID_PROPERTIES:
            raise _invalid_parameter(
                "idProperty", f"Invalid idProperty value {id_property}.", "Must be one of: id, userId"
            )
        # An id that is not a number is a 404 too: HubSpot's path parameter is an int32.
        owner = self.store.owner(owner_id, by_user_id=id_property == "userId", archived=bool_arg(request, "archived"))
        if owner is None:
            raise _owner_not_found(owner_id)
        return json_response(200, owner.to_public())

    # -- control routes (``/_sandbox/owners``: no auth, never faulted) --------------------

    def create_owner(self, request: Request) -> Response:
        """``POST /_sandbox/owners {"email", "firstName", "lastName", "archived"}`` -> 201, the owner."""
        body = json_object(request)
        email, archived = body.get("email"), body.get("archived", False)
        names = [body.get(key) or "" for key in ("firstName", "lastName")]
        if not isinstance(email, str) or not all(isinstance(name, str) for name in names):
            raise HttpError(
                400, "email (a string) is required; firstName, lastName are strings.", code="VALIDATION_ERROR"
            )
        if not isinstance(archived, bool):
            raise HttpError(400, "archived must be true or false.", code="VALIDATION_ERROR")
        try:
            owner = self.store.add_owner(email=email, first_name=names[0], last_name=names[1], archived=archived)
        except ValueError as exc:
            raise HttpError(400, str(exc), code="VALIDATION_ERROR")
        except OwnerConflict as exc:
            raise HttpError(409, str(exc), code="CONFLICT")
        return json_response(201, owner.to_public())

    def update_owner(self, request: Request, owner_id: str) -> Response:
        """``PATCH /_sandbox/owners/{id} {"archived": true|false}`` -> 200, the owner."""
        archived = json_object(request).get("archived")
        if not isinstance(archived, bool):
            raise HttpError(400, "archived (true or false) is required.", code="VALIDATION_ERROR")
        try:
            owner = self.store.archive_owner(owner_id, archived=archived)
        except KeyError:
            raise _owner_not_found(owner_id)
        return json_response(200, owner.to_public())
