"""The Salesforce sandbox driven by the unmodified simple-salesforce over real HTTPS: SOQL, paging
with query locators, queryAll.
"""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
)

from tests.sandbox.salesforce_helpers import error_of, lead


class TestQuery:
    def test_paging_with_query_more_and_query_all(self, sf):
        records = [{"attributes": {"type": "Lead"}, **lead(i)} for i in range(200)]
        for _ in range(13):  # 2,600 leads: two pages of the default batch of 2,000
            results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
            assert all(r["success"] for r in results)
        first = sf.query("SELECT Id, Email FROM Lead ORDER BY Email")
        assert first["totalSize"] == 2600 and len(first["records"]) == 2000 and not first["done"]
        assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
        second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
        assert second["done"] and len(second["records"]) == 600 and "nextRecordsUrl" not in second
        emails = [r["Email"] for r in first["records"] + second["records"]]
        assert emails == sorted(emails, key=str.lower)
        everything = sf.query_all("SELECT Id FROM Lead")
        assert everything["totalSize"] == 2600 and len({r["Id"] for r in everything["records"]}) == 2600
        small = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=500"})
        assert len(small["records"]) == 500
        assert sf.query("SELECT COUNT() FROM Lead WHERE Email = 'USER1@EXAMPLE.COM'")["totalSize"] == 13

    def test_filters_and_query_all_sees_deleted(self, sf):
        ids = [sf.Lead.create(lead(i, NumberOfEmployees=i * 10))["id"] for i in range(1, 5)]
        found = sf.query("SELECT Id, Email FROM Lead WHERE NumberOfEmployees >= 20 AND Email != 'user4@example.com'")
        assert sorted(r["Id"] for r in found["records"]) == sorted(ids[1:3])
        recent = sf.query("SELECT Id FROM Lead WHERE LastModifiedDate > 2020-01-01T00:00:00Z LIMIT 2")
        assert len(recent["records"]) == 2
        sf.Lead.delete(ids[0])
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 3
        assert sf.query_all("SELECT Id FROM Lead", include_deleted=True)["totalSize"] == 4

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("SELEC Id FROM Lead", "MALFORMED_QUERY"),
            ("SELECT Id FROM Lead WHERE Email = ", "MALFORMED_QUERY"),
            ("SELECT Shoe__c FROM Lead", "INVALID_FIELD"),
            ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
            ("SELECT Id FROM Lead WHERE CreatedDate > '2026-01-01'", "INVALID_FIELD"),
        ],
    )
    def test_query_errors(self, sf, text, code):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query(text)
        assert error_of(exc)["errorCode"] == code

    def test_invalid_locator(self, sf):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query_more("/services/data/v59.0/query/01g5g00000000xxAAA-2000", identifier_is_url=True)
        assert error_of(exc)["errorCode"] == "INVALID_QUERY_LOCATOR"
