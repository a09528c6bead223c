"""SOQL the Salesforce emulator answers as Salesforce does, through the unmodified simple-salesforce
over real HTTPS: date literals (against date and dateTime fields), date and dateTime values as
jsforce's ``SfDate`` writes them, ``COUNT()``/``COUNT(field)`` with ``GROUP BY``, and ``FIELDS()``.
The ranges of the date literals themselves, for a given day, are unit-tested at the end."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox.salesforce.soql import SoqlError, parse
from sandbox.salesforce.soql.dates import FIXED, WITH_N, day_range
from sandbox.salesforce.store import format_datetime
from tests.sandbox.salesforce_helpers import error_of, lead


def _ids(sf, soql: str) -> set[str]:
    return {r["Id"] for r in sf.query_all(soql)["records"]}


def _created_on(server, record_id: str, when: datetime) -> None:
    """Backdate a Lead's CreatedDate (the API never writes it; a real org's records have history)."""
    with server.app.store.write() as conn:
        conn.execute('UPDATE "Lead" SET "CreatedDate" = ? WHERE "Id" = ?', (format_datetime(when), record_id))


@pytest.fixture
def dated_leads(sf, server):
    """Leads created at noon UTC on days relative to today: ``{offset in days: id}``."""
    today = datetime.now(UTC).date()
    leads = {}
    for offset in (-400, -95, -40, -10, -1, 0, 1, 10, 40, 95, 400):
        record_id = sf.Lead.create(lead(offset + 1000))["id"]
        _created_on(server, record_id, datetime.combine(today + timedelta(days=offset), time(12), tzinfo=UTC))
        leads[offset] = record_id
    return today, leads


class TestDateLiterals:
    @pytest.mark.parametrize(
        ("literal", "offsets"),
        [
            ("TODAY", {0}),
            ("YESTERDAY", {-1}),
            ("TOMORROW", {1}),
            ("LAST_N_DAYS:10", {-10, -1, 0}),
            ("LAST_N_DAYS:9", {-1, 0}),
            ("NEXT_N_DAYS:10", {1, 10}),
            ("N_DAYS_AGO:10", {-10}),
            ("LAST_90_DAYS", {-40, -10, -1, 0}),
            ("NEXT_90_DAYS", {1, 10, 40}),
        ],
    )
    def test_a_day_literal_matches_the_days_it_names_on_a_datetime_field(self, sf, dated_leads, literal, offsets):
        _today, leads = dated_leads
        found = _ids(sf, f"SELECT Id FROM Lead WHERE CreatedDate = {literal}")
        assert found == {leads[o] for o in offsets}

    def test_greater_and_less_than_a_literal_are_after_and_before_its_range(self, sf, dated_leads):
        _today, leads = dated_leads
        assert _ids(sf, "SELECT Id FROM Lead WHERE CreatedDate > TODAY") == {leads[o] for o in (1, 10, 40, 95, 400)}
        assert _ids(sf, "SELECT Id FROM Lead WHERE CreatedDate >= TODAY") == {leads[o] for o in (0, 1, 10, 40, 95, 400)}
        assert _ids(sf, "SELECT Id FROM Lead WHERE CreatedDate < YESTERDAY") == {
            leads[o] for o in (-400, -95, -40, -10)
        }
        assert _ids(sf, "SELECT Id FROM Lead WHERE CreatedDate <= YESTERDAY") == {
            leads[o] for o in (-400, -95, -40, -10, -1)
        }
        outside = _ids(sf, "SELECT Id FROM Lead WHERE CreatedDate != LAST_N_DAYS:10")
        assert outside == {leads[o] for o in (-400, -95, -40, 1, 10, 40, 95, 400)}

    def test_calendar_literals_match_the_whole_period(self, sf, dated_leads):
        today, leads = dated_leads
        for literal in ("THIS_WEEK", "THIS_MONTH", "THIS_QUARTER", "THIS_YEAR"):
            start, end = day_range(literal, today)
            expected = {rid for o, rid in leads.items() if start <= today + timedelta(days=o) < end}
            assert leads[0] in expected
            assert _ids(sf, f"SELECT Id FROM Lead WHERE CreatedDate = {literal}") == expected, literal
        last_year = _ids(sf, "SELECT Id FROM Lead WHERE CreatedDate = LAST_YEAR")
        assert last_year == {rid for o, rid in leads.items() if (today + timedelta(days=o)).year == today.year - 1}

    def test_literals_mix_with_and_or_and_in(self, sf, dated_leads):
        _today, leads = dated_leads
        found = _ids(
            sf, "SELECT Id FROM Lead WHERE CreatedDate IN (YESTERDAY, TOMORROW) OR CreatedDate = N_DAYS_AGO:10"
        )
        assert found == {leads[-1], leads[1], leads[-10]}
        both = _ids(sf, "SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS:40 AND CreatedDate < TODAY")
        assert both == {leads[-40], leads[-10], leads[-1]}

    def test_a_literal_matches_a_date_field_by_day(self, sf):
        today = datetime.now(UTC).date()
        born = {
            o: sf.Contact.create({"LastName": f"C{o}", "Birthdate": str(today + timedelta(days=o))})["id"]
            for o in (-3, 0, 2)
        }
        assert _ids(sf, "SELECT Id FROM Contact WHERE Birthdate = TODAY") == {born[0]}
        assert _ids(sf, "SELECT Id FROM Contact WHERE Birthdate = LAST_N_DAYS:3") == {born[-3], born[0]}
        assert _ids(sf, "SELECT Id FROM Contact WHERE Birthdate > TODAY") == {born[2]}
        assert _ids(sf, "SELECT Id FROM Contact WHERE Birthdate = NEXT_N_DAYS:2") == {born[2]}
        value = (today + timedelta(days=-3)).isoformat()
        assert _ids(sf, f"SELECT Id FROM Contact WHERE Birthdate = {value}") == {born[-3]}
        assert _ids(sf, f"SELECT Id FROM Contact WHERE Birthdate > {value}") == {born[0], born[2]}

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS", "MALFORMED_QUERY"),
            ("SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS:", "MALFORMED_QUERY"),
            ("SELECT Id FROM Lead WHERE CreatedDate = SOME_DAYS:3", "MALFORMED_QUERY"),
            ("SELECT Id FROM Lead WHERE CreatedDate = THIS_FISCAL_YEAR", "MALFORMED_QUERY"),
            ("SELECT Id FROM Lead WHERE LastName = TODAY", "INVALID_FIELD"),
            ("SELECT Id FROM Lead WHERE CreatedDate LIKE TODAY", "INVALID_FIELD"),
            ("SELECT Id FROM Lead WHERE CreatedDate = LAST_N_MONTHS:99999", "MALFORMED_QUERY"),
        ],
    )
    def test_a_literal_salesforce_refuses_is_refused(self, sf, text, code):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query(text)
        assert error_of(exc)["errorCode"] == code


class TestDateValues:
    """``SfDate.toDateTimeLiteral`` writes ``2024-01-01T00:00:00Z``, ``toDateLiteral`` ``2024-01-01``."""

    @pytest.mark.parametrize(
        ("value", "before_noon"),
        [
            ("{day}T11:59:59Z", False),
            ("{day}T12:00:00Z", False),
            ("{day}T12:00:01Z", True),
            ("{day}T13:00:00+01:00", False),
            ("{day}T13:00:01+01:00", True),
            ("{day}T06:00:01-06:00", True),
            ("{day}T05:59:59.999-06:00", False),
            ("{day}T12:00:00.001+0000", True),
        ],
    )
    def test_a_datetime_value_with_any_offset_is_the_instant_it_names(self, sf, dated_leads, value, before_noon):
        today, leads = dated_leads
        text = value.format(day=today.isoformat())
        found = _ids(sf, f"SELECT Id FROM Lead WHERE CreatedDate = TODAY AND CreatedDate < {text}")
        assert found == ({leads[0]} if before_noon else set())

    @pytest.mark.parametrize("value", ["{day}T12:00:00Z", "{day}T13:00:00+01:00", "{day}T07:00:00-0500"])
    def test_a_datetime_value_equals_the_same_instant_written_in_any_offset(self, sf, dated_leads, value):
        today, leads = dated_leads
        assert _ids(sf, f"SELECT Id FROM Lead WHERE CreatedDate = {value.format(day=today)}") == {leads[0]}

    def test_a_date_value_is_refused_for_a_datetime_field_as_documented(self, sf):
        # "If you specify a date format value, you can filter only on date fields" (Date Formats
        # and Date Literals in WHERE).
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query("SELECT Id FROM Lead WHERE CreatedDate > 2024-01-01")
        assert error_of(exc)["errorCode"] == "INVALID_FIELD"
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query("SELECT Id FROM Contact WHERE Birthdate > 2024-01-01T00:00:00Z")
        assert error_of(exc)["errorCode"] == "INVALID_FIELD"


class TestAggregates:
    def test_count_answers_the_total_with_no_records(self, sf):
        for i in range(3):
            sf.Lead.create(lead(i))
        answer = sf.query("SELECT COUNT() FROM Lead WHERE Email LIKE 'user%'")
        assert answer["totalSize"] == 3 and answer["records"] == [] and answer["done"]

    def test_count_of_a_field_with_group_by_answers_aggregate_results(self, sf):
        for i, source in enumerate(["Web", "Web", "Other", None, "Web"]):
            sf.Lead.create(lead(i, LeadSource=source) if source else lead(i))
        answer = sf.query("SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY LeadSource ORDER BY LeadSource")
        assert answer["totalSize"] == 3 and answer["done"]
        assert [dict(r) for r in answer["records"]] == [
            {"attributes": {"type": "AggregateResult"}, "LeadSource": None, "expr0": 1},
            {"attributes": {"type": "AggregateResult"}, "LeadSource": "Other", "expr0": 1},
            {"attributes": {"type": "AggregateResult"}, "LeadSource": "Web", "expr0": 3},
        ]

    def test_aliases_name_aggregates_and_unnamed_ones_are_numbered(self, sf):
        for i, source in enumerate(["Web", None, "Web"]):
            sf.Lead.create(lead(i, LeadSource=source) if source else lead(i))
        (record,) = sf.query("SELECT COUNT(Id) total, COUNT(LeadSource), COUNT_DISTINCT(LeadSource) FROM Lead")[
            "records"
        ]
        assert dict(record) == {"attributes": {"type": "AggregateResult"}, "total": 3, "expr0": 2, "expr1": 1}

    def test_grouped_fields_take_aliases_and_results_sort_by_an_aggregate(self, sf):
        for i, source in enumerate(["Other", "Web", "Web", "Web", "Other", "Phone Inquiry"]):
            sf.Lead.create(lead(i, LeadSource=source))
        answer = sf.query(
            "SELECT LeadSource source, COUNT(Id) n FROM Lead GROUP BY LeadSource ORDER BY COUNT(Id) DESC, LeadSource"
        )
        assert [(r["source"], r["n"]) for r in answer["records"]] == [("Web", 3), ("Other", 2), ("Phone Inquiry", 1)]
        assert "LeadSource" not in answer["records"][0]

    def test_an_alias_outside_an_aggregate_query_is_malformed(self, sf):
        for text in ("SELECT Email e FROM Lead", "SELECT Id FROM Lead ORDER BY COUNT(Id)"):
            with pytest.raises(SalesforceMalformedRequest) as exc:
                sf.query(text)
            assert error_of(exc)["errorCode"] == "MALFORMED_QUERY"

    def test_count_of_nothing_is_one_result_of_zero(self, sf):
        (record,) = sf.query("SELECT COUNT(Id) FROM Contact")["records"]
        assert record["expr0"] == 0

    @pytest.mark.parametrize(
        "text",
        [
            "SELECT LastName, COUNT(Id) FROM Lead GROUP BY LeadSource",
            "SELECT LastName, COUNT(Id) FROM Lead",
            "SELECT COUNT(Id) a, COUNT(Email) a FROM Lead",
            "SELECT COUNT(*) FROM Lead",
            "SELECT COUNT() FROM Lead GROUP BY LeadSource",
            "SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY LeadSource ORDER BY LastName",
            "SELECT FIELDS(STANDARD), COUNT(Id) FROM Lead",
        ],
    )
    def test_an_aggregate_query_salesforce_refuses_is_malformed(self, sf, text):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query(text)
        assert error_of(exc)["errorCode"] == "MALFORMED_QUERY"


class TestFieldsFunction:
    def test_fields_standard_selects_every_standard_field_without_a_limit(self, sf):
        sf.Lead.create(lead(1, HubSpot_Id__c="42"))
        (record,) = sf.query("SELECT FIELDS(STANDARD) FROM Lead")["records"]
        described = [f["name"] for f in sf.Lead.describe()["fields"] if not f["custom"]]
        assert list(record)[1:] == described and "HubSpot_Id__c" not in record

    def test_fields_custom_and_all_need_a_limit_of_at_most_200(self, sf):
        sf.Lead.create(lead(1, HubSpot_Id__c="42"))
        for which in ("ALL", "CUSTOM"):
            for tail in ("", " LIMIT 201"):
                with pytest.raises(SalesforceMalformedRequest) as exc:
                    sf.query(f"SELECT FIELDS({which}) FROM Lead{tail}")
                assert error_of(exc) == {
                    "message": "The SOQL FIELDS function must have a LIMIT of at most 200",
                    "errorCode": "MALFORMED_QUERY",
                }
        (custom,) = sf.query("SELECT FIELDS(CUSTOM) FROM Lead LIMIT 200")["records"]
        assert dict(custom)["HubSpot_Id__c"] == "42" and "Email" not in custom
        (everything,) = sf.query("SELECT FIELDS(ALL) FROM Lead LIMIT 1")["records"]
        assert list(everything)[1:] == [f["name"] for f in sf.Lead.describe()["fields"]]

    def test_fields_mix_with_named_fields_but_not_twice(self, sf):
        sf.Lead.create(lead(1, HubSpot_Id__c="42"))
        (record,) = sf.query("SELECT Email, FIELDS(CUSTOM) FROM Lead LIMIT 10")["records"]
        assert list(record)[1:] == ["Email", "HubSpot_Id__c"]
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query("SELECT Id, FIELDS(STANDARD) FROM Lead")
        assert error_of(exc) == {"message": "duplicate field selected: Id", "errorCode": "MALFORMED_QUERY"}

    def test_an_unknown_fields_set_is_malformed(self, sf):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query("SELECT FIELDS(SOME) FROM Lead LIMIT 1")
        assert error_of(exc)["errorCode"] == "MALFORMED_QUERY"


# -- the ranges themselves, for a given day (UTC; weeks start on Sunday) --------------------------

MONDAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("literal", "today", "start", "end"),
    [
        ("TODAY", MONDAY, MONDAY, date(2026, 12, 8)),
        ("YESTERDAY", MONDAY, date(2026, 12, 6), MONDAY),
        ("TOMORROW", MONDAY, date(2026, 12, 8), date(2026, 12, 9)),
        ("THIS_WEEK", MONDAY, date(2026, 12, 6), date(2026, 12, 13)),
        ("THIS_WEEK", date(2026, 12, 6), date(2026, 12, 6), date(2026, 12, 13)),
        ("THIS_WEEK", date(2026, 12, 12), date(2026, 12, 6), date(2026, 12, 13)),
        ("LAST_WEEK", MONDAY, date(2026, 11, 29), date(2026, 12, 6)),
        ("NEXT_WEEK", MONDAY, date(2026, 12, 13), date(2026, 12, 20)),
        ("THIS_MONTH", MONDAY, date(2026, 12, 1), date(2027, 1, 1)),
        ("LAST_MONTH", date(2026, 1, 31), date(2025, 12, 1), date(2026, 1, 1)),
        ("NEXT_MONTH", MONDAY, date(2027, 1, 1), date(2027, 2, 1)),
        ("LAST_90_DAYS", MONDAY, date(2026, 9, 8), date(2026, 12, 8)),
        ("NEXT_90_DAYS", MONDAY, date(2026, 12, 8), date(2027, 3, 8)),
        ("THIS_QUARTER", MONDAY, date(2026, 10, 1), date(2027, 1, 1)),
        ("LAST_QUARTER", date(2026, 2, 1), date(2025, 10, 1), date(2026, 1, 1)),
        ("NEXT_QUARTER", MONDAY, date(2027, 1, 1), date(2027, 4, 1)),
        ("THIS_YEAR", MONDAY, date(2026, 1, 1), date(2027, 1, 1)),
        ("LAST_YEAR", MONDAY, date(2025, 1, 1), date(2026, 1, 1)),
        ("NEXT_YEAR", MONDAY, date(2027, 1, 1), date(2028, 1, 1)),
        ("LAST_N_DAYS:1", MONDAY, date(2026, 12, 6), date(2026, 12, 8)),
        ("NEXT_N_DAYS:1", MONDAY, date(2026, 12, 8), date(2026, 12, 9)),
        ("N_DAYS_AGO:7", MONDAY, date(2026, 11, 30), date(2026, 12, 1)),
        ("LAST_N_WEEKS:2", MONDAY, date(2026, 11, 22), date(2026, 12, 6)),
        ("NEXT_N_WEEKS:2", MONDAY, date(2026, 12, 13), date(2026, 12, 27)),
        ("LAST_N_MONTHS:2", MONDAY, date(2026, 10, 1), date(2026, 12, 1)),
        ("NEXT_N_MONTHS:2", date(2024, 2, 29), date(2024, 3, 1), date(2024, 5, 1)),
        ("LAST_N_MONTHS:14", date(2026, 3, 5), date(2025, 1, 1), date(2026, 3, 1)),
    ],
)
def test_each_literal_is_the_range_salesforce_documents(literal, today, start, end):
    assert day_range(literal, today) == (start, end)


def test_every_literal_is_a_nonempty_range_around_any_day():
    for today in (date(2024, 2, 29), date(2026, 1, 1), date(2026, 12, 31), MONDAY):
        for name in FIXED:
            start, end = day_range(name, today)
            assert start < end
        for name in WITH_N:
            start, end = day_range(f"{name}:3", today)
            assert start < end


def test_parsing_a_literal_against_a_field_of_another_type_is_refused():
    with pytest.raises(SoqlError) as exc:
        parse("SELECT Id FROM Lead WHERE Email = TODAY")
    assert exc.value.code == "INVALID_FIELD"
