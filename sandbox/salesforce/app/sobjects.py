"""One record at a time: ``V/sobjects`` (describe, create, get, update, delete) and the same by
external id or ``Email`` (upsert answers 201 created or 200 updated, 300 when several match)."""

from __future__ import annotations

from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.app.common import (
    NOT_FOUND,
    check_version,
    get_sobject,
    raise_request_error,
    selected_fields,
    sf_error,
)
from sandbox.salesforce.records import RecordResult, RecordService, RequestError, row_to_record
from sandbox.salesforce.schema import OBJECTS, Field, SObject
from sandbox.salesforce.store import SalesforceStore
from sandbox.wsgi import HttpError, Request, Response, empty_response, json_response


def _sobject_body(request: Request) -> dict[str, Any]:
    """The request's JSON body, which must be one record (an object)."""
    body = request.json()
    if not isinstance(body, dict):
        raise HttpError(400, "Cannot deserialize instance of sObject from START_ARRAY", code="JSON_PARSER_ERROR")
    return body


class SObjectHandlers:
    def __init__(self, store: SalesforceStore, records: RecordService) -> None:
        self.store = store
        self.records = records

    def describe_global(self, request: Request, version: str) -> Response:
        version = check_version(version)
        return json_response(
            200,
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [sobject.describe_basic(version) for sobject in OBJECTS.values()],
            },
        )

    def sobject_basic(self, request: Request, version: str, obj: str) -> Response:
        version = check_version(version)
        sobject = get_sobject(obj)
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
        version = check_version(version)
        return json_response(200, get_sobject(obj).describe(version))

    def _single_result(self, result: RecordResult, *, status: int, with_created: bool = False) -> Response:
        if result.success:
            return json_response(status, result.save_result(with_created=with_created))
        return json_response(400, [error.rest() for error in result.errors])

    def sobject_create(self, request: Request, version: str, obj: str) -> Response:
        check_version(version)
        sobject = get_sobject(obj)
        body = _sobject_body(request)
        if any(key.lower() == "id" for key in body):
            return sf_error(400, "INVALID_FIELD", "Id: cannot specify Id in an insert call", ["Id"])
        try:
            result = self.records.create(sobject, [body])[0]
        except RequestError as exc:
            raise_request_error(exc)
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
            raise HttpError(404, NOT_FOUND, code="NOT_FOUND")
        if row["IsDeleted"]:
            raise HttpError(404, "entity is deleted", code="ENTITY_IS_DELETED")
        return row

    def record_get(self, request: Request, version: str, obj: str, rid: str) -> Response:
        version = check_version(version)
        sobject = get_sobject(obj)
        row = self._record_row(sobject, rid, for_get=True)
        return json_response(200, row_to_record(sobject, row, version, selected_fields(request, sobject)))

    def record_update(self, request: Request, version: str, obj: str, rid: str) -> Response:
        check_version(version)
        sobject = get_sobject(obj)
        row = self._record_row(sobject, rid, for_get=False)
        body = _sobject_body(request)
        try:
            result = self.records.update(sobject, [{**body, "Id": row["Id"]}])[0]
        except RequestError as exc:
            raise_request_error(exc)
        if not result.success:
            return json_response(400, [error.rest() for error in result.errors])
        return empty_response(204)

    def record_delete(self, request: Request, version: str, obj: str, rid: str) -> Response:
        check_version(version)
        sobject = get_sobject(obj)
        row = self._record_row(sobject, rid, for_get=False)
        return self._deleted(self.records.delete(sobject, [row["Id"]])[0])

    @staticmethod
    def _deleted(result: RecordResult) -> Response:
        if not result.success:
            return json_response(400, [error.rest() for error in result.errors])
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
            raise HttpError(404, NOT_FOUND, code="NOT_FOUND")
        return f

    def _keyed(self, version: str, obj: str, fld: str, value: str) -> tuple[str, SObject, Field, str]:
        """What a by-key path names, checked: the API version, the sObject, its key field and the value."""
        version = check_version(version)
        value = self._path_value(value)
        sobject = get_sobject(obj)
        return version, sobject, self._key_field(sobject, fld), value

    def _found(self, sobject: SObject, f: Field, value: str) -> list[Any]:
        """The records whose ``f`` is ``value`` (Salesforce's 404 when there is none)."""
        rows = self.records.find_by(sobject, f, value)
        if not rows:
            raise HttpError(404, NOT_FOUND, code="NOT_FOUND")
        return rows

    def _multiple(self, sobject: SObject, version: str, rows: list[Any]) -> Response:
        return json_response(300, [f"/services/data/v{version}/sobjects/{sobject.name}/{row['Id']}" for row in rows])

    def by_key_get(self, request: Request, version: str, obj: str, fld: str, value: str) -> Response:
        version, sobject, f, value = self._keyed(version, obj, fld, value)
        rows = self._found(sobject, f, value)
        if len(rows) > 1:
            return self._multiple(sobject, version, rows)
        return json_response(200, row_to_record(sobject, rows[0], version, selected_fields(request, sobject)))

    def by_key_upsert(self, request: Request, version: str, obj: str, fld: str, value: str) -> Response:
        version, sobject, f, value = self._keyed(version, obj, fld, value)
        body = _sobject_body(request)
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
            raise HttpError(404, NOT_FOUND, code="NOT_FOUND")
        try:
            result = self.records.upsert(sobject, f, [{**body, f.name: value}])[0]
        except RequestError as exc:
            raise_request_error(exc)
        if not result.success:
            return json_response(400, [error.rest() for error in result.errors])
        # Since API v46.0 an update through upsert answers 200 with created=false.
        return json_response(201 if result.created else 200, result.save_result(with_created=True))

    def by_key_delete(self, request: Request, version: str, obj: str, fld: str, value: str) -> Response:
        version, sobject, f, value = self._keyed(version, obj, fld, value)
        rows = self._found(sobject, f, value)
        if len(rows) > 1:
            return self._multiple(sobject, version, rows)
        return self._deleted(self.records.delete(sobject, [rows[0]["Id"]])[0])
