"""What every handler of the Salesforce sandbox shares: Salesforce's error shape and request checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from sandbox.faults import UNABLE_TO_LOCK_ROW
from sandbox.salesforce.records import RequestError
from sandbox.salesforce.schema import Field, SObject, get_object
from sandbox.wsgi import HttpError, Request, Response, json_response

API_VERSIONS = [f"{major}.0" for major in range(31, 63)]
COLLECTION_LIMIT = 200
V = r"/services/data/v(?P<version>\d+\.\d)"
_GENERIC_CODES = {"VALIDATION_ERROR": "JSON_PARSER_ERROR"}
# The router's own errors come without a code: Salesforce's for their status.
_STATUS_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
NOT_FOUND = "The requested resource does not exist"


def sf_error(
    status: int, code: str, message: str, fields: list[str] | None = None, headers: Iterable[tuple[str, str]] = ()
) -> Response:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return json_response(status, [item], headers)


def render_error(request: Request, error: HttpError) -> Response:
    code = _GENERIC_CODES.get(error.code, error.code) or _STATUS_CODES.get(error.status, "UNKNOWN_EXCEPTION")
    # The router's own 404 (unknown path) words it its way; Salesforce says this.
    message = NOT_FOUND if error.message.startswith("Resource not found") else error.message
    return sf_error(error.status, code, message, error.extra.get("fields"), error.headers)


def check_version(version: str) -> str:
    """``version`` when the sandbox answers it, else Salesforce's 404."""
    if version not in API_VERSIONS:
        raise HttpError(404, NOT_FOUND, code="NOT_FOUND")
    return version


def get_sobject(name: str) -> SObject:
    """The sObject named in the path, else Salesforce's 404."""
    sobject = get_object(name)
    if sobject is None:
        raise HttpError(404, NOT_FOUND, code="NOT_FOUND")
    return sobject


def instance_url(request: Request) -> str:
    scheme = request.environ.get("wsgi.url_scheme", "https")
    host = request.environ.get("HTTP_HOST") or (
        f"{request.environ.get('SERVER_NAME', '127.0.0.1')}:{request.environ.get('SERVER_PORT', '443')}"
    )
    return f"{scheme}://{host}"


def raise_request_error(error: RequestError) -> NoReturn:
    raise HttpError(error.status, error.message, code=error.code, fields=error.fields)


def lock_every(request: Request) -> int | None:
    """Every how many records an ``UNABLE_TO_LOCK_ROW`` fault refuses one (``None``: no fault)."""
    fault = request.state.get("fault")
    if fault is None or fault.kind != UNABLE_TO_LOCK_ROW:
        return None
    return max(1, int(fault.params.get("every", 1)))


def lock_fault_indexes(request: Request, count: int) -> set[int]:
    """The records an ``UNABLE_TO_LOCK_ROW`` fault refuses one by one (every ``every``-th)."""
    every = lock_every(request)
    return set() if every is None else set(range(0, count, every))


def selected_fields(request: Request, sobject: SObject) -> list[Field] | None:
    """The ``fields`` query parameter as fields of ``sobject`` (``None`` when absent: every field)."""
    names = request.args("fields")
    if not names:
        return None
    return fields_named(sobject, names)


def fields_named(sobject: SObject, names: list[str]) -> list[Field]:
    """The fields of ``sobject`` named (case-insensitively), each once; an unknown name is a 400."""
    fields: list[Field] = []
    for name in names:
        f = sobject.field(name.strip())
        if f is None:
            raise HttpError(400, f"No such column '{name}' on entity '{sobject.name}'", code="INVALID_FIELD")
        if f not in fields:
            fields.append(f)
    return fields
