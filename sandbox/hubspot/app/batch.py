"""Contacts in batches of at most 100: read, create, update, upsert (by email or id) and archive.

Create is all-or-nothing; read, update and upsert (by ``hs_object_id``) answer 207 with the ids
they could not find. A read with
``propertiesWithHistory`` takes at most 50 inputs, as HubSpot's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from sandbox.hubspot.app.common import (
    HISTORY_BATCH_MESSAGE,
    HISTORY_LIMIT,
    api_source,
    bool_arg,
    clean,
    contact_write,
    iso_ms_now,
    lookup,
    public_contacts,
    wanted_properties,
)
from sandbox.hubspot.store import HubSpotStore, now_ms
from sandbox.wsgi import HttpError, Request, Response, empty_response, json_response

BATCH_LIMIT = 100


def _inputs(body: Any) -> list[Any]:
    """The batch's ``inputs`` (a null input read as ``{}``), at most ``BATCH_LIMIT`` of them."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise HttpError(400, "Invalid input JSON: 'inputs' must be a list.", code="VALIDATION_ERROR")
    inputs = body["inputs"]
    if any(item is not None and not isinstance(item, dict) for item in inputs):
        raise HttpError(400, "Invalid input JSON: each of 'inputs' must be an object.", code="VALIDATION_ERROR")
    if len(inputs) > BATCH_LIMIT:
        raise HttpError(
            400,
            f"Batch input limit exceeded: {len(inputs)} inputs, at most {BATCH_LIMIT} are allowed.",
            code="VALIDATION_ERROR",
            context={"inputs": [f"size must be between 0 and {BATCH_LIMIT}"]},
        )
    return [item or {} for item in inputs]


def _text(body: dict[str, Any], key: str) -> str | None:
    """``body[key]``: a string, or absent (``None``); anything else is HubSpot's 400."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise HttpError(400, f"Invalid input JSON: '{key}' must be a string.", code="VALIDATION_ERROR")
    return value


def _names(body: dict[str, Any], key: str) -> list[str]:
    """``body[key]``: a list of property names (absent: empty); anything else is HubSpot's 400."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise HttpError(400, f"Invalid input JSON: '{key}' must be a list of property names.", code="VALIDATION_ERROR")
    return value


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


def _found_response(started: str, results: list[dict[str, Any]], missing: list[str]) -> Response:
    """200 with the results, or 207 when some ids were not found (named in one error beside them)."""
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


def _duplicates(values: list[str]) -> list[str]:
    """The values given more than once (compared case-blind, as HubSpot compares emails), sorted."""
    folded = [value.casefold() for value in values]
    return sorted({value for value in folded if folded.count(value) > 1})


def _refuse_duplicate_ids(keys: list[tuple[str, str]]) -> None:
    """HubSpot's 400 when two inputs name one contact (``(idProperty, id)``, ids compared case-blind):
    the ids in the message as plain text and, as the spec's ``Error.context`` holds them (a map of
    lists of strings), under ``ids``."""
    duplicates = _duplicates([f"{id_property}\x00{ident}" for id_property, ident in keys])
    if duplicates:
        ids = [key.split("\x00", 1)[1] for key in duplicates]
        raise HttpError(
            400,
            f"Duplicate IDs found in batch input: {', '.join(ids)}. IDs must be unique.",
            code="VALIDATION_ERROR",
            context={"ids": ids},
        )


def _refuse_duplicate_emails(cleaned: list[dict[str, str | None]]) -> None:
    """A batch create naming one email twice is refused whole (400, nothing created): email is
    unique among contacts, and a batch create "follows the same rules as creating an individual
    object" (crm-contacts-v3.json, ``batch/create``), whose second create of an email would be a
    409. The emails are in the message as plain text and in ``context.email``."""
    duplicates = _duplicates([str(values["email"]) for values in cleaned if values.get("email")])
    if duplicates:
        raise HttpError(
            400,
            f"Duplicate emails found in batch input: {', '.join(duplicates)}. "
            "Each contact in a batch create needs an email of its own.",
            code="VALIDATION_ERROR",
            context={"email": duplicates},
        )


def _unknown_record_ids(ids: list[str]) -> dict[str, Any]:
    """The 207's error for upsert inputs naming an ``hs_object_id`` no contact has. An upsert
    creates a record only when it can set the ``idProperty`` it was given, and ``hs_object_id``
    is assigned by HubSpot, read-only ("Create or update a batch of objects by unique property
    values": records "identified by a unique property value"; https://developers.hubspot.com/docs/
    api-reference/latest/crm/objects/custom-objects/batch/upsert-custom-objects; the record ID:
    https://developers.hubspot.com/docs/guides/crm/using-object-apis): those inputs fail, one by
    one, and the others are written, the batch answering 207 ``...UpsertObjectWithErrors``."""
    return _standard_error(
        404,
        "OBJECT_NOT_FOUND",
        "Could not upsert some CONTACT objects: no contact has these record IDs, and a record ID "
        "(hs_object_id) is set by HubSpot, never by an upsert. Check that ids are valid.",
        {"ids": ids},
    )


def _standard_error(status: int, category: str, message: str, context: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


class BatchHandlers:
    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def batch_read(self, request: Request) -> Response:
        started = iso_ms_now()
        body = request.json()
        inputs = _inputs(body)
        id_property = _text(body, "idProperty")
        archived = bool_arg(request, "archived")
        with_history = _names(body, "propertiesWithHistory")
        if with_history and len(inputs) > HISTORY_LIMIT:
            raise HttpError(400, HISTORY_BATCH_MESSAGE, code="VALIDATION_ERROR")
        requested = wanted_properties(_names(body, "properties"), with_history)
        rows, missing, seen = [], [], set()
        by_id = _by_id(self.store, inputs, archived) if id_property in (None, "", "hs_object_id") else None
        for item in inputs:
            ident = str(item.get("id", ""))
            row = by_id(ident) if by_id is not None else lookup(self.store, ident, id_property, archived=archived)
            if row is None:
                missing.append(ident)
            elif row["id"] not in seen:
                seen.add(row["id"])
                rows.append(row)
        return _found_response(started, public_contacts(self.store, rows, requested, with_history), missing)

    def batch_create(self, request: Request) -> Response:
        started = iso_ms_now()
        inputs = _inputs(request.json())
        cleaned = [clean(self.store, item.get("properties")) for item in inputs]
        _refuse_duplicate_emails(cleaned)
        moment, source = now_ms(), api_source(request)
        with contact_write(self.store) as conn:
            rows = [self.store.insert(conn, values, moment, source=source) for values in cleaned]
        results = [
            self.store.to_public(row, wanted_properties([]) + list(v)) for row, v in zip(rows, cleaned, strict=True)
        ]
        return json_response(201, _batch_response(started, results, []))

    def batch_update(self, request: Request) -> Response:
        started = iso_ms_now()
        prepared = [
            (str(item.get("id", "")), _text(item, "idProperty"), clean(self.store, item.get("properties")))
            for item in _inputs(request.json())
        ]
        _refuse_duplicate_ids([(p[1] or "hs_object_id", p[0]) for p in prepared])
        moment, source = now_ms(), api_source(request)
        results, missing = [], []
        with contact_write(self.store) as conn:
            for ident, id_property, values in prepared:
                row = lookup(self.store, ident, id_property, conn=conn)
                if row is None:
                    missing.append(ident)
                    continue
                row = self.store.update(conn, row, values, moment, source=source)
                results.append(self.store.to_public(row, wanted_properties([]) + list(values)))
        return _found_response(started, results, missing)

    def batch_upsert(self, request: Request) -> Response:
        started = iso_ms_now()
        prepared = []
        for item in _inputs(request.json()):
            id_property = _text(item, "idProperty") or ""
            if id_property not in ("email", "hs_object_id"):
                raise HttpError(
                    400,
                    "idProperty is required for upserts and must be a unique property (email or hs_object_id).",
                    code="VALIDATION_ERROR",
                )
            ident = str(item.get("id") or "").strip()
            if not ident:
                raise HttpError(400, "Each upsert input needs an id.", code="VALIDATION_ERROR")
            values = clean(self.store, item.get("properties"))
            # The email addressed by the upsert only becomes a value when the contact is created:
            # an existing contact keeps its own spelling of it.
            creation = {**clean(self.store, {"email": ident}), **values} if id_property == "email" else values
            prepared.append((ident, id_property, values, creation))
        _refuse_duplicate_ids([(p[1], p[0]) for p in prepared])
        moment, source = now_ms(), api_source(request)
        results, unknown = [], []
        with contact_write(self.store) as conn:
            for ident, id_property, values, creation in prepared:
                row = lookup(self.store, ident, id_property, conn=conn)
                if row is None:
                    if id_property == "hs_object_id":
                        unknown.append(ident)
                        continue
                    row, new = self.store.insert(conn, creation, moment, source=source), True
                    values = creation
                else:
                    row, new = self.store.update(conn, row, values, moment, source=source), False
                results.append(self.store.to_public(row, wanted_properties([]) + list(values), new=new))
        errors = [_unknown_record_ids(unknown)] if unknown else []
        return json_response(207 if errors else 200, _batch_response(started, results, errors))

    def batch_archive(self, request: Request) -> Response:
        inputs = _inputs(request.json())
        moment = now_ms()
        with self.store.write() as conn:
            for item in inputs:
                row = self.store.get(str(item.get("id", "")), conn=conn)
                if row is not None:
                    self.store.archive(conn, row["id"], moment)
        return empty_response(204)


def _by_id(store: HubSpotStore, inputs: list[dict], archived: bool) -> Callable[[str], Any]:
    """The contacts a batch names by id, read in one query; a look-up by one of those ids."""
    ids: dict[str, int] = {}
    for item in inputs:
        with contextlib.suppress(TypeError, ValueError):
            ids[str(item.get("id", ""))] = int(item.get("id", ""))
    found = store.get_many(set(ids.values()), archived=archived)
    return lambda ident: found.get(ids.get(ident, -1))
