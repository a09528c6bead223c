"""Lookups by Email in the Salesforce sandbox go through an in-memory map of candidate ids
(``integration/sandbox/salesforce/emails.py``) instead of an SQLite index: they must find exactly
what a scan of the table finds, whoever wrote the file and whatever was rolled back."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.sandbox.salesforce import soql
from integration.sandbox.salesforce.records import RecordService
from integration.sandbox.salesforce.schema import OBJECTS
from integration.sandbox.salesforce.store import SalesforceStore

LEAD = OBJECTS["lead"]
EMAIL = LEAD.by_name["Email"]
# Few distinct addresses in several cases, so that lookups often hit and often collide.
EMAILS = [f"{local}@{domain}" for local in ("ana", "ANA", "Bob", "bob.k") for domain in ("x.com", "X.Com")]


def scan(store: SalesforceStore, email: str) -> list[str]:
    """The reference: every live Lead whose Email equals ``email`` as SOQL compares (NOCASE)."""
    rows = store.read().execute(
        'SELECT "Id" FROM "Lead" WHERE "Email" = ? COLLATE NOCASE AND "IsDeleted" = 0 ORDER BY "Id"', (email,)
    )
    return [row[0] for row in rows]


def soql_ids(store: SalesforceStore, text: str) -> list[str]:
    conn = store.read()
    query = soql.parse(text)
    sql, params = soql.compile_query(
        query, email_candidates=lambda emails: store.emails.candidates_param(conn, "Lead", emails)
    )
    return [row[0] for row in conn.execute(sql, params)]


@pytest.fixture
def stores(tmp_path):
    """Two stores on one file, as a server and ``sandbox_reset`` (or a second server) are."""
    first, second = SalesforceStore(tmp_path / "sf.sqlite3"), SalesforceStore(tmp_path / "sf.sqlite3")
    yield first, second
    first.close()
    second.close()


def create(store: SalesforceStore, email: str | None) -> str:
    [result] = RecordService(store).create(LEAD, [{"LastName": "Doe", "Company": "Acme", "Email": email}])
    assert result.success, result.errors
    return result.id  # type: ignore[return-value]


def set_email(store: SalesforceStore, record_id: str, email: str | None) -> None:
    [result] = RecordService(store).update(LEAD, [{"Id": record_id, "Email": email}])
    assert result.success, result.errors


operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 1), st.sampled_from([*EMAILS, None])),
        st.tuples(st.just("update"), st.integers(0, 1), st.integers(0, 50), st.sampled_from([*EMAILS, None])),
        st.tuples(st.just("upsert"), st.integers(0, 1), st.integers(0, 50), st.sampled_from(EMAILS)),
        st.tuples(st.just("delete"), st.integers(0, 1), st.integers(0, 50)),
        st.tuples(st.just("rollback"), st.integers(0, 1), st.sampled_from(EMAILS)),
        st.tuples(st.just("reset"), st.integers(0, 1)),
    ),
    max_size=25,
)


class TestEmailLookups:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops=operations, probe=st.sampled_from(EMAILS))
    def test_every_lookup_by_email_finds_what_a_scan_finds(self, stores, ops, probe):
        for store in stores:
            store.reset()
        made: list[str] = []
        for op in ops:
            store = stores[op[1]]
            records = RecordService(store)
            if op[0] == "create":
                made.append(create(store, op[2]))
            elif op[0] == "update" and made:
                # Refused once the record is deleted, as in Salesforce.
                records.update(LEAD, [{"Id": made[op[2] % len(made)], "Email": op[3]}])
            elif op[0] == "upsert":
                # Upsert keyed on Email: updates the one live record holding it, else creates.
                results = records.upsert(LEAD, EMAIL, [{"Email": op[3], "LastName": "Upserted", "Company": "Acme"}])
                if results[0].success and results[0].created:
                    made.append(results[0].id)
            elif op[0] == "delete" and made:
                records.delete(LEAD, [made[op[2] % len(made)]])
            elif op[0] == "rollback":
                with contextlib.suppress(RuntimeError), store.write():
                    create(store, op[2])
                    raise RuntimeError("rolled back")
            elif op[0] == "reset":
                store.reset()
                made.clear()
            for reader in stores:
                expected = scan(reader, probe)
                found = [row["Id"] for row in RecordService(reader).find_by(LEAD, EMAIL, probe)]
                assert found == expected
                assert soql_ids(reader, f"SELECT Id FROM Lead WHERE Email = '{probe}'") == expected
                both = soql_ids(
                    reader, f"SELECT Id FROM Lead WHERE LastName != null AND Email IN ('{probe}', 'nobody@x.com')"
                )
                assert both == expected

    def test_an_email_changed_away_no_longer_matches(self, stores):
        store, _ = stores
        record_id = create(store, "old@x.com")
        set_email(store, record_id, "New@X.com")
        assert RecordService(store).find_by(LEAD, EMAIL, "old@x.com") == []
        assert [r["Id"] for r in RecordService(store).find_by(LEAD, EMAIL, "new@x.com")] == [record_id]

    def test_a_write_by_another_store_on_the_file_is_seen(self, stores):
        server, other = stores
        assert RecordService(server).find_by(LEAD, EMAIL, "ana@x.com") == []  # the map is built now
        record_id = create(other, "ana@x.com")
        assert [r["Id"] for r in RecordService(server).find_by(LEAD, EMAIL, "ANA@x.com")] == [record_id]


class TestEmailLookupPlans:
    """The point of the map: a lookup by Email reads the candidate rows by primary key."""

    @pytest.mark.parametrize(
        "text",
        [
            "SELECT Id FROM Lead WHERE Email = 'a@x.com'",
            "SELECT Id, Email FROM Lead WHERE Email IN ('a@x.com', 'b@x.com') AND IsConverted = false",
        ],
    )
    def test_soql_on_email_searches_by_primary_key(self, stores, text):
        store, _ = stores
        for email in EMAILS:
            create(store, email)
        conn = store.read()
        sql, params = soql.compile_query(
            soql.parse(text), email_candidates=lambda emails: store.emails.candidates_param(conn, "Lead", emails)
        )
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert "USING PRIMARY KEY" in plan and "SCAN Lead" not in plan, plan

    def test_no_index_on_email_is_kept(self, stores):
        store, _ = stores
        indexed = {
            row[0]
            for table in ("Lead", "Contact")
            for row in store.read().execute(f"SELECT name FROM pragma_index_list('{table}')")
        }
        assert not {name for name in indexed if name.endswith("_email")}
