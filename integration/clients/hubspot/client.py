"""``HubSpotClient``: the app's HubSpot interface over hubspot-api-client; it only knows a base
URL and a token. It keeps ONE ``HubSpot`` instance and one ``basic_api``/``search_api``/
``batch_api``/properties API (each ``.basic_api`` access of the library builds a new connection
pool, so they are built once).

- Retries: :func:`~integration.clients.hubspot.retry.default_retry` unless told otherwise.
- ``client.api_calls`` counts every HTTP call made, retries included (each spends quota). A run
  reads it before and after; the factory's client is shared, so use the difference.
- Errors come out as :mod:`integration.clients.base` exceptions (``RateLimited``,
  ``AuthError``, ``NotFound``, ``Conflict``, ``ValidationFailed``, ``ServiceUnavailable``); an
  expired OAuth token is refreshed once, when the client was given a way to.
- Contacts come out as :class:`~integration.clients.hubspot.records.HubSpotContact`, decoded
  from the JSON body directly: the library still builds, authenticates and retries each
  request, but its model deserialisation is skipped on contact endpoints.

Reading:

- ``iter_contacts(properties, after=None)``: pages of 100 by id; each ``ContactPage.after`` is
  the cursor of the *next* page (None at the end), to checkpoint and resume from.
- ``search_modified_since(since, properties)``: pages of 200 by ``lastmodifieddate``
  ascending, from ``since`` (inclusive). HubSpot's search stops at 10,000 results, so when the
  cursor reaches the cap the search restarts from the last timestamp seen (skipping contacts
  already yielded at that instant). ``ContactPage.last_modified`` is the watermark to store.
- ``get_properties()``, ``get_contact()``, ``batch_read()``; the last two with
  ``properties_with_history`` too (``HubSpotContact.history``; batch reads of 50 then).

Writing: ``batch_upsert_by_email(records)``, ``batch_update(records)``, ``create_contact()``,
in batches of 100. A batch HubSpot refuses for one bad record is split
(:mod:`~integration.clients.hubspot.isolation`): the others go through, and each refused record
comes back in the result's ``errors`` instead of an exception.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.lists.exceptions import ApiException as ListsApiException
from hubspot.crm.owners.exceptions import ApiException as OwnersApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

from integration.clients.base import (
    ApiCallCounter,
    AuthError,
    ClientError,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
    error_for_status,
)
from integration.clients.hubspot.isolation import send_isolating
from integration.clients.hubspot.lists import ListsApi
from integration.clients.hubspot.pacing import pacer
from integration.clients.hubspot.records import (
    BatchResult,
    ContactPage,
    HubSpotContact,
    UpsertResult,
    _contact,
    _errors,
    _ms,
    _strings,
)
from integration.clients.hubspot.retry import CountingRetry, default_retry

PAGE_SIZE = 100  # largest page of GET /crm/v3/objects/contacts
SEARCH_PAGE_SIZE = 200  # largest page of the search endpoint
SEARCH_CAP = 10_000
BATCH_SIZE = 100
# HubSpot refuses a batch read of more than 50 inputs with propertiesWithHistory: "The maximum
# number of inputs supported in a batch request for property histories is 50" (VALIDATION_ERROR;
# crm-contacts-v3.json: history "will reduce the maximum number of contacts that can be read").
HISTORY_BATCH_SIZE = 50
OWNERS_PAGE = 500  # largest page of GET /crm/v3/owners


class HubSpotClient(ListsApi):
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
        self.owners_api = self._hubspot.crm.owners.owners_api
        self.lists_api = self._hubspot.crm.lists.lists_api
        self.memberships_api = self._hubspot.crm.lists.memberships_api
        # The CRM search endpoints have their own, lower, limit (pacing.py); list search is not one.
        self._searches = (self.search_api.do_search,)

    @property
    def api_calls(self) -> int:
        return self._counter.value

    def _apis(self) -> tuple[Any, ...]:
        return (
            self.basic_api,
            self.search_api,
            self.batch_api,
            self.properties_api,
            self.owners_api,
            self.lists_api,
            self.memberships_api,
        )

    def _set_token(self, token: str) -> None:
        self._hubspot.access_token = token
        for api in self._apis():
            api.api_client.configuration.access_token = token

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("_request_timeout", self._timeout)
        refreshed = False
        while True:
            if fn in self._searches:
                pacer("search").wait()
            pacer("calls").wait()
            self._counter.increment()
            try:
                return fn(*args, **kwargs)
            except (ContactsApiException, PropertiesApiException, OwnersApiException, ListsApiException) as exc:
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
        response = self._call(fn, *args, _preload_content=False, **kwargs)
        try:
            data = response.data
        finally:
            response.release_conn()
        return json.loads(data) if data else {}

    @staticmethod
    def _translate(exc: Any) -> ClientError:
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

    def owners(self) -> list[HubSpotOwner]:
        """Every owner, active and archived (``GET /crm/v3/owners``, 500 a page): the users a
        contact's ``hubspot_owner_id`` can name."""
        found = []
        for archived in (False, True):
            after = None
            while True:
                page = self._call_json(self.owners_api.get_page, after=after, limit=OWNERS_PAGE, archived=archived)
                found.extend(
                    HubSpotOwner(str(o["id"]), str(o.get("email") or ""), bool(o.get("archived", archived)))
                    for o in page.get("results") or []
                )
                after = _next_after(page)
                if not after:
                    break
        return found

    def get_properties(self) -> list[dict[str, Any]]:
        """The contact property schema, as HubSpot's JSON (name, label, type, fieldType, options...)."""
        response = self._call(self.properties_api.get_all, "contacts", archived=False)
        serialize = self.properties_api.api_client.sanitize_for_serialization
        return [serialize(p) for p in response.results]

    def get_contact(
        self,
        contact_id: str,
        properties: Iterable[str] = (),
        *,
        id_property: str | None = None,
        properties_with_history: Iterable[str] = (),
    ) -> HubSpotContact | None:
        """One contact by id (or by ``id_property``, e.g. email); None when HubSpot has none."""
        kwargs: dict[str, Any] = {"properties": list(properties) or None, "archived": False}
        if id_property:
            kwargs["id_property"] = id_property
        if with_history := list(properties_with_history):
            kwargs["properties_with_history"] = with_history
        try:
            return _contact(self._call_json(self.basic_api.get_by_id, contact_id, **kwargs))
        except NotFound:
            return None

    def batch_read(
        self,
        ids: Iterable[str],
        properties: Iterable[str],
        *,
        properties_with_history: Iterable[str] = (),
        id_property: str | None = None,
    ) -> BatchResult:
        """Contacts by id (or ``id_property``), 100 a call, or 50 with ``properties_with_history``
        (each contact's ``history`` then holds those properties' values, newest first); the ids
        HubSpot has no contact for are in ``missing_ids``."""
        names, with_history = list(properties), list(properties_with_history)
        result = BatchResult()
        for chunk in _chunks(list(ids), HISTORY_BATCH_SIZE if with_history else BATCH_SIZE):
            body = BatchReadInputSimplePublicObjectId(
                inputs=[{"id": str(i)} for i in chunk],
                properties=names,
                properties_with_history=with_history,
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

    def batch_upsert_by_email(self, records: Iterable[dict[str, Any]]) -> UpsertResult:
        """Create or update contacts keyed by their ``email`` (case-insensitive), 100 a call.

        Records with the same email (in any case) are merged, the later values winning, since
        HubSpot refuses a batch naming one contact twice. The result lists the contacts written;
        its ``errors`` the records HubSpot refused (``email`` set, ``id`` None), the others written
        all the same.
        """
        merged: dict[str, tuple[str, dict[str, str]]] = {}
        for record in records:
            email = str(record.get("email") or "").strip()
            if not email:
                raise ValidationFailed("batch_upsert_by_email needs an email in every record.")
            key = email.casefold()
            previous = merged.get(key, (email, {}))[1]
            merged[key] = (merged.get(key, (email, {}))[0], {**previous, **_strings(record)})

        def send(chunk: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
            body = BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    {"id": email, "idProperty": "email", "properties": {k: v for k, v in props.items() if k != "email"}}
                    for email, props in chunk
                ]
            )
            return self._call_json(self.batch_api.upsert, batch_input_simple_public_object_batch_input_upsert=body)

        result = UpsertResult()
        for chunk in _chunks(list(merged.values()), BATCH_SIZE):
            answers, errors = send_isolating(
                chunk,
                send,
                identify=lambda item: (None, item[0]),
                values=lambda item: {k: v for k, v in item[1].items() if k != "email"},
            )
            result += [_contact(c) for answer in answers for c in answer.get("results", [])]
            result.errors += errors
        return result

    def batch_update(self, records: Iterable[dict[str, Any]]) -> BatchResult:
        """Update contacts by id: records are ``{"id": ..., "properties": {...}}``, 100 a call.
        ``errors`` holds a ``RecordError`` for each record not written: refused (the others
        written all the same) or not found (``missing_ids``)."""
        prepared = [(str(r["id"]), _strings(r.get("properties") or {})) for r in records]

        def send(chunk: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
            body = BatchInputSimplePublicObjectBatchInput(
                inputs=[{"id": ident, "properties": props} for ident, props in chunk]
            )
            return self._call_json(self.batch_api.update, batch_input_simple_public_object_batch_input=body)

        result = BatchResult()
        for chunk in _chunks(prepared, BATCH_SIZE):
            answers, errors = send_isolating(
                chunk, send, identify=lambda item: (item[0], item[1].get("email") or None), values=lambda item: item[1]
            )
            for answer in answers:
                result.contacts += [_contact(c) for c in answer.get("results", [])]
                result.errors += _errors(answer)
            result.errors += errors
        return result

    def batch_archive(self, ids: Iterable[str]) -> None:
        """Archive contacts by id, 100 a call (HubSpot answers 204; an id already archived or
        unknown is not an error)."""
        for chunk in _chunks([str(i) for i in ids], BATCH_SIZE):
            body = BatchInputSimplePublicObjectId(inputs=[{"id": ident} for ident in chunk])
            self._call(self.batch_api.archive, batch_input_simple_public_object_id=body)


@dataclass(frozen=True)
class HubSpotOwner:
    id: str
    email: str
    archived: bool


def _next_after(page: dict[str, Any]) -> str | None:
    return ((page.get("paging") or {}).get("next") or {}).get("after") or None


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
