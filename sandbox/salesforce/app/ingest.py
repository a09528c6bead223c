"""Bulk API 2.0 ingest over HTTP (``V/jobs/ingest``); the jobs themselves run in ``BulkService``."""

from __future__ import annotations

from typing import Any

from sandbox.salesforce.app.common import check_version, lock_every, raise_request_error
from sandbox.salesforce.bulk import BulkService
from sandbox.salesforce.records import RequestError
from sandbox.wsgi import HttpError, Request, Response, empty_response, json_response, text_response


class IngestHandlers:
    def __init__(self, bulk: BulkService) -> None:
        self.bulk = bulk

    def _bulk(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except RequestError as exc:
            raise_request_error(exc)

    def bulk_create(self, request: Request, version: str) -> Response:
        version = check_version(version)
        return json_response(200, self._bulk(self.bulk.create_job, request.json(), version))

    def bulk_list(self, request: Request, version: str) -> Response:
        return json_response(200, self.bulk.list_jobs(check_version(version)))

    def bulk_info(self, request: Request, version: str, job: str) -> Response:
        return json_response(200, self._bulk(self.bulk.job_info, job, check_version(version)))

    def bulk_state(self, request: Request, version: str, job: str) -> Response:
        version = check_version(version)
        body = request.json()
        state = body.get("state") if isinstance(body, dict) else None
        info = self._bulk(self.bulk.set_state, job, state, version, lock_every=lock_every(request))
        return json_response(200, info)

    def bulk_delete(self, request: Request, version: str, job: str) -> Response:
        check_version(version)
        self._bulk(self.bulk.delete_job, job)
        return empty_response(204)

    def bulk_upload(self, request: Request, version: str, job: str) -> Response:
        check_version(version)
        content_type = (request.header("Content-Type") or "").lower()
        if content_type and not content_type.startswith("text/csv"):
            raise HttpError(415, f"Unsupported content type: {content_type}; use text/csv", code="INVALIDBATCH")
        self._bulk(self.bulk.upload, job, request.body)
        return empty_response(201)

    def bulk_results(self, request: Request, version: str, job: str, which: str) -> Response:
        check_version(version)
        text = self._bulk(self.bulk.results, job, which)
        return text_response(200, text, content_type="text/csv")
