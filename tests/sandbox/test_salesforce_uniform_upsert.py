"""The Salesforce sandbox upserts a usual batch a column at a time (``RecordService._upsert_uniform``)
and anything else record by record: both must answer and store exactly the same."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.salesforce.records import RecordService, RequestError
from sandbox.salesforce.schema import OBJECTS
from sandbox.salesforce.store import SalesforceStore

LEAD = OBJECTS["lead"]
HUBSPOT_ID = LEAD.by_name["HubSpot_Id__c"]
STAMPS = ("CreatedDate", "LastModifiedDate", "SystemModstamp")

# Mostly plain valid values (the column path), now and then one that is refused or coerced.
VALUES = {
    "HubSpot_Id__c": st.sampled_from(["h1", "H1", "h2", "h3", "h4", "", None, 7, "x" * 300]),
    "LastName": st.one_of(st.sampled_from(["Doe", "Martin", "Ng"]), st.sampled_from(["", None, "x" * 81, 5])),
    "Company": st.sampled_from(["Acme", "Globex", "", None]),
    "Email": st.sampled_from(["a@x.com", "B@X.com", "c@x.com", "not an email", "", None]),
    "Title": st.sampled_from(["CEO", "CTO", "x" * 200, True, None, ""]),
    "NumberOfEmployees": st.sampled_from([1, 50_000, "12", 10**9, 2.0, True, None, ""]),
    "LeadSource": st.sampled_from(["Web", "Other", "Nope", "", None]),
    "Status": st.sampled_from(["Open - Not Contacted", "Working - Contacted", "Unknown", None]),
    "attributes": st.just({"type": "Lead"}),
    "title": st.just("lower-case twin"),
    "Id": st.just("00Q000000000001AAA"),
    "IsConverted": st.just(True),
    "NoSuchField__c": st.just("?"),
}
COMMON = ["HubSpot_Id__c", "LastName", "Company", "Email", "Title", "attributes"]
# Values the column path takes as they are.
PLAIN = {
    "HubSpot_Id__c": st.sampled_from(["h1", "h2", "h3", "h4", "H5", "h6"]),
    "LastName": st.sampled_from(["Doe", "Martin"]),
    "Company": st.sampled_from(["Acme", "Globex"]),
    "Email": st.sampled_from(["a@x.com", "B@X.com", "c@x.com"]),
    "Title": st.sampled_from(["CEO", "CTO"]),
    "NumberOfEmployees": st.sampled_from([1, 50_000]),
    "LeadSource": st.sampled_from(["Web", "Other"]),
    "Status": st.sampled_from(["Open - Not Contacted", "Working - Contacted"]),
    "attributes": st.just({"type": "Lead"}),
}
# Clearing a field: JSON null, or "" (stored as null too). Of an optional field the column path
# takes it; of a required one it is refused, record by record (REQUIRED_FIELD_MISSING).
CLEAR = st.sampled_from([None, ""])
CLEARABLE = ("Title", "Email", "NumberOfEmployees", "LeadSource")
REQUIRED = ("LastName", "Company", "Status")


@st.composite
def batches(draw):
    """A batch whose records share one set of fields (usually) or each have their own, with
    plain values only (half the time, sometimes with fields cleared) or now and then one that is
    refused or coerced."""
    size = draw(st.integers(1, 6))
    uniform = draw(st.booleans()) or draw(st.booleans())
    plain = draw(st.booleans())
    clears = plain and draw(st.booleans())
    cleared = CLEARABLE + REQUIRED if clears and draw(st.integers(0, 3)) == 0 else CLEARABLE
    optional = sorted((set(PLAIN) if plain else set(VALUES)) - set(COMMON))
    extra = draw(st.lists(st.sampled_from(optional), max_size=3, unique=True))
    # Usually every field a new Lead requires (else the batch is refused record by record).
    shared = [*COMMON[: draw(st.sampled_from([1, 2, 3, 4, 5, 6, 6, 6]))], *extra]
    # Distinct keys in a plain batch (a key twice in one call is refused).
    keys = draw(
        st.lists(st.sampled_from(["h1", "h2", "h3", "H4", "h5", "h6", "h7"]), min_size=size, max_size=size, unique=True)
    )
    records = []
    for key in keys:
        names = shared if uniform else draw(st.lists(st.sampled_from(sorted(VALUES)), min_size=1, unique=True))
        odd = not plain and draw(st.booleans())
        record = {name: draw(VALUES[name] if odd or name not in PLAIN else PLAIN[name]) for name in names}
        if clears:
            for name in sorted(set(record) & set(cleared)):
                if draw(st.booleans()):
                    record[name] = draw(CLEAR)
        if plain and "HubSpot_Id__c" in record:
            record["HubSpot_Id__c"] = key
        records.append(record)
    return records


def outcome(store: SalesforceStore, records: list[dict], *, all_or_none: bool):
    try:
        results = RecordService(store).upsert(LEAD, HUBSPOT_ID, records, all_or_none=all_or_none)
    except RequestError as exc:
        answer = ("refused", exc.status, exc.code, exc.message)
    else:
        answer = [(r.id, r.created, [(e.code, e.message, e.fields, e.extra) for e in r.errors]) for r in results]
    rows = store.read().execute('SELECT * FROM "Lead" ORDER BY "Id"').fetchall()
    # Timestamps differ between the two runs; whether they are set does not.
    table = [{k: (row[k] is not None if k in STAMPS else row[k]) for k in row.keys()} for row in rows]  # noqa: SIM118 - a Row iterates its values
    return answer, table


@pytest.fixture
def two_stores(tmp_path, monkeypatch):
    """A store, and one where every batch goes record by record."""
    plain, reference = SalesforceStore(tmp_path / "a.sqlite3"), SalesforceStore(tmp_path / "b.sqlite3")
    taken = []
    original = RecordService._upsert_uniform

    def upsert_uniform(self, *args, **kwargs):
        if self.store is reference:
            return None
        result = original(self, *args, **kwargs)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(RecordService, "_upsert_uniform", upsert_uniform)
    yield plain, reference, taken
    plain.close()
    reference.close()


class TestUniformUpsert:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        before=st.lists(batches(), max_size=3),
        batch=batches(),
        all_or_none=st.booleans(),
        duplicate_rule=st.sampled_from([False, False, False, True]),
        delete=st.booleans(),
    )
    def test_column_path_answers_and_stores_what_the_record_path_does(
        self, two_stores, before, batch, all_or_none, duplicate_rule, delete
    ):
        plain, reference, _taken = two_stores
        for store in (plain, reference):
            store.reset()
            store.update_settings({"duplicate_rule": duplicate_rule})
        for earlier in before:
            assert outcome(plain, earlier, all_or_none=False) == outcome(reference, earlier, all_or_none=False)
        if delete:
            for store in (plain, reference):
                first = store.read().execute('SELECT "Id" FROM "Lead" ORDER BY "Id" LIMIT 1').fetchone()
                if first is not None:
                    RecordService(store).delete(LEAD, [first[0]])
        assert outcome(plain, batch, all_or_none=all_or_none) == outcome(reference, batch, all_or_none=all_or_none)

    def test_the_column_path_is_taken_for_a_usual_batch_and_often_by_the_property_test(self, two_stores):
        plain, _reference, taken = two_stores
        batch = [
            {"attributes": {"type": "Lead"}, "HubSpot_Id__c": f"h{n}", "LastName": "Doe", "Company": "Acme"}
            for n in range(3)
        ]
        RecordService(plain).upsert(LEAD, HUBSPOT_ID, batch)
        RecordService(plain).upsert(LEAD, HUBSPOT_ID, [{**record, "Title": "CEO"} for record in batch])
        assert taken == [True, True]
        row = plain.read().execute('SELECT "Title", "Status" FROM "Lead" WHERE "HubSpot_Id__c" = ?', ("H2",)).fetchone()
        assert tuple(row) == ("CEO", "Open - Not Contacted")

    def test_a_stored_record_missing_a_required_field_is_refused_either_way(self, two_stores):
        """As a record of an older sandbox file can be (a required field added since is null)."""
        plain, reference, taken = two_stores
        batch = [{"HubSpot_Id__c": "h1", "LastName": "Doe", "Company": "Acme"}]
        answers = []
        for store in (plain, reference):
            RecordService(store).upsert(LEAD, HUBSPOT_ID, batch)
            with store.write() as conn:
                conn.execute('UPDATE "Lead" SET "Status" = NULL')
            answers.append(outcome(store, [{**batch[0], "Title": "CEO"}], all_or_none=False))
        assert answers[0] == answers[1]
        assert answers[0][0][0][2][0][0] == "REQUIRED_FIELD_MISSING"
        assert taken == [True, False]

    def test_clearing_optional_fields_stays_on_the_column_path_and_stores_null(self, two_stores):
        plain, reference, taken = two_stores
        batch = [
            {"HubSpot_Id__c": f"h{n}", "LastName": "Doe", "Company": "Acme", "Title": "CEO", "Email": f"u{n}@x.com"}
            for n in range(3)
        ]
        cleared = [{**batch[0], "Title": None, "Email": ""}, {**batch[1], "Title": "", "Email": None}, batch[2]]
        answers = []
        for store in (plain, reference):
            RecordService(store).upsert(LEAD, HUBSPOT_ID, batch)
            answers.append(outcome(store, cleared, all_or_none=False))
        assert answers[0] == answers[1]
        assert taken == [True, True]
        rows = plain.read().execute('SELECT "Title", "Email" FROM "Lead" ORDER BY "HubSpot_Id__c"').fetchall()
        assert [tuple(row) for row in rows] == [(None, None), (None, None), ("CEO", "u2@x.com")]

    @pytest.mark.parametrize("clear", [None, ""])
    def test_clearing_a_required_field_refuses_that_record_only_either_way(self, two_stores, clear):
        plain, reference, taken = two_stores
        batch = [{"HubSpot_Id__c": f"h{n}", "LastName": "Doe", "Company": "Acme"} for n in range(3)]
        answers = []
        for store in (plain, reference):
            RecordService(store).upsert(LEAD, HUBSPOT_ID, batch)
            answers.append(outcome(store, [batch[0], {**batch[1], "LastName": clear}, batch[2]], all_or_none=False))
        assert answers[0] == answers[1]
        assert taken == [True, False]
        results, _table = answers[0]
        assert [errors for _id, _created, errors in results] == [
            [],
            [("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"], {})],
            [],
        ]
