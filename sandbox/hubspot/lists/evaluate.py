"""A stored definition compiled to a predicate over one contact: the semantics of DESIGN §5, the
same the product's criteria engine applies, so a list both evaluate has one membership.

What a filter reads (a contact's stored values are HubSpot's strings):

- *no value*: the property absent, or blank (whitespace only), or a value that is not of the
  type the filter compares (``abc`` for a number). With no value a filter passes exactly when its
  ``includeObjectsWithNoValueSet`` is true, except ``IS_UNKNOWN``, which always passes;
- STRING, MULTISTRING: the text case-folded (NFC, ``str.casefold``), compared with the folded
  value(s); MULTISTRING passes when any value does, its negative operators when none does;
- ENUMERATION: the set of folded options (a multiple checkbox ``a;b`` is {a, b});
  ``IS_ANY_OF``: any in common, ``IS_NONE_OF``: none, ``IS_EXACTLY``: the same set,
  ``CONTAINS_ALL``: all the values are in it (and their negations);
- NUMBER, NUMBER_RANGED (bounds inclusive): the value as a double;
- BOOL: true/false (also yes/no, 1/0, on/off, as the product reads them);
- DATETIME, RANGED_DATE (inclusive), ROLLING_DATE_RANGE: epoch milliseconds; a ``date`` property
  is the midnight UTC of its day. ``IS_LESS_THAN_X_DAYS_AGO``: now - N days < value <= now;
  ``IS_MORE_THAN_X_DAYS_AGO``: value < now - N days; ``..._FROM_NOW`` mirror them ahead of now;
- ``hs_object_id``, ``createdate`` and ``lastmodifieddate`` come from the contact's columns;
- IN_LIST / NOT_IN_LIST: membership of the other list as it stands; CONSTANT: ``shouldAccept``.

An AND branch passes when all its filters and sub-branches do (an empty one does), an OR branch
when any of its sub-branches does.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.hubspot.schema import PropertyDef, parse_instant

DAY_MS = 86_400_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass
class ContactView:
    """One contact as the lists read it (``props``: its stored values, parsed on first use)."""

    id: int
    props_json: str
    created_ms: int
    updated_ms: int
    _props: dict[str, str] | None = None

    @property
    def props(self) -> dict[str, str]:
        if self._props is None:
            self._props = json.loads(self.props_json)
        return self._props


#: ``member(list_id, contact_id)``: whether the contact is in that list now.
Membership = Callable[[int, int], bool]
Predicate = Callable[[ContactView, Membership, int], bool]  # (contact, membership, now_ms)


def fold(value: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).casefold())


def compile_definition(branch: dict[str, Any], properties: dict[str, PropertyDef]) -> Predicate:
    """The predicate of an evaluable stored definition (``Definition.evaluable``)."""
    return _branch(branch, properties)


def _branch(branch: dict[str, Any], properties: dict[str, PropertyDef]) -> Predicate:
    parts = [_filter(item, properties) for item in branch.get("filters", [])]
    parts += [_branch(child, properties) for child in branch.get("filterBranches", [])]
    if branch["filterBranchType"] == "OR":
        return lambda contact, member, now: any(part(contact, member, now) for part in parts)
    return lambda contact, member, now: all(part(contact, member, now) for part in parts)


def _filter(item: dict[str, Any], properties: dict[str, PropertyDef]) -> Predicate:
    kind = item["filterType"]
    if kind == "CONSTANT":
        accept = bool(item["shouldAccept"])
        return lambda contact, member, now: accept
    if kind == "IN_LIST":
        list_id, wanted = int(item["listId"]), item["operator"] == "IN_LIST"
        return lambda contact, member, now: member(list_id, contact.id) is wanted
    op = item["operation"]
    read = _reader(item["property"], op["operationType"], properties.get(item["property"]))
    test = _test(op)
    include, unknown = op["includeObjectsWithNoValueSet"], op["operator"] == "IS_UNKNOWN"

    def passes(contact: ContactView, member: Membership, now: int) -> bool:
        value = read(contact)
        if value is None:
            return include or unknown
        return test(value, now)

    return passes


# -- reading a contact's value ---------------------------------------------------------------

Reader = Callable[[ContactView], Any]


def _raw(name: str) -> Callable[[ContactView], Any]:
    if name == "hs_object_id":
        return lambda contact: contact.id
    if name == "createdate":
        return lambda contact: contact.created_ms
    if name == "lastmodifieddate":
        return lambda contact: contact.updated_ms

    def text(contact: ContactView) -> str | None:
        value = contact.props.get(name)
        return value if isinstance(value, str) and value.strip() else None

    return text


def _reader(name: str, kind: str, prop: PropertyDef | None) -> Reader:
    raw = _raw(name)
    if kind == "ALL_PROPERTY":
        return lambda contact: True if raw(contact) is not None else None
    if kind in ("STRING", "MULTISTRING"):
        return lambda contact: _fold_or_none(raw(contact))
    if kind == "ENUMERATION":
        multiple = prop is not None and prop.multiple
        return lambda contact: _options(raw(contact), multiple)
    if kind == "BOOL":
        return lambda contact: _bool(raw(contact))
    if kind in ("NUMBER", "NUMBER_RANGED"):
        return lambda contact: _number(raw(contact))
    is_date = prop is not None and prop.type == "date"
    return lambda contact: _epoch_ms(raw(contact), is_date)


def _fold_or_none(value: Any) -> str | None:
    return fold(value) if isinstance(value, str) else (None if value is None else fold(str(value)))


def _options(value: Any, multiple: bool) -> frozenset[str] | None:
    if value is None:
        return None
    text = str(value)
    if not multiple:
        return frozenset({fold(text)})
    parts = frozenset(fold(part.strip()) for part in text.split(";") if part.strip())
    return parts or None


def _bool(value: Any) -> bool | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int):
        return float(value)
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    try:
        number = float(Decimal(text))
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _epoch_ms(value: Any, is_date: bool) -> float | None:
    if value is None:
        return None
    text = str(value).strip()
    if isinstance(value, int) or text.lstrip("-").isdigit():
        ms = int(text)
    else:
        moment = parse_instant(text)
        if moment is None:
            return None
        # Whole milliseconds, truncated, in integer arithmetic (as the product computes them).
        delta = moment - _EPOCH
        ms = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return float(ms - ms % DAY_MS if is_date else ms)


# -- testing a present value -----------------------------------------------------------------

Test = Callable[[Any, int], bool]


def _test(op: dict[str, Any]) -> Test:
    kind, operator = op["operationType"], op["operator"]
    if kind == "ALL_PROPERTY":
        known = operator == "IS_KNOWN"
        return lambda value, now: known
    if kind == "STRING":
        hit = _string_test(operator, [fold(op["value"])])
        negative = operator in ("IS_NOT_EQUAL_TO", "DOES_NOT_CONTAIN")
        return lambda value, now: hit(value) is not negative
    if kind == "MULTISTRING":
        hit = _string_test(operator, [fold(v) for v in op["values"]])
        negative = operator in ("IS_NOT_EQUAL_TO", "DOES_NOT_CONTAIN")
        return lambda value, now: hit(value) is not negative
    if kind == "ENUMERATION":
        return _enumeration_test(operator, frozenset(fold(v.strip()) for v in op["values"]))
    if kind == "BOOL":
        wanted, equal = bool(op["value"]), operator == "IS_EQUAL_TO"
        return lambda value, now: (value == wanted) is equal
    if kind == "NUMBER":
        return _compare(operator, float(op["value"]))
    if kind in ("NUMBER_RANGED", "RANGED_DATE"):
        low, high, inside = float(op["lowerBound"]), float(op["upperBound"]), operator == "IS_BETWEEN"
        return lambda value, now: (low <= value <= high) is inside
    if kind == "DATETIME":
        stamp = float(op["timestamp"])
        if operator == "IS_BEFORE":
            return lambda value, now: value < stamp
        return lambda value, now: value > stamp
    if kind == "ROLLING_DATE_RANGE":
        return _rolling(operator, int(op["numberOfDays"]) * DAY_MS)
    raise AssertionError(f"{kind} {operator} is not evaluated by the sandbox")


def _string_test(operator: str, wanted: list[str]) -> Callable[[str], bool]:
    if operator in ("IS_EQUAL_TO", "IS_NOT_EQUAL_TO"):
        return lambda text: any(text == w for w in wanted)
    if operator in ("CONTAINS", "DOES_NOT_CONTAIN"):
        return lambda text: any(w in text for w in wanted)
    if operator == "STARTS_WITH":
        return lambda text: any(text.startswith(w) for w in wanted)
    return lambda text: any(text.endswith(w) for w in wanted)


def _enumeration_test(operator: str, wanted: frozenset[str]) -> Test:
    tests: dict[str, Callable[[frozenset[str]], bool]] = {
        "IS_ANY_OF": lambda value: bool(value & wanted),
        "IS_NONE_OF": lambda value: not value & wanted,
        "IS_EXACTLY": lambda value: value == wanted,
        "IS_NOT_EXACTLY": lambda value: value != wanted,
        "CONTAINS_ALL": lambda value: wanted <= value,
        "DOES_NOT_CONTAIN_ALL": lambda value: not wanted <= value,
    }
    test = tests[operator]
    return lambda value, now: test(value)


def _compare(operator: str, target: float) -> Test:
    tests: dict[str, Callable[[float], bool]] = {
        "IS_EQUAL_TO": lambda value: value == target,
        "IS_NOT_EQUAL_TO": lambda value: value != target,
        "IS_GREATER_THAN": lambda value: value > target,
        "IS_GREATER_THAN_OR_EQUAL_TO": lambda value: value >= target,
        "IS_LESS_THAN": lambda value: value < target,
        "IS_LESS_THAN_OR_EQUAL_TO": lambda value: value <= target,
    }
    test = tests[operator]
    return lambda value, now: test(value)


def _rolling(operator: str, span: int) -> Test:
    if operator == "IS_LESS_THAN_X_DAYS_AGO":
        return lambda value, now: now - span < value <= now
    if operator == "IS_MORE_THAN_X_DAYS_AGO":
        return lambda value, now: value < now - span
    if operator == "IS_LESS_THAN_X_DAYS_FROM_NOW":
        return lambda value, now: now <= value < now + span
    return lambda value, now: value > now + span
