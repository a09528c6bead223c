"""The Salesforce sandbox driven by the unmodified simple-salesforce over real HTTPS: injected faults
in Salesforce's shapes, per request and per record.
"""

from __future__ import annotations

import time

import pytest
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from tests.sandbox.salesforce_helpers import error_of, lead


class TestFaults:
    def test_header_faults_in_salesforce_shapes(self, sf):
        def with_fault(kind):
            return sf.query("SELECT Id FROM Lead", headers={"X-Sandbox-Fault": kind})

        with pytest.raises(SalesforceRefusedRequest) as exc:
            with_fault("rate_limit")
        assert error_of(exc)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
        with pytest.raises(SalesforceGeneralError) as exc:
            with_fault("server_error")
        assert exc.value.status == 503 and error_of(exc)["errorCode"] == "SERVER_UNAVAILABLE"
        with pytest.raises(SalesforceExpiredSession) as exc:
            with_fault("expired_session")
        assert error_of(exc)["errorCode"] == "INVALID_SESSION_ID"
        with pytest.raises(SalesforceMalformedRequest) as exc:
            with_fault("unable_to_lock_row")
        assert error_of(exc)["errorCode"] == "UNABLE_TO_LOCK_ROW"
        with pytest.raises(SalesforceGeneralError) as exc:
            with_fault("down")
        assert exc.value.status == 503
        started = time.monotonic()
        assert with_fault("latency; latency_ms=150")["totalSize"] == 0
        assert time.monotonic() - started >= 0.15

    def test_unable_to_lock_row_is_per_record_in_collections(self, sf):
        records = [{"attributes": {"type": "Lead"}, **lead(i)} for i in range(4)]
        results = sf.restful(
            "composite/sobjects",
            method="POST",
            json={"allOrNone": False, "records": records},
            headers={"X-Sandbox-Fault": "unable_to_lock_row; every=2"},
        )
        assert [r["success"] for r in results] == [False, True, False, True]
        assert results[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"

    def test_unable_to_lock_row_per_record_in_bulk(self, sf, control):
        control(
            "/_sandbox/faults",
            {"kind": "unable_to_lock_row", "path": "/jobs/ingest/\\w+$", "method": "PATCH", "every": 3},
        )
        result = sf.bulk2.Lead.insert(records=[lead(i) for i in range(9)], wait=0.05)
        assert result[0]["numberRecordsFailed"] == 3
        failed = sf.bulk2.Lead.get_failed_records(result[0]["job_id"])
        assert failed.count("UNABLE_TO_LOCK_ROW:") == 3

    def test_fault_plan_by_control_endpoint_is_deterministic(self, sf, control):
        control("/_sandbox/faults", {"kind": "server_error", "count": 2, "path": "/query"})
        failures = 0
        for _ in range(4):
            try:
                sf.query("SELECT Id FROM Lead")
            except SalesforceGeneralError:
                failures += 1
        assert failures == 2
