"""Bulk API 2.0 query jobs over HTTP (``V/jobs/query``): a SOQL query answered as CSV in pages.

"Bulk API 2.0 Query" (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
and the pages beside it):

- ``POST V/jobs/query`` ``{"operation": "query" | "queryAll", "query": ..., "columnDelimiter",
  "lineEnding"}`` creates the job (``UploadComplete``); the sandbox runs it at once, so the next
  ``GET V/jobs/query/{id}`` says ``JobComplete`` with ``numberRecordsProcessed``;
- ``GET V/jobs/query/{id}/results?locator=&maxRecords=`` answers CSV (header row, ``""`` for
  null), ``Sforce-NumberOfRecords`` and ``Sforce-Locator`` (``null`` on the last page);
- ``PATCH V/jobs/query/{id}`` ``{"state": "Aborted"}``, ``DELETE`` once finished, ``GET
  V/jobs/query`` lists them.

The matching ids are taken when the job is created (as a cursor's), the rows read page by page.
Bulk queries answer no aggregate functions, ``FIELDS()`` or compound address fields ("Bulk API 2.0
and Bulk API Query": not supported), refused as ``INVALIDJOB``. Jobs live in the process (a
restart forgets them), at most ``MAX_JOBS``.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from typing import Any

from sandbox.salesforce import ids, soql
from sandbox.salesforce.app.common import NOT_FOUND, check_version
from sandbox.salesforce.org import INTEGRATION_USER_ID
from sandbox.salesforce.records import RecordService
from sandbox.salesforce.store import SalesforceStore, format_datetime, utc_now
from sandbox.wsgi import HttpError, Request, Response, empty_response, json_response, text_response

MAX_JOBS = 500
DEFAULT_PAGE = 10_000
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


def _invalid(message: str) -> HttpError:
    return HttpError(400, message, code="INVALIDJOB")


def _cell(value: Any, boolean: bool) -> str:
    if value is None:
        return ""
    if boolean:
        return "true" if value else "false"
    return str(value)


class BulkQueryHandlers:
    def __init__(self, store: SalesforceStore, records: RecordService) -> None:
        self.store = store
        self.records = records
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def _job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise HttpError(404, NOT_FOUND, code="NOT_FOUND")
        return job

    @staticmethod
    def _info(job: dict[str, Any], version: str, *, full: bool = True) -> dict[str, Any]:
        info = {key: job[key] for key in ("id", "operation", "object", "createdById", "createdDate", "state")}
        info |= {
            "systemModstamp": job["systemModstamp"],
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "jobType": "V2Query",
            "lineEnding": job["lineEnding"],
            "columnDelimiter": job["columnDelimiter"],
        }
        if full:
            info |= {"numberRecordsProcessed": len(job["ids"]), "retries": 0, "totalProcessingTime": 0}
        return info

    def create(self, request: Request, version: str) -> Response:
        version = check_version(version)
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "A JSON object is expected.", code="JSON_PARSER_ERROR")
        operation, text = body.get("operation"), body.get("query")
        if operation not in ("query", "queryAll"):
            raise _invalid(f"InvalidJob : Invalid operation: {operation!r}; use query or queryAll")
        delimiter, line_ending = body.get("columnDelimiter", "COMMA"), body.get("lineEnding", "LF")
        if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
            raise _invalid("InvalidJob : columnDelimiter or lineEnding is not one Salesforce takes")
        if not isinstance(text, str):
            raise _invalid("InvalidJob : a query is required")
        try:
            parsed = soql.parse(text)
        except soql.SoqlError as exc:
            raise HttpError(400, exc.message, code=exc.code)
        if parsed.count_only or parsed.columns or any(f.type == "address" for f in parsed.fields):
            raise _invalid(
                "InvalidJob : aggregate functions and compound address fields are not supported by Bulk queries"
            )
        sql, params = soql.compile_query(parsed, include_deleted=operation == "queryAll")
        matched = [row[0] for row in self.store.read().execute(sql, params)]
        now = format_datetime(utc_now())
        with self.store.write() as conn:  # the ingest jobs' numbering: one id space for both
            job_id = ids.make_id(ids.JOB_PREFIX, self.store.allocate(conn, "bulk_job", 1))
        job = {
            "id": job_id,
            "operation": operation,
            "object": parsed.sobject.name,
            "createdById": INTEGRATION_USER_ID,
            "createdDate": now,
            "systemModstamp": now,
            "state": "JobComplete",
            "lineEnding": line_ending,
            "columnDelimiter": delimiter,
            "query": parsed,
            "ids": matched,
        }
        with self._lock:
            self._jobs[job["id"]] = job
            while len(self._jobs) > MAX_JOBS:
                self._jobs.popitem(last=False)
        return json_response(200, self._info(job, version, full=False) | {"state": "UploadComplete"})

    def info(self, request: Request, version: str, job: str) -> Response:
        return json_response(200, self._info(self._job(job), check_version(version)))

    def listing(self, request: Request, version: str) -> Response:
        version = check_version(version)
        with self._lock:
            jobs = list(self._jobs.values())
        records = [self._info(job, version, full=False) for job in jobs]
        return json_response(200, {"done": True, "records": records, "nextRecordsUrl": None})

    def abort(self, request: Request, version: str, job: str) -> Response:
        version = check_version(version)
        found = self._job(job)
        body = request.json()
        if not isinstance(body, dict) or body.get("state") != "Aborted":
            raise HttpError(400, "Invalid state: only Aborted can be set on a query job.", code="INVALIDJOBSTATE")
        if found["state"] in ("JobComplete", "Failed", "Aborted"):
            raise HttpError(409, f"Job {job} is already {found['state']}.", code="INVALIDJOBSTATE")
        found["state"] = "Aborted"
        return json_response(200, self._info(found, version, full=False))

    def delete(self, request: Request, version: str, job: str) -> Response:
        check_version(version)
        self._job(job)
        with self._lock:
            self._jobs.pop(job, None)
        return empty_response(204)

    def results(self, request: Request, version: str, job: str) -> Response:
        check_version(version)
        found = self._job(job)
        if found["state"] != "JobComplete":
            raise HttpError(
                400, f"Job {job} is {found['state']}; its results are not available.", code="INVALIDJOBSTATE"
            )
        locator, size = request.arg("locator") or "", request.arg("maxRecords") or str(DEFAULT_PAGE)
        if (locator and not locator.isdigit()) or not size.isdigit() or int(size) < 1:
            raise HttpError(400, "Invalid locator or maxRecords", code="INVALID_QUERY_LOCATOR")
        start, matched = int(locator or 0), found["ids"]
        end = min(len(matched), start + int(size))
        parsed: soql.Query = found["query"]
        rows = self.records.rows_by_ids(parsed.sobject, matched[start:end])
        out = io.StringIO()
        writer = csv.writer(
            out,
            delimiter=DELIMITERS[found["columnDelimiter"]],
            lineterminator=LINE_ENDINGS[found["lineEnding"]],
            quoting=csv.QUOTE_ALL,
        )
        writer.writerow([f.name for f in parsed.fields])
        for record_id in matched[start:end]:
            row = rows.get(record_id)
            if row is None:
                continue
            values = [f.compound_value(row) if f.compound else row[f.name] for f in parsed.fields]
            writer.writerow([_cell(v, f.type == "boolean") for v, f in zip(values, parsed.fields, strict=True)])
        headers = [
            ("Sforce-Locator", str(end) if end < len(matched) else "null"),
            ("Sforce-NumberOfRecords", str(end - start)),
        ]
        return text_response(200, out.getvalue(), content_type="text/csv", headers=headers)
