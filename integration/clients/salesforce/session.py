"""The connection under every Salesforce call: ``SalesforceSession`` holds the simple-salesforce
handle and its ``requests`` session, logs in, counts calls and turns failures into
:mod:`integration.clients.salesforce.errors`.

- Login: with the ``Credentials`` of :mod:`~integration.clients.salesforce.auth`, on first use or
  when asked. On 401 ``INVALID_SESSION_ID`` it logs in again (when it has credentials) and
  retries the call once; logins are serialised, so threads sharing a client log in once.
- Retries: a transient failure (:class:`SalesforceTransientError`) of an idempotent call is
  retried ``max_retries`` times with exponential back-off.
- Every HTTP call to the API is counted (``api_calls``) and ``Sforce-Limit-Info`` is read after
  each (``api_usage -> (used, max)``), whoever made the call on this session.

The REST and Bulk API 2.0 methods build on ``_call``, ``_json`` and ``_raw``
(:mod:`~integration.clients.salesforce.rest`, :mod:`~integration.clients.salesforce.bulk`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from django.utils.translation import gettext as _
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as LibraryError
from simple_salesforce.util import exception_handler

from integration.clients.base import ApiCallCounter
from integration.clients.salesforce.auth import Credentials, request_token
from integration.clients.salesforce.errors import (
    TRANSIENT_CODES,
    SalesforceAuthError,
    SalesforceError,
    SalesforceLimitError,
    SalesforceNotFound,
    SalesforceRequestError,
    SalesforceTransientError,
)

DEFAULT_API_VERSION = "59.0"

T = TypeVar("T")


class SalesforceSession:
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
        vet_instance_url: Callable[[str], str] | None = None,
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
        # Checks the instance URL a token endpoint names before anything is sent there (the
        # factory passes the rules of integration.endpoints); returns it normalised or raises.
        self.vet_instance_url = vet_instance_url
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
            if instance_url and self.vet_instance_url is not None:
                instance_url = self.vet_instance_url(instance_url)
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
                # Raised below, outside this block: keep the network error for the categories.
                error.__cause__ = exc
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

    def _json(
        self, method: str, path: str, body: Any = None, *, idempotent: bool = True, headers: dict | None = None
    ) -> Any:
        data = json.dumps(body) if body is not None else None
        extra = {"headers": headers} if headers else {}
        return self._call(
            lambda sf: sf.restful(path, method=method, data=data, timeout=self.timeout, **extra), idempotent=idempotent
        )
