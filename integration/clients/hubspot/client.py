"""HubSpot client: the only module (with ``clients/salesforce.py``) importing hubspot-api-client.

``get_hubspot_client()`` picks sandbox or real from configuration and returns a cached
``HubSpotClient``; the client itself only knows a base URL and a token. It keeps ONE
``HubSpot`` instance and one ``basic_api``/``search_api``/``batch_api``/properties API (each
``.basic_api`` access of the library builds a new connection pool, so they are built once).

- Retries: urllib3 ``Retry`` on 429 and 5xx for every method, POST included
  (``allowed_methods=None``), honouring ``Retry-After``, with exponential back-off.
- ``client.api_calls`` counts every HTTP call made, retries included (each spends quota). A run
  reads it before and after; the factory's client is shared, so use the difference.
- Errors come out as :mod:`integration.clients.base` exceptions (``RateLimited``,
  ``AuthError``, ``NotFound``, ``Conflict``, ``ValidationFailed``, ``ServiceUnavailable``).
- Contacts come out as ``HubSpotContact`` (id, properties as HubSpot's strings, timestamps),
  decoded from the JSON body directly: the library still builds, authenticates and retries
  each request, but its model deserialisation is skipped on contact endpoints (it cost more
  than the round trip and made a 100,000-contact pull 2.5 times slower).

Reading:

- ``iter_contacts(properties, after=None)``: pages of 100 by id; each ``ContactPage.after`` is
  the cursor of the *next* page (None at the end), to checkpoint and resume from.
- ``search_modified_since(since, properties)``: pages of 200 by ``lastmodifieddate``
  ascending, from ``since`` (inclusive). HubSpot's search stops at 10,000 results, so when the
  cursor reaches the cap the search restarts from the last timestamp seen (skipping contacts
  already yielded at that instant). ``ContactPage.last_modified`` is the watermark to store.
- ``get_properties()``, ``get_contact()``, ``batch_read()``.

Writing: ``batch_upsert_by_email(records)``, ``batch_update(records)``, ``create_contact()``,
in batches of 100.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

from integration.clients.base import (
    ApiCallCounter,
    AuthError,
    ClientError,
    ServiceUnavailable,
    ValidationFailed,
    error_for_status,
)

logger = logging.getLogger(__name__)

SANDBOX_TOKEN = "sandbox"
PAGE_SIZE = 100  # largest page of GET /crm/v3/objects/contacts
SEARCH_PAGE_SIZE = 200  # largest page of the search endpoint
SEARCH_CAP = 10_000
BATCH_SIZE = 100
RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass
class HubSpotContact:
    id: str
    properties: dict[str, str | None]
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    archived: bool = False
    new: bool | None = None  # set by upserts: True when HubSpot created the contact

    @property
    def email(self) -> str | None:
        return self.properties.get("email") or None

    @property
    def last_modified(self) -> dt.datetime | None:
        raw = self.properties.get("lastmodifieddate")
        return _parse_ts(raw) if raw else self.updated_at


@dataclass
class ContactPage:
    contacts: list[HubSpotContact]
    after: str | None = None  # cursor of the next page; None when this was the last one

    @property
    def last_modified(self) -> dt.datetime | None:
        stamps = [c.last_modified for c in self.contacts if c.last_modified is not None]
        return max(stamps) if stamps else None


@dataclass
class BatchResult:
    contacts: list[HubSpotContact] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def missing_ids(self) -> list[str]:
        ids: list[str] = []
        for error in self.errors:
            ids += (error.get("context") or {}).get("ids", [])
        return ids


def _parse_ts(value: str) -> dt.datetime | None:
    text = value.strip()
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _contact(data: dict[str, Any]) -> HubSpotContact:
    """A contact from HubSpot's JSON (SimplePublicObject / SimplePublicUpsertObject)."""
    created, updated = data.get("createdAt"), data.get("updatedAt")
    return HubSpotContact(
        id=str(data["id"]),
        properties=dict(data.get("properties") or {}),
        created_at=_parse_ts(created) if created else None,
        updated_at=_parse_ts(updated) if updated else None,
        archived=bool(data.get("archived", False)),
        new=data.get("new"),
    )


def _ms(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return str(int(moment.timestamp() * 1000))


class CountingRetry(Retry):
    """A urllib3 ``Retry`` that counts each retried call in an ``ApiCallCounter``."""

    counter: ApiCallCounter | None = None

    def new(self, **kw: Any) -> CountingRetry:
        retry = super().new(**kw)
        retry.counter = self.counter
        return retry

    def increment(self, *args: Any, **kwargs: Any) -> CountingRetry:
        retry = super().increment(*args, **kwargs)  # raises when retries are exhausted
        if self.counter is not None:
            self.counter.increment()
        return retry


def default_retry(counter: ApiCallCounter | None = None, total: int = 5, backoff_factor: float = 0.5) -> CountingRetry:
    retry = CountingRetry(
        total=total,
        connect=total,
        read=2,
        status=total,
        backoff_factor=backoff_factor,
        backoff_max=30,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # POST too: HubSpot's batch and search endpoints are POSTs
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the last 429/5xx to the client, which raises ApiException
    )
    retry.counter = counter
    return retry


class HubSpotClient:
    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        retry: Retry | None = None,
        timeout: float = 60,
        refresh: Callable[[], str] | None = None,
    ) -> None:
        """``refresh``, when given, returns a new access token; it is called once when HubSpot
        says the token expired (OAuth connections)."""
        self.base_url = base_url.rstrip("/")
        self._counter = ApiCallCounter()
        self._timeout = timeout
        self._refresh = refresh
        self._refresh_lock = threading.Lock()
        if retry is None:
            retry = default_retry(self._counter)
        elif isinstance(retry, CountingRetry):
            retry.counter = self._counter
        self._hubspot = HubSpot(access_token=access_token, host=self.base_url, retry=retry)
        contacts = self._hubspot.crm.contacts
        self.basic_api = contacts.basic_api
        self.search_api = contacts.search_api
        self.batch_api = contacts.batch_api
        self.properties_api = self._hubspot.crm.properties.core_api

    @property
    def api_calls(self) -> int:
        return self._counter.value

    def _apis(self) -> tuple[Any, ...]:
        return (self.basic_api, self.search_api, self.batch_api, self.properties_api)

    def _set_token(self, token: str) -> None:
        self._hubspot.access_token = token
        for api in self._apis():
            api.api_client.configuration.access_token = token

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("_request_timeout", self._timeout)
        refreshed = False
        while True:
            self._counter.increment()
            try:
                return fn(*args, **kwargs)
            except (ContactsApiException, PropertiesApiException) as exc:
                error = self._translate(exc)
                if (
                    isinstance(error, AuthError)
                    and error.code == "EXPIRED_AUTHENTICATION"
                    and self._refresh is not None
                    and not refreshed
                ):
                    with self._refresh_lock:
                        self._set_token(self._refresh())
                    refreshed = True
                    continue
                raise error from exc
            except urllib3.exceptions.HTTPError as exc:
                raise ServiceUnavailable(f"HubSpot could not be reached: {exc}") from exc

    def _call_json(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """``_call`` returning the decoded JSON body instead of the library's models: the
        library's model deserialisation costs more than the whole HTTP round trip (about
        35 ms for a page of 100 contacts), which would make large pulls CPU-bound."""
        import json

        response = self._call(fn, *args, _preload_content=False, **kwargs)
        try:
            data = response.data
        finally:
            response.release_conn()
        return json.loads(data) if data else {}

    @staticmethod
    def _translate(exc: Any) -> ClientError:
        import json

        status = int(exc.status or 0)
        body: Any = None
        message = str(exc.reason or "")
        code = ""
        if exc.body:
            try:
                body = json.loads(exc.body)
            except (ValueError, TypeError):
                body = exc.body
        if isinstance(body, dict):
            message = body.get("message") or message
            code = body.get("category") or body.get("status") or ""
        retry_after = None
        for name, value in (exc.headers or {}).items():
            if name.lower() == "retry-after":
                try:
                    retry_after = float(value)
                except ValueError:
                    retry_after = None
        return error_for_status(
            status, message or f"HubSpot answered {status}", code=code, body=body, retry_after=retry_after
        )

    # -- reading ------------------------------------------------------------------------

    def iter_contacts(
        self, properties: Iterable[str], after: str | None = None, *, archived: bool = False
    ) -> Iterator[ContactPage]:
        """Every contact, 100 a page, from cursor ``after``; the archived ones instead when
        ``archived`` (how deletions in HubSpot are found)."""
        names = list(properties)
        cursor = after
        while True:
            page = self._call_json(
                self.basic_api.get_page, limit=PAGE_SIZE, after=cursor, properties=names, archived=archived
            )
            next_cursor = _next_after(page)
            yield ContactPage([_contact(c) for c in page.get("results", [])], after=next_cursor)
            if not next_cursor:
                return
            cursor = next_cursor

    def search_modified_since(self, since: dt.datetime | None, properties: Iterable[str]) -> Iterator[ContactPage]:
        """Contacts modified at or after ``since`` (all when None), oldest change first."""
        names = list(dict.fromkeys([*properties, "lastmodifieddate"]))
        floor = since
        seen_at_floor: set[str] = set()
        while True:
            offset = 0
            last_stamp: dt.datetime | None = None
            ids_at_last: set[str] = set()
            progressed = False
            while True:
                filters = (
                    [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": _ms(floor)}] if floor else []
                )
                request = PublicObjectSearchRequest(
                    filter_groups=[{"filters": filters}] if filters else [],
                    sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                    properties=names,
                    limit=SEARCH_PAGE_SIZE,
                    after=str(offset) if offset else None,
                )
                page = self._call_json(self.search_api.do_search, public_object_search_request=request)
                contacts = []
                for obj in page.get("results", []):
                    contact = _contact(obj)
                    stamp = contact.last_modified
                    if stamp is not None and floor is not None and stamp == floor and contact.id in seen_at_floor:
                        continue  # yielded before the restart
                    contacts.append(contact)
                    if stamp is not None:
                        if last_stamp is None or stamp > last_stamp:
                            last_stamp, ids_at_last = stamp, {contact.id}
                        elif stamp == last_stamp:
                            ids_at_last.add(contact.id)
                if contacts:
                    progressed = True
                    yield ContactPage(contacts, after=None)
                next_after = _next_after(page)
                if not next_after:
                    return
                offset = int(next_after)
                if offset >= SEARCH_CAP:
                    break  # restart from the last timestamp seen
            if not progressed or last_stamp is None:
                raise ClientError(
                    "More than 10,000 HubSpot contacts share one lastmodifieddate; the search cannot page past them."
                )
            if floor is not None and last_stamp == floor:
                seen_at_floor |= ids_at_last
            else:
                seen_at_floor = ids_at_last
            floor = last_stamp

    def get_properties(self) -> list[dict[str, Any]]:
        """The contact property schema, as HubSpot's JSON (name, label, type, fieldType, options...)."""
        response = self._call(self.properties_api.get_all, "contacts", archived=False)
        serialize = self.properties_api.api_client.sanitize_for_serialization
        return [serialize(p) for p in response.results]

    def get_contact(
        self, contact_id: str, properties: Iterable[str] = (), *, id_property: str | None = None
    ) -> HubSpotContact | None:
        """One contact by id (or by ``id_property``, e.g. email); None when HubSpot has none."""
        from integration.clients.base import NotFound

        kwargs: dict[str, Any] = {"properties": list(properties) or None, "archived": False}
        if id_property:
            kwargs["id_property"] = id_property
        try:
            return _contact(self._call_json(self.basic_api.get_by_id, contact_id, **kwargs))
        except NotFound:
            return None

    def batch_read(
        self, ids: Iterable[str], properties: Iterable[str], *, id_property: str | None = None
    ) -> BatchResult:
        names = list(properties)
        result = BatchResult()
        for chunk in _chunks(list(ids), BATCH_SIZE):
            body = BatchReadInputSimplePublicObjectId(
                inputs=[{"id": str(i)} for i in chunk],
                properties=names,
                properties_with_history=[],
                id_property=id_property,
            )
            response = self._call_json(
                self.batch_api.read, batch_read_input_simple_public_object_id=body, archived=False
            )
            result.contacts += [_contact(c) for c in response.get("results", [])]
            result.errors += _errors(response)
        return result

    # -- writing ------------------------------------------------------------------------

    def create_contact(self, properties: dict[str, str]) -> HubSpotContact:
        body = SimplePublicObjectInputForCreate(properties=properties, associations=[])
        return _contact(self._call_json(self.basic_api.create, simple_public_object_input_for_create=body))

    def batch_upsert_by_email(self, records: Iterable[dict[str, Any]]) -> list[HubSpotContact]:
        """Create or update contacts keyed by their ``email`` (case-insensitive), 100 a call.

        Records with the same email (in any case) are merged, the later values winning, since
        HubSpot refuses a batch naming one contact twice.
        """
        merged: dict[str, tuple[str, dict[str, str]]] = {}
        for record in records:
            email = str(record.get("email") or "").strip()
            if not email:
                raise ValidationFailed("batch_upsert_by_email needs an email in every record.")
            key = email.casefold()
            previous = merged.get(key, (email, {}))[1]
            merged[key] = (merged.get(key, (email, {}))[0], {**previous, **_strings(record)})
        results: list[HubSpotContact] = []
        for chunk in _chunks(list(merged.values()), BATCH_SIZE):
            body = BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    {"id": email, "idProperty": "email", "properties": {k: v for k, v in props.items() if k != "email"}}
                    for email, props in chunk
                ]
            )
            response = self._call_json(self.batch_api.upsert, batch_input_simple_public_object_batch_input_upsert=body)
            results += [_contact(c) for c in response.get("results", [])]
        return results

    def batch_update(self, records: Iterable[dict[str, Any]]) -> BatchResult:
        """Update contacts by id: records are ``{"id": ..., "properties": {...}}``, 100 a call."""
        result = BatchResult()
        for chunk in _chunks(list(records), BATCH_SIZE):
            body = BatchInputSimplePublicObjectBatchInput(
                inputs=[{"id": str(r["id"]), "properties": _strings(r.get("properties") or {})} for r in chunk]
            )
            response = self._call_json(self.batch_api.update, batch_input_simple_public_object_batch_input=body)
            result.contacts += [_contact(c) for c in response.get("results", [])]
            result.errors += _errors(response)
        return result


def _strings(values: dict[str, Any]) -> dict[str, str]:
    """HubSpot takes every value as a string: bools as true/false, None as "" (clears)."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            out[key] = ""
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, dt.datetime):
            out[key] = _ms(value)
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        elif isinstance(value, list | tuple | set):
            out[key] = ";".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


def _errors(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "category": e.get("category"),
            "message": e.get("message"),
            "context": dict(e.get("context") or {}),
            "status": e.get("status"),
        }
        for e in response.get("errors") or []
    ]


def _next_after(page: dict[str, Any]) -> str | None:
    return ((page.get("paging") or {}).get("next") or {}).get("after") or None


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- factory ------------------------------------------------------------------------------

_cache: dict[tuple[str, str], HubSpotClient] = {}
_cache_lock = threading.Lock()


def get_hubspot_client(*, fresh: bool = False) -> HubSpotClient:
    """The configured HubSpot client: the sandbox when ``settings.SANDBOX`` and the connection's
    environment is the built-in emulator, the real API otherwise (the connection's base URL and
    token, falling back to the ``HUBSPOT_*`` settings). Cached per URL and token."""
    from django.conf import settings

    from integration.models import HubSpotConnection, SalesforceConnection

    connection = HubSpotConnection.load()
    refresh: Callable[[], str] | None = None
    if settings.SANDBOX and connection.environment == SalesforceConnection.Environment.SANDBOX_EMULATOR:
        base_url, token = settings.SANDBOX_HUBSPOT_URL, SANDBOX_TOKEN
    else:
        base_url = connection.base_url or settings.HUBSPOT_BASE_URL
        token = connection.access_token or settings.HUBSPOT_ACCESS_TOKEN
        if not token:
            raise AuthError("No HubSpot access token is configured (connection page or HUBSPOT_ACCESS_TOKEN).")
        if connection.auth_method == HubSpotConnection.AuthMethod.OAUTH and connection.refresh_token:
            refresh = _oauth_refresher(base_url, connection.pk)
    key = (base_url, token)
    with _cache_lock:
        if fresh or key not in _cache:
            _cache[key] = HubSpotClient(base_url=base_url, access_token=token, refresh=refresh)
        return _cache[key]


def _oauth_refresher(base_url: str, connection_pk: int) -> Callable[[], str]:
    """Refreshes the connection's OAuth token through HubSpot's token endpoint and stores it."""

    def refresh() -> str:
        from hubspot.oauth.exceptions import ApiException as OAuthApiException

        from integration.models import HubSpotConnection

        connection = HubSpotConnection.objects.get(pk=connection_pk)
        tokens_api = HubSpot(host=base_url.rstrip("/")).oauth.tokens_api
        try:
            token = tokens_api.create(
                grant_type="refresh_token",
                client_id=connection.client_id,
                client_secret=connection.client_secret,
                refresh_token=connection.refresh_token,
            )
        except OAuthApiException as exc:
            raise AuthError(f"HubSpot refused to refresh the token: {exc.body!r}", status=exc.status or 0) from exc
        connection.access_token = token.access_token
        connection.refresh_token = token.refresh_token or connection.refresh_token
        connection.save(update_fields=["access_token", "refresh_token", "updated_at"])
        return token.access_token

    return refresh
