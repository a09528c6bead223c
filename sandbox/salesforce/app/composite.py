"""sObject Collections: ``V/composite/sobjects`` create, update, upsert, delete and retrieve.

At most 200 records a call, ``allOrNone`` across every type in it, results in input order. The
sync pushes through ``collections_upsert``: the usual call (one type, nothing refused up front)
goes straight to ``RecordService.upsert``.
"""

from __future__ import annotations

from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.app.common import (
    COLLECTION_LIMIT,
    check_version,
    fields_named,
    get_sobject,
    lock_fault_indexes,
    raise_request_error,
)
from sandbox.salesforce.records import (
    RecordError,
    RecordResult,
    RecordService,
    RequestError,
    roll_back_all,
    row_to_record,
    save_results_json,
)
from sandbox.salesforce.schema import SObject, get_object
from sandbox.salesforce.store import SalesforceStore
from sandbox.wsgi import HttpError, Request, Response, json_response

# "The request retrieves up to 2,000 records of the same object type" (the POST form's page).
RETRIEVE_LIMIT = 2000


def _check_count(count: int) -> None:
    """Salesforce's 400 for more than ``COLLECTION_LIMIT`` records (or ids) in one call."""
    if count > COLLECTION_LIMIT:
        raise HttpError(
            400,
            f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
            code="EXCEEDED_ID_LIMIT",
        )


class CompositeHandlers:
    def __init__(self, store: SalesforceStore, records: RecordService) -> None:
        self.store = store
        self.records = records

    def _collection_body(self, request: Request) -> tuple[list[dict[str, Any]], bool]:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise HttpError(400, "Missing required field: records", code="JSON_PARSER_ERROR")
        records = body["records"]
        _check_count(len(records))
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
        locked = lock_fault_indexes(request, len(records))
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
            return roll_back_all([r or RecordResult(None) for r in results])
        try:
            with self.store.write():
                return self._run_groups(records, results, groups, all_or_none, operation)
        except RequestError as exc:
            raise_request_error(exc)

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
                return roll_back_all([r or RecordResult(None) for r in results])
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
        check_version(version)
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
                return roll_back_all([r or RecordResult(None) for r in out])
            rest = [i for i in range(len(batch)) if out[i] is None]
            created = self.records.create(sobject, [batch[i] for i in rest], dry_run=dry_run)
            for i, result in zip(rest, created, strict=True):
                out[i] = result
            return [r for r in out if r is not None]

        results = self._run_collection(request, records, all_or_none, create)
        return Response(200, save_results_json(results))

    def collections_update(self, request: Request, version: str) -> Response:
        check_version(version)
        records, all_or_none = self._collection_body(request)

        def update(sobject: SObject, batch: list[dict[str, Any]], aon: bool, dry_run: bool) -> list[RecordResult]:
            return self.records.update(sobject, batch, all_or_none=aon, dry_run=dry_run)

        results = self._run_collection(request, records, all_or_none, update)
        return Response(200, save_results_json(results))

    def collections_upsert(self, request: Request, version: str, obj: str, fld: str) -> Response:
        check_version(version)
        sobject = get_sobject(obj)
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
        check_version(version)
        raw_ids = request.args("ids")
        if not raw_ids:
            raise HttpError(400, "Required parameter ids is missing", code="MISSING_ARGUMENT")
        _check_count(len(raw_ids))
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
                return json_response(200, [r.save_result() for r in roll_back_all(checked)])
        return json_response(200, [delete(raw, False).save_result() for raw in raw_ids])

    def collections_retrieve(self, request: Request, version: str, obj: str) -> Response:
        """``GET V/composite/sobjects/{object}?ids=&fields=`` ("Get Records Using sObject Collections",
        https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-retrieve.html)."""
        version = check_version(version)
        sobject = get_sobject(obj)
        return self._retrieve(sobject, request.args("ids"), request.args("fields"), version)

    def collections_retrieve_post(self, request: Request, version: str, obj: str) -> Response:
        """``POST V/composite/sobjects/{object}`` with ``{"ids": [...], "fields": [...]}``, up to 2,000
        ids ("Get Records With a Request Body Using sObject Collections",
        https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-retrieve-post.html)."""
        version = check_version(version)
        sobject = get_sobject(obj)
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(
                400, "Cannot deserialize instance of the request from START_ARRAY", code="JSON_PARSER_ERROR"
            )
        raw_ids, names = body.get("ids"), body.get("fields")
        for key, value in (("ids", raw_ids), ("fields", names)):
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise HttpError(400, f"'{key}' must be a list of strings", code="JSON_PARSER_ERROR")
        return self._retrieve(sobject, raw_ids or [], names or [], version)

    def _retrieve(self, sobject: SObject, raw_ids: list[str], names: list[str], version: str) -> Response:
        """The records of ``raw_ids`` in that order, ``null`` for an id that is invalid, of another
        object or not found (deleted included); an unknown field is a 400 for the whole request."""
        if not raw_ids or not names:
            raise HttpError(400, "Required parameters ids and fields are missing", code="MISSING_ARGUMENT")
        if len(raw_ids) > RETRIEVE_LIMIT:
            raise HttpError(
                400,
                f"Maximum number of ids exceeded: {RETRIEVE_LIMIT} records can be retrieved at a time",
                code="EXCEEDED_ID_LIMIT",
            )
        fields = fields_named(sobject, names)
        normalized = [ids.normalize(raw.strip()) for raw in raw_ids]
        rows = self.records.rows_by_ids(sobject, [i for i in normalized if i])
        out = []
        for record_id in normalized:
            row = rows.get(record_id) if record_id else None
            out.append(
                row_to_record(sobject, row, version, fields) if row is not None and not row["IsDeleted"] else None
            )
        return json_response(200, out)
