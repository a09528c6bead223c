"""Bulk API 2.0 ingest jobs: Open -> UploadComplete -> InProgress -> JobComplete | Failed | Aborted.

Processing runs in a background thread after ``UploadComplete``, like Salesforce's, so clients
must poll the job. A job runs no lead assignment rule unless it was created with
``assignmentRuleId`` (then that rule runs for every Lead row it writes; see :mod:`.assignment`). Result files come back in a shuffled (but deterministic, seeded by the job id)
order: Salesforce does not promise input order, and a client that matches results by position
would be wrong against a real org.
"""

from __future__ import annotations

import csv
import io
import random
import threading
import time
from typing import Any

from sandbox.salesforce import assignment, ids
from sandbox.salesforce.org import INTEGRATION_USER_ID
from sandbox.salesforce.records import RecordError, RecordResult, RecordService, RequestError
from sandbox.salesforce.schema import SObject, get_object
from sandbox.salesforce.store import SalesforceStore, format_datetime, utc_now

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
TERMINAL = ("JobComplete", "Failed", "Aborted")
RESULT_KINDS = {"successfulResults": "successful", "failedResults": "failed", "unprocessedrecords": "unprocessed"}
CHUNK = 2000
USER_ID = INTEGRATION_USER_ID  # who creates every job: the user behind the token


def _invalid(message: str, code: str = "INVALIDJOB", status: int = 400) -> RequestError:
    return RequestError(status, code, message)


class BulkService:
    def __init__(self, store: SalesforceStore, records: RecordService) -> None:
        self.store = store
        self.records = records
        self._threads: dict[str, threading.Thread] = {}
        self._lock_every: dict[str, int] = {}

    # -- jobs -------------------------------------------------------------------------------

    def create_job(self, body: Any, version: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _invalid("Invalid job: a JSON object is expected.")
        object_name = body.get("object")
        operation = body.get("operation")
        if not object_name:
            raise _invalid("InvalidJob : Object is required.")
        sobject = get_object(str(object_name))
        if sobject is None:
            raise _invalid(f"Entity '{object_name}' is not supported by the Bulk API.", code="INVALIDENTITY")
        if operation not in OPERATIONS:
            raise _invalid(f"InvalidJob : Invalid operation: {operation}")
        content_type = body.get("contentType", "CSV")
        if content_type != "CSV":
            raise _invalid(f"InvalidJob : Invalid content type: {content_type}. Only CSV is supported.")
        line_ending = body.get("lineEnding", "LF")
        if line_ending not in LINE_ENDINGS:
            raise _invalid(f"InvalidJob : Invalid line ending: {line_ending}")
        delimiter = body.get("columnDelimiter", "COMMA")
        if delimiter not in DELIMITERS:
            raise _invalid(f"InvalidJob : Invalid column delimiter: {delimiter}")
        external_id = body.get("externalIdFieldName")
        if operation == "upsert":
            if not external_id:
                raise _invalid("InvalidJob : External ID field is required for upsert.")
            key_field = sobject.field(str(external_id))
            if key_field is None or not (key_field.external_id or key_field.name in ("Id", "Email")):
                raise _invalid(f"InvalidJob : Field {external_id} is not an external ID field on {sobject.name}.")
            external_id = key_field.name
        else:
            external_id = None
        rule = body.get("assignmentRuleId")
        if rule is not None:
            # "The ID of an assignment rule to run for a Case or a Lead. The assignment rule can
            # be active or inactive." ("Create a Job", Bulk API 2.0)
            try:
                rule = assignment.rule_id(self.store, rule) if isinstance(rule, str) else None
            except assignment.AssignmentError as exc:
                raise _invalid(f"InvalidJob : {exc.message}") from None
            if rule is None:
                raise _invalid("InvalidJob : assignmentRuleId must be an AssignmentRule id.")
        now = format_datetime(utc_now())
        with self.store.write() as conn:
            job_id = ids.make_id(ids.JOB_PREFIX, self.store.allocate(conn, "bulk_job", 1))
            conn.execute(
                "INSERT INTO bulk_jobs (id, object, operation, external_id_field, state, line_ending, "
                "column_delimiter, content_type, api_version, created_date, system_modstamp, assignment_rule_id) "
                "VALUES (?, ?, ?, ?, 'Open', ?, ?, 'CSV', ?, ?, ?, ?)",
                (job_id, sobject.name, operation, external_id, line_ending, delimiter, version, now, now, rule),
            )
        return self.job_info(job_id, version, full=False)

    def _row(self, job_id: str) -> Any:
        row = self.store.read().execute("SELECT * FROM bulk_jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise RequestError(404, "NOT_FOUND", "The requested resource does not exist")
        return row

    def job_info(self, job_id: str, version: str, *, full: bool = True) -> dict[str, Any]:
        row = self._row(job_id)
        info: dict[str, Any] = {
            "id": row["id"],
            "operation": row["operation"],
            "object": row["object"],
            "createdById": USER_ID,
            "createdDate": row["created_date"],
            "systemModstamp": row["system_modstamp"],
            "state": row["state"],
        }
        if row["external_id_field"]:
            info["externalIdFieldName"] = row["external_id_field"]
        if row["assignment_rule_id"]:
            info["assignmentRuleId"] = row["assignment_rule_id"]
        info.update(
            {
                "concurrencyMode": "Parallel",
                "contentType": "CSV",
                "apiVersion": float(row["api_version"]),
                "contentUrl": f"services/data/v{row['api_version']}/jobs/ingest/{row['id']}/batches",
                "lineEnding": row["line_ending"],
                "columnDelimiter": row["column_delimiter"],
            }
        )
        if full:
            info.update(
                {
                    "jobType": "V2Ingest",
                    "retries": 0,
                    "numberRecordsProcessed": row["processed"],
                    "numberRecordsFailed": row["failed"],
                    "totalProcessingTime": row["processing_ms"],
                    "apiActiveProcessingTime": row["processing_ms"],
                    "apexProcessingTime": 0,
                }
            )
            if row["error_message"]:
                info["errorMessage"] = row["error_message"]
        return info

    def list_jobs(self, version: str) -> dict[str, Any]:
        rows = self.store.read().execute("SELECT id FROM bulk_jobs ORDER BY created_date, id").fetchall()
        return {
            "done": True,
            "records": [self.job_info(row["id"], version, full=False) | {"jobType": "V2Ingest"} for row in rows],
            "nextRecordsUrl": None,
        }

    def upload(self, job_id: str, data: bytes) -> None:
        row = self._row(job_id)
        if row["state"] != "Open":
            raise RequestError(
                409,
                "INVALIDJOBSTATE",
                f"Job {job_id} is not in the Open state; data can only be uploaded to an Open job.",
            )
        if not data:
            raise RequestError(400, "INVALIDBATCH", "InvalidBatch : The upload is empty.")
        with self.store.write() as conn:
            seq = conn.execute("SELECT COUNT(*) FROM bulk_job_data WHERE job_id = ?", (job_id,)).fetchone()[0]
            if seq:
                # Bulk API 2.0 takes one upload per job; a second PUT is refused.
                raise RequestError(
                    409, "INVALIDJOBSTATE", "Found multiple uploads for the job. Only one upload is allowed per job."
                )
            conn.execute("INSERT INTO bulk_job_data (job_id, seq, data) VALUES (?, ?, ?)", (job_id, seq, data))

    def set_state(self, job_id: str, state: Any, version: str, *, lock_every: int | None = None) -> dict[str, Any]:
        """``lock_every``: the ``unable_to_lock_row`` fault, every n-th record fails with it."""
        row = self._row(job_id)
        if state == "UploadComplete":
            if row["state"] != "Open":
                raise RequestError(409, "INVALIDJOBSTATE", f"Job {job_id} is not Open; it cannot be closed.")
            if lock_every:
                self._lock_every[job_id] = lock_every
            self._update(job_id, state="UploadComplete")
            thread = threading.Thread(target=self._process, args=(job_id,), name=f"bulk-{job_id}", daemon=True)
            self._threads[job_id] = thread
            thread.start()
        elif state == "Aborted":
            if row["state"] in TERMINAL:
                raise RequestError(409, "INVALIDJOBSTATE", f"Job {job_id} is already {row['state']}.")
            self._update(job_id, state="Aborted")
            if row["state"] in ("Open", "UploadComplete"):
                # Nothing was processed (an UploadComplete job's thread sees Aborted and stops).
                self._write_unprocessed(self._row(job_id))
        else:
            raise RequestError(400, "INVALIDJOBSTATE", f"Invalid state: {state}. Use UploadComplete or Aborted.")
        return self.job_info(job_id, version, full=False)

    def delete_job(self, job_id: str) -> None:
        row = self._row(job_id)
        if row["state"] not in TERMINAL:
            raise RequestError(409, "INVALIDJOBSTATE", "Only a completed, failed or aborted job can be deleted.")
        with self.store.write() as conn:
            for table, column in (("bulk_jobs", "id"), ("bulk_job_data", "job_id"), ("bulk_job_results", "job_id")):
                conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (job_id,))  # noqa: S608 - constants

    def results(self, job_id: str, which: str) -> str:
        row = self._row(job_id)
        kind = {name.lower(): value for name, value in RESULT_KINDS.items()}[which.lower()]
        stored = (
            self.store.read()
            .execute("SELECT data FROM bulk_job_results WHERE job_id = ? AND kind = ?", (job_id, kind))
            .fetchone()
        )
        if stored is None:
            if row["state"] not in TERMINAL:
                raise RequestError(
                    400,
                    "INVALIDJOBSTATE",
                    f"Job {job_id} is {row['state']}; results are available once it has finished.",
                )
            return ""
        return bytes(stored["data"]).decode("utf-8")

    def wait(self, job_id: str, timeout: float = 60.0) -> None:
        """Test helper: join the processing thread."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)

    # -- processing -------------------------------------------------------------------------

    def _update(self, job_id: str, **values: Any) -> None:
        values["system_modstamp"] = format_datetime(utc_now())
        assignments = ", ".join(f"{key} = ?" for key in values)
        with self.store.write() as conn:
            conn.execute(f"UPDATE bulk_jobs SET {assignments} WHERE id = ?", (*values.values(), job_id))  # noqa: S608

    def _process(self, job_id: str) -> None:
        started = time.monotonic()
        try:
            delay = int(self.store.settings().get("bulk_processing_delay_ms") or 0)
            if delay:
                time.sleep(delay / 1000)
            if self._row(job_id)["state"] != "UploadComplete":
                return
            self._update(job_id, state="InProgress")
            rule = self._row(job_id)["assignment_rule_id"]
            # Set in this thread whatever the request's was: a job assigns by its own rule only.
            assignment.AUTO_ASSIGN.set(assignment.Assignment(rule) if rule else None)
            self._run(job_id, started)
        except Exception as exc:  # a crash must end as a Failed job, never as a job stuck InProgress
            self._update(job_id, state="Failed", error_message=f"InternalServerError : {exc}")

    def _parse(self, job: Any) -> tuple[list[str], list[list[str]]]:
        chunks = (
            self.store.read()
            .execute("SELECT data FROM bulk_job_data WHERE job_id = ? ORDER BY seq", (job["id"],))
            .fetchall()
        )
        if not chunks:
            raise _invalid("InvalidBatch : No data was uploaded for this job.", code="INVALIDBATCH")
        text = b"".join(bytes(c["data"]) for c in chunks).decode("utf-8-sig")
        crlf = "\r\n" in text
        if crlf != (job["line_ending"] == "CRLF") and "\n" in text:
            raise _invalid(
                "InvalidBatch : LineEnding is invalid on user data. Current LineEnding setting is "
                f"{job['line_ending']}",
                code="INVALIDBATCH",
            )
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job["column_delimiter"]])
        try:
            rows = [row for row in reader if row]
        except csv.Error as exc:
            raise _invalid(f"InvalidBatch : Failed to parse CSV: {exc}", code="INVALIDBATCH")
        if not rows:
            raise _invalid("InvalidBatch : No data was uploaded for this job.", code="INVALIDBATCH")
        header, body = rows[0], rows[1:]
        for number, row in enumerate(body, start=2):
            if len(row) != len(header):
                raise _invalid(
                    f"InvalidBatch : Wrong number of columns on line {number}: expected {len(header)}, found {len(row)}",
                    code="INVALIDBATCH",
                )
        return header, body

    def _run(self, job_id: str, started: float) -> None:
        job = self._row(job_id)
        sobject = get_object(job["object"])
        assert sobject is not None
        try:
            header, body = self._parse(job)
            self._check_header(sobject, job, header)
        except RequestError as exc:
            self._update(job_id, state="Failed", error_message=exc.message)
            self._write_unprocessed(job)
            return
        successful: list[list[str]] = []
        failed: list[list[str]] = []
        unprocessed: list[list[str]] = []
        processed = failures = 0
        for start in range(0, len(body), CHUNK):
            if self._row(job_id)["state"] == "Aborted":
                unprocessed.extend(body[start:])
                break
            chunk = body[start : start + CHUNK]
            records = [dict(zip(header, row, strict=True)) for row in chunk]
            results = self._apply_with_locks(sobject, job, records, start)
            for row, result in zip(chunk, results, strict=True):
                if result.success:
                    successful.append([result.id or "", "true" if result.created else "false", *row])
                else:
                    failed.append([result.id or "", " ".join(error.bulk() for error in result.errors), *row])
                    failures += 1
            processed += len(chunk)
            self._update(job_id, processed=processed, failed=failures)
        self._write_results(job_id, successful, failed, unprocessed, header=header)
        elapsed = int((time.monotonic() - started) * 1000)
        final = "Aborted" if self._row(job_id)["state"] == "Aborted" else "JobComplete"
        self._update(job_id, state=final, processed=processed, failed=failures, processing_ms=elapsed)

    @staticmethod
    def _check_header(sobject: SObject, job: Any, header: list[str]) -> None:
        for name in header:
            if sobject.field(name) is None:
                raise _invalid(f"InvalidBatch : Field name not found : {name}", code="INVALIDBATCH")
        lowered = [name.lower() for name in header]
        if len(set(lowered)) != len(lowered):
            raise _invalid("InvalidBatch : Duplicate field name in the header row", code="INVALIDBATCH")
        if job["operation"] in ("update", "delete", "hardDelete") and "id" not in lowered:
            raise _invalid("InvalidBatch : Field name not found : Id", code="INVALIDBATCH")
        if job["operation"] == "upsert" and job["external_id_field"].lower() not in lowered:
            raise _invalid(f"InvalidBatch : Field name not found : {job['external_id_field']}", code="INVALIDBATCH")

    def _apply_with_locks(
        self, sobject: SObject, job: Any, records: list[dict[str, str]], offset: int
    ) -> list[RecordResult]:
        every = self._lock_every.get(job["id"])
        if not every:
            return self._apply(sobject, job, records)
        locked = {i for i in range(len(records)) if (offset + i) % every == 0}
        kept = [i for i in range(len(records)) if i not in locked]
        applied = iter(self._apply(sobject, job, [records[i] for i in kept]))
        lock_error = RecordError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records")
        return [RecordResult(None, [lock_error]) if i in locked else next(applied) for i in range(len(records))]

    def _apply(self, sobject: SObject, job: Any, records: list[dict[str, str]]) -> list[RecordResult]:
        operation = job["operation"]
        if operation == "insert":
            return self.records.create(sobject, records, from_csv=True)
        if operation == "update":
            return self.records.update(sobject, records, from_csv=True)
        if operation == "upsert":
            key_field = sobject.field(job["external_id_field"])
            assert key_field is not None
            return self.records.upsert(sobject, key_field, records, from_csv=True)
        raw_ids = [next((v for k, v in r.items() if k.lower() == "id"), "") for r in records]
        results = self.records.delete(sobject, raw_ids)
        for result, raw in zip(results, raw_ids, strict=True):
            if result.success:
                result.created = False
            elif not result.id:
                result.id = raw if ids.is_well_formed(raw) else ""
        return results

    def _write_unprocessed(self, job: Any) -> None:
        """The results of a job that processed nothing (aborted before it ran, or failed on its
        data): every uploaded row is unprocessed, under the upload's own header ("Get Job
        Unprocessed Record Results": "Retrieves a list of unprocessed records for failed or
        aborted jobs"; the records have the uploaded field names,
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_unprocessed_results.htm).
        Data that cannot be parsed is given back as it was uploaded; with no upload the files are empty."""
        try:
            header, body = self._parse(job)
        except RequestError:
            chunks = (
                self.store.read()
                .execute("SELECT data FROM bulk_job_data WHERE job_id = ? ORDER BY seq", (job["id"],))
                .fetchall()
            )
            self._write_results(job["id"], [], [], [], header=[])
            if chunks:
                with self.store.write() as conn:
                    conn.execute(
                        "UPDATE bulk_job_results SET data = ? WHERE job_id = ? AND kind = 'unprocessed'",
                        (b"".join(bytes(c["data"]) for c in chunks), job["id"]),
                    )
            return
        self._write_results(job["id"], [], [], body, header=header, shuffle=False)

    def _write_results(
        self,
        job_id: str,
        successful: list[list[str]],
        failed: list[list[str]],
        unprocessed: list[list[str]],
        *,
        header: list[str],
        shuffle: bool = True,
    ) -> None:
        rng = random.Random(job_id)
        shuffle = shuffle and bool(self.store.settings().get("bulk_shuffle_results", True))
        files = {
            "successful": (["sf__Id", "sf__Created", *header], successful),
            "failed": (["sf__Id", "sf__Error", *header], failed),
            "unprocessed": (list(header), unprocessed),
        }
        with self.store.write() as conn:
            for kind, (columns, rows) in files.items():
                rows = list(rows)
                if shuffle:
                    rng.shuffle(rows)
                out = io.StringIO()
                writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
                if columns:
                    writer.writerow(columns)
                writer.writerows(rows)
                conn.execute(
                    "INSERT INTO bulk_job_results (job_id, kind, data) VALUES (?, ?, ?) "
                    "ON CONFLICT(job_id, kind) DO UPDATE SET data = excluded.data",
                    (job_id, kind, out.getvalue().encode("utf-8")),
                )
