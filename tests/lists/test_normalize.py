"""Normalisation of HubSpot's string values into typed, indexed ``Contact.properties``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lists.normalize import (
    FOLDED_KEY,
    NUMBERS_KEY,
    PropertySpec,
    fold,
    normalize_properties,
    normalize_value,
    public_properties,
    with_folded,
)

NUMBER = PropertySpec("n", "number")
BOOL = PropertySpec("b", "bool")
DATE = PropertySpec("d", "date")
DATETIME = PropertySpec("dt", "datetime")
SINGLE = PropertySpec("stage", "enumeration", "select", ("lead", "customer"))
MULTI = PropertySpec("tags", "enumeration", "checkbox", ("a", "b", "c"))
TEXT = PropertySpec("country", "string")


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10", 10),
        ("9", 9),
        ("-3", -3),
        ("2.50", 2.5),
        (" 1e3 ", 1000),
        ("1 000", 1000),
        ("10.0", 10),
        ("abc", None),
        ("NaN", None),
        ("Infinity", None),
        ("", None),
        ("   ", None),
        (None, None),
        ("9007199254740993", 9007199254740992.0),  # beyond 2**53: a double, as SQL compares it
    ],
)
def test_numbers(raw, expected):
    value = normalize_value(NUMBER, raw)
    assert value == expected
    assert type(value) is type(expected)


def test_numbers_compare_as_numbers_not_strings():
    assert normalize_value(NUMBER, "10") > normalize_value(NUMBER, "9")
    assert "10" < "9"  # what comparing the raw strings would say


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("false", False),
        ("TRUE", True),
        (" False ", False),
        ("yes", True),
        ("0", False),
        ("maybe", None),
    ],
)
def test_booleans(raw, expected):
    assert normalize_value(BOOL, raw) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-15", ms(2024, 1, 15)),
        (str(ms(2024, 1, 15)), ms(2024, 1, 15)),
        (str(ms(2024, 1, 15, 13, 45)), ms(2024, 1, 15)),  # truncated to the UTC day
        ("2024-01-15T23:30:00+02:00", ms(2024, 1, 15)),
        ("2024-02-30", None),
        ("15/01/2024", None),
    ],
)
def test_dates_are_midnight_utc(raw, expected):
    assert normalize_value(DATE, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-15T10:20:30.123Z", ms(2024, 1, 15, 10, 20, 30) + 123),
        ("2024-01-15T12:20:30+02:00", ms(2024, 1, 15, 10, 20, 30)),
        ("2024-01-15T10:20:30", ms(2024, 1, 15, 10, 20, 30)),  # naive means UTC
        ("1705314030000", 1705314030000),
        ("2024-01-15", ms(2024, 1, 15)),
        ("yesterday", None),
        ("99999999999999999", None),  # past year 9999
    ],
)
def test_datetimes_are_epoch_ms(raw, expected):
    assert normalize_value(DATETIME, raw) == expected


def test_enumerations():
    assert normalize_value(SINGLE, " lead ") == "lead"
    assert normalize_value(MULTI, "b;a;b") == ["a", "b"]
    assert normalize_value(MULTI, " c ; ;a") == ["a", "c"]
    assert normalize_value(MULTI, ";;") is None


def test_strings_and_blanks():
    assert normalize_value(TEXT, "Spain") == "Spain"
    assert normalize_value(TEXT, "  ") is None
    assert normalize_value(TEXT, "") is None
    assert normalize_value(TEXT, None) is None
    # PostgreSQL's jsonb cannot hold U+0000.
    assert normalize_value(TEXT, "a\x00b") == "ab"


def test_normalize_properties_builds_the_indexes():
    schema = {s.name: s for s in (NUMBER, BOOL, DATE, SINGLE, MULTI, TEXT)}
    raw = {
        "n": "10",
        "b": "true",
        "d": "2024-01-15",
        "stage": "Lead",
        "tags": "B;a",
        "country": "ÉIRE",
        "unknown_prop": "Kept",
        "blank": "",
        "nothing": None,
        FOLDED_KEY: "spoofed",
    }
    props = normalize_properties(raw, schema)
    assert public_properties(props) == {
        "n": 10,
        "b": True,
        "d": ms(2024, 1, 15),
        "stage": "Lead",
        "tags": ["B", "a"],
        "country": "ÉIRE",
        "unknown_prop": "Kept",
    }
    assert props[FOLDED_KEY] == {"stage": "lead", "tags": ";a;b;", "country": "éire", "unknown_prop": "kept"}
    assert props[NUMBERS_KEY] == {"n": 10, "d": ms(2024, 1, 15)}


def test_unparsable_values_are_no_value():
    props = normalize_properties({"n": "lots", "b": "perhaps"}, {"n": NUMBER, "b": BOOL})
    assert props == {}


def test_fold_is_unicode_aware():
    assert fold("ÉCOLE") == fold("école") == "école"
    assert fold("Straße") == fold("STRASSE")
    assert fold("e\u0301") == fold("\u00e9")  # decomposed and composed é


def test_with_folded_rebuilds_indexes_from_typed_values():
    props = with_folded({"country": "France", "n": 2**60, "flag": True, "tags": ["X", "y"], "gone": None})
    assert props[FOLDED_KEY] == {"country": "france", "tags": ";x;y;"}
    assert props[NUMBERS_KEY] == {"n": float(2**60)}  # booleans are not numbers
    assert "gone" not in props
    assert with_folded(props) == props


def test_property_spec_from_contact_property_options():
    class Row:
        name, type, field_type, label = "stage", "enumeration", "radio", "Stage"
        options = [{"label": "Lead", "value": "lead"}, {"label": "Customer", "value": "Customer"}]

    spec = PropertySpec.from_property(Row)
    assert spec.options == ("lead", "Customer")
    assert spec.folded_options == {"lead", "customer"}
    assert not spec.is_multiple
