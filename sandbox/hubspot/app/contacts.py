"""Contacts one at a time: list (paged by id), create, get, update, archive, and search; the list
and the get answer ``propertiesWithHistory`` when asked (50 a page at most then)."""

from __future__ import annotations

from typing import Any

from sandbox.hubspot.app.common import (
    CONTACT_PATH,
    HISTORY_LIMIT,
    api_source,
    bool_arg,
    clean,
    contact_write,
    json_object,
    lookup,
    not_found,
    public_contacts,
    wanted_properties,
)
from sandbox.hubspot.search import RESULT_CAP, SearchCompiler, SearchError, parse_paging
from sandbox.hubspot.store import HubSpotStore, now_ms
from sandbox.wsgi import HttpError, Request, Response, empty_response, json_response

LIST_LIMIT = 100


class ContactHandlers:
    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def list_contacts(self, request: Request) -> Response:
        try:
            limit = int(request.arg("limit") or 10)
        except ValueError:
            raise HttpError(400, "limit must be an integer.", code="VALIDATION_ERROR")
        with_history = request.args("propertiesWithHistory")
        if limit < 1 or limit > LIST_LIMIT:
            raise HttpError(400, f"limit must be between 1 and {LIST_LIMIT}.", code="VALIDATION_ERROR")
        if with_history and limit > HISTORY_LIMIT:
            raise HttpError(
                400,
                f"limit must be between 1 and {HISTORY_LIMIT} when propertiesWithHistory is requested.",
                code="VALIDATION_ERROR",
            )
        after = request.arg("after") or "0"
        try:
            start = int(after)
        except ValueError:
            raise HttpError(400, f"after {after!r} is not a valid paging cursor.", code="VALIDATION_ERROR")
        archived = bool_arg(request, "archived")
        rows = (
            self.store.read()
            .execute(
                "SELECT * FROM contact WHERE archived = ? AND id >= ? ORDER BY id LIMIT ?",
                (1 if archived else 0, start, limit + 1),
            )
            .fetchall()
        )
        requested = wanted_properties(request.args("properties"), with_history)
        body: dict[str, Any] = {"results": public_contacts(self.store, rows[:limit], requested, with_history)}
        if len(rows) > limit:
            next_after = str(rows[limit]["id"])
            body["paging"] = {"next": {"after": next_after, "link": f"{CONTACT_PATH}?after={next_after}"}}
        return json_response(200, body)

    def create_contact(self, request: Request) -> Response:
        values = clean(self.store, json_object(request).get("properties"))
        with contact_write(self.store) as conn:
            row = self.store.insert(conn, values, now_ms(), source=api_source(request))
        return json_response(201, self.store.to_public(row, wanted_properties([]) + list(values)))

    def get_contact(self, request: Request, contact_id: str) -> Response:
        row = lookup(self.store, contact_id, request.arg("idProperty"), archived=bool_arg(request, "archived"))
        if row is None:
            raise not_found(contact_id)
        with_history = request.args("propertiesWithHistory")
        requested = wanted_properties(request.args("properties"), with_history)
        return json_response(200, public_contacts(self.store, [row], requested, with_history)[0])

    def update_contact(self, request: Request, contact_id: str) -> Response:
        values = clean(self.store, json_object(request).get("properties"))
        with contact_write(self.store) as conn:
            row = lookup(self.store, contact_id, request.arg("idProperty"), conn=conn)
            if row is None:
                raise not_found(contact_id)
            row = self.store.update(conn, row, values, now_ms(), source=api_source(request))
        return json_response(200, self.store.to_public(row, wanted_properties([]) + list(values)))

    def archive_contact(self, request: Request, contact_id: str) -> Response:
        with self.store.write() as conn:
            row = self.store.get(contact_id, conn=conn)
            if row is not None:
                self.store.archive(conn, row["id"], now_ms())
        return empty_response(204)

    def search(self, request: Request) -> Response:
        body = json_object(request)
        compiler = SearchCompiler(self.store.properties)
        try:
            offset, limit = parse_paging(body)
            where = compiler.where(body.get("filterGroups"), body.get("query"))
            order = compiler.order_by(body.get("sorts"))
        except SearchError as exc:
            raise HttpError(400, str(exc), code="VALIDATION_ERROR")
        conn = self.store.read()
        total = conn.execute(f"SELECT COUNT(*) FROM contact WHERE {where.sql}", where.params).fetchone()[0]  # noqa: S608
        limit = min(limit, RESULT_CAP - offset)
        rows = conn.execute(
            f"SELECT * FROM contact WHERE {where.sql} ORDER BY {order.sql} LIMIT ? OFFSET ?",  # noqa: S608
            [*where.params, *order.params, limit, offset],
        ).fetchall()
        requested = wanted_properties([p for p in body.get("properties") or [] if isinstance(p, str)])
        result: dict[str, Any] = {"total": total, "results": [self.store.to_public(r, requested) for r in rows]}
        if offset + len(rows) < total:
            # Like HubSpot, the cursor is handed out up to 10,000 even though it cannot be used.
            result["paging"] = {"next": {"after": str(offset + len(rows))}}
        return json_response(200, result)
