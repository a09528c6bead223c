"""Lookups by Email and by LastModifiedDate in the Salesforce sandbox go through in-memory maps of
candidate ids (``sandbox/salesforce/lookups.py``) instead of SQLite indexes: they must
find exactly what a scan of the table finds, whoever wrote the file and whatever was rolled back."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.salesforce import soql
from sandbox.salesforce.lookups import _ObjectMaps
from sandbox.salesforce.records import RecordService
from sandbox.salesforce.schema import OBJECTS
from sandbox.salesforce.store import SalesforceStore

LEAD = OBJECTS["lead"]
EMAIL = LEAD.by_name["Email"]
HUBSPOT_ID = LEAD.by_name["HubSpot_Id__c"]
# Few distinct addresses in several cases, so that lookups often hit and often collide.
EMAILS = [f"{local}@{domain}" for local in ("ana", "ANA", "Bob", "bob.k") for domain in ("x.com", "X.Com")]


def scan(store: SalesforceStore, email: str) -> list[str]:
    """The reference: every live Lead whose Email equals ``email`` as SOQL compares (NOCASE)."""
    rows = store.read().execute(
        'SELECT "Id" FROM "Lead" WHERE "Email" = ? COLLATE NOCASE AND "IsDeleted" = 0 ORDER BY "Id"', (email,)
    )
    return [row[0] for row in rows]


def soql_ids(store: SalesforceStore, text: str, *, narrowed: bool = True) -> list[str]:
    conn = store.read()
    candidates = store.lookups.for_query(conn, "Lead") if narrowed else None
    sql, params = soql.compile_query(soql.parse(text), candidates=candidates)
    return [row[0] for row in conn.execute(sql, params)]


def stamps(store: SalesforceStore) -> list[str]:
    return [row[0] for row in store.read().execute('SELECT DISTINCT "LastModifiedDate" FROM "Lead" ORDER BY 1')]


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
        st.tuples(st.just("upsert by email"), st.integers(0, 1), st.sampled_from(EMAILS)),
        # Keyed on the external id: the column-at-a-time path when every value is plain.
        st.tuples(
            st.just("upsert by external id"),
            st.integers(0, 1),
            st.lists(st.tuples(st.sampled_from(["h1", "H1", "h2", "h3"]), st.sampled_from(EMAILS)), max_size=3),
        ),
        st.tuples(st.just("delete"), st.integers(0, 1), st.integers(0, 50)),
        st.tuples(st.just("rollback"), st.integers(0, 1), st.sampled_from(EMAILS)),
        st.tuples(st.just("reset"), st.integers(0, 1)),
    ),
    max_size=25,
)


class TestLookups:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops=operations, probe=st.sampled_from(EMAILS))
    def test_every_lookup_finds_what_a_scan_finds(self, stores, ops, probe):
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
            elif op[0] == "upsert by email":
                # Updates the one live record holding it, else creates.
                results = records.upsert(LEAD, EMAIL, [{"Email": op[2], "LastName": "Upserted", "Company": "Acme"}])
                made += [r.id for r in results if r.success and r.created]
            elif op[0] == "upsert by external id" and op[2]:
                batch = [
                    {"HubSpot_Id__c": key, "Email": email, "LastName": "X", "Company": "Y"} for key, email in op[2]
                ]
                results = records.upsert(LEAD, HUBSPOT_ID, batch)
                made += [r.id for r in results if r.success and r.created]
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
                both = f"SELECT Id FROM Lead WHERE LastName != null AND Email IN ('{probe}', 'nobody@x.com')"
                assert soql_ids(reader, both) == expected
                # Since each stamp on the file, and since before the first one.
                for stamp in ["2000-01-01T00:00:00.000+0000", *stamps(reader)]:
                    for op_text in (">", ">="):
                        text = f"SELECT Id FROM Lead WHERE LastModifiedDate {op_text} {stamp.replace('+0000', 'Z')}"
                        assert soql_ids(reader, text) == soql_ids(reader, text, narrowed=False)

    def test_an_email_changed_away_no_longer_matches(self, stores):
        store, _ = stores
        record_id = create(store, "old@x.com")
        set_email(store, record_id, "New@X.com")
        assert RecordService(store).find_by(LEAD, EMAIL, "old@x.com") == []
        assert [r["Id"] for r in RecordService(store).find_by(LEAD, EMAIL, "new@x.com")] == [record_id]

    def test_a_write_by_another_store_on_the_file_is_seen(self, stores):
        server, other = stores
        assert RecordService(server).find_by(LEAD, EMAIL, "ana@x.com") == []  # the maps are built now
        record_id = create(other, "ana@x.com")
        assert [r["Id"] for r in RecordService(server).find_by(LEAD, EMAIL, "ANA@x.com")] == [record_id]
        since = stamps(server)[-1].replace("+0000", "Z")
        assert soql_ids(server, f"SELECT Id FROM Lead WHERE LastModifiedDate >= {since}") == [record_id]


writes = st.lists(
    st.tuples(st.integers(0, 40), st.lists(st.sampled_from([f"id{n}" for n in range(12)]), max_size=4)),
    max_size=60,
)


class TestModifiedLog:
    @settings(max_examples=200, deadline=None)
    @given(writes=writes, bound=st.integers(-1, 41), inclusive=st.booleans())
    def test_candidates_hold_every_record_modified_since(self, writes, bound, inclusive):
        """Writes stamped out of order (a clock going back), many of them (compaction)."""
        log = _ObjectMaps()
        latest: dict[str, str] = {}
        for _ in range(300):  # enough entries to pass the compaction threshold now and then
            for stamp_number, record_ids in writes:
                stamp = f"{stamp_number:03d}"
                log.add_write(stamp, record_ids)
                latest.update(dict.fromkeys(record_ids, stamp))
            if not writes:
                break
        assert log.stamps == sorted(log.stamps)
        cut = f"{bound:03d}" if bound >= 0 else ""
        modified = {i for i, stamp in latest.items() if (stamp >= cut if inclusive else stamp > cut)}
        start = next((n for n, s in enumerate(log.stamps) if (s >= cut if inclusive else s > cut)), len(log.stamps))
        assert modified <= set(log.stamp_ids[start:])
        # Compaction keeps the log near one entry per record.
        assert len(log.stamps) <= 2 * max(log.compacted, len(latest)) + 10_000


class TestLookupPlans:
    """The point of the maps: a lookup reads its candidate rows by primary key."""

    @pytest.mark.parametrize(
        "text",
        [
            "SELECT Id FROM Lead WHERE Email = 'a@x.com'",
            "SELECT Id, Email FROM Lead WHERE Email IN ('a@x.com', 'b@x.com') AND IsConverted = false",
            # The incremental pull of the sync.
            "SELECT Id, Email, LastModifiedDate FROM Lead WHERE LastModifiedDate >= 2026-01-01T00:00:00Z "
            "ORDER BY LastModifiedDate ASC, Id ASC",
        ],
    )
    def test_soql_searches_by_primary_key(self, stores, text):
        store, _ = stores
        for email in EMAILS:
            create(store, email)
        conn = store.read()
        sql, params = soql.compile_query(soql.parse(text), candidates=store.lookups.for_query(conn, "Lead"))
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert "USING PRIMARY KEY" in plan and "SCAN Lead" not in plan, plan

    def test_no_index_on_email_or_last_modified_date_is_kept(self, stores):
        store, _ = stores
        indexed = {
            row[0]
            for table in ("Lead", "Contact")
            for row in store.read().execute(f"SELECT name FROM pragma_index_list('{table}')")
        }
        assert not {name for name in indexed if name.endswith(("_email", "_lastmodified"))}
