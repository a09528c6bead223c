"""Bulk API 2.0 ingest jobs: ``BulkApi`` runs them, ``BulkUpload`` is the CSV of one job,
``BulkResults`` its results.

A job's rows are written to a temporary file and streamed up; the job is polled until it ends,
at the pace it reports; its result files are parsed as they download and matched back to the
input by key (external id, Id, or the row itself for inserts) because Salesforce does not keep
input order. Memory follows the number of records (a key and a byte each), not their size.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import logging
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, BinaryIO, overload

import requests
from django.utils.translation import gettext as _
from simple_salesforce import Salesforce

from integration.clients.salesforce.errors import SalesforceError, SalesforceTransientError
from integration.clients.salesforce.results import RecordError, RecordResult, _parse_bulk_error
from integration.clients.salesforce.session import SalesforceSession
from integration.clients.salesforce.soql import soql_datetime

logger = logging.getLogger(__name__)

_RESULT_TYPES = ("successfulResults", "failedResults", "unprocessedrecords")
# The longest wait between two polls of a Bulk job that reports its progress.
BULK_MAX_POLL_SECONDS = 30.0


class BulkApi(SalesforceSession):
    """Inserts, updates and upserts of large sets, one Bulk API 2.0 ingest job each."""

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

    def bulk_run(
        self, object_name: str, upload: BulkUpload, *, assignment_rule_id: str | None = None
    ) -> Sequence[RecordResult]:
        """Run one Bulk API 2.0 ingest job with the rows of ``upload``; one result per row, in
        the order the rows were added (Salesforce does not keep it: results are matched by key).
        The CSV is streamed from its file and the result files are read as they arrive.

        ``assignment_rule_id``: the assignment rule the job applies to its Leads; a Bulk API 2.0
        job applies none without it ("Create a Job", ``assignmentRuleId``,
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/create_job.htm)."""
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
        if assignment_rule_id:
            job_body["assignmentRuleId"] = assignment_rule_id
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
        """A value as a CSV cell. ``None`` and ``""`` clear the field: Bulk API 2.0 reads ``#N/A`` as
        null and an empty cell as "leave the field as it is" ("Prepare CSV Files",
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_prepare_csv.htm).
        A field a record does not set at all is left as it is (an empty cell, ``add``)."""
        if value is None or value == "":
            return "#N/A"
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
