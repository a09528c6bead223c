"""Pure parts of the Salesforce sandbox: id checksum, the validation shortcut of the write path,
and the SOQL subset parser/compiler."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.salesforce import ids, reset, soql
from sandbox.salesforce import store as store_module
from sandbox.salesforce.records import (
    RecordError,
    RecordResult,
    RecordService,
    RequestError,
    check_value,
    coerce,
    save_results_json,
)
from sandbox.salesforce.schema import OBJECTS, SLOW
from sandbox.salesforce.store import SalesforceStore, _schema


class TestIds:
    def test_checksum_matches_salesforce_published_example(self):
        # The 15 -> 18 conversion example from Salesforce's documentation and knowledge base.
        assert ids.to_18("0015000000Gv7qJ") == "0015000000Gv7qJAAR"

    def test_checksum_of_all_upper_and_all_lower(self):
        assert ids.checksum("AAAAAAAAAAAAAAA") == "555"
        assert ids.checksum("aaaaaaaaaaaaaaa") == "AAA"

    def test_generated_ids_have_prefix_length_and_valid_suffix(self):
        lead = ids.make_id("00Q", 1)
        contact = ids.make_id("003", 123456)
        assert lead.startswith("00Q") and contact.startswith("003")
        assert len(lead) == len(contact) == 18
        assert ids.is_well_formed(lead) and ids.is_well_formed(contact)
        assert ids.normalize(contact[:15]) == contact

    def test_ids_differing_only_in_case_get_different_suffixes(self):
        assert ids.to_18("00Q5g0000000abc") != ids.to_18("00Q5g0000000ABC")

    @pytest.mark.parametrize("bad", ["", "abc", "00Q5g0000000001XXX", "00Q5g00000000!1", "00Q5g0000000001EAAB"])
    def test_malformed_ids_are_refused(self, bad):
        assert not ids.is_well_formed(bad)
        assert ids.normalize(bad) is None


def _reference_make_id(prefix: str, number: int) -> str:
    """make_id() as first written: one base-62 digit at a time, then the documented checksum."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = ids._BASE62[rest] + digits
    id15 = prefix + "5g0" + digits.rjust(9, "0")
    suffix = ""
    for start in (0, 5, 10):
        flags = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if "A" <= char <= "Z")
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[flags]
    return id15 + suffix


class TestIdsFastPath:
    @given(st.integers(min_value=0, max_value=62**9 - 1), st.sampled_from(["00Q", "003", "750", "01g", "005"]))
    @settings(max_examples=500, deadline=None)
    def test_make_id_matches_the_digit_by_digit_definition(self, number, prefix):
        assert ids.make_id(prefix, number) == _reference_make_id(prefix, number)

    @given(st.text(alphabet="abcXYZ019_é !", min_size=15, max_size=15))
    @settings(max_examples=300, deadline=None)
    def test_checksum_of_any_15_characters_follows_the_definition(self, id15):
        flags = [sum(1 << i for i, c in enumerate(id15[s : s + 5]) if "A" <= c <= "Z") for s in (0, 5, 10)]
        expected = "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[f] for f in flags)
        assert ids.checksum(id15) == expected

    def test_record_numbers_out_of_range_are_refused(self):
        for bad in (-1, 62**9):
            with pytest.raises(ValueError):
                ids.make_id("00Q", bad)


_FAST_FIELDS = sorted(
    {(o.name, f.name): f for o in OBJECTS.values() for f in o.fields if f.fast_value is not None}.items()
)
_PICKLIST_VALUES = sorted({v.value for o in OBJECTS.values() for f in o.fields for v in f.picklist})
_RAW_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**10), max_value=10**10),
    # Around every number of digits a field may allow, and past SQLite's integers.
    st.sampled_from([sign * (10**k + d) for k in range(20) for d in (-1, 0, 1) for sign in (1, -1)]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.sampled_from(_PICKLIST_VALUES + ["", "#N/A", "a@b.com", "a..b@c.com", "x@y", "o'neil+x@ex-ample.co.uk"]),
    # Text and emails at every field length, and one past it.
    st.sampled_from([c * n for n in (40, 41, 64, 65, 80, 81, 128, 129, 255, 256) for c in ("x", "é")]),
    st.sampled_from(["a" * (n - 12) + "@example.com" for n in (40, 41, 64, 65, 80, 81)]),
    st.from_regex(r"[a-z]{1,70}@[a-z]{1,10}\.[a-z]{2,3}", fullmatch=True),
    st.lists(st.integers(), max_size=2),
)


class TestValidationShortcut:
    """The write path's shortcut (``Field.fast_value``) takes only what the full validation
    (``coerce`` then ``check_value``) would store, and stores it the same."""

    @pytest.mark.parametrize(("key", "f"), _FAST_FIELDS, ids=[f"{o}.{n}" for (o, n), _ in _FAST_FIELDS])
    @given(raw=_RAW_VALUES)
    @settings(max_examples=300, deadline=None)
    def test_shortcut_agrees_with_full_validation(self, key, f, raw):
        fast = f.fast_value(raw)
        if f.text_limit is not None:  # the inline form of the same check (``records.values.clean_record``)
            inline = type(raw) is str and bool(raw) and len(raw) <= f.text_limit
            assert inline == (fast is not SLOW)
        if fast is SLOW:
            return
        try:
            value, error = (raw, None) if isinstance(raw, str) and f.is_text and raw else coerce(f, raw, from_csv=False)
        except RequestError:  # pragma: no cover - a refused value must never take the shortcut
            pytest.fail(f"{key}: {raw!r} takes the shortcut but is refused")
        assert error is None and check_value(f, value) is None
        assert type(value) is type(fast) and value == fast


@pytest.fixture
def db():
    conn = sqlite3.connect(":memory:")
    conn.executescript(_schema())
    rows = [
        ("00Q5g0000000001EAA", "a@x.com", "Ann", 10, "2026-01-01T10:00:00.000+0000"),
        ("00Q5g0000000002EAA", "B@X.com", "Bob", None, "2026-02-01T10:00:00.000+0000"),
        ("00Q5g0000000003EAA", None, "Cid", 300, "2026-03-01T10:00:00.000+0000"),
    ]
    conn.executemany(
        'INSERT INTO Lead ("Id", "Email", "FirstName", "NumberOfEmployees", "LastModifiedDate", "LastName", "Company")'
        " VALUES (?, ?, ?, ?, ?, 'L', 'C')",
        rows,
    )
    return conn


def run(conn, text: str) -> list[str]:
    query = soql.parse(text)
    sql, params = soql.compile_query(query)
    return [
        conn.execute('SELECT "FirstName" FROM Lead WHERE "Id" = ?', (row[0],)).fetchone()[0]
        for row in conn.execute(sql, params)
    ]


class TestSoqlParser:
    def test_fields_and_object_resolve_case_insensitively_to_canonical_names(self):
        query = soql.parse("select id, EMAIL, firstname from lead")
        assert query.sobject.name == "Lead"
        assert [f.name for f in query.fields] == ["Id", "Email", "FirstName"]

    def test_full_clause_set(self):
        query = soql.parse(
            "SELECT Id FROM Contact WHERE Email IN ('a@x.com', 'b@x.com') AND LastModifiedDate > 2026-01-01T00:00:00Z "
            "ORDER BY LastModifiedDate DESC NULLS LAST LIMIT 10 OFFSET 5"
        )
        assert query.sobject.name == "Contact"
        assert query.limit == 10 and query.offset == 5
        assert query.order_by[0].descending and query.order_by[0].nulls_last

    def test_count(self):
        assert soql.parse("SELECT COUNT() FROM Lead").count_only

    @pytest.mark.parametrize(
        "text",
        [
            "SELECT FROM Lead",
            "SELECT Id Lead",
            "SELECT Id FROM Lead WHERE",
            "SELECT Id FROM Lead WHERE Email = ",
            "SELECT Id FROM Lead WHERE Email 'x'",
            "SELECT Id FROM Lead LIMIT x",
            "SELECT Id FROM Lead ORDER Email",
            "SELECT Id, FROM Lead",
            "SELECT Id FROM Lead WHERE Email = 'unterminated",
            "SELECT Id FROM Lead extra",
            "",
        ],
    )
    def test_malformed_queries(self, text):
        with pytest.raises(soql.SoqlError) as exc:
            soql.parse(text)
        assert exc.value.code == "MALFORMED_QUERY"

    def test_unknown_field_and_object(self):
        with pytest.raises(soql.SoqlError) as exc:
            soql.parse("SELECT Nope FROM Lead")
        assert exc.value.code == "INVALID_FIELD" and "No such column 'Nope'" in exc.value.message
        with pytest.raises(soql.SoqlError) as exc:
            soql.parse("SELECT Id FROM Opportunity")
        assert exc.value.code == "INVALID_TYPE"

    @pytest.mark.parametrize(
        "text",
        [
            "SELECT Id FROM Lead WHERE LastModifiedDate > '2026-01-01T00:00:00Z'",
            "SELECT Id FROM Lead WHERE LastModifiedDate > 2026-01-01",
            "SELECT Id FROM Lead WHERE NumberOfEmployees > '10'",
            "SELECT Id FROM Lead WHERE Email = 10",
        ],
    )
    def test_wrongly_typed_values_are_refused_like_salesforce(self, text):
        with pytest.raises(soql.SoqlError) as exc:
            soql.parse(text)
        assert exc.value.code == "INVALID_FIELD"

    def test_string_escapes(self):
        query = soql.parse(r"SELECT Id FROM Lead WHERE LastName = 'O\'Brien \\ x'")
        assert query.where.values[0].value == "O'Brien \\ x"

    def test_id_literals_are_normalised_to_18_characters_or_refused(self):
        query = soql.parse("SELECT Id FROM Lead WHERE Id IN ('0015000000Gv7qJ', '0015000000Gv7qJAAR')")
        assert {v.value for v in query.where.values} == {"0015000000Gv7qJAAR"}
        with pytest.raises(soql.SoqlError) as exc:
            soql.parse("SELECT Id FROM Lead WHERE Id = 'nope'")
        assert exc.value.code == "INVALID_QUERY_FILTER_OPERATOR" and exc.value.message == "invalid ID field: nope"

    def test_datetime_literal_with_offset_is_normalised_to_utc(self):
        assert soql.parse_datetime_literal("2026-01-01T01:30:00+01:00") == "2026-01-01T00:30:00.000+0000"


class TestSoqlEvaluation:
    def test_email_equality_is_case_insensitive(self, db):
        assert run(db, "SELECT Id FROM Lead WHERE Email = 'b@x.COM'") == ["Bob"]
        assert run(db, "SELECT Id FROM Lead WHERE Email IN ('A@X.COM', 'b@x.com') ORDER BY FirstName") == ["Ann", "Bob"]

    def test_not_equal_keeps_nulls_like_soql(self, db):
        assert run(db, "SELECT Id FROM Lead WHERE Email != 'a@x.com' ORDER BY FirstName") == ["Bob", "Cid"]
        assert run(db, "SELECT Id FROM Lead WHERE Email NOT IN ('a@x.com') ORDER BY FirstName") == ["Bob", "Cid"]

    def test_null_comparisons(self, db):
        assert run(db, "SELECT Id FROM Lead WHERE Email = null") == ["Cid"]
        assert run(db, "SELECT Id FROM Lead WHERE NumberOfEmployees != null ORDER BY FirstName") == ["Ann", "Cid"]

    def test_numbers_datetimes_and_boolean_logic(self, db):
        assert run(db, "SELECT Id FROM Lead WHERE NumberOfEmployees >= 10 AND NumberOfEmployees < 300") == ["Ann"]
        assert run(db, "SELECT Id FROM Lead WHERE LastModifiedDate > 2026-01-15T00:00:00Z ORDER BY FirstName") == [
            "Bob",
            "Cid",
        ]
        assert run(db, "SELECT Id FROM Lead WHERE FirstName = 'Ann' OR (NumberOfEmployees > 100 AND Email = null)") == [
            "Ann",
            "Cid",
        ]
        assert run(db, "SELECT Id FROM Lead WHERE NOT FirstName LIKE 'A%' ORDER BY FirstName") == ["Bob", "Cid"]

    def test_order_nulls_first_by_default_ascending_and_limit_offset(self, db):
        assert run(db, "SELECT Id FROM Lead ORDER BY NumberOfEmployees") == ["Bob", "Ann", "Cid"]
        assert run(db, "SELECT Id FROM Lead ORDER BY NumberOfEmployees DESC") == ["Cid", "Ann", "Bob"]
        assert run(db, "SELECT Id FROM Lead ORDER BY FirstName LIMIT 1 OFFSET 1") == ["Bob"]


class TestApiUsage:
    def test_counts_down_and_survives_a_reset_from_another_process(self, tmp_path, monkeypatch):
        server = store_module.SalesforceStore(tmp_path / "sf.sqlite3")
        server.update_settings({"daily_api_max": 10})
        assert [server.consume_api_call()[0] for _ in range(3)] == [1, 2, 3]
        assert server.api_usage() == (3, 10)  # written to the file
        reset(tmp_path / "sf.sqlite3")  # what `sandbox_reset` does from its own process
        monkeypatch.setattr(store_module, "USAGE_FLUSH_SECONDS", 0.0)
        server._settings_loaded = 0.0  # the settings cache expires after a second
        used, limit, allowed = server.consume_api_call()
        assert (used, allowed) == (1, True) and limit == 100_000

    def test_refuses_once_spent_without_counting_refusals(self, tmp_path):
        store = SalesforceStore(tmp_path / "sf.sqlite3")
        store.update_settings({"daily_api_max": 2})
        assert [store.consume_api_call()[2] for _ in range(4)] == [True, True, False, False]
        assert store.api_usage() == (2, 2)


class TestSandboxFileUpgrade:
    def test_an_older_file_gets_tables_without_rowid_and_keeps_its_records(self, tmp_path):
        path = tmp_path / "sf.sqlite3"
        old = sqlite3.connect(path)
        # The record tables as they were: a rowid table with an Id index beside it, one field
        # added since, and indexes on SystemModstamp, Email and LastModifiedDate.
        old.executescript(
            'CREATE TABLE "Lead" ("Id" TEXT PRIMARY KEY COLLATE BINARY, "IsDeleted" INTEGER NOT NULL DEFAULT 0, '
            '"LastName" TEXT COLLATE NOCASE, "Company" TEXT COLLATE NOCASE, "Email" TEXT COLLATE NOCASE, '
            '"HubSpot_Id__c" TEXT COLLATE NOCASE, "LastModifiedDate" TEXT, "SystemModstamp" TEXT);'
            'CREATE INDEX "Lead_modstamp" ON "Lead" ("SystemModstamp");'
            'CREATE INDEX "Lead_email" ON "Lead" ("Email");'
            'CREATE INDEX "Lead_lastmodified" ON "Lead" ("LastModifiedDate");'
        )
        leads = [(ids.make_id("00Q", n), f"Name {n}", f"n{n}@example.com") for n in (3, 1, 2)]
        old.executemany('INSERT INTO "Lead" ("Id", "LastName", "Company", "Email") VALUES (?, ?, \'Acme\', ?)', leads)
        old.commit()
        old.close()

        store = SalesforceStore(path)
        conn = store.read()
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'Lead'").fetchone()["sql"]
        assert "WITHOUT ROWID" in sql
        rows = conn.execute('SELECT "Id", "LastName", "Email", "Title" FROM "Lead"').fetchall()
        assert sorted(tuple(r) for r in rows) == sorted((i, name, email, None) for i, name, email in leads)
        indexes = {r["name"] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "Lead_HubSpot_Id__c" in indexes
        # Lookups by Email and LastModifiedDate use the store's in-memory maps instead.
        assert not {"Lead_modstamp", "Lead_email", "Lead_lastmodified"} & indexes
        assert store.lookups.email_candidates(conn, "Lead", ["N2@EXAMPLE.COM"]) == [ids.make_id("00Q", 2)]
        store.close()
        # Opening it again leaves it as it is.
        assert SalesforceStore(path).read().execute('SELECT count(*) FROM "Lead"').fetchone()[0] == 3

    def test_the_external_id_index_of_an_older_version_is_rebuilt_to_cover_key_lookups(self, tmp_path):
        path = tmp_path / "sf.sqlite3"
        SalesforceStore(path).close()
        old = sqlite3.connect(path)
        old.executescript(
            'DROP INDEX "Lead_HubSpot_Id__c";'
            'CREATE UNIQUE INDEX "Lead_HubSpot_Id__c" ON "Lead" ("HubSpot_Id__c") WHERE "IsDeleted" = 0;'
        )
        old.close()
        conn = SalesforceStore(path).read()
        plan = conn.execute(
            'EXPLAIN QUERY PLAN SELECT "Id", "HubSpot_Id__c" FROM "Lead" WHERE "HubSpot_Id__c" IN (?, ?) '
            'AND "IsDeleted" = 0',
            ("a", "b"),
        ).fetchall()
        assert "USING COVERING INDEX Lead_HubSpot_Id__c" in plan[0]["detail"]

    @pytest.mark.parametrize("rows", [1, 2])
    def test_a_file_without_the_external_id_field_gets_it_with_its_index(self, tmp_path, rows):
        """SQLite reads an unknown double-quoted name as a string: an index made before the column
        was added would index a constant (refusing a file of 2 records, or any second record)."""
        path = tmp_path / "sf.sqlite3"
        old = sqlite3.connect(path)
        old.executescript(
            'CREATE TABLE "Lead" ("Id" TEXT PRIMARY KEY COLLATE BINARY, "IsDeleted" INTEGER NOT NULL DEFAULT 0, '
            '"LastName" TEXT COLLATE NOCASE, "Company" TEXT COLLATE NOCASE) WITHOUT ROWID;'
        )
        old.executemany(
            'INSERT INTO "Lead" ("Id", "LastName", "Company") VALUES (?, \'Doe\', \'Acme\')',
            [(ids.make_id("00Q", 1000 + n),) for n in range(rows)],
        )
        if rows == 1:
            # What such an older version left behind with a single record.
            old.execute('CREATE UNIQUE INDEX "Lead_HubSpot_Id__c" ON "Lead" ("HubSpot_Id__c") WHERE "IsDeleted" = 0')
        old.commit()
        old.close()

        store = SalesforceStore(path)
        lead = OBJECTS["lead"]
        results = RecordService(store).upsert(
            lead,
            lead.by_name["HubSpot_Id__c"],
            [{"HubSpot_Id__c": f"h{n}", "LastName": "X", "Company": "Y"} for n in range(3)],
        )
        assert [r.created for r in results] == [True, True, True]
        columns = store.read().execute('PRAGMA index_info("Lead_HubSpot_Id__c")').fetchall()
        assert [column["name"] for column in columns] == ["HubSpot_Id__c", "IsDeleted"]
        assert store.read().execute('SELECT count(*) FROM "Lead"').fetchone()[0] == rows + 3
        assert store.read().execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@st.composite
def record_results(draw):
    if draw(st.booleans()) or draw(st.booleans()):
        record_id = draw(st.sampled_from([ids.make_id("00Q", draw(st.integers(1, 10**6))), "with space", "é1"]))
        return RecordResult(record_id, [], draw(st.sampled_from([True, False, None])))
    error = RecordError("REQUIRED_FIELD_MISSING", 'Required "fields" are missing: [LastName]', ["LastName"])
    return RecordResult(None, [error], False)


class TestSaveResultsJson:
    """The collections' answer is written without ``json.dumps`` when it can: byte for byte the same."""

    @given(results=st.lists(record_results(), max_size=8), with_created=st.booleans())
    def test_same_bytes_as_json_dumps(self, results, with_created):
        import json

        expected = json.dumps([r.save_result(with_created=with_created) for r in results], separators=(",", ":"))
        assert save_results_json(results, with_created=with_created) == expected.encode()
