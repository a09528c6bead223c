"""What the HubSpot sandbox's handlers share: HubSpot's error shape, the JSON body check, the contact
look-ups, the contact write (a clash on email answered as a 409), who writes (the calling app, for
the history) and contacts rendered with their ``propertiesWithHistory``."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandbox.hubspot.history import Source, integration
from sandbox.hubspot.schema import DEFAULT_PROPERTIES, ms_to_iso
from sandbox.hubspot.store import EmailConflict, HubSpotStore, PropertyErrors, now_ms
from sandbox.wsgi import HttpError, Request, Response, json_response

SANDBOX_TOKEN = "sandbox"
CONTACT_PATH = r"/crm/v3/objects/contacts"
# With propertiesWithHistory HubSpot serves at most 50 contacts a call, a page or a batch read
# ("Usage of this parameter will reduce the maximum number of contacts that can be read by a single
# request": crm-contacts-v3.json; the parameter: https://developers.hubspot.com/docs/guides/crm/
# using-object-apis, "Retrieve records"). A batch read of more is refused with the message below.
HISTORY_LIMIT = 50
HISTORY_BATCH_MESSAGE = (
    "The maximum number of inputs supported in a batch request for property histories is 50. "
    "Please reduce the number of items and try again"
)

CATEGORIES = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    405: "VALIDATION_ERROR",
    409: "CONFLICT",
    413: "VALIDATION_ERROR",
    429: "RATE_LIMITS",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
}


def error_body(status: int, message: str, category: str = "", **extra: Any) -> dict[str, Any]:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category or CATEGORIES.get(status, "VALIDATION_ERROR"),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def render_error(request: Request, error: HttpError) -> Response:
    return json_response(
        error.status, error_body(error.status, error.message, error.code, **error.extra), error.headers
    )


def wanted_properties(values: list[str], with_history: list[str] | None = None) -> list[str]:
    """The properties to answer with. Those asked with history are in ``properties`` too, and
    asking only for history drops the default set, as HubSpot answers."""
    if with_history:
        return [*values, *with_history]
    return values or list(DEFAULT_PROPERTIES)


def public_contacts(
    store: HubSpotStore, rows: list[Any], requested: list[str], with_history: list[str] | None = None
) -> list[dict[str, Any]]:
    """``SimplePublicObject``s of ``rows``, with ``propertiesWithHistory`` when history is asked."""
    if not with_history:
        return [store.to_public(r, requested) for r in rows]
    histories = store.histories(rows, with_history)
    return [store.to_public(r, requested, history=histories.get(r["id"], {})) for r in rows]


def api_source(request: Request) -> Source:
    """The app making the call, as its writes' history names it (``INTEGRATION``)."""
    return integration(request.state.get("app_id") or SANDBOX_TOKEN)


def bool_arg(request: Request, name: str) -> bool:
    return (request.arg(name) or "false").strip().lower() == "true"


def validation_error(exc: PropertyErrors) -> HttpError:
    details = [e.to_json() for e in exc.errors]
    return HttpError(
        400,
        "Property values were not valid: " + json.dumps(details),
        code="VALIDATION_ERROR",
        errors=[{"message": e.message, "code": e.error, "context": {"propertyName": [e.name]}} for e in exc.errors],
    )


def email_conflict(exc: EmailConflict) -> HttpError:
    return HttpError(409, f"Contact already exists. Existing ID: {exc.existing_id}", code="CONFLICT")


def not_found(ident: str) -> HttpError:
    return HttpError(
        404,
        "Object not found.  objectId are usually numeric.",
        code="OBJECT_NOT_FOUND",
        context={"id": [str(ident)]},
    )


def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON body, which must be an object (HubSpot's 400 otherwise)."""
    body = request.json()
    if not isinstance(body, dict):
        raise HttpError(400, "Invalid input JSON.", code="VALIDATION_ERROR")
    return body


@contextmanager
def contact_write(store: HubSpotStore) -> Iterator[sqlite3.Connection]:
    """``store.write()``, a clash on a unique email answered as HubSpot's 409."""
    try:
        with store.write() as conn:
            yield conn
    except EmailConflict as exc:
        raise email_conflict(exc)


def iso_ms_now() -> str:
    return ms_to_iso(now_ms())


def lookup(
    store: HubSpotStore, ident: str, id_property: str | None, *, archived: bool = False, conn: Any = None
) -> Any:
    """The contact ``ident`` names (by id, or by email with ``idProperty=email``), or ``None``."""
    if id_property in (None, "", "hs_object_id"):
        return store.get(ident, archived=archived, conn=conn)
    if id_property == "email":
        return store.get_by_email(ident, archived=archived, conn=conn)
    prop = store.properties.get(id_property)
    if prop is None or not prop.has_unique_value:
        raise HttpError(
            400,
            f"{id_property} is not a unique property; use hs_object_id or email.",
            code="VALIDATION_ERROR",
        )
    raise HttpError(400, f"Look-ups by {id_property} are not supported by the sandbox.", code="VALIDATION_ERROR")


def clean(store: HubSpotStore, values: Any) -> dict[str, str | None]:
    """``properties`` as sent, validated and canonical (HubSpot's 400 when a value is refused)."""
    try:
        return store.clean_properties(values if values is not None else {})
    except PropertyErrors as exc:
        raise validation_error(exc)
