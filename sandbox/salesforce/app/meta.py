"""The API's description of itself: versions, resources and limits (``DailyApiRequests``)."""

from __future__ import annotations

from sandbox.salesforce.app.common import API_VERSIONS, check_version
from sandbox.salesforce.store import SalesforceStore
from sandbox.wsgi import Request, Response, json_response

_RELEASES = {59: "Winter '24", 60: "Spring '24", 61: "Summer '24", 62: "Winter '25"}


class MetaHandlers:
    """``GET /services/data/``, ``V/`` and ``V/limits``."""

    def __init__(self, store: SalesforceStore) -> None:
        self.store = store

    def versions(self, request: Request) -> Response:
        return json_response(
            200,
            [
                {"label": _RELEASES.get(int(float(v)), f"v{v}"), "url": f"/services/data/v{v}", "version": v}
                for v in API_VERSIONS
            ],
        )

    def resources(self, request: Request, version: str) -> Response:
        base = f"/services/data/v{check_version(version)}"
        names = ["sobjects", "query", "queryAll", "limits", "composite", "jobs"]
        return json_response(200, {name: f"{base}/{name}" for name in names})

    def limits(self, request: Request, version: str) -> Response:
        check_version(version)
        used, limit = request.state.get("api_usage") or self.store.api_usage()

        def pair(maximum: int, remaining: int) -> dict[str, int]:
            return {"Max": maximum, "Remaining": remaining}

        return json_response(
            200,
            {
                "ConcurrentAsyncGetReportInstances": pair(200, 200),
                "DailyApiRequests": pair(limit, max(0, limit - used)),
                "DailyAsyncApexExecutions": pair(250000, 250000),
                "DailyBulkApiBatches": pair(15000, 15000),
                "DailyBulkV2QueryFileStorageMB": pair(976562, 976562),
                "DailyBulkV2QueryJobs": pair(10000, 10000),
                "DataStorageMB": pair(1024, 1024),
                "HourlyODataCallout": pair(10000, 10000),
                "SingleEmail": pair(5000, 5000),
            },
        )
