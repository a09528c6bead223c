"""The Salesforce sandbox as a WSGI app: REST API v59.0+, Bulk API 2.0 ingest, OAuth.

Hooks run in this order for every API route: fault injection (so an ``expired_session`` fault
wins over a valid token, as a real expiry does), authentication (``INVALID_SESSION_ID``), then
the daily API allowance (``REQUEST_LIMIT_EXCEEDED`` once exhausted). Every response under
``/services/data/vXX.X/`` carries ``Sforce-Limit-Info: api-usage=used/max``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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
from sandbox.salesforce import ids, soql
from sandbox.salesforce.bulk import BulkService
from sandbox.salesforce.oauth import ORG_ID, USER_ID, OAuthError, TokenService
from sandbox.salesforce.records import (
    ALLOW_DUPLICATE_SAVE,
    RecordError,
    RecordResult,
    RecordService,
    RequestError,
    row_to_record,
    save_results_json,
)
from sandbox.salesforce.schema import OBJECTS, Field, SObject, get_object
from sandbox.salesforce.store import SalesforceStore
from sandbox.wsgi import (
    HttpError,
    Request,
    Response,
    Router,
    empty_response,
    json_response,
    text_response,
)

API_VERSIONS = [f"{major}.0" for major in range(31, 63)]
_RELEASES = {59: "Winter '24", 60: "Spring '24", 61: "Summer '24", 62: "Winter '25"}
COLLECTION_LIMIT = 200
V = r"/services/data/v(?P<version>\d+\.\d)"
_GENERIC_CODES = {
    "VALIDATION_ERROR": "JSON_PARSER_ERROR",
    "NOT_ALLOWED": "METHOD_NOT_ALLOWED",
    "ERROR": "UNKNOWN_EXCEPTION",
}
_NOT_FOUND = "The requested resource does not exist"


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None, headers=()) -> Response:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return json_response(status, [item], headers)


def _render_error(request: Request, error: HttpError) -> Response:
    code = _GENERIC_CODES.get(error.code, error.code or "UNKNOWN_EXCEPTION")
    # The router's own 404 (unknown path) words it its way; Salesforce says this.
    message = _NOT_FOUND if error.message.startswith("Resource not found") else error.message
    return sf_error(error.status, code, message, error.extra.get("fields"), error.headers)


class _QueryCursors:
    """Server-side query locators: the ids matched at query time, paged on demand."""

    MAX_CURSORS = 500

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def add(self, cursor: dict[str, Any]) -> str:
        locator = ids.make_id(ids.QUERY_LOCATOR_PREFIX, secrets.randbelow(62**8))[:15] + "AAA"
        with self._lock:
            self._cursors[locator] = cursor
            while len(self._cursors) > self.MAX_CURSORS:
                self._cursors.popitem(last=False)
        return locator

    def get(self, locator: str) -> dict[str, Any] | None:
        with self._lock:
            return self._cursors.get(locator)

    def clear(self) -> None:
        with self._lock:
            self._cursors.clear()


class SalesforceSandbox:
    def __init__(self, db_path: str | Path) -> None:
        self.store = SalesforceStore(db_path)
        self.records = RecordService(self.store)
        self.bulk = BulkService(self.store, self.records)
        self.tokens = TokenService(self.store)
        self.cursors = _QueryCursors()
        self.faults = FaultInjector()
        self.router = Router(error_renderer=_render_error)
        # Handler time, summed server-side, for benchmarks (share of wall time in the emulator).
        self.handler_seconds = 0.0
        self.handler_cpu_seconds = 0.0
        self.handler_calls = 0
        self._timing_lock = threading.Lock()
        self.router.before.append(self.faults.hook(render=self._render_fault))
        self.router.before.append(self._authenticate)
        self.router.before.append(self._count_api_call)
        self.router.before.append(self._duplicate_rule_header)
        self.router.after.append(self._limit_header)
        self._routes()

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            return self.router(environ, start_response)
        finally:
            elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            with self._timing_lock:
                self.handler_seconds += elapsed
                self.handler_cpu_seconds += cpu
                self.handler_calls += 1

    def reset(self) -> None:
        self.store.reset()
        self.cursors.clear()

    # -- hooks ------------------------------------------------------------------------------

    def _render_fault(self, request: Request, fault: Fault) -> Response | None:
        if fault.kind == RATE_LIMIT:
            status = int(fault.params.get("status", 403))
            return sf_error(status, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if fault.kind == EXPIRED_SESSION:
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if fault.kind == SERVER_ERROR:
            status = int(fault.params.get("status", 503))
            if status == 500:
                return sf_error(
                    500,
                    "UNKNOWN_EXCEPTION",
                    "An unexpected error occurred. Please include this ErrorId if you contact support: "
                    "1932415843-12345 (-1103586307)",
                )
            return sf_error(status, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        if fault.kind == DOWN:
            return text_response(
                503,
                "<html><body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your "
                "request due to maintenance downtime or capacity problems.</p></body></html>",
                content_type="text/html;charset=utf-8",
            )
        if fault.kind == UNABLE_TO_LOCK_ROW:
            if "/composite/sobjects" in request.path or "/jobs/ingest" in request.path:
                return None  # per-record errors, applied by the handler
            return sf_error(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records")
        return None

    def _authenticate(self, request: Request) -> Response | None:
        header = request.header("Authorization") or ""
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not self.tokens.is_valid(token.strip()):
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return None

    @staticmethod
    def _duplicate_rule_header(request: Request) -> Response | None:
        header = (request.header("Sforce-Duplicate-Rule-Header") or "").replace(" ", "").lower()
        ALLOW_DUPLICATE_SAVE.set("allowsave=true" in header.split(";"))
        return None

    def _count_api_call(self, request: Request) -> Response | None:
        used, limit, allowed = self.store.consume_api_call()
        request.state["api_usage"] = (used, limit)
        if not allowed:
            return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return None

    def _limit_header(self, request: Request, response: Response) -> None:
        if not request.path.startswith("/services/data/v"):
            return
        used, limit = request.state.get("api_usage") or self.store.api_usage()
        response.set_header("Sforce-Limit-Info", f"api-usage={used}/{limit}")

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _version(version: str) -> str:
        if version not in API_VERSIONS:
            raise HttpError(404, _NOT_FOUND, code="NOT_FOUND")
        return version

    @staticmethod
    def _sobject(name: str) -> SObject:
        sobject = get_object(name)
        if sobject is None:
            raise HttpError(404, _NOT_FOUND, code="NOT_FOUND")
        return sobject

    @staticmethod
    def _instance_url(request: Request) -> str:
        scheme = request.environ.get("wsgi.url_scheme", "https")
        host = request.environ.get("HTTP_HOST") or (
            f"{request.environ.get('SERVER_NAME', '127.0.0.1')}:{request.environ.get('SERVER_PORT', '443')}"
        )
        return f"{scheme}://{host}"

    @staticmethod
    def _body(request: Request) -> Any:
        return request.json()

    @staticmethod
    def _raise(error: RequestError) -> None:
        raise HttpError(error.status, error.message, code=error.code, fields=error.fields)

    def _lock_fault_indexes(self, request: Request, count: int) -> set[int]:
        fault = request.state.get("fault")
        if fault is None or fault.kind != UNABLE_TO_LOCK_ROW:
            return set()
        every = max(1, int(fault.params.get("every", 1)))
        return set(range(0, count, every))

    # -- routes -----------------------------------------------------------------------------

    def _routes(self) -> None:
        r = self.router
        r.add("GET", r"/services/data/?", self.versions, public=True)
        r.add("POST", r"/services/oauth2/token/?", self.oauth_token, public=True)
        r.add("POST", r"/services/oauth2/revoke/?", self.oauth_revoke, public=True)
        r.add("GET", r"/services/oauth2/authorize/?", self.oauth_authorize, public=True)
        r.add("GET", r"/services/oauth2/userinfo/?", self.userinfo)
        r.add("GET", r"/id/(?P<org>\w+)/(?P<user>\w+)/?", self.userinfo)
        r.add("GET", rf"{V}/?", self.resources)
        r.add("GET", rf"{V}/limits/?", self.limits)
        r.add("GET", rf"{V}/sobjects/?", self.describe_global)
        r.add("GET", rf"{V}/sobjects/(?P<obj>\w+)/?", self.sobject_basic)
        r.add("POST", rf"{V}/sobjects/(?P<obj>\w+)/?", self.sobject_create)
        r.add("GET", rf"{V}/sobjects/(?P<obj>\w+)/describe/?", self.sobject_describe)
        r.add("GET", rf"{V}/sobjects/(?P<obj>\w+)/(?P<rid>[^/]+)/?", self.record_get)
        r.add("PATCH", rf"{V}/sobjects/(?P<obj>\w+)/(?P<rid>[^/]+)/?", self.record_update)
        r.add("DELETE", rf"{V}/sobjects/(?P<obj>\w+)/(?P<rid>[^/]+)/?", self.record_delete)
        r.add("GET", rf"{V}/sobjects/(?P<obj>\w+)/(?P<fld>\w+)/(?P<value>.+?)/?", self.by_key_get)
        r.add("PATCH", rf"{V}/sobjects/(?P<obj>\w+)/(?P<fld>\w+)/(?P<value>.+?)/?", self.by_key_upsert)
        r.add("POST", rf"{V}/sobjects/(?P<obj>\w+)/(?P<fld>\w+)/(?P<value>.+?)/?", self.by_key_upsert)
        r.add("DELETE", rf"{V}/sobjects/(?P<obj>\w+)/(?P<fld>\w+)/(?P<value>.+?)/?", self.by_key_delete)
        r.add("POST", rf"{V}/composite/sobjects/?", self.collections_create)
        r.add("PATCH", rf"{V}/composite/sobjects/?", self.collections_update)
        r.add("DELETE", rf"{V}/composite/sobjects/?", self.collections_delete)
        r.add("GET", rf"{V}/composite/sobjects/(?P<obj>\w+)/?", self.collections_retrieve)
        r.add("PATCH", rf"{V}/composite/sobjects/(?P<obj>\w+)/(?P<fld>\w+)/?", self.collections_upsert)
        r.add("GET", rf"{V}/(?P<endpoint>query|queryAll)/?", self.query)
        r.add("GET", rf"{V}/(?P<endpoint>query|queryAll)/(?P<locator>\w+)-(?P<position>\d+)/?", self.query_more)
        r.add("POST", rf"{V}/jobs/ingest/?", self.bulk_create)
        r.add("GET", rf"{V}/jobs/ingest/?", self.bulk_list)
        r.add("GET", rf"{V}/jobs/ingest/(?P<job>\w+)/?", self.bulk_info)
        r.add("PATCH", rf"{V}/jobs/ingest/(?P<job>\w+)/?", self.bulk_state)
        r.add("DELETE", rf"{V}/jobs/ingest/(?P<job>\w+)/?", self.bulk_delete)
        r.add("PUT", rf"{V}/jobs/ingest/(?P<job>\w+)/batches/?", self.bulk_upload)
        r.add(
            "GET",
            # Salesforce documents "unprocessedrecords"; clients (simple-salesforce) also send
            # "unprocessedRecords": resource names are matched case-insensitively.
            rf"{V}/jobs/ingest/(?P<job>\w+)/(?P<which>(?i:successfulResults|failedResults|unprocessedrecords))/?",
            self.bulk_results,
        )
        r.add("GET", r"/_sandbox/settings/?", self.get_settings, public=True)
        r.add("POST", r"/_sandbox/settings/?", self.set_settings, public=True)
        r.add("POST", r"/_sandbox/sessions/expire/?", self.expire_sessions, public=True)
        install_control_routes(r, self.faults, reset=self.reset, status=self.status)

    # -- meta -------------------------------------------------------------------------------

    def versions(self, request: Request) -> Response:
        return json_response(
            200,
            [
                {"label": _RELEASES.get(int(float(v)), f"v{v}"), "url": f"/services/data/v{v}", "version": v}
                for v in API_VERSIONS
            ],
        )

    def resources(self, request: Request, version: str) -> Response:
        base = f"/services/data/v{self._version(version)}"
        names = ["sobjects", "query", "queryAll", "limits", "composite", "jobs"]
        return json_response(200, {name: f"{base}/{name}" for name in names})

    def limits(self, request: Request, version: str) -> Response:
        self._version(version)
        used, limit = request.state.get("api_usage") or self.store.api_usage()

        def pair(maximum: int, remaining: int) -> dict[str, int]:
            return {"Max": maximum, "Remaining": remaining}

        return json_response(
            200,
            {
                "ConcurrentAsyncGetReportInstances": pair(200, 200),
                "DailyApiRequests": pair(limit, max(0, limit - used)),
                "DailyAsyncApexExecutions": pair(250000, 250000),
                "DailyBulkApiBatches": pair(15000, 15000),
                "DailyBulkV2QueryFileStorageMB": pair(976562, 976562),
                "DailyBulkV2QueryJobs": pair(10000, 10000),
                "DataStorageMB": pair(1024, 1024),
                "HourlyODataCallout": pair(10000, 10000),
                "SingleEmail": pair(5000, 5000),
            },
        )

    def status(self) -> dict[str, Any]:
        used, limit = self.store.api_usage()
        counts = {
            sobject.name: self.store.read()
            .execute(f'SELECT COUNT(*) FROM "{sobject.name}" WHERE "IsDeleted" = 0')
            .fetchone()[0]
            for sobject in OBJECTS.values()
        }
        return {
            "api_usage": {"used": used, "max": limit},
            "records": counts,
            "settings": self.store.settings(),
            "handler": {
                "seconds": round(self.handler_seconds, 6),
                "cpu_seconds": round(self.handler_cpu_seconds, 6),
                # The whole process (TLS, HTTP parsing, threads): meaningful when it only serves.
                "process_cpu_seconds": round(time.process_time(), 6),
                "calls": self.handler_calls,
            },
        }

    def get_settings(self, request: Request) -> Response:
        used, limit = self.store.api_usage()
        return json_response(200, {**self.store.settings(), "api_usage_used": used})

    def set_settings(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return sf_error(400, "JSON_PARSER_ERROR", "A JSON object of settings is expected.")
        try:
            settings = self.store.update_settings(body)
        except ValueError as exc:
            return sf_error(400, "INVALID_FIELD", str(exc))
        return json_response(200, settings)

    def expire_sessions(self, request: Request) -> Response:
        return json_response(200, {"expired": self.tokens.expire_all()})

    # -- OAuth ------------------------------------------------------------------------------

    def oauth_token(self, request: Request) -> Response:
        form = request.form()
        if not form and request.query:
            form = {key: values[-1] for key, values in request.query.items()}
        try:
            body = self.tokens.token(form, request.header("Authorization"), self._instance_url(request))
        except OAuthError as exc:
            return json_response(exc.status, exc.body())
        return json_response(200, body)

    def oauth_revoke(self, request: Request) -> Response:
        token = request.form().get("token") or request.arg("token") or ""
        if not self.tokens.revoke(token):
            return json_response(
                400, {"error": "unsupported_token_type", "error_description": "this token type is not supported"}
            )
        return empty_response(200)

    def oauth_authorize(self, request: Request) -> Response:
        redirect_uri = request.arg("redirect_uri")
        if not redirect_uri or request.arg("response_type") != "code" or not request.arg("client_id"):
            return json_response(400, {"error": "invalid_request", "error_description": "missing required parameter"})
        params = {"code": "aPrx" + secrets.token_urlsafe(24)}
        if request.arg("state"):
            params["state"] = request.arg("state") or ""
        separator = "&" if "?" in redirect_uri else "?"
        return Response(status=302, body=b"", headers=[("Location", redirect_uri + separator + urlencode(params))])

    def userinfo(self, request: Request, org: str = "", user: str = "") -> Response:
        base = self._instance_url(request)
        return json_response(
            200,
            {
                "id": f"{base}/id/{ORG_ID}/{USER_ID}",
                "user_id": USER_ID,
                "organization_id": ORG_ID,
                "username": "integration@sandbox.example.com",
                "display_name": "Sandbox Integration",
                "urls": {
                    "rest": f"{base}/services/data/v{{version}}/",
                    "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                },
            },
        )

    # -- sObjects ---------------------------------------------------------------------------

    def describe_global(self, request: Request, version: str) -> Response:
        version = self._version(version)
        return json_response(
            200,
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [sobject.describe_basic(version) for sobject in OBJECTS.values()],
            },
        )

    def sobject_basic(self, request: Request, version: str, obj: str) -> Response:
        version = self._version(version)
        sobject = self._sobject(obj)
        recent = self.store.read().execute(
            f'SELECT * FROM "{sobject.name}" WHERE "IsDeleted" = 0 ORDER BY "LastModifiedDate" DESC LIMIT 5'
        )
        fields = [sobject.field("Id")]
        return json_response(
            200,
            {
                "objectDescribe": sobject.describe_basic(version),
                "recentItems": [row_to_record(sobject, row, version, fields) for row in recent],
            },
        )

    def sobject_describe(self, request: Request, version: str, obj: str) -> Response:
        version = self._version(version)
        return json_response(200, self._sobject(obj).describe(version))

    def _single_result(self, result: RecordResult, *, status: int, with_created: bool = False) -> Response:
        if result.success:
            return json_response(status, result.save_result(with_created=with_created))
        return json_response(400, [error.rest() for error in result.errors])

    def sobject_create(self, request: Request, version: str, obj: str) -> Response:
        self._version(version)
        sobject = self._sobject(obj)
        body = self._body(request)
        if not isinstance(body, dict):
            raise HttpError(400, "Cannot deserialize instance of sObject from START_ARRAY", code="JSON_PARSER_ERROR")
        if any(key.lower() == "id" for key in body):
            return sf_error(400, "INVALID_FIELD", "Id: cannot specify Id in an insert call", ["Id"])
        try:
            result = self.records.create(sobject, [body])[0]
        except RequestError as exc:
            self._raise(exc)
        return self._single_result(result, status=201)

    def _record_row(self, sobject: SObject, rid: str, *, for_get: bool) -> Any:
        record_id = ids.normalize(rid)
        if record_id is None or record_id[:3] != sobject.key_prefix:
            if for_get:
                # Salesforce reads an unparseable id segment as an external-id lookup.
                raise HttpError(
                    404, f"Provided external ID field does not exist or is not accessible: {rid}", code="NOT_FOUND"
                )
            raise HttpError(
                400, f"{sobject.name} ID: id value of incorrect type: {rid}", code="MALFORMED_ID", fields=["Id"]
            )
        row = self.records.get(sobject, record_id, include_deleted=True)
        if row is None:
            raise HttpError(404, _NOT_FOUND, code="NOT_FOUND")
        if row["IsDeleted"]:
            raise HttpError(404, "entity is deleted", code="ENTITY_IS_DELETED")
        return row

    def _selected_fields(self, request: Request, sobject: SObject) -> list[Field] | None:
        names = request.args("fields")
        if not names:
            return None
        fields = []
        for name in names:
            f = sobject.field(name.strip())
            if f is None:
                raise HttpError(400, f"No such column '{name}' on entity '{sobject.name}'", code="INVALID_FIELD")
            fields.append(f)
        return fields

    def record_get(self, request: Request, version: str, obj: str, rid: str) -> Response:
        version = self._version(version)
        sobject = self._sobject(obj)
        row = self._record_row(sobject, rid, for_get=True)
        return json_response(200, row_to_record(sobject, row, version, self._selected_fields(request, sobject)))

    def record_update(self, request: Request, version: str, obj: str, rid: str) -> Response:
        self._version(version)
        sobject = self._sobject(obj)
        row = self._record_row(sobject, rid, for_get=False)
        body = self._body(request)
        if not isinstance(body, dict):
            raise HttpError(400, "Cannot deserialize instance of sObject from START_ARRAY", code="JSON_PARSER_ERROR")
        try:
            result = self.records.update(sobject, [{**body, "Id": row["Id"]}])[0]
        except RequestError as exc:
            self._raise(exc)
        if not result.success:
            return json_response(400, [error.rest() for error in result.errors])
        return empty_response(204)

    def record_delete(self, request: Request, version: str, obj: str, rid: str) -> Response:
        self._version(version)
        sobject = self._sobject(obj)
        row = self._record_row(sobject, rid, for_get=False)
        self.records.delete(sobject, [row["Id"]])
        return empty_response(204)

    @staticmethod
    def _path_value(value: str) -> str:
        # PATH_INFO is percent-decoded into latin-1 (PEP 3333); a value may contain "/" (%2F),
        # which is why the key routes take the rest of the path, and non-ASCII UTF-8.
        try:
            return value.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return value

    def _key_field(self, sobject: SObject, name: str) -> Field:
        f = sobject.field(name)
        if f is None or not (f.external_id or f.name in ("Id", "Email")):
            raise HttpError(404, _NOT_FOUND, code="NOT_FOUND")
        return f

    def _multiple(self, sobject: SObject, version: str, rows: list[Any]) -> Response:
        return json_response(300, [f"/services/data/v{version}/sobjects/{sobject.name}/{row['Id']}" for row in rows])

    def by_key_get(self, request: Request, version: str, obj: str, fld: str, value: str) -> Response:
        version = self._version(version)
        value = self._path_value(value)
        sobject = self._sobject(obj)
        f = self._key_field(sobject, fld)
        rows = self.records.find_by(sobject, f, value)
        if not rows:
            raise HttpError(404, _NOT_FOUND, code="NOT_FOUND")
        if len(rows) > 1:
            return self._multiple(sobject, version, rows)
        return json_response(200, row_to_record(sobject, rows[0], version, self._selected_fields(request, sobject)))

    def by_key_upsert(self, request: Request, version: str, obj: str, fld: str, value: str) -> Response:
        version = self._version(version)
        value = self._path_value(value)
        sobject = self._sobject(obj)
        f = self._key_field(sobject, fld)
        body = self._body(request)
        if not isinstance(body, dict):
            raise HttpError(400, "Cannot deserialize instance of sObject from START_ARRAY", code="JSON_PARSER_ERROR")
        if f.name == "Id":
            raise HttpError(
                400, "Id is not a valid external id field for upsert; use POST or PATCH by id.", code="INVALID_FIELD"
            )
        given = next((v for k, v in body.items() if k.lower() == f.name.lower()), None)
        if given is not None and str(given) != value:
            return sf_error(
                400,
                "INVALID_FIELD",
                f"The value for {f.name} in the request body must match the value in the URL",
                [f.name],
            )
        rows = self.records.find_by(sobject, f, value)
        if len(rows) > 1:
            return self._multiple(sobject, version, rows)
        if request.arg("updateOnly") == "true" and not rows:
            raise HttpError(404, _NOT_FOUND, code="NOT_FOUND")
        try:
            result = self.records.upsert(sobject, f, [{**body, f.name: value}])[0]
        except RequestError as exc:
            self._raise(exc)
        if not result.success:
            return json_response(400, [error.rest() for error in result.errors])
        # Since API v46.0 an update through upsert answers 200 with created=false.
        return json_response(201 if result.created else 200, result.save_result(with_created=True))

    def by_key_delete(self, request: Request, version: str, obj: str, fld: str, value: str) -> Response:
        version = self._version(version)
        value = self._path_value(value)
        sobject = self._sobject(obj)
        f = self._key_field(sobject, fld)
        rows = self.records.find_by(sobject, f, value)
        if not rows:
            raise HttpError(404, _NOT_FOUND, code="NOT_FOUND")
        if len(rows) > 1:
            return self._multiple(sobject, version, rows)
        self.records.delete(sobject, [rows[0]["Id"]])
        return empty_response(204)

    # -- sObject Collections ----------------------------------------------------------------

    def _collection_body(self, request: Request) -> tuple[list[dict[str, Any]], bool]:
        body = self._body(request)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise HttpError(400, "Missing required field: records", code="JSON_PARSER_ERROR")
        records = body["records"]
        if len(records) > COLLECTION_LIMIT:
            raise HttpError(
                400,
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
                code="EXCEEDED_ID_LIMIT",
            )
        for record in records:
            if not isinstance(record, dict):
                raise HttpError(400, "Cannot deserialize instance of sObject", code="JSON_PARSER_ERROR")
        return records, bool(body.get("allOrNone", False))

    @staticmethod
    def _record_type(record: dict[str, Any]) -> str | None:
        attributes = record.get("attributes")
        if isinstance(attributes, dict) and attributes.get("type"):
            return str(attributes["type"])
        return None

    def _sole_type(self, records: list[dict[str, Any]], required_type: SObject | None) -> SObject | None:
        """The sObject of every record, when they all name the same valid one; else ``None``."""
        type_names = set(map(self._record_type, records))
        if len(type_names) != 1:
            return None
        (type_name,) = type_names
        sobject = required_type if type_name is None else get_object(type_name)
        return sobject if sobject is not None and required_type in (None, sobject) else None

    def _run_collection(
        self,
        request: Request,
        records: list[dict[str, Any]],
        all_or_none: bool,
        operation: Any,
        *,
        required_type: SObject | None = None,
    ) -> list[RecordResult]:
        """Group records by type, run ``operation(sobject, records, all_or_none)``, keep input order."""
        results: list[RecordResult | None] = [None] * len(records)
        locked = self._lock_fault_indexes(request, len(records))
        groups: dict[str, tuple[SObject, list[int]]] = {}
        # Per call, not per record: a collection rarely mixes more than a couple of types.
        resolved: dict[str | None, SObject | None] = {None: required_type}
        sole = None if locked else self._sole_type(records, required_type)
        if sole is not None:
            # The usual call: one valid type for all; the loop below would group every record.
            groups[sole.name] = (sole, list(range(len(records))))
        for index, record in enumerate(() if sole is not None else records):
            type_name = self._record_type(record)
            if type_name not in resolved:
                resolved[type_name] = get_object(type_name)  # type: ignore[arg-type]
            sobject = resolved[type_name]
            if type_name is None and required_type is None:
                results[index] = RecordResult(None, [RecordError("INVALID_TYPE", "Must send a concrete entity type.")])
                continue
            if sobject is None or (required_type is not None and sobject is not required_type):
                results[index] = RecordResult(
                    None, [RecordError("INVALID_TYPE", f"sObject type '{type_name}' is not supported.")]
                )
                continue
            if index in locked:
                results[index] = RecordResult(
                    None,
                    [
                        RecordError(
                            "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records"
                        )
                    ],
                )
                continue
            groups.setdefault(sobject.name, (sobject, []))[1].append(index)
        if all_or_none and any(r is not None for r in results):
            return self.records.roll_back_all([r or RecordResult(None) for r in results])
        try:
            with self.store.write():
                return self._run_groups(records, results, groups, all_or_none, operation)
        except RequestError as exc:
            raise HttpError(exc.status, exc.message, code=exc.code, fields=exc.fields) from None

    def _run_groups(
        self,
        records: list[dict[str, Any]],
        results: list[RecordResult | None],
        groups: dict[str, tuple[SObject, list[int]]],
        all_or_none: bool,
        operation: Any,
    ) -> list[RecordResult]:
        """Run ``operation`` per type, in one transaction; results land at their input index."""
        if all_or_none and len(groups) > 1:
            # One all-or-none over several types: validate every group before writing any.
            for sobject, indexes in groups.values():
                checked = operation(sobject, [records[i] for i in indexes], True, True)
                for i, result in zip(indexes, checked, strict=True):
                    results[i] = result
            if not all(r is not None and r.success for r in results):
                return self.records.roll_back_all([r or RecordResult(None) for r in results])
        if len(groups) == 1 and len(next(iter(groups.values()))[1]) == len(records):
            # The usual call: every record of one type, none refused up front.
            sobject = next(iter(groups.values()))[0]
            return operation(sobject, records, all_or_none, False)
        for sobject, indexes in groups.values():
            group_results = operation(sobject, [records[i] for i in indexes], all_or_none, False)
            for i, result in zip(indexes, group_results, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    def collections_create(self, request: Request, version: str) -> Response:
        self._version(version)
        records, all_or_none = self._collection_body(request)

        def create(sobject: SObject, batch: list[dict[str, Any]], aon: bool, dry_run: bool) -> list[RecordResult]:
            with_id = [i for i, record in enumerate(batch) if any(k.lower() == "id" and v for k, v in record.items())]
            if not with_id:
                return self.records.create(sobject, batch, all_or_none=aon, dry_run=dry_run)
            # An Id in an insert fails that record only (or everything with allOrNone).
            out: list[RecordResult | None] = [None] * len(batch)
            for i in with_id:
                out[i] = RecordResult(
                    None, [RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])]
                )
            if aon:
                return self.records.roll_back_all([r or RecordResult(None) for r in out])
            rest = [i for i in range(len(batch)) if out[i] is None]
            created = self.records.create(sobject, [batch[i] for i in rest], dry_run=dry_run)
            for i, result in zip(rest, created, strict=True):
                out[i] = result
            return [r for r in out if r is not None]

        results = self._run_collection(request, records, all_or_none, create)
        return Response(200, save_results_json(results))

    def collections_update(self, request: Request, version: str) -> Response:
        self._version(version)
        records, all_or_none = self._collection_body(request)

        def update(sobject: SObject, batch: list[dict[str, Any]], aon: bool, dry_run: bool) -> list[RecordResult]:
            return self.records.update(sobject, batch, all_or_none=aon, dry_run=dry_run)

        results = self._run_collection(request, records, all_or_none, update)
        return Response(200, save_results_json(results))

    def collections_upsert(self, request: Request, version: str, obj: str, fld: str) -> Response:
        self._version(version)
        sobject = self._sobject(obj)
        f = sobject.field(fld)
        if f is None or not (f.external_id or f.name in ("Id", "Email")):
            raise HttpError(
                400, f"Field {fld} is not a valid external id field on {sobject.name}", code="INVALID_FIELD"
            )
        records, all_or_none = self._collection_body(request)

        def upsert(target: SObject, batch: list[dict[str, Any]], aon: bool, dry_run: bool) -> list[RecordResult]:
            return self.records.upsert(target, f, batch, all_or_none=aon, dry_run=dry_run)

        results = self._run_collection(request, records, all_or_none, upsert, required_type=sobject)
        return Response(200, save_results_json(results, with_created=True))

    def collections_delete(self, request: Request, version: str) -> Response:
        self._version(version)
        raw_ids = request.args("ids")
        if not raw_ids:
            raise HttpError(400, "Required parameter ids is missing", code="MISSING_ARGUMENT")
        if len(raw_ids) > COLLECTION_LIMIT:
            raise HttpError(
                400,
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
                code="EXCEEDED_ID_LIMIT",
            )
        all_or_none = request.arg("allOrNone", "false") == "true"

        def delete(raw: str, dry_run: bool) -> RecordResult:
            normalized = ids.normalize(raw)
            name = ids.object_for_id(normalized) if normalized else None
            sobject = get_object(name) if name else None
            if sobject is None:
                return RecordResult(None, [RecordError("MALFORMED_ID", f"malformed id {raw}")])
            return self.records.delete(sobject, [raw], dry_run=dry_run)[0]

        if all_or_none:
            checked = [delete(raw, True) for raw in raw_ids]
            if not all(result.success for result in checked):
                return json_response(200, [r.save_result() for r in self.records.roll_back_all(checked)])
        return json_response(200, [delete(raw, False).save_result() for raw in raw_ids])

    def collections_retrieve(self, request: Request, version: str, obj: str) -> Response:
        version = self._version(version)
        sobject = self._sobject(obj)
        raw_ids = request.args("ids")
        fields = self._selected_fields(request, sobject)
        if not raw_ids or fields is None:
            raise HttpError(400, "Required parameters ids and fields are missing", code="MISSING_ARGUMENT")
        normalized = [ids.normalize(raw) for raw in raw_ids]
        rows = self.records.rows_by_ids(sobject, [i for i in normalized if i])
        out = []
        for record_id in normalized:
            row = rows.get(record_id) if record_id else None
            out.append(
                row_to_record(sobject, row, version, fields) if row is not None and not row["IsDeleted"] else None
            )
        return json_response(200, out)

    # -- query ------------------------------------------------------------------------------

    def _batch_size(self, request: Request) -> int:
        default = int(self.store.settings().get("query_batch_size") or 2000)
        options = request.header("Sforce-Query-Options") or ""
        for part in options.split(","):
            key, _sep, value = part.partition("=")
            if key.strip().lower() == "batchsize" and value.strip().isdigit():
                return max(200, min(2000, int(value.strip())))
        return default

    def query(self, request: Request, version: str, endpoint: str) -> Response:
        version = self._version(version)
        text = request.arg("q")
        if text is None:
            raise HttpError(400, "Query string parameter 'q' is required", code="MALFORMED_QUERY")
        try:
            parsed = soql.parse(text)
        except soql.SoqlError as exc:
            raise HttpError(400, exc.message, code=exc.code)
        include_deleted = endpoint == "queryAll"
        conn = self.store.read()
        sql, params = soql.compile_query(
            parsed, include_deleted=include_deleted, candidates=self.store.lookups.for_query(conn, parsed.sobject.name)
        )
        if parsed.count_only:
            count = conn.execute(f"SELECT COUNT(*) FROM ({sql})", params).fetchone()[0]
            return json_response(200, {"totalSize": count, "done": True, "records": []})
        matched = [row[0] for row in conn.execute(sql, params)]
        cursor = {
            "sobject": parsed.sobject,
            "fields": parsed.fields,
            "ids": matched,
            "batch": self._batch_size(request),
            "endpoint": endpoint,
        }
        return self._page(cursor, 0, version)

    def query_more(self, request: Request, version: str, endpoint: str, locator: str, position: str) -> Response:
        version = self._version(version)
        cursor = self.cursors.get(locator)
        if cursor is None or int(position) > len(cursor["ids"]):
            raise HttpError(400, "invalid query locator", code="INVALID_QUERY_LOCATOR")
        return self._page(cursor, int(position), version)

    def _page(self, cursor: dict[str, Any], start: int, version: str) -> Response:
        matched: list[str] = cursor["ids"]
        end = min(len(matched), start + cursor["batch"])
        page_ids = matched[start:end]
        rows = self.records.rows_by_ids(cursor["sobject"], page_ids)
        records = [row_to_record(cursor["sobject"], rows[i], version, cursor["fields"]) for i in page_ids if i in rows]
        body: dict[str, Any] = {"totalSize": len(matched), "done": end >= len(matched)}
        if end < len(matched):
            locator = cursor.get("locator") or self.cursors.add(cursor)
            cursor["locator"] = locator
            body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor['endpoint']}/{locator}-{end}"
        body["records"] = records
        return json_response(200, body)

    # -- Bulk API 2.0 -----------------------------------------------------------------------

    def _bulk(self, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except RequestError as exc:
            self._raise(exc)

    def bulk_create(self, request: Request, version: str) -> Response:
        version = self._version(version)
        return json_response(200, self._bulk(self.bulk.create_job, self._body(request), version))

    def bulk_list(self, request: Request, version: str) -> Response:
        return json_response(200, self.bulk.list_jobs(self._version(version)))

    def bulk_info(self, request: Request, version: str, job: str) -> Response:
        return json_response(200, self._bulk(self.bulk.job_info, job, self._version(version)))

    def bulk_state(self, request: Request, version: str, job: str) -> Response:
        version = self._version(version)
        body = self._body(request)
        state = body.get("state") if isinstance(body, dict) else None
        fault = request.state.get("fault")
        lock_every = None
        if fault is not None and fault.kind == UNABLE_TO_LOCK_ROW:
            lock_every = max(1, int(fault.params.get("every", 1)))
        try:
            info = self.bulk.set_state(job, state, version, lock_every=lock_every)
        except RequestError as exc:
            self._raise(exc)
        return json_response(200, info)

    def bulk_delete(self, request: Request, version: str, job: str) -> Response:
        self._version(version)
        self._bulk(self.bulk.delete_job, job)
        return empty_response(204)

    def bulk_upload(self, request: Request, version: str, job: str) -> Response:
        self._version(version)
        content_type = (request.header("Content-Type") or "").lower()
        if content_type and not content_type.startswith("text/csv"):
            raise HttpError(415, f"Unsupported content type: {content_type}; use text/csv", code="INVALIDBATCH")
        self._bulk(self.bulk.upload, job, request.body)
        return empty_response(201)

    def bulk_results(self, request: Request, version: str, job: str, which: str) -> Response:
        self._version(version)
        text = self._bulk(self.bulk.results, job, which)
        return text_response(200, text, content_type="text/csv")


def make_app(db_path: str | Path) -> SalesforceSandbox:
    """The WSGI app of the Salesforce sandbox keeping its state in ``db_path``."""
    return SalesforceSandbox(db_path)


def reset(db_path: str | Path) -> None:
    """Empty the sandbox stored at ``db_path`` (records, tokens, usage, jobs, settings)."""
    store = SalesforceStore(db_path)
    try:
        store.reset()
    finally:
        store.close()
