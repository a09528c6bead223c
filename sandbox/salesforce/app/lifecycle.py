"""The record lifecycle over HTTP: ``V/sobjects/{object}/deleted/`` and ``/updated/`` (Get Deleted,
Get Updated), and the control endpoints (no auth) that stand for what Salesforce does in its UI:

- ``POST /_sandbox/users`` ``{"email", "firstName", "lastName", "isActive"}`` → ``{"id"}``;
- ``PATCH /_sandbox/users/{id}`` ``{"isActive": false}`` → ``{"id", "isActive"}``;
- ``POST /_sandbox/leads/{id}/convert`` (optional ``{"contactId"}``) →
  ``{"leadId", "contactId", "accountId"}``;
- ``POST /_sandbox/merge`` ``{"sobject", "masterId", "loserIds"}`` → ``{"masterId", "mergedIds"}``.
"""

from __future__ import annotations

from typing import Any

from sandbox.salesforce import lifecycle
from sandbox.salesforce.app.common import NOT_FOUND, check_version, get_sobject, sf_error
from sandbox.salesforce.lifecycle import LifecycleError
from sandbox.salesforce.store import SalesforceStore
from sandbox.wsgi import HttpError, Request, Response, json_response


def _refused(error: LifecycleError) -> Response:
    return sf_error(error.status, error.code, error.message)


def _body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    if optional and not request.body:
        return {}
    body = request.json()
    if not isinstance(body, dict):
        raise HttpError(400, "A JSON object is expected.", code="JSON_PARSER_ERROR")
    return body


class LifecycleHandlers:
    def __init__(self, store: SalesforceStore) -> None:
        self.store = store

    # -- Get Deleted / Get Updated ----------------------------------------------------------

    def replicated(self, request: Request, version: str, obj: str, which: str) -> Response:
        check_version(version)
        sobject = get_sobject(obj)
        if not sobject.replicateable:
            raise HttpError(404, NOT_FOUND, code="NOT_FOUND")
        answer = lifecycle.deleted if which.lower() == "deleted" else lifecycle.updated
        try:
            return json_response(200, answer(self.store, sobject, request.arg("start"), request.arg("end")))
        except LifecycleError as exc:
            return _refused(exc)

    # -- control endpoints ------------------------------------------------------------------

    def user_add(self, request: Request) -> Response:
        body = _body(request)
        is_active = body.get("isActive", True)
        if not isinstance(is_active, bool):
            return sf_error(400, "INVALID_FIELD", "isActive must be true or false.")
        try:
            user_id = self.store.add_user(
                email=body.get("email"),  # type: ignore[arg-type]
                first_name=body.get("firstName"),
                last_name=body.get("lastName"),  # type: ignore[arg-type]
                is_active=is_active,
            )
        except ValueError as exc:
            return sf_error(400, "INVALID_FIELD", str(exc))
        return json_response(200, {"id": user_id})

    def user_update(self, request: Request, user_id: str) -> Response:
        body = _body(request)
        if set(body) != {"isActive"} or not isinstance(body["isActive"], bool):
            return sf_error(400, "INVALID_FIELD", 'Only {"isActive": true|false} can be changed.')
        try:
            self.store.set_user_active(user_id, body["isActive"])
        except KeyError:
            return sf_error(404, "NOT_FOUND", f"No user has the id {user_id}")
        return json_response(200, {"id": user_id, "isActive": body["isActive"]})

    def lead_convert(self, request: Request, lead_id: str) -> Response:
        contact_id = _body(request, optional=True).get("contactId")
        try:
            return json_response(200, lifecycle.convert_lead(self.store, lead_id, contact_id))
        except LifecycleError as exc:
            return _refused(exc)

    def records_merge(self, request: Request) -> Response:
        body = _body(request)
        try:
            answer = lifecycle.merge(self.store, body.get("sobject"), body.get("masterId"), body.get("loserIds") or [])  # type: ignore[arg-type]
        except LifecycleError as exc:
            return _refused(exc)
        return json_response(200, answer)
