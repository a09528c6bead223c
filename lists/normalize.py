"""Normalise HubSpot's string property values into the typed values stored in ``Contact.properties``.

HubSpot sends every property value as a string. The criteria engine compares typed values,
in SQL (SQLite and PostgreSQL) and in Python, so values are converted once, when a contact is
stored. The normalised forms:

=============================  ==============================================================
property type                  value in ``Contact.properties``
=============================  ==============================================================
string                         the string as sent
number                         ``int`` when integral and exactly representable as a double
                               (|x| < 2**53), else ``float`` (so SQL and Python compare the
                               same doubles); ``NaN``/``Infinity`` are not numbers
bool                           ``true`` / ``false`` (from true/false, yes/no, 1/0, on/off)
date                           epoch milliseconds at midnight UTC (from ``YYYY-MM-DD``, an ISO
                               datetime, or epoch milliseconds, truncated to the UTC day)
datetime                       epoch milliseconds (ISO 8601, naive means UTC; or epoch ms)
enumeration, single select     the option value as sent
enumeration, multiple checkbox sorted list of distinct values (``"b;a;b"`` -> ``["a", "b"]``)
unknown property               the string as sent
=============================  ==============================================================

*No value*: HubSpot's absent, null and blank (only whitespace) values are left out of the
dict, as are values that cannot be parsed for their type (``"abc"`` for a number): they stay in
``Contact.raw_properties`` for display, and every criteria operator treats them as "no value".

Indexes for the criteria (built by :func:`with_folded`, which :func:`normalize_properties`
calls; anything writing ``Contact.properties`` must go through one of them):

- ``properties[FOLDED_KEY]`` (``"_folded"``) maps each string or enumeration property to its
  case-folded (NFC, ``str.casefold``) form, always a string; multiple checkboxes are packed as
  ``";a;b;"`` (sorted, distinct), so an element is found with ``instr(x, ';a;')`` in SQL.
  SQLite's ``LOWER()`` folds ASCII only and PostgreSQL's depends on the database locale, so
  neither could fold "É" to "é" the same way: folding once, here, makes both databases do plain
  comparisons that agree with the Python evaluator.
- ``properties[NUMBERS_KEY]`` (``"_num"``) holds the number, date and datetime values and
  nothing else, so SQL compares them without checking JSON types first (on SQLite such a check
  costs as much as the comparison).

HubSpot property names start with a letter, so these keys (leading underscore) never collide
with a property; use :func:`public_properties` to show a contact's properties without them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

FOLDED_KEY = "_folded"
NUMBERS_KEY = "_num"
#: Keys of ``Contact.properties`` that are indexes built by this module, not properties.
INDEX_KEYS = frozenset({FOLDED_KEY, NUMBERS_KEY})

STRING = "string"
NUMBER = "number"
DATE = "date"
DATETIME = "datetime"
ENUMERATION = "enumeration"
BOOL = "bool"
PROPERTY_TYPES = (STRING, NUMBER, DATE, DATETIME, ENUMERATION, BOOL)

# Doubles represent every integer below this exactly; beyond it an int would compare differently
# in Python (exact) and in SQL (as a double).
_MAX_EXACT_INT = 2**53
# Epoch milliseconds of 0001-01-01 and 9999-12-31T23:59:59.999: the range Python can show.
MIN_EPOCH_MS = -62135596800000
MAX_EPOCH_MS = 253402300799999

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
_DIGITS = re.compile(r"^[+-]?\d+$")


class PropertySpecLike(Protocol):
    """What normalisation needs of a property: a ContactProperty or a :class:`PropertySpec`."""

    name: str
    type: str
    field_type: str


@dataclass(frozen=True)
class PropertySpec:
    """A light, database-free description of one contact property (the criteria schema)."""

    name: str
    type: str = STRING
    field_type: str = ""
    options: tuple[str, ...] = ()
    label: str = ""
    # Folded option values, for case-insensitive checks of enumeration filter values.
    folded_options: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.folded_options and self.options:
            object.__setattr__(self, "folded_options", frozenset(fold(o) for o in self.options))

    @property
    def is_multiple(self) -> bool:
        return self.type == ENUMERATION and self.field_type == "checkbox"

    @classmethod
    def from_property(cls, prop: Any) -> PropertySpec:
        """Build from a ContactProperty (its ``options`` are HubSpot's ``{"label", "value"}`` dicts)."""
        values: list[str] = []
        for option in prop.options or []:
            if isinstance(option, Mapping):
                value = option.get("value")
                if value is not None:
                    values.append(str(value))
            elif isinstance(option, str):
                values.append(option)
        return cls(
            name=prop.name,
            type=prop.type,
            field_type=prop.field_type or "",
            options=tuple(values),
            label=getattr(prop, "label", "") or "",
        )


def fold(value: str) -> str:
    """The case-insensitive form of a string, the same in the stored data and in criteria."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).casefold())


def is_multiple(spec: PropertySpecLike) -> bool:
    return spec.type == ENUMERATION and (spec.field_type or "") == "checkbox"


def parse_number(raw: Any) -> int | float | None:
    """A finite number from a string or a JSON number, in its normalised form; else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if abs(raw) < _MAX_EXACT_INT else float(raw)
    if isinstance(raw, float):
        number = raw
    elif isinstance(raw, str):
        text = raw.strip().replace("\u00a0", "").replace(" ", "")
        if not text:
            return None
        try:
            number = float(Decimal(text))
        except (InvalidOperation, ValueError, OverflowError):
            return None
    else:
        return None
    if not math.isfinite(number):
        return None
    if number.is_integer() and abs(number) < _MAX_EXACT_INT:
        return int(number)
    return number


def parse_bool(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def _epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _in_range(ms: int) -> int | None:
    return ms if MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS else None


def parse_datetime_ms(raw: Any) -> int | None:
    """Epoch milliseconds from epoch ms (int or digits) or an ISO 8601 date/datetime; else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return _in_range(raw)
    if isinstance(raw, float):
        return _in_range(int(raw)) if math.isfinite(raw) and raw.is_integer() else None
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not text:
        return None
    if _DIGITS.match(text):
        return _in_range(int(text))
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return _in_range(_epoch_ms(moment))


def parse_date_ms(raw: Any) -> int | None:
    """Epoch milliseconds at midnight UTC of the UTC day of the value; else None."""
    if isinstance(raw, str) and not _DIGITS.match(raw.strip()):
        text = raw.strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return _epoch_ms(datetime.combine(day, time(), tzinfo=UTC))
    ms = parse_datetime_ms(raw)
    if ms is None:
        return None
    return ms - ms % 86_400_000


def split_multiple(raw: str) -> list[str]:
    return sorted({part.strip() for part in raw.split(";") if part.strip()})


def normalize_value(spec: PropertySpecLike | None, raw: str | None) -> Any:
    """The normalised value of one raw HubSpot value, or None for "no value".

    ``spec`` None means an unknown property: the string is kept as it is.
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        raw = str(raw).lower() if isinstance(raw, bool) else str(raw)
    # PostgreSQL's jsonb cannot hold U+0000; HubSpot never means it.
    raw = raw.replace("\x00", "")
    if not raw.strip():
        return None
    kind = spec.type if spec is not None else STRING
    if kind == NUMBER:
        return parse_number(raw)
    if kind == BOOL:
        return parse_bool(raw)
    if kind == DATE:
        return parse_date_ms(raw)
    if kind == DATETIME:
        return parse_datetime_ms(raw)
    if kind == ENUMERATION and spec is not None and is_multiple(spec):
        return split_multiple(raw) or None
    if kind == ENUMERATION:
        return raw.strip()
    return raw


def folded_index(properties: Mapping[str, Any]) -> dict[str, str]:
    """The folded copies of the string and list-of-string values of typed properties."""
    index: dict[str, str] = {}
    for name, value in properties.items():
        if name in INDEX_KEYS:
            continue
        if isinstance(value, str):
            index[name] = fold(value)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            index[name] = pack_multiple(fold(v) for v in value)
    return index


def number_index(properties: Mapping[str, Any]) -> dict[str, int | float]:
    """The numbers (numbers, dates, datetimes) of typed properties: a map that holds nothing
    else, so SQL can compare ``properties -> '_num' -> name`` without checking its JSON type."""
    index: dict[str, int | float] = {}
    for name, value in properties.items():
        if name in INDEX_KEYS or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        number = parse_number(value)  # big ints become doubles, as SQL compares them
        if number is not None:
            index[name] = number
    return index


def pack_multiple(values: Iterable[str]) -> str:
    """``";a;b;"``: the folded form of a multiple-checkbox value, a string like every folded
    value, so that SQL reads one JSON type and finds an element with ``instr(x, ';a;')``."""
    return ";" + ";".join(sorted(set(values))) + ";"


def with_folded(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Typed properties plus the indexes the criteria read: what ``Contact.properties`` holds.

    For callers that build typed values themselves (tests, factories, the pull after merging
    changes); ``normalize_properties`` already returns this form.
    """
    result = {k: v for k, v in properties.items() if k not in INDEX_KEYS and v is not None}
    folded = folded_index(result)
    numbers = number_index(result)
    if folded:
        result[FOLDED_KEY] = folded
    if numbers:
        result[NUMBERS_KEY] = numbers
    return result


def normalize_properties(raw: Mapping[str, str | None], schema: Mapping[str, PropertySpecLike]) -> dict[str, Any]:
    """Typed ``Contact.properties`` (with the folded index) from HubSpot's raw strings."""
    typed: dict[str, Any] = {}
    for name, value in raw.items():
        if name in INDEX_KEYS:
            continue
        normalised = normalize_value(schema.get(name), value)
        if normalised is not None:
            typed[name] = normalised
    return with_folded(typed)


def storable_raw(raw: Mapping[str, str | None]) -> dict[str, str | None]:
    """HubSpot's raw values made storable in ``Contact.raw_properties`` on PostgreSQL, whose
    ``jsonb`` refuses U+0000 (a value HubSpot can return, meaning nothing)."""
    return {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in raw.items()}


def public_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """A contact's properties without the internal indexes, for display and export."""
    return {k: v for k, v in properties.items() if k not in INDEX_KEYS}


def schema_from_properties(props: Iterable[Any]) -> dict[str, PropertySpec]:
    """``{name: PropertySpec}`` from ContactProperty rows (or anything shaped like them)."""
    return {p.name: PropertySpec.from_property(p) for p in props}
