"""The HubSpot sandbox as a WSGI app: CRM v3 contacts, properties, OAuth, rate limits, faults.

``make_app(db_path=None, *, rate_limit=None) -> Router`` (``app.store`` is the
``HubSpotStore``, ``app.faults`` the ``FaultInjector``, ``app.limiter`` the ``RateLimiter``).

Endpoints (shaped as ``../shared/specs/hubspot/crm-contacts-v3.json`` and
``crm-properties-v3.json``):

- ``GET/POST /crm/v3/objects/contacts``; ``GET/PATCH/DELETE /crm/v3/objects/contacts/{id}``
  (``idProperty=email`` to address a contact by email);
- ``POST /crm/v3/objects/contacts/search``;
- ``POST /crm/v3/objects/contacts/batch/{read,create,update,upsert,archive}`` (<= 100 inputs);
- ``GET/POST /crm/v3/properties/contacts``, ``GET /crm/v3/properties/contacts/{name}``;
- ``POST /oauth/v1/token`` (authorization_code and refresh_token grants; any client id and
  secret) and ``GET /oauth/v1/access-tokens/{token}``;
- the sandbox's ``/_sandbox/`` control endpoints (faults, reset, status) and
  ``POST /_sandbox/config`` ``{"rate_limit": {"max": 10, "interval_ms": 10000}}`` (burst
  limit) and/or ``{"search_rate_limit": {"max": 5, "interval_ms": 1000}}`` (HubSpot's separate
  per-second limit on search); ``null`` switches a limit back off.

Auth: ``Authorization: Bearer sandbox`` or a token issued by ``/oauth/v1/token`` (expires after
30 minutes, as HubSpot's). Errors are HubSpot's ``{"status": "error", "message", "correlationId",
"category"}``. Every authenticated response except search carries ``X-HubSpot-RateLimit-*``
headers; the burst limit (HubSpot's is 100-190 calls / 10 s per app) is off unless configured,
so benches measure the sync rather than a throttle.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sandbox.faults import (
    DOWN,
    EXPIRED_SESSION,
    RATE_LIMIT,
    SERVER_ERROR,
    UNABLE_TO_LOCK_ROW,
    Fault,
    FaultInjector,
    install_control_routes,
)
from sandbox.hubspot.schema import (
    DEFAULT_PROPERTIES,
    NAME_RE,
    PropertyDef,
    ms_to_iso,
)
from sandbox.hubspot.search import RESULT_CAP, SearchCompiler, SearchError, parse_paging
from sandbox.hubspot.store import EmailConflict, HubSpotStore, PropertyErrors, now_ms
from sandbox.wsgi import HttpError, Request, Response, Router, empty_response, json_response

SANDBOX_TOKEN = "sandbox"
BATCH_LIMIT = 100
LIST_LIMIT = 100
DAILY_LIMIT = 1_000_000
CONTACT_PATH = r"/crm/v3/objects/contacts"

_CATEGORIES = {
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
        "category": category or _CATEGORIES.get(status, "VALIDATION_ERROR"),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def render_error(request: Request, error: HttpError) -> Response:
    return json_response(
        error.status, error_body(error.status, error.message, error.code, **error.extra), error.headers
    )


class RateLimiter:
    """HubSpot's burst (per interval) and daily limits, counted in memory for this process."""

    def __init__(self, max_requests: int | None = None, interval_ms: int = 10_000, daily: int = DAILY_LIMIT) -> None:
        self._lock = threading.Lock()
        self._hits: collections.deque[float] = collections.deque()
        self.configure(max_requests, interval_ms)
        self.daily = daily
        self._day = time.gmtime().tm_yday
        self._daily_used = 0

    def configure(self, max_requests: int | None, interval_ms: int = 10_000) -> None:
        with self._lock:
            self.max_requests = max_requests
            self.interval_ms = interval_ms
            self._hits.clear()

    def hit(self) -> tuple[bool, dict[str, str]]:
        """Count one call; (allowed, headers describing the limits after it)."""
        now = time.monotonic()
        with self._lock:
            if time.gmtime().tm_yday != self._day:
                self._day, self._daily_used = time.gmtime().tm_yday, 0
            window = self.interval_ms / 1000
            while self._hits and self._hits[0] <= now - window:
                self._hits.popleft()
            limit = self.max_requests
            allowed = limit is None or len(self._hits) < limit
            if allowed:
                self._hits.append(now)
                self._daily_used += 1
            shown_max = limit if limit is not None else 100_000
            headers = {
                "X-HubSpot-RateLimit-Daily": str(self.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(self.daily - self._daily_used, 0)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
                "X-HubSpot-RateLimit-Max": str(shown_max),
                "X-HubSpot-RateLimit-Remaining": str(max(shown_max - len(self._hits), 0)),
            }
            if not allowed:
                retry_in = self._hits[0] + window - now
                headers["Retry-After"] = str(max(1, int(retry_in + 0.999)))
            return allowed, headers


def _requested(values: list[str]) -> list[str]:
    return values or list(DEFAULT_PROPERTIES)


def _bool_arg(request: Request, name: str) -> bool:
    return (request.arg(name) or "false").strip().lower() == "true"


def _validation_error(exc: PropertyErrors) -> HttpError:
    import json as _json

    details = [e.to_json() for e in exc.errors]
    return HttpError(
        400,
        "Property values were not valid: " + _json.dumps(details),
        code="VALIDATION_ERROR",
        errors=[{"message": e.message, "code": e.error, "context": {"propertyName": [e.name]}} for e in exc.errors],
    )


def _conflict(exc: EmailConflict) -> HttpError:
    return HttpError(409, f"Contact already exists. Existing ID: {exc.existing_id}", code="CONFLICT")


def _not_found(ident: str) -> HttpError:
    return HttpError(
        404,
        "Object not found.  objectId are usually numeric.",
        code="OBJECT_NOT_FOUND",
        context={"id": [str(ident)]},
    )


def _inputs(body: Any) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise HttpError(400, "Invalid input JSON: 'inputs' must be a list.", code="VALIDATION_ERROR")
    inputs = body["inputs"]
    if len(inputs) > BATCH_LIMIT:
        raise HttpError(
            400,
            f"Batch input limit exceeded: {len(inputs)} inputs, at most {BATCH_LIMIT} are allowed.",
            code="VALIDATION_ERROR",
            context={"inputs": [f"size must be between 0 and {BATCH_LIMIT}"]},
        )
    return inputs


def _batch_response(started: str, results: list[dict[str, Any]], errors: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": iso_ms_now(),
    }
    if errors:
        body["errors"] = errors
        body["numErrors"] = len(errors)
    return body


def iso_ms_now() -> str:
    return ms_to_iso(now_ms())


def _standard_error(status: int, category: str, message: str, context: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


def make_app(db_path: str | Path | None = None, *, rate_limit: tuple[int, int] | None = None) -> Router:
    """The HubSpot emulator; state in ``db_path`` (default ``DATA_DIR/sandbox/hubspot.sqlite3``)."""
    if db_path is None:
        from sandbox.store import default_db_path

        db_path = default_db_path("hubspot")
    store = HubSpotStore(db_path)
    faults = FaultInjector()
    limiter = RateLimiter(*(rate_limit or (None,)))
    search_limiter = RateLimiter(None, 1_000)  # HubSpot: 5 searches a second; off unless configured
    router = Router(error_renderer=render_error)

    # -- hooks --------------------------------------------------------------------------

    def render_fault(request: Request, fault: Fault) -> Response:
        if fault.kind == RATE_LIMIT:
            headers = [
                ("X-HubSpot-RateLimit-Max", str(limiter.max_requests or 100)),
                ("X-HubSpot-RateLimit-Remaining", "0"),
                ("X-HubSpot-RateLimit-Interval-Milliseconds", str(limiter.interval_ms)),
            ]
            if fault.params.get("retry_after"):
                headers.append(("Retry-After", fault.params["retry_after"]))
            body = error_body(
                429,
                "You have reached your ten_secondly_rolling limit.",
                "RATE_LIMITS",
                errorType="RATE_LIMIT",
                policyName="TEN_SECONDLY_ROLLING",
                groupName="sandbox",
            )
            return json_response(429, body, headers)
        if fault.kind == EXPIRED_SESSION:
            return json_response(
                401,
                error_body(
                    401, "The OAuth token used to make this call expired 5 minute(s) ago.", "EXPIRED_AUTHENTICATION"
                ),
            )
        if fault.kind == DOWN:
            return json_response(503, error_body(503, "Service Unavailable", "SERVICE_UNAVAILABLE"))
        if fault.kind == UNABLE_TO_LOCK_ROW:
            # HubSpot has no lock error of its own; contention surfaces as a transient 5xx.
            return json_response(
                500, error_body(500, "The record is being updated by another request; retry.", "INTERNAL_ERROR")
            )
        if fault.kind == SERVER_ERROR:
            status = int(fault.params.get("status") or 500)
            return json_response(
                status, error_body(status, "internal error", _CATEGORIES.get(status, "INTERNAL_ERROR"))
            )
        raise HttpError(400, f"Fault {fault.kind} is not supported here.", code="VALIDATION_ERROR")

    def authenticate(request: Request) -> Response | None:
        header = request.header("Authorization") or ""
        scheme, _sep, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HttpError(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                code="INVALID_AUTHENTICATION",
            )
        if token == SANDBOX_TOKEN:
            return None
        expires = store.token_expiry(token)
        if expires is None:
            raise HttpError(401, "The OAuth token used to make this call is invalid.", code="INVALID_AUTHENTICATION")
        if expires < now_ms():
            minutes = max(1, (now_ms() - expires) // 60_000)
            raise HttpError(
                401,
                f"The OAuth token used to make this call expired {minutes} minute(s) ago.",
                code="EXPIRED_AUTHENTICATION",
            )
        return None

    def rate_limit_hook(request: Request) -> Response | None:
        if request.method == "POST" and request.path.endswith("/search"):
            # Search has its own per-second limit and answers 429 without rate-limit headers.
            search_allowed, _headers = search_limiter.hit()
            if not search_allowed:
                body = error_body(
                    429,
                    "You have reached your secondly limit.",
                    "RATE_LIMITS",
                    errorType="RATE_LIMIT",
                    policyName="SECONDLY",
                    groupName="sandbox",
                )
                return json_response(429, body)
        allowed, headers = limiter.hit()
        request.state["rate_headers"] = headers
        if not allowed:
            body = error_body(
                429,
                "You have reached your ten_secondly_rolling limit.",
                "RATE_LIMITS",
                errorType="RATE_LIMIT",
                policyName="TEN_SECONDLY_ROLLING",
                groupName="sandbox",
            )
            return json_response(429, body, list(headers.items()))
        return None

    def rate_headers(request: Request, response: Response) -> None:
        headers = request.state.get("rate_headers")
        if not headers or request.path.endswith("/search"):
            return  # HubSpot's search endpoints do not send the rate-limit headers
        for name, value in headers.items():
            if response.header(name) is None:
                response.set_header(name, value)

    router.before += [faults.hook(render_fault), authenticate, rate_limit_hook]
    router.after.append(rate_headers)

    def limits() -> dict[str, Any]:
        return {
            "rate_limit": {"max": limiter.max_requests, "interval_ms": limiter.interval_ms},
            "search_rate_limit": {"max": search_limiter.max_requests, "interval_ms": search_limiter.interval_ms},
        }

    def set_config(request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return json_response(400, error_body(400, "A JSON object is expected."))
        for key, target, default_interval in (
            ("rate_limit", limiter, 10_000),
            ("search_rate_limit", search_limiter, 1_000),
        ):
            if key not in body:
                continue
            config = body[key]
            if config is None:
                target.configure(None, default_interval)
                continue
            try:
                target.configure(int(config["max"]), int(config.get("interval_ms", default_interval)))
            except (KeyError, TypeError, ValueError):
                return json_response(400, error_body(400, f"{key} needs an integer 'max'."))
        return json_response(200, limits())

    install_control_routes(
        router,
        faults,
        reset=store.reset,
        status=lambda: {"contacts": store.count(), "archived": store.count(archived=True), **limits()},
    )
    router.add("POST", r"/_sandbox/config", set_config, public=True)

    # -- look-ups -----------------------------------------------------------------------

    def lookup(ident: str, id_property: str | None, *, archived: bool = False, conn: Any = None) -> Any:
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

    def clean(values: Any) -> dict[str, str | None]:
        try:
            return store.clean_properties(values if values is not None else {})
        except PropertyErrors as exc:
            raise _validation_error(exc)

    # -- contacts -----------------------------------------------------------------------

    @router.route("GET", CONTACT_PATH)
    def list_contacts(request: Request) -> Response:
        try:
            limit = int(request.arg("limit") or 10)
        except ValueError:
            raise HttpError(400, "limit must be an integer.", code="VALIDATION_ERROR")
        if limit < 1 or limit > LIST_LIMIT:
            raise HttpError(400, f"limit must be between 1 and {LIST_LIMIT}.", code="VALIDATION_ERROR")
        after = request.arg("after") or "0"
        try:
            start = int(after)
        except ValueError:
            raise HttpError(400, f"after {after!r} is not a valid paging cursor.", code="VALIDATION_ERROR")
        archived = _bool_arg(request, "archived")
        rows = (
            store.read()
            .execute(
                "SELECT * FROM contact WHERE archived = ? AND id >= ? ORDER BY id LIMIT ?",
                (1 if archived else 0, start, limit + 1),
            )
            .fetchall()
        )
        requested = _requested(request.args("properties"))
        body: dict[str, Any] = {"results": [store.to_public(r, requested) for r in rows[:limit]]}
        if len(rows) > limit:
            next_after = str(rows[limit]["id"])
            body["paging"] = {"next": {"after": next_after, "link": f"{CONTACT_PATH}?after={next_after}"}}
        return json_response(200, body)

    @router.route("POST", CONTACT_PATH)
    def create_contact(request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "Invalid input JSON.", code="VALIDATION_ERROR")
        values = clean(body.get("properties"))
        try:
            with store.write() as conn:
                row = store.insert(conn, values, now_ms())
        except EmailConflict as exc:
            raise _conflict(exc)
        return json_response(201, store.to_public(row, _requested([]) + list(values)))

    @router.route("GET", CONTACT_PATH + r"/(?P<contact_id>[^/]+)")
    def get_contact(request: Request, contact_id: str) -> Response:
        row = lookup(contact_id, request.arg("idProperty"), archived=_bool_arg(request, "archived"))
        if row is None:
            raise _not_found(contact_id)
        return json_response(200, store.to_public(row, _requested(request.args("properties"))))

    @router.route("PATCH", CONTACT_PATH + r"/(?P<contact_id>[^/]+)")
    def update_contact(request: Request, contact_id: str) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "Invalid input JSON.", code="VALIDATION_ERROR")
        values = clean(body.get("properties"))
        try:
            with store.write() as conn:
                row = lookup(contact_id, request.arg("idProperty"), conn=conn)
                if row is None:
                    raise _not_found(contact_id)
                row = store.update(conn, row, values, now_ms())
        except EmailConflict as exc:
            raise _conflict(exc)
        return json_response(200, store.to_public(row, _requested([]) + list(values)))

    @router.route("DELETE", CONTACT_PATH + r"/(?P<contact_id>[^/]+)")
    def archive_contact(request: Request, contact_id: str) -> Response:
        with store.write() as conn:
            row = store.get(contact_id, conn=conn)
            if row is not None:
                store.archive(conn, row["id"], now_ms())
        return empty_response(204)

    @router.route("POST", CONTACT_PATH + r"/search")
    def search(request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "Invalid input JSON.", code="VALIDATION_ERROR")
        compiler = SearchCompiler(store.properties)
        try:
            offset, limit = parse_paging(body)
            where = compiler.where(body.get("filterGroups"), body.get("query"))
            order = compiler.order_by(body.get("sorts"))
        except SearchError as exc:
            raise HttpError(400, str(exc), code="VALIDATION_ERROR")
        conn = store.read()
        total = conn.execute(f"SELECT COUNT(*) FROM contact WHERE {where.sql}", where.params).fetchone()[0]  # noqa: S608
        limit = min(limit, RESULT_CAP - offset)
        rows = conn.execute(
            f"SELECT * FROM contact WHERE {where.sql} ORDER BY {order.sql} LIMIT ? OFFSET ?",  # noqa: S608
            [*where.params, *order.params, limit, offset],
        ).fetchall()
        requested = _requested([p for p in body.get("properties") or [] if isinstance(p, str)])
        result: dict[str, Any] = {"total": total, "results": [store.to_public(r, requested) for r in rows]}
        if offset + len(rows) < total:
            # Like HubSpot, the cursor is handed out up to 10,000 even though it cannot be used.
            result["paging"] = {"next": {"after": str(offset + len(rows))}}
        return json_response(200, result)

    # -- batch --------------------------------------------------------------------------

    @router.route("POST", CONTACT_PATH + r"/batch/read")
    def batch_read(request: Request) -> Response:
        started = iso_ms_now()
        body = request.json()
        inputs = _inputs(body)
        id_property = body.get("idProperty")
        archived = _bool_arg(request, "archived")
        requested = _requested([p for p in body.get("properties") or [] if isinstance(p, str)])
        results, missing, seen = [], [], set()
        for item in inputs:
            ident = str((item or {}).get("id", ""))
            row = lookup(ident, id_property, archived=archived)
            if row is None:
                missing.append(ident)
            elif row["id"] not in seen:
                seen.add(row["id"])
                results.append(store.to_public(row, requested))
        errors = []
        if missing:
            errors.append(
                _standard_error(
                    404,
                    "OBJECT_NOT_FOUND",
                    "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
                    {"ids": missing},
                )
            )
        return json_response(207 if errors else 200, _batch_response(started, results, errors))

    @router.route("POST", CONTACT_PATH + r"/batch/create")
    def batch_create(request: Request) -> Response:
        started = iso_ms_now()
        inputs = _inputs(request.json())
        cleaned = [clean((item or {}).get("properties")) for item in inputs]
        emails = [v.get("email").casefold() for v in cleaned if v.get("email")]
        duplicates = sorted({e for e in emails if emails.count(e) > 1})
        if duplicates:
            raise HttpError(400, f"Duplicate emails found in batch input: {duplicates}", code="VALIDATION_ERROR")
        moment = now_ms()
        try:
            with store.write() as conn:
                rows = [store.insert(conn, values, moment) for values in cleaned]
        except EmailConflict as exc:
            raise _conflict(exc)
        results = [store.to_public(row, _requested([]) + list(v)) for row, v in zip(rows, cleaned, strict=True)]
        return json_response(201, _batch_response(started, results, []))

    @router.route("POST", CONTACT_PATH + r"/batch/update")
    def batch_update(request: Request) -> Response:
        started = iso_ms_now()
        inputs = _inputs(request.json())
        prepared = []
        for item in inputs:
            item = item or {}
            prepared.append((str(item.get("id", "")), item.get("idProperty"), clean(item.get("properties"))))
        keys = [(p[1] or "hs_object_id", p[0].casefold()) for p in prepared]
        duplicates = sorted({k[1] for k in keys if keys.count(k) > 1})
        if duplicates:
            raise HttpError(400, f"Duplicate IDs found in batch input: {duplicates}", code="VALIDATION_ERROR")
        moment = now_ms()
        results, missing = [], []
        try:
            with store.write() as conn:
                for ident, id_property, values in prepared:
                    row = lookup(ident, id_property, conn=conn)
                    if row is None:
                        missing.append(ident)
                        continue
                    row = store.update(conn, row, values, moment)
                    results.append(store.to_public(row, _requested([]) + list(values)))
        except EmailConflict as exc:
            raise _conflict(exc)
        errors = []
        if missing:
            errors.append(
                _standard_error(
                    404,
                    "OBJECT_NOT_FOUND",
                    "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
                    {"ids": missing},
                )
            )
        return json_response(207 if errors else 200, _batch_response(started, results, errors))

    @router.route("POST", CONTACT_PATH + r"/batch/upsert")
    def batch_upsert(request: Request) -> Response:
        started = iso_ms_now()
        inputs = _inputs(request.json())
        prepared = []
        for item in inputs:
            item = item or {}
            id_property = item.get("idProperty") or ""
            if id_property not in ("email", "hs_object_id"):
                raise HttpError(
                    400,
                    "idProperty is required for upserts and must be a unique property (email or hs_object_id).",
                    code="VALIDATION_ERROR",
                )
            ident = str(item.get("id") or "").strip()
            if not ident:
                raise HttpError(400, "Each upsert input needs an id.", code="VALIDATION_ERROR")
            values = clean(item.get("properties"))
            # The email addressed by the upsert only becomes a value when the contact is created:
            # an existing contact keeps its own spelling of it.
            creation = {**clean({"email": ident}), **values} if id_property == "email" else values
            prepared.append((ident, id_property, values, creation))
        keys = [(p[1], p[0].casefold()) for p in prepared]
        duplicates = sorted({k[1] for k in keys if keys.count(k) > 1})
        if duplicates:
            raise HttpError(400, f"Duplicate IDs found in batch input: {duplicates}", code="VALIDATION_ERROR")
        moment = now_ms()
        results = []
        try:
            with store.write() as conn:
                for ident, id_property, values, creation in prepared:
                    row = lookup(ident, id_property, conn=conn)
                    if row is None:
                        if id_property == "hs_object_id":
                            raise _not_found(ident)
                        row, new = store.insert(conn, creation, moment), True
                        values = creation
                    else:
                        row, new = store.update(conn, row, values, moment), False
                    results.append(store.to_public(row, _requested([]) + list(values), new=new))
        except EmailConflict as exc:
            raise _conflict(exc)
        return json_response(200, _batch_response(started, results, []))

    @router.route("POST", CONTACT_PATH + r"/batch/archive")
    def batch_archive(request: Request) -> Response:
        inputs = _inputs(request.json())
        moment = now_ms()
        with store.write() as conn:
            for item in inputs:
                row = store.get(str((item or {}).get("id", "")), conn=conn)
                if row is not None:
                    store.archive(conn, row["id"], moment)
        return empty_response(204)

    # -- properties ---------------------------------------------------------------------

    @router.route("GET", r"/crm/v3/properties/contacts")
    def list_properties(request: Request) -> Response:
        if _bool_arg(request, "archived"):
            return json_response(200, {"results": []})
        wanted = set(request.args("properties"))
        results = [p.to_json() for p in store.properties.values() if not wanted or p.name in wanted]
        return json_response(200, {"results": results})

    @router.route("GET", r"/crm/v3/properties/contacts/(?P<name>[^/]+)")
    def get_property(request: Request, name: str) -> Response:
        prop = store.properties.get(name)
        if prop is None:
            raise HttpError(404, f"Unable to find property {name}", code="OBJECT_NOT_FOUND")
        return json_response(200, prop.to_json())

    @router.route("DELETE", r"/crm/v3/properties/contacts/(?P<name>[^/]+)")
    def archive_property(request: Request, name: str) -> Response:
        try:
            found = store.archive_property(name)
        except PermissionError:
            raise HttpError(
                400, f"Property {name} is a HubSpot default and cannot be deleted.", code="VALIDATION_ERROR"
            )
        if not found:
            raise HttpError(404, f"Unable to find property {name}", code="OBJECT_NOT_FOUND")
        return empty_response(204)

    @router.route("POST", r"/crm/v3/properties/contacts")
    def create_property(request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "Invalid input JSON.", code="VALIDATION_ERROR")
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise HttpError(400, f"Missing required fields: {', '.join(missing)}", code="VALIDATION_ERROR")
        if body["type"] not in ("string", "number", "bool", "date", "datetime", "enumeration"):
            raise HttpError(400, f"Unknown property type {body['type']}", code="VALIDATION_ERROR")
        if not NAME_RE.match(str(body["name"])):
            raise HttpError(400, f"Property name {body['name']} is invalid.", code="VALIDATION_ERROR")
        options = body.get("options") or []
        if body["type"] == "enumeration" and not options:
            raise HttpError(400, "Enumeration properties need options.", code="VALIDATION_ERROR")
        definition = PropertyDef(
            name=body["name"],
            label=body["label"],
            type=body["type"],
            field_type=body["fieldType"],
            group=body["groupName"],
            options=[(str(o["value"]), str(o.get("label") or o["value"])) for o in options],
            description=body.get("description") or "",
            hubspot_defined=False,
            read_only_definition=False,
            hidden=bool(body.get("hidden")),
            has_unique_value=bool(body.get("hasUniqueValue")),
            display_order=int(body.get("displayOrder", -1)),
            created_at=iso_ms_now(),
        )
        try:
            store.add_property(definition)
        except KeyError:
            raise HttpError(409, f"A property named '{definition.name}' already exists.", code="OBJECT_ALREADY_EXISTS")
        return json_response(201, definition.to_json())

    # -- OAuth --------------------------------------------------------------------------

    @router.route("POST", r"/oauth/v1/token", public=True)
    def oauth_token(request: Request) -> Response:
        form = request.form()
        grant = form.get("grant_type", "")
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id or not client_secret:
            return json_response(
                400,
                {
                    "status": "BAD_CLIENT_ID",
                    "message": "missing or unknown client id",
                    "correlationId": str(uuid.uuid4()),
                },
            )
        if grant == "authorization_code":
            if not form.get("code") or not form.get("redirect_uri"):
                return json_response(
                    400,
                    {
                        "status": "BAD_AUTH_CODE",
                        "message": "missing or unknown auth code",
                        "correlationId": str(uuid.uuid4()),
                    },
                )
            return json_response(200, store.issue_token(client_id))
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if not refresh or store.refresh_known(refresh) is None:
                return json_response(
                    400,
                    {
                        "status": "BAD_REFRESH_TOKEN",
                        "message": "missing or unknown refresh token",
                        "correlationId": str(uuid.uuid4()),
                    },
                )
            return json_response(200, store.issue_token(client_id, refresh_token=refresh))
        return json_response(
            400,
            {
                "status": "BAD_GRANT_TYPE",
                "message": f"unsupported grant type {grant!r}",
                "correlationId": str(uuid.uuid4()),
            },
        )

    @router.route("GET", r"/oauth/v1/access-tokens/(?P<token>[^/]+)", public=True)
    def token_info(request: Request, token: str) -> Response:
        expires = store.token_expiry(token)
        if expires is None and token != SANDBOX_TOKEN:
            raise HttpError(404, "Token not found", code="OBJECT_NOT_FOUND")
        expires_in = TOKEN_FOREVER if expires is None else max(0, (expires - now_ms()) // 1000)
        return json_response(
            200,
            {
                "token": token,
                "user": "sandbox@example.com",
                "hub_domain": "sandbox.hubspot.local",
                "scopes": [
                    "oauth",
                    "crm.objects.contacts.read",
                    "crm.objects.contacts.write",
                    "crm.schemas.contacts.read",
                ],
                "hub_id": 1234567,
                "app_id": 1000,
                "expires_in": expires_in,
                "user_id": 1,
                "token_type": "access",
            },
        )

    router.store = store  # type: ignore[attr-defined]
    router.faults = faults  # type: ignore[attr-defined]
    router.limiter = limiter  # type: ignore[attr-defined]
    return router


TOKEN_FOREVER = 10 * 365 * 24 * 3600
