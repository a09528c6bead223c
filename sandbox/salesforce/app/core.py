"""The Salesforce sandbox as a WSGI app: its services, hooks, route table and control endpoints.

Hooks run in this order for every API route: fault injection (so an ``expired_session`` fault
wins over a valid token, as a real expiry does), authentication (``INVALID_SESSION_ID``), then
the daily API allowance (``REQUEST_LIMIT_EXCEEDED`` once exhausted). Every response under
``/services/data/vXX.X/`` carries ``Sforce-Limit-Info: api-usage=used/max``.
"""

from __future__ import annotations

import threading
import time
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
from sandbox.salesforce import assignment
from sandbox.salesforce.app.auth import OAuthHandlers
from sandbox.salesforce.app.bulk_query import BulkQueryHandlers
from sandbox.salesforce.app.common import V, render_error, sf_error
from sandbox.salesforce.app.composite import CompositeHandlers
from sandbox.salesforce.app.ingest import IngestHandlers
from sandbox.salesforce.app.lifecycle import LifecycleHandlers
from sandbox.salesforce.app.meta import MetaHandlers
from sandbox.salesforce.app.query import QueryCursors, QueryHandlers
from sandbox.salesforce.app.sobjects import SObjectHandlers
from sandbox.salesforce.bulk import BulkService
from sandbox.salesforce.oauth import TokenService
from sandbox.salesforce.records import ALLOW_DUPLICATE_SAVE, RecordService
from sandbox.salesforce.schema import OBJECTS
from sandbox.salesforce.store import SalesforceStore
from sandbox.wsgi import Request, Response, Router, json_response, text_response


class SalesforceSandbox:
    def __init__(self, db_path: str | Path) -> None:
        self.store = SalesforceStore(db_path)
        self.records = RecordService(self.store)
        self.bulk = BulkService(self.store, self.records)
        self.tokens = TokenService(self.store)
        self.cursors = QueryCursors()
        self.faults = FaultInjector()
        self.router = Router(error_renderer=render_error)
        # Handler time, summed server-side, for benchmarks (share of wall time in the emulator).
        self.handler_seconds = 0.0
        self.handler_cpu_seconds = 0.0
        self.handler_calls = 0
        self._timing_lock = threading.Lock()
        self.router.before.append(self.faults.hook(render=self._render_fault))
        self.router.before.append(self._authenticate)
        self.router.before.append(self._count_api_call)
        self.router.before.append(self._duplicate_rule_header)
        self.router.before.append(self._assignment_rule_header)
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

    def _assignment_rule_header(self, request: Request) -> Response | None:
        """``Sforce-Auto-Assign`` (see :mod:`sandbox.salesforce.assignment`) for the writes of this request."""
        try:
            assignment.AUTO_ASSIGN.set(assignment.from_header(self.store, request.header("Sforce-Auto-Assign")))
        except assignment.AssignmentError as exc:
            assignment.AUTO_ASSIGN.set(None)
            if request.method != "GET":
                return sf_error(400, exc.code, exc.message)
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

    # -- routes -----------------------------------------------------------------------------

    def _routes(self) -> None:
        meta = MetaHandlers(self.store)
        oauth = OAuthHandlers(self.tokens)
        sobjects = SObjectHandlers(self.store, self.records)
        composite = CompositeHandlers(self.store, self.records)
        query = QueryHandlers(self.store, self.records, self.cursors)
        ingest = IngestHandlers(self.bulk)
        lifecycle = LifecycleHandlers(self.store)
        bulk_query = BulkQueryHandlers(self.store, self.records)
        # First match wins: each specific path comes before the pattern that would also match it.
        r = self.router
        r.add("GET", r"/services/data/?", meta.versions, public=True)
        r.add("POST", r"/services/oauth2/token/?", oauth.oauth_token, public=True)
        r.add("POST", r"/services/oauth2/revoke/?", oauth.oauth_revoke, public=True)
        r.add("GET", r"/services/oauth2/authorize/?", oauth.oauth_authorize, public=True)
        r.add("GET", r"/services/oauth2/userinfo/?", oauth.userinfo)
        r.add("GET", r"/id/(?P<org>\w+)/(?P<user>\w+)/?", oauth.userinfo)
        r.add("GET", rf"{V}/?", meta.resources)
        r.add("GET", rf"{V}/limits/?", meta.limits)
        r.add("GET", rf"{V}/sobjects/?", sobjects.describe_global)
        r.add("GET", rf"{V}/sobjects/(?P<obj>\w+)/?", sobjects.sobject_basic)
        r.add("POST", rf"{V}/sobjects/(?P<obj>\w+)/?", sobjects.sobject_create)
        r.add("GET", rf"{V}/sobjects/(?P<obj>\w+)/describe/?", sobjects.sobject_describe)
        # Before the record route, which would read "deleted" as an id.
        r.add("GET", rf"{V}/sobjects/(?P<obj>\w+)/(?P<which>(?i:deleted|updated))/?", lifecycle.replicated)
        r.add("GET", rf"{V}/sobjects/(?P<obj>\w+)/(?P<rid>[^/]+)/?", sobjects.record_get)
        r.add("PATCH", rf"{V}/sobjects/(?P<obj>\w+)/(?P<rid>[^/]+)/?", sobjects.record_update)
        r.add("DELETE", rf"{V}/sobjects/(?P<obj>\w+)/(?P<rid>[^/]+)/?", sobjects.record_delete)
        r.add("GET", rf"{V}/sobjects/(?P<obj>\w+)/(?P<fld>\w+)/(?P<value>.+?)/?", sobjects.by_key_get)
        r.add("PATCH", rf"{V}/sobjects/(?P<obj>\w+)/(?P<fld>\w+)/(?P<value>.+?)/?", sobjects.by_key_upsert)
        r.add("POST", rf"{V}/sobjects/(?P<obj>\w+)/(?P<fld>\w+)/(?P<value>.+?)/?", sobjects.by_key_upsert)
        r.add("DELETE", rf"{V}/sobjects/(?P<obj>\w+)/(?P<fld>\w+)/(?P<value>.+?)/?", sobjects.by_key_delete)
        r.add("POST", rf"{V}/composite/sobjects/?", composite.collections_create)
        r.add("PATCH", rf"{V}/composite/sobjects/?", composite.collections_update)
        r.add("DELETE", rf"{V}/composite/sobjects/?", composite.collections_delete)
        r.add("GET", rf"{V}/composite/sobjects/(?P<obj>\w+)/?", composite.collections_retrieve)
        r.add("POST", rf"{V}/composite/sobjects/(?P<obj>\w+)/?", composite.collections_retrieve_post)
        r.add("PATCH", rf"{V}/composite/sobjects/(?P<obj>\w+)/(?P<fld>\w+)/?", composite.collections_upsert)
        r.add("GET", rf"{V}/(?P<endpoint>query|queryAll)/?", query.query)
        r.add("GET", rf"{V}/(?P<endpoint>query|queryAll)/(?P<locator>\w+)-(?P<position>\d+)/?", query.query_more)
        r.add("POST", rf"{V}/jobs/ingest/?", ingest.bulk_create)
        r.add("GET", rf"{V}/jobs/ingest/?", ingest.bulk_list)
        r.add("GET", rf"{V}/jobs/ingest/(?P<job>\w+)/?", ingest.bulk_info)
        r.add("PATCH", rf"{V}/jobs/ingest/(?P<job>\w+)/?", ingest.bulk_state)
        r.add("DELETE", rf"{V}/jobs/ingest/(?P<job>\w+)/?", ingest.bulk_delete)
        r.add("PUT", rf"{V}/jobs/ingest/(?P<job>\w+)/batches/?", ingest.bulk_upload)
        r.add(
            "GET",
            # Salesforce documents "unprocessedrecords"; clients (simple-salesforce) also send
            # "unprocessedRecords": resource names are matched case-insensitively.
            rf"{V}/jobs/ingest/(?P<job>\w+)/(?P<which>(?i:successfulResults|failedResults|unprocessedrecords))/?",
            ingest.bulk_results,
        )
        r.add("POST", rf"{V}/jobs/query/?", bulk_query.create)
        r.add("GET", rf"{V}/jobs/query/?", bulk_query.listing)
        r.add("GET", rf"{V}/jobs/query/(?P<job>\w+)/?", bulk_query.info)
        r.add("PATCH", rf"{V}/jobs/query/(?P<job>\w+)/?", bulk_query.abort)
        r.add("DELETE", rf"{V}/jobs/query/(?P<job>\w+)/?", bulk_query.delete)
        r.add("GET", rf"{V}/jobs/query/(?P<job>\w+)/results/?", bulk_query.results)
        r.add("GET", r"/_sandbox/settings/?", self.get_settings, public=True)
        r.add("POST", r"/_sandbox/settings/?", self.set_settings, public=True)
        r.add("POST", r"/_sandbox/sessions/expire/?", self.expire_sessions, public=True)
        r.add("POST", r"/_sandbox/users/?", lifecycle.user_add, public=True)
        r.add("PATCH", r"/_sandbox/users/(?P<user_id>\w+)/?", lifecycle.user_update, public=True)
        r.add("POST", r"/_sandbox/leads/(?P<lead_id>\w+)/convert/?", lifecycle.lead_convert, public=True)
        r.add("POST", r"/_sandbox/merge/?", lifecycle.records_merge, public=True)
        install_control_routes(r, self.faults, reset=self.reset, status=self.status)

    # -- control endpoints (no auth) --------------------------------------------------------

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
