"""The app's Salesforce client, over simple-salesforce (the only module, with clients/hubspot.py,
importing an API library).

One interface for a real org and for the sandbox emulator; they differ only in base URL,
credentials and (sandbox) the TLS certificate trusted. ``get_salesforce_client()`` builds it
from ``integration.models.SalesforceConnection`` and settings.

- Login: JWT bearer, client credentials, refresh token; username-password (OAuth password
  grant) only as legacy. simple-salesforce's own logins build ``https://<domain>.salesforce.com``
  URLs and SOAP calls, and it only refreshes sessions it logged in itself, so the client posts to
  the token endpoint itself and hands simple-salesforce the session id. On 401
  ``INVALID_SESSION_ID`` it logs in again (when it has credentials) and retries the call once.
- Writes: sObject Collections in chunks of 200 (``allOrNone=false``), per-record results in input
  order; Bulk API 2.0 for large sets, polled until done, results matched back to the input by key
  (external id, Id, or the row itself for inserts) because Salesforce does not keep input order.
- Reads: lookups by email in SOQL chunks that stay under the URI length limit, paged queries.
- Every HTTP call to the API is counted (``api_calls``) and ``Sforce-Limit-Info`` is read after
  each (``api_usage -> (used, max)``).

Errors: ``SalesforceTransientError`` (429, 5xx, ``UNABLE_TO_LOCK_ROW``, connection errors),
``SalesforceAuthError``, ``SalesforceLimitError`` (``REQUEST_LIMIT_EXCEEDED``), all
``SalesforceError``s, which are also the shared ``integration.clients.base`` errors the sync
engine catches.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import re
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, overload
from urllib.parse import quote

import requests
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as LibraryError
from simple_salesforce.util import exception_handler

from integration.clients.base import (
    ApiCallCounter,
    AuthError,
    ClientError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "59.0"
COLLECTION_SIZE = 200
# Salesforce refuses request URIs over 16,384 bytes; SOQL sent by GET must fit with the rest.
MAX_QUERY_URI_CHARS = 15_000
SANDBOX_TOKEN = "sandbox"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT"})
_RESULT_TYPES = ("successfulResults", "failedResults", "unprocessedrecords")
# The longest wait between two polls of a Bulk job that reports its progress.
BULK_MAX_POLL_SECONDS = 30.0

T = TypeVar("T")


# -- errors ----------------------------------------------------------------------------------


class SalesforceError(ClientError):
    """A Salesforce call failed; ``code`` is Salesforce's ``errorCode`` when it sent one."""


class SalesforceTransientError(SalesforceError, ServiceUnavailable):
    """Worth retrying later: 429, 5xx, ``UNABLE_TO_LOCK_ROW``, connection errors."""


class SalesforceAuthError(SalesforceError, AuthError):
    """Credentials refused or session invalid and no way to log in again."""


class SalesforceLimitError(SalesforceError, RateLimited):
    """``REQUEST_LIMIT_EXCEEDED``: the org's API allowance is spent."""


class SalesforceNotFound(SalesforceError, NotFound):
    pass


class SalesforceRequestError(SalesforceError, ValidationFailed):
    """Salesforce refused the request itself (malformed query, bad field, too many records)."""


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordError:
    """One error of one record: ``status_code`` is Salesforce's code (``REQUIRED_FIELD_MISSING``...)."""

    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)


@dataclass
class RecordResult:
    id: str | None
    success: bool
    errors: list[RecordError] = field(default_factory=list)
    created: bool | None = None

    @property
    def error_code(self) -> str | None:
        return self.errors[0].status_code if self.errors else None


@dataclass(frozen=True)
class EmailMatch:
    object: str
    id: str
    email: str
    last_modified: str | None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Credentials:
    """How to obtain an access token. ``method``: jwt, client_credentials, refresh_token,
    password, or token (a fixed access token: nothing to log in with)."""

    method: str
    login_url: str = "https://login.salesforce.com"
    client_id: str = ""
    client_secret: str = ""
    username: str = ""
    password: str = ""
    private_key: str = ""
    refresh_token: str = ""
    access_token: str = ""
    audience: str = ""


def _record_error(data: dict[str, Any]) -> RecordError:
    return RecordError(
        status_code=str(data.get("statusCode") or data.get("errorCode") or "UNKNOWN"),
        message=str(data.get("message") or ""),
        fields=list(data.get("fields") or []),
    )


def _save_result(data: dict[str, Any]) -> RecordResult:
    return RecordResult(
        id=data.get("id"),
        success=bool(data.get("success")),
        errors=[_record_error(e) for e in data.get("errors") or []],
        created=data.get("created"),
    )


def _parse_bulk_error(text: str) -> list[RecordError]:
    """``sf__Error`` is ``CODE:message:field,field --`` (several separated by `` --``)."""
    errors = []
    for part in [p.strip() for p in text.split(" --") if p.strip()]:
        code, _sep, rest = part.partition(":")
        message, _sep, fields = rest.rpartition(":")
        if not _sep:
            message, fields = rest, ""
        errors.append(RecordError(code.strip(), message.strip(), [f for f in fields.split(",") if f.strip()]))
    return errors or [RecordError("UNKNOWN", text)]


def soql_quote(value: str) -> str:
    """A SOQL string literal (quotes and backslashes escaped)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def soql_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("Salesforce datetimes must be timezone-aware.")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- logins ----------------------------------------------------------------------------------


def request_token(credentials: Credentials, session: requests.Session, timeout: float = 30) -> tuple[str, str]:
    """Obtain ``(access_token, instance_url)`` from the org's OAuth token endpoint."""
    method = credentials.method
    base = credentials.login_url.rstrip("/")
    data: dict[str, str]
    auth = None
    if method == "jwt":
        import jwt

        claims = {
            "iss": credentials.client_id,
            "sub": credentials.username,
            "aud": credentials.audience or base,
            "exp": int(time.time()) + 180,
        }
        try:
            assertion = jwt.encode(claims, credentials.private_key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            # The library's message may quote key material: never pass it on.
            raise SalesforceAuthError(
                _("The private key could not sign the JWT (%(kind)s).") % {"kind": type(exc).__name__}
            ) from None
        data = {"grant_type": JWT_GRANT, "assertion": assertion}
    elif method == "client_credentials":
        data = {"grant_type": "client_credentials"}
        auth = (credentials.client_id, credentials.client_secret)
    elif method == "refresh_token":
        data = {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token}
        if credentials.client_id:
            data["client_id"] = credentials.client_id
        if credentials.client_secret:
            data["client_secret"] = credentials.client_secret
    elif method == "password":
        data = {
            "grant_type": "password",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "username": credentials.username,
            "password": credentials.password,
        }
    else:
        raise SalesforceAuthError(_("No way to log in with the “%(method)s” method.") % {"method": method})
    try:
        response = session.post(
            base + "/services/oauth2/token",
            data=data,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise SalesforceTransientError(
            _("Could not reach the Salesforce token endpoint (%(kind)s).") % {"kind": type(exc).__name__}
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500:
        raise SalesforceTransientError(
            _("The token endpoint answered HTTP %(status)s.") % {"status": response.status_code},
            status=response.status_code,
        )
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        error = body.get("error", "") if isinstance(body, dict) else ""
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        raise SalesforceAuthError(
            (
                _("Salesforce refused the login (%(error)s): %(description)s")
                % {"error": error or response.status_code, "description": description}
            ).strip(),
            status=response.status_code,
            code=error,
            body=body,
        )
    return body["access_token"], (body.get("instance_url") or "").rstrip("/")


# -- client ----------------------------------------------------------------------------------


class SalesforceClient:
    """Thread-safe enough for one sync run: the counter is locked; logins are serialised."""

    def __init__(
        self,
        *,
        instance_url: str,
        access_token: str = "",
        credentials: Credentials | None = None,
        api_version: str = DEFAULT_API_VERSION,
        session: requests.Session | None = None,
        timeout: float = 60,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        bulk_poll_interval: float = 0.5,
        bulk_timeout: float = 3600,
        on_token: Callable[[str, str], None] | None = None,
    ) -> None:
        self.instance_url = instance_url.rstrip("/")
        self.api_version = api_version
        self.session = session or requests.Session()
        self.credentials = credentials
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.bulk_poll_interval = bulk_poll_interval
        self.bulk_timeout = bulk_timeout
        self.on_token = on_token
        # Called with (job id, True) when a Bulk job is created and (job id, False) once its
        # results are read: the sync engine records open jobs so a restart can wait for them.
        self.on_bulk_job: Callable[[str, bool], None] | None = None
        self.api_calls = ApiCallCounter()
        self.logins = 0
        self._usage: tuple[int, int] | None = None
        # Records a second of the last Bulk job that completed: when to poll the next one first.
        self._bulk_pace: float | None = None
        self._login_lock = threading.Lock()
        self._sf: Salesforce | None = None
        self.session.hooks.setdefault("response", []).append(self._observe)
        if access_token:
            self._connect(access_token, self.instance_url)

    # -- plumbing ---------------------------------------------------------------------------

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Counts every API call (whoever made it on this session) and reads the usage header."""
        if "/services/data/" not in (response.request.url or ""):
            return
        self.api_calls.increment()
        info = response.headers.get("Sforce-Limit-Info")
        if info:
            match = re.search(r"api-usage=(\d+)/(\d+)", info)
            if match:
                self._usage = (int(match.group(1)), int(match.group(2)))

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """``(used, max)`` of the org's daily API requests, from the last response seen."""
        return self._usage

    def _connect(self, token: str, instance_url: str) -> None:
        self._sf = Salesforce(
            instance_url=instance_url,
            session_id=token,
            session=self.session,
            version=self.api_version,
            object_pairs_hook=dict,
        )
        self.instance_url = instance_url

    def login(self) -> None:
        """Obtain a new access token with the configured credentials."""
        if self.credentials is None or self.credentials.method == "token":
            raise SalesforceAuthError(
                _("The Salesforce session is invalid and there are no credentials to log in again.")
            )
        with self._login_lock:
            token, instance_url = request_token(self.credentials, self.session, self.timeout)
            self.logins += 1
            self._connect(token, instance_url or self.instance_url)
        if self.on_token is not None:
            self.on_token(token, self.instance_url)

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce connection (logging in first when there is no token yet)."""
        if self._sf is None:
            self.login()
        assert self._sf is not None
        return self._sf

    def _can_login(self) -> bool:
        return self.credentials is not None and self.credentials.method != "token"

    def _call(self, fn: Callable[[Salesforce], T], *, idempotent: bool = True) -> T:
        """Run one API call: re-login once on INVALID_SESSION_ID, retry transient failures of
        idempotent calls, translate errors."""
        relogged = False
        attempt = 0
        while True:
            try:
                return fn(self.sf)
            except LibraryError as exc:
                error = self._translate(exc)
            except requests.RequestException as exc:
                error = SalesforceTransientError(
                    _("Salesforce did not answer (%(kind)s): %(error)s") % {"kind": type(exc).__name__, "error": exc}
                )
            expired = isinstance(error, SalesforceAuthError) and error.code == "INVALID_SESSION_ID"
            if expired and not relogged and self._can_login():
                relogged = True
                self.login()
                continue
            if isinstance(error, SalesforceTransientError) and idempotent and attempt < self.max_retries:
                attempt += 1
                time.sleep(self.retry_backoff * (2 ** (attempt - 1)))
                continue
            raise error

    @staticmethod
    def _translate(exc: LibraryError) -> SalesforceError:
        status = int(getattr(exc, "status", 0) or 0)
        content = getattr(exc, "content", None)
        code, message = "", ""
        if isinstance(content, list) and content and isinstance(content[0], dict):
            code = str(content[0].get("errorCode") or "")
            message = str(content[0].get("message") or "")
        elif isinstance(content, dict):
            code = str(content.get("errorCode") or content.get("error") or "")
            message = str(content.get("message") or content.get("error_description") or "")
        message = message or (content if isinstance(content, str) else "") or f"HTTP {status}"
        kwargs = {"status": status, "code": code, "body": content}
        if code == "REQUEST_LIMIT_EXCEEDED":
            return SalesforceLimitError(message, **kwargs)
        if status == 401 or code == "INVALID_SESSION_ID":
            return SalesforceAuthError(message, **kwargs)
        if status == 429 or status >= 500 or code in TRANSIENT_CODES:
            return SalesforceTransientError(message, **kwargs)
        if status == 403:
            return SalesforceAuthError(message, **kwargs)
        if status == 404:
            return SalesforceNotFound(message, **kwargs)
        if 400 <= status < 500:
            return SalesforceRequestError(message, **kwargs)
        return SalesforceError(message, **kwargs)

    def _raw(self, method: str, path: str, **kwargs: Any) -> Callable[[Salesforce], requests.Response]:
        """A call outside simple-salesforce's JSON helpers (CSV uploads and downloads)."""

        extra_headers = kwargs.pop("headers", {})

        def call(sf: Salesforce) -> requests.Response:
            headers = {**sf.headers, **extra_headers}
            response = sf.session.request(method, sf.base_url + path, headers=headers, timeout=self.timeout, **kwargs)
            if response.status_code >= 300:
                exception_handler(response, name=path)
            return response

        return call

    def _json(self, method: str, path: str, body: Any = None, *, idempotent: bool = True) -> Any:
        data = json.dumps(body) if body is not None else None
        return self._call(
            lambda sf: sf.restful(path, method=method, data=data, timeout=self.timeout), idempotent=idempotent
        )

    # -- metadata ---------------------------------------------------------------------------

    def limits(self) -> dict[str, Any]:
        return self._call(lambda sf: sf.limits(timeout=self.timeout))

    def describe(self, object_name: str) -> dict[str, Any]:
        return self._json("GET", f"sobjects/{quote(object_name)}/describe")

    # -- collections ------------------------------------------------------------------------

    def _collection(
        self, method: str, path: str, object_name: str, records: Sequence[dict[str, Any]], *, idempotent: bool
    ) -> list[RecordResult]:
        results: list[RecordResult] = []
        for chunk in _chunks(records, COLLECTION_SIZE):
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": object_name}, **record} for record in chunk],
            }
            answer = self._json(method, path, body, idempotent=idempotent) or []
            if len(answer) != len(chunk):
                raise SalesforceError(
                    _("Salesforce answered %(results)s results for %(records)s records.")
                    % {"results": len(answer), "records": len(chunk)}
                )
            results.extend(_save_result(item) for item in answer)
        return results

    def collections_create(self, object_name: str, records: Sequence[dict[str, Any]]) -> list[RecordResult]:
        """Create records 200 at a time; one result per record, in input order.

        Not retried on a transient failure: the first attempt may have created the records."""
        return self._collection("POST", "composite/sobjects", object_name, records, idempotent=False)

    def collections_update(self, object_name: str, records: Sequence[dict[str, Any]]) -> list[RecordResult]:
        """Update records (each with ``Id``) 200 at a time; results in input order."""
        return self._collection("PATCH", "composite/sobjects", object_name, records, idempotent=True)

    def collections_upsert(
        self, object_name: str, external_id_field: str, records: Sequence[dict[str, Any]]
    ) -> list[RecordResult]:
        """Upsert by an external-id field 200 at a time; results (with ``created``) in input order."""
        path = f"composite/sobjects/{quote(object_name)}/{quote(external_id_field)}"
        return self._collection("PATCH", path, object_name, records, idempotent=True)

    def upsert(self, object_name: str, external_id_field: str, value: str, data: dict[str, Any]) -> RecordResult:
        """Upsert one record by external id (the value is URL-encoded: emails hold ``+`` and ``/``)."""
        path = f"sobjects/{quote(object_name)}/{quote(external_id_field)}/{quote(value, safe='')}"
        answer = self._json("PATCH", path, data) or {}
        return _save_result(answer)

    # -- queries ----------------------------------------------------------------------------

    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every record of a SOQL query, following ``nextRecordsUrl``; ``attributes`` removed."""
        page = self._call(lambda sf: sf.query(soql, timeout=self.timeout))
        while True:
            for record in page.get("records", []):
                record.pop("attributes", None)
                yield record
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call(lambda sf, url=next_url: sf.query_more(url, identifier_is_url=True, timeout=self.timeout))

    def count(self, soql: str) -> int:
        """``totalSize`` of a ``SELECT COUNT() ...`` query (one call)."""
        return int(self._call(lambda sf: sf.query(soql, timeout=self.timeout)).get("totalSize") or 0)

    def _email_chunks(self, prefix: str, emails: Sequence[str]) -> Iterator[list[str]]:
        chunk: list[str] = []
        length = len(quote(prefix))
        for email in emails:
            # The query travels URL-encoded in a GET: measure what will actually be sent.
            cost = len(quote(soql_quote(email), safe="")) + 3
            if chunk and length + cost > MAX_QUERY_URI_CHARS:
                yield chunk
                chunk, length = [], len(quote(prefix))
            chunk.append(email)
            length += cost
        if chunk:
            yield chunk

    def find_by_emails(
        self,
        emails: Iterable[str],
        objects: Sequence[str] = ("Lead", "Contact"),
        fields: Sequence[str] = (),
    ) -> dict[str, list[EmailMatch]]:
        """``{lower-case email: [matches]}`` over Leads (not converted) and Contacts.

        Salesforce compares emails case-insensitively in SOQL, so one lower-case value finds
        ``Jane@X.com`` too. ``fields`` adds values to each match (``EmailMatch.fields``)."""
        wanted = sorted({e.strip().lower() for e in emails if e and e.strip()})
        found: dict[str, list[EmailMatch]] = defaultdict(list)
        if not wanted:
            return found
        for object_name in objects:
            extra = [f for f in fields if f not in ("Id", "Email", "LastModifiedDate")]
            select = ", ".join(["Id", "Email", "LastModifiedDate", *extra])
            condition = " AND IsConverted = false" if object_name == "Lead" else ""
            prefix = f"SELECT {select} FROM {object_name} WHERE Email IN ()" + condition
            for chunk in self._email_chunks(prefix, wanted):
                in_list = ", ".join(soql_quote(e) for e in chunk)
                soql = f"SELECT {select} FROM {object_name} WHERE Email IN ({in_list}){condition}"
                for record in self.query(soql):
                    email = str(record.get("Email") or "")
                    found[email.lower()].append(
                        EmailMatch(
                            object=object_name,
                            id=record["Id"],
                            email=email,
                            last_modified=record.get("LastModifiedDate"),
                            fields={k: v for k, v in record.items() if k in extra},
                        )
                    )
        return found

    def query_modified_since(
        self, object_name: str, since: datetime, fields: Sequence[str]
    ) -> Iterator[dict[str, Any]]:
        """Records of ``object_name`` modified at or after ``since``, oldest first, paged."""
        select = list(dict.fromkeys(["Id", *fields, "LastModifiedDate"]))
        soql = (
            f"SELECT {', '.join(select)} FROM {object_name} "
            f"WHERE LastModifiedDate >= {soql_datetime(since)} ORDER BY LastModifiedDate ASC, Id ASC"
        )
        return self.query(soql)

    # -- Bulk API 2.0 -----------------------------------------------------------------------

    def bulk_insert(self, object_name: str, records: Sequence[dict[str, Any]]) -> Sequence[RecordResult]:
        return self._bulk("insert", object_name, records, None)

    def bulk_update(self, object_name: str, records: Sequence[dict[str, Any]]) -> Sequence[RecordResult]:
        return self._bulk("update", object_name, records, None)

    def bulk_upsert(
        self, object_name: str, records: Sequence[dict[str, Any]], external_id_field: str | None = None
    ) -> Sequence[RecordResult]:
        if not external_id_field:
            raise ValueError("A Bulk API upsert needs the external id field.")
        return self._bulk("upsert", object_name, records, external_id_field)

    def _bulk(
        self, operation: str, object_name: str, records: Sequence[dict[str, Any]], external_id_field: str | None
    ) -> Sequence[RecordResult]:
        if not records:
            return BulkResults(0)
        columns = list(dict.fromkeys(key for record in records for key in record))
        with BulkUpload(operation, columns, external_id_field) as upload:
            for record in records:
                upload.add(record)
            return self.bulk_run(object_name, upload)

    def bulk_run(self, object_name: str, upload: BulkUpload) -> Sequence[RecordResult]:
        """Run one Bulk API 2.0 ingest job with the rows of ``upload``; one result per row, in
        the order the rows were added (Salesforce does not keep it: results are matched by key).
        The CSV is streamed from its file and the result files are read as they arrive."""
        if not len(upload):
            return BulkResults(0)
        job_body: dict[str, Any] = {
            "object": object_name,
            "operation": upload.operation,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if upload.external_id_field:
            job_body["externalIdFieldName"] = upload.external_id_field
        # Creating a job is not retried blindly (a retry would leave an orphan Open job); the rest is.
        job = self._json("POST", "jobs/ingest", job_body, idempotent=False)
        job_id = job["id"]
        self._bulk_job_event(job_id, True)
        try:
            self._call(self._upload(job_id, upload), idempotent=False)
            self._json("PATCH", f"jobs/ingest/{job_id}", {"state": "UploadComplete"}, idempotent=False)
        except SalesforceError:
            if self._abort_quietly(job_id):
                self._bulk_job_event(job_id, False)
            raise
        # A failure while polling leaves the job "open" for the caller: it may still complete.
        info = self._wait_for_job(job_id, len(upload))
        if info.get("state") != "JobComplete":
            self._bulk_job_event(job_id, False)
            raise SalesforceError(
                (
                    _("Bulk job %(job)s ended %(state)s: %(message)s")
                    % {"job": job_id, "state": info.get("state"), "message": info.get("errorMessage") or ""}
                ).strip(),
                code=str(info.get("state")),
                body=info,
            )
        results = self._match_results(job_id, upload, info)
        self._bulk_job_event(job_id, False)
        return results

    def _upload(self, job_id: str, upload: BulkUpload) -> Callable[[Salesforce], requests.Response]:
        def call(sf: Salesforce) -> requests.Response:
            # From the start of the file on every attempt (a re-login retries the call).
            return self._raw(
                "PUT",
                f"jobs/ingest/{job_id}/batches",
                data=upload.body(),
                headers={"Content-Type": "text/csv", "Accept": "application/json"},
            )(sf)

        return call

    def _bulk_job_event(self, job_id: str, opened: bool) -> None:
        if self.on_bulk_job is not None:
            self.on_bulk_job(job_id, opened)

    def bulk_wait(self, job_id: str) -> dict[str, Any]:
        """Let a Bulk job submitted earlier (perhaps by a process that died) come to an end.

        A job still ``Open`` never received all its data: it is aborted (nothing of it was
        processed). A job being processed is polled until it ends. Returns the final job info."""
        info = self._json("GET", f"jobs/ingest/{job_id}")
        if info.get("state") == "Open":
            self._abort_quietly(job_id)
            info = self._json("GET", f"jobs/ingest/{job_id}")
        elif info.get("state") not in ("JobComplete", "Failed", "Aborted"):
            info = self._wait_for_job(job_id)
        return info

    def _abort_quietly(self, job_id: str) -> bool:
        try:
            self._json("PATCH", f"jobs/ingest/{job_id}", {"state": "Aborted"}, idempotent=False)
        except SalesforceError as exc:
            logger.warning("Could not abort Bulk job %s: %s", job_id, exc)
            return False
        return True

    def _wait_for_job(self, job_id: str, records: int | None = None) -> dict[str, Any]:
        """Poll the job until it ends. Knowing how many ``records`` it has, the first poll waits
        for what the previous job's pace says this one needs (or ``bulk_poll_interval``), and the
        next ones come when the job should be done at the pace it reports
        (``numberRecordsProcessed``), so a long job costs a few polls. Otherwise the wait grows
        by half each time, up to 10 s."""
        started = time.monotonic()
        deadline = started + self.bulk_timeout
        delay = self.bulk_poll_interval
        if records:
            expected = 1.1 * records / self._bulk_pace if self._bulk_pace else delay
            time.sleep(self._poll_delay(expected))
        while True:
            info = self._json("GET", f"jobs/ingest/{job_id}")
            now = time.monotonic()
            if info.get("state") in ("JobComplete", "Failed", "Aborted"):
                if records and info.get("state") == "JobComplete" and now > started:
                    # An upper bound of the time it took: the pace is underestimated, if anything.
                    self._bulk_pace = records / (now - started)
                return info
            if now > deadline:
                raise SalesforceTransientError(
                    _("Bulk job %(job)s still %(state)s after %(seconds)s s.")
                    % {"job": job_id, "state": info.get("state"), "seconds": self.bulk_timeout}
                )
            processed = int(info.get("numberRecordsProcessed") or 0)
            if records and processed and now > started:
                rate = processed / (now - started)
                delay = self._poll_delay(1.1 * (records - processed) / rate)
            else:
                delay = min(delay * 1.5, 10.0)
            time.sleep(delay)

    def _poll_delay(self, seconds: float) -> float:
        """A wait before the next poll: ``seconds``, within ``bulk_poll_interval`` and 30 s."""
        return max(self.bulk_poll_interval, min(BULK_MAX_POLL_SECONDS, seconds))

    def _results_rows(self, job_id: str, which: str) -> Iterator[dict[str, str]]:
        """The rows of one result file, parsed as they download (a job's results can be large)."""
        response = self._call(
            self._raw("GET", f"jobs/ingest/{job_id}/{which}", headers={"Accept": "text/csv"}, stream=True),
        )
        try:
            response.raw.decode_content = True
            # Otherwise the stream reports itself closed once read to the end, and the text
            # wrapper raises instead of seeing the end of the file.
            response.raw.auto_close = False
            yield from csv.DictReader(io.TextIOWrapper(response.raw, encoding="utf-8-sig", newline=""))
        finally:
            response.close()

    def _match_results(self, job_id: str, upload: BulkUpload, info: dict[str, Any] | None = None) -> BulkResults:
        """Results by input position, matched on the upload's key of each row."""
        results = BulkResults(len(upload))
        info = info or {}
        processed = int(info.get("numberRecordsProcessed") or 0)
        failed = int(info.get("numberRecordsFailed") or 0)
        for which in _RESULT_TYPES:
            # The job's counts say which result sets are empty: no call for those.
            if info and which == "failedResults" and failed == 0:
                continue
            if info and which == "successfulResults" and processed - failed == 0:
                continue
            if info and which == "unprocessedrecords" and processed >= len(upload):
                continue
            for item in self._results_rows(job_id, which):
                index = upload.take(item)
                if index is None:
                    logger.warning("Bulk job %s: a %s row matches no input record.", job_id, which)
                elif which == "successfulResults":
                    results.succeeded(
                        index, item.get("sf__Id") or None, (item.get("sf__Created") or "").lower() == "true"
                    )
                elif which == "failedResults":
                    results.failed(index, item.get("sf__Id") or None, _parse_bulk_error(item.get("sf__Error") or ""))
                else:
                    results.failed(
                        index,
                        None,
                        [RecordError("UNPROCESSED", _("The Bulk job ended before processing this record."))],
                    )
        return results


class BulkResults(Sequence[RecordResult]):
    """A Bulk job's results by input position, stored compactly (an id and a byte per record;
    errors for the failed ones only): a job of 100,000 records keeps a few megabytes, and each
    ``RecordResult`` is built when read."""

    _MISSING, _SUCCESS, _CREATED, _FAILED = 0, 1, 2, 3

    def __init__(self, count: int) -> None:
        self._ids: list[str | None] = [None] * count
        self._states = bytearray(count)
        self._errors: dict[int, list[RecordError]] = {}

    def succeeded(self, index: int, record_id: str | None, created: bool) -> None:
        self._ids[index] = record_id
        self._states[index] = self._CREATED if created else self._SUCCESS

    def failed(self, index: int, record_id: str | None, errors: list[RecordError]) -> None:
        self._ids[index] = record_id
        self._states[index] = self._FAILED
        self._errors[index] = errors

    def __len__(self) -> int:
        return len(self._states)

    def _result(self, index: int) -> RecordResult:
        state = self._states[index]
        if state in (self._SUCCESS, self._CREATED):
            return RecordResult(id=self._ids[index], success=True, created=state == self._CREATED)
        if state == self._FAILED:
            return RecordResult(id=self._ids[index], success=False, errors=self._errors[index])
        missing = RecordError("UNPROCESSED", _("Salesforce returned no result for this record."))
        return RecordResult(None, False, [missing])

    @overload
    def __getitem__(self, index: int) -> RecordResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[RecordResult]: ...

    def __getitem__(self, index: int | slice) -> RecordResult | list[RecordResult]:
        if isinstance(index, slice):
            return [self._result(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._result(index)


class BulkUpload:
    """The CSV of one Bulk API 2.0 ingest job, written row by row to an unnamed temporary file.

    Only a match key per row stays in memory (the external id for an upsert, the Id for an
    update, a digest of the whole row for an insert: there is nothing else to match on, and
    identical rows are interchangeable), so a job of 100,000 rows costs a few megabytes.
    ``columns`` are every field the rows may have, known before the first row.
    """

    def __init__(self, operation: str, columns: Sequence[str], external_id_field: str | None = None) -> None:
        self.operation = operation
        self.columns = list(columns)
        self.external_id_field = external_id_field
        if operation == "upsert":
            key_columns = [c for c in self.columns if c.lower() == (external_id_field or "").lower()]
        elif operation == "update":
            key_columns = [c for c in self.columns if c.lower() == "id"]
        else:
            key_columns = list(self.columns)
        self._key_columns = key_columns
        self._key_indexes = [self.columns.index(c) for c in key_columns]
        self._file = tempfile.TemporaryFile("w+b")  # noqa: SIM115 - closed by close() and __exit__
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="", write_through=True)
        self._writer = csv.writer(self._text, lineterminator="\n")
        self._writer.writerow(self.columns)
        # key -> the row's position, or the positions of identical keys in input order.
        self._positions: dict[Any, int | deque[int]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __enter__(self) -> BulkUpload:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._text.close()

    @staticmethod
    def csv_value(value: Any) -> str:
        if value is None:
            return "#N/A"  # Bulk API: #N/A sets null; an empty cell would leave the field unchanged.
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime):
            return soql_datetime(value)
        return str(value)

    def _key(self, picked: list[str]) -> Any:
        if self.operation == "upsert":
            # External ids compare case-insensitively.
            return picked[0].lower() if len(picked) == 1 else tuple(p.lower() for p in picked)
        if self.operation == "update":
            return picked[0][:15] if len(picked) == 1 else tuple(p[:15] for p in picked)  # 15 or 18 characters
        return hashlib.blake2b("\x1f".join(picked).encode("utf-8"), digest_size=16).digest()

    def add(self, record: dict[str, Any]) -> int:
        """Append one record; returns its position (the index of its result)."""
        unknown = set(record) - set(self.columns)
        if unknown:
            raise ValueError(f"Fields not among the upload's columns: {sorted(unknown)}")
        row = [self.csv_value(record[c]) if c in record else "" for c in self.columns]
        self._writer.writerow(row)
        position = self._count
        self._count += 1
        key = self._key([row[i] for i in self._key_indexes])
        known = self._positions.get(key)
        if known is None:
            self._positions[key] = position
        elif isinstance(known, deque):
            known.append(position)
        else:
            self._positions[key] = deque([known, position])
        return position

    def take(self, result_row: dict[str, str]) -> int | None:
        """The position of the input row a result row answers (each position is taken once)."""
        key = self._key([result_row.get(c, "") for c in self._key_columns])
        known = self._positions.get(key)
        if known is None:
            return None
        if isinstance(known, deque):
            position = known.popleft()
            if not known:
                del self._positions[key]
            return position
        del self._positions[key]
        return known

    def body(self) -> BinaryIO:
        """The CSV file, rewound, for ``requests`` to stream (it sends its length)."""
        self._text.flush()
        self._file.seek(0)
        return self._file


# -- factory ---------------------------------------------------------------------------------


def sandbox_certificate() -> Path:
    """The sandbox emulator's self-signed certificate (setting ``SANDBOX_SALESFORCE_CERT``)."""
    from django.conf import settings

    return Path(settings.SANDBOX_SALESFORCE_CERT)


class _PinnedCertificateAdapter(HTTPAdapter):
    """Verifies every https request against one certificate file.

    ``session.verify`` alone is not enough: ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``) in the
    environment overrides it (psf/requests#3829); the adapter sees the final ``verify``.
    """

    def __init__(self, cafile: str) -> None:
        super().__init__()
        self.cafile = cafile

    def send(self, request: Any, **kwargs: Any) -> Any:
        kwargs["verify"] = self.cafile
        return super().send(request, **kwargs)


def sandbox_session(cert_path: str | Path) -> requests.Session:
    """A session that trusts the sandbox certificate (and only adds that)."""
    session = requests.Session()
    session.verify = str(cert_path)
    session.mount("https://", _PinnedCertificateAdapter(str(cert_path)))
    return session


def get_salesforce_client(*, session: requests.Session | None = None) -> SalesforceClient:
    """The configured client: the sandbox emulator or a real org, per ``SalesforceConnection``."""
    from django.conf import settings

    from integration.models import SalesforceConnection

    connection = SalesforceConnection.load()
    version = connection.api_version or getattr(settings, "SALESFORCE_API_VERSION", DEFAULT_API_VERSION)
    # With SANDBOX=false the emulator is never used: a deployment configured only through the
    # SALESFORCE_* environment reaches its org without touching the connection page.
    if settings.SANDBOX and connection.environment == SalesforceConnection.Environment.SANDBOX_EMULATOR:
        instance_url = connection.instance_url or settings.SANDBOX_SALESFORCE_URL
        session = session or sandbox_session(sandbox_certificate())
        token = connection.access_token or SANDBOX_TOKEN
        credentials = _credentials(connection, instance_url)
        if credentials.method == "token":
            # The sandbox always accepts its own token: "logging in again" is using it again.
            credentials = Credentials(method="refresh_token", login_url=instance_url, refresh_token=SANDBOX_TOKEN)
        return SalesforceClient(
            instance_url=instance_url,
            access_token=token,
            credentials=credentials,
            api_version=version,
            session=session,
            on_token=_token_saver(),
        )
    instance_url = connection.instance_url or settings.SALESFORCE_INSTANCE_URL
    credentials = _credentials(connection, connection.login_url or settings.SALESFORCE_LOGIN_URL)
    if not instance_url and credentials.method == "token":
        raise SalesforceAuthError(_("Salesforce is not connected: no instance URL and no credentials."))
    if credentials.method == "token" and not connection.access_token:
        raise SalesforceAuthError(_("Salesforce is not connected: no access token."))
    return SalesforceClient(
        instance_url=instance_url or credentials.login_url,
        access_token=connection.access_token,
        credentials=credentials,
        api_version=version,
        session=session,
        on_token=_token_saver(),
    )


def _credentials(connection: Any, login_url: str) -> Credentials:
    from django.conf import settings

    from integration.models import SalesforceConnection

    Method = SalesforceConnection.AuthMethod
    client_id = connection.client_id or settings.SALESFORCE_CLIENT_ID
    client_secret = connection.client_secret or settings.SALESFORCE_CLIENT_SECRET
    username = connection.username or settings.SALESFORCE_USERNAME
    login_url = login_url.rstrip("/")
    method = connection.auth_method
    if not connection.client_id and settings.SALESFORCE_AUTH_METHOD:
        method = settings.SALESFORCE_AUTH_METHOD  # configured by the environment alone
    if method == Method.JWT:
        private_key = connection.private_key
        if not private_key and settings.SALESFORCE_PRIVATE_KEY_FILE:
            private_key = Path(settings.SALESFORCE_PRIVATE_KEY_FILE).read_text()
        return Credentials(
            method="jwt", login_url=login_url, client_id=client_id, username=username, private_key=private_key
        )
    if method == Method.CLIENT_CREDENTIALS:
        # The client credentials flow must go to the org's My Domain, i.e. its instance URL.
        domain = (connection.instance_url or login_url).rstrip("/")
        return Credentials(
            method="client_credentials", login_url=domain, client_id=client_id, client_secret=client_secret
        )
    refresh_token = connection.refresh_token or settings.SALESFORCE_REFRESH_TOKEN
    if refresh_token and method != Method.PASSWORD:
        return Credentials(
            method="refresh_token",
            login_url=login_url,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
        )
    if method == Method.PASSWORD:
        return Credentials(
            method="password",
            login_url=login_url,
            client_id=client_id,
            client_secret=client_secret,
            username=username,
            password=connection.password,
        )
    return Credentials(method="token", login_url=login_url, access_token=connection.access_token)


def _token_saver() -> Callable[[str, str], None]:
    def save(token: str, instance_url: str) -> None:
        from integration.models import SalesforceConnection

        connection = SalesforceConnection.load()
        connection.access_token = token
        fields = ["access_token", "updated_at"]
        if instance_url and instance_url != connection.instance_url:
            connection.instance_url = instance_url
            fields.append("instance_url")
        connection.save(update_fields=fields)

    return save
