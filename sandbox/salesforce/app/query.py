"""``V/query`` and ``V/queryAll``: SOQL answered in pages, ``nextRecordsUrl`` through query locators;
an aggregate query (``COUNT(field)``, ``GROUP BY``) in one page of ``AggregateResult`` records."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any

from sandbox.salesforce import ids, soql
from sandbox.salesforce.app.common import check_version
from sandbox.salesforce.records import RecordService, row_to_record
from sandbox.salesforce.store import SalesforceStore
from sandbox.wsgi import HttpError, Request, Response, json_response


class QueryCursors:
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


class QueryHandlers:
    def __init__(self, store: SalesforceStore, records: RecordService, cursors: QueryCursors) -> None:
        self.store = store
        self.records = records
        self.cursors = cursors

    def _batch_size(self, request: Request) -> int:
        default = int(self.store.settings().get("query_batch_size") or 2000)
        options = request.header("Sforce-Query-Options") or ""
        for part in options.split(","):
            key, _sep, value = part.partition("=")
            if key.strip().lower() == "batchsize" and value.strip().isdigit():
                return max(200, min(2000, int(value.strip())))
        return default

    def query(self, request: Request, version: str, endpoint: str) -> Response:
        version = check_version(version)
        text = request.arg("q")
        if text is None:
            raise HttpError(400, "Query string parameter 'q' is required", code="MALFORMED_QUERY")
        try:
            parsed = soql.parse(text)
        except soql.SoqlError as exc:
            raise HttpError(400, exc.message, code=exc.code)
        include_deleted = endpoint == "queryAll"
        conn = self.store.read()
        if parsed.columns:
            return self._aggregate(conn, parsed, include_deleted)
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

    @staticmethod
    def _aggregate(conn: Any, parsed: soql.Query, include_deleted: bool) -> Response:
        """The ``AggregateResult`` records of an aggregate query, all in one page ("Working with
        SOQL Aggregate Functions", REST API Developer Guide:
        https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_agg_functions.htm)."""
        sql, params = soql.compile_aggregate(parsed, include_deleted=include_deleted)
        records = []
        for row in conn.execute(sql, params):
            record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for column, value in zip(parsed.columns, tuple(row), strict=True):
                if isinstance(column, soql.Aggregate):
                    record[column.alias] = value
                else:
                    name = parsed.aliases.get(column.name, column.name)
                    record[name] = bool(value) if column.type == "boolean" and value is not None else value
            records.append(record)
        return json_response(200, {"totalSize": len(records), "done": True, "records": records})

    def query_more(self, request: Request, version: str, endpoint: str, locator: str, position: str) -> Response:
        version = check_version(version)
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
