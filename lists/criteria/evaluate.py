"""Evaluate criteria for one contact in Python, and explain the result filter by filter.

The semantics here are the reference: ``sql.to_q`` compiles the very same rules, reading the
same normalised values (see ``lists.normalize``), and a hypothesis test holds them equal.

What a filter reads:

- STRING, MULTISTRING, ENUMERATION: the folded copy ``properties["_folded"][name]`` (a string);
  an enumeration matches an option when it equals it, or, for a packed multiple-checkbox value
  ``";a;b;"``, when it holds ``";option;"``.
- NUMBER, NUMBER_RANGED, DATETIME, ROLLING_DATE_RANGE: ``properties["_num"][name]`` (compared
  as a double); dates and datetimes are epoch milliseconds.
- BOOL: ``properties[name]`` when it is ``true`` or ``false``.
- ALL_PROPERTY: whether ``name`` is a key of ``properties``.

When a filter finds nothing to read (no value, or a value of another type than it compares),
the contact has *no value*: it passes exactly when ``includeObjectsWithNoValueSet`` is true,
except for ``IS_UNKNOWN``, which passes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

from lists.normalize import FOLDED_KEY, INDEX_KEYS, MAX_EPOCH_MS, MIN_EPOCH_MS, NUMBERS_KEY, PropertySpec

from .nodes import (
    ALL_PROPERTY,
    BOOL,
    CONTAINS,
    DATETIME,
    DOES_NOT_CONTAIN,
    ENDS_WITH,
    ENUMERATION,
    IN_LIST,
    IS_AFTER,
    IS_ANY_OF,
    IS_BEFORE,
    IS_BETWEEN,
    IS_EQUAL_TO,
    IS_GREATER_THAN,
    IS_GREATER_THAN_OR_EQUAL_TO,
    IS_KNOWN,
    IS_LESS_THAN,
    IS_LESS_THAN_OR_EQUAL_TO,
    IS_LESS_THAN_X_DAYS_AGO,
    IS_MORE_THAN_X_DAYS_AGO,
    IS_NONE_OF,
    IS_NOT_BETWEEN,
    IS_NOT_EQUAL_TO,
    IS_UNKNOWN,
    MULTISTRING,
    NUMBER,
    NUMBER_RANGED,
    ROLLING_DATE_RANGE,
    STARTS_WITH,
    STRING,
    AndBranch,
    Filter,
    InListFilter,
    Operation,
    OrBranch,
    PropertyFilter,
    where,
)

DAY_MS = 86_400_000


def epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive means UTC), truncated like the SQL side."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


# Reading values --------------------------------------------------------------------------------


def folded_text(properties: Mapping[str, Any], name: str) -> str | None:
    index = properties.get(FOLDED_KEY)
    if not isinstance(index, Mapping):
        return None
    value = index.get(name)
    return value if isinstance(value, str) else None


def number_value(properties: Mapping[str, Any], name: str) -> float | None:
    index = properties.get(NUMBERS_KEY)
    if not isinstance(index, Mapping):
        return None
    value = index.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def bool_value(properties: Mapping[str, Any], name: str) -> bool | None:
    value = properties.get(name)
    return value if isinstance(value, bool) else None


def is_known(properties: Mapping[str, Any], name: str) -> bool:
    return name not in INDEX_KEYS and name in properties


def _enum_any(text: str, wanted: tuple[str, ...], multiple: bool | None) -> bool:
    # The exact rule the SQL applies: equal to an option (single select), or a packed value
    # holding ";option;" (multiple checkboxes); either when the kind is not known.
    if multiple is not True and text in wanted:
        return True
    if multiple is False:
        return False
    if multiple is None and not text.startswith(";"):
        return False
    return any(f";{w};" in text for w in wanted)


# Evaluating ------------------------------------------------------------------------------------


def _string_test(operator: str, text: str, value: str) -> bool:
    if operator in (IS_EQUAL_TO, IS_NOT_EQUAL_TO):
        return text == value
    if operator in (CONTAINS, DOES_NOT_CONTAIN):
        return value in text
    if operator == STARTS_WITH:
        return text.startswith(value)
    return text.endswith(value)


def _positive(operator: str) -> bool:
    return operator not in (IS_NOT_EQUAL_TO, DOES_NOT_CONTAIN)


def read_value(properties: Mapping[str, Any], item: PropertyFilter) -> Any:
    """What the filter compares (None: no value), in the type it compares."""
    kind = item.operation.operation_type
    if kind in (STRING, MULTISTRING, ENUMERATION):
        return folded_text(properties, item.property)
    if kind == BOOL:
        return bool_value(properties, item.property)
    if kind == ALL_PROPERTY:
        return True if is_known(properties, item.property) else None
    return number_value(properties, item.property)


def evaluate_operation(op: Operation, value: Any, now_ms: int) -> bool:
    """The operation on a present value (never None) of the right type."""
    kind, operator = op.operation_type, op.operator
    if kind == STRING:
        hit = _string_test(operator, value, op.folded_value)
        return hit if _positive(operator) else not hit
    if kind == MULTISTRING:
        hit = any(_string_test(operator, value, v) for v in op.folded_values)
        return hit if _positive(operator) else not hit
    if kind == ENUMERATION:
        hit = _enum_any(value, op.folded_values, op.multiple)
        return hit if operator == IS_ANY_OF else not hit
    if kind == BOOL:
        return (value == op.value) if operator == IS_EQUAL_TO else (value != op.value)
    if kind == ALL_PROPERTY:
        return operator == IS_KNOWN
    if kind == NUMBER:
        target = float(op.value)
        return {
            IS_EQUAL_TO: value == target,
            IS_NOT_EQUAL_TO: value != target,
            IS_GREATER_THAN: value > target,
            IS_GREATER_THAN_OR_EQUAL_TO: value >= target,
            IS_LESS_THAN: value < target,
            IS_LESS_THAN_OR_EQUAL_TO: value <= target,
        }[operator]
    if kind == NUMBER_RANGED:
        inside = float(op.lower) <= value <= float(op.upper)
        return inside if operator == IS_BETWEEN else not inside
    if kind == DATETIME:
        return value < float(op.timestamp) if operator == IS_BEFORE else value > float(op.timestamp)
    if kind == ROLLING_DATE_RANGE:
        cutoff = float(now_ms - op.number_of_days * DAY_MS)
        if operator == IS_LESS_THAN_X_DAYS_AGO:
            return cutoff < value <= float(now_ms)
        return value < cutoff
    raise AssertionError(kind)  # parse() admits no other operation type


def filter_passes(item: Filter, properties: Mapping[str, Any], list_ids: Collection[int], now_ms: int) -> bool:
    if isinstance(item, InListFilter):
        member = item.list_id in list_ids
        return member if item.operator == IN_LIST else not member
    op = item.operation
    value = read_value(properties, item)
    if value is None:
        return op.include_no_value or op.operator == IS_UNKNOWN
    return evaluate_operation(op, value, now_ms)


def _branch(
    branch: AndBranch | OrBranch, properties: Mapping[str, Any], list_ids: Collection[int], now_ms: int
) -> bool:
    if isinstance(branch, OrBranch):
        return any(_branch(b, properties, list_ids, now_ms) for b in branch.branches)
    return all(filter_passes(f, properties, list_ids, now_ms) for f in branch.filters) and all(
        _branch(b, properties, list_ids, now_ms) for b in branch.branches
    )


def matches(branch: OrBranch, *, properties: Mapping[str, Any], list_ids: Collection[int], now: datetime) -> bool:
    """Whether a contact (its normalised properties, the lists it is in) meets the criteria."""
    return _branch(branch, properties, list_ids, epoch_ms(now))


# Explaining ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterExplanation:
    """One filter's verdict for one contact.

    ``group_index`` / ``filter_index`` are 0-based (the top-level group, and the filter in its
    own branch); ``group_path`` holds the 1-based path of the branch ("Group 2.1" is (2, 1));
    ``place`` is the display label ("Group 2, filter 1"). ``value`` is the contact's normalised
    value of the property (None: no value), or for a list filter whether it is a member.
    """

    group_index: int
    filter_index: int
    group_path: tuple[int, ...]
    place: str
    property: str | None
    list_id: int | None
    sentence: str
    passed: bool
    value: Any


_PHRASES: dict[tuple[str, str], tuple[str, str]] = {}


def _phrases() -> dict[tuple[str, str], tuple[str, str]]:
    """(operationType, operator) -> (sentence when it holds, sentence when it does not)."""
    s = {
        IS_EQUAL_TO: (_("is equal to %(expected)s"), _("is not equal to %(expected)s")),
        IS_NOT_EQUAL_TO: (_("is not equal to %(expected)s"), _("is equal to %(expected)s")),
        CONTAINS: (_("contains %(expected)s"), _("does not contain %(expected)s")),
        DOES_NOT_CONTAIN: (_("does not contain %(expected)s"), _("contains %(expected)s")),
        STARTS_WITH: (_("starts with %(expected)s"), _("does not start with %(expected)s")),
        ENDS_WITH: (_("ends with %(expected)s"), _("does not end with %(expected)s")),
    }
    m = {
        IS_EQUAL_TO: (_("is equal to one of %(expected)s"), _("is not equal to any of %(expected)s")),
        IS_NOT_EQUAL_TO: (_("is not equal to any of %(expected)s"), _("is equal to one of %(expected)s")),
        CONTAINS: (_("contains one of %(expected)s"), _("contains none of %(expected)s")),
        DOES_NOT_CONTAIN: (_("contains none of %(expected)s"), _("contains one of %(expected)s")),
        STARTS_WITH: (_("starts with one of %(expected)s"), _("starts with none of %(expected)s")),
        ENDS_WITH: (_("ends with one of %(expected)s"), _("ends with none of %(expected)s")),
    }
    n = {
        IS_EQUAL_TO: (_("is equal to %(expected)s"), _("is not equal to %(expected)s")),
        IS_NOT_EQUAL_TO: (_("is not equal to %(expected)s"), _("is equal to %(expected)s")),
        IS_GREATER_THAN: (_("is greater than %(expected)s"), _("is not greater than %(expected)s")),
        IS_GREATER_THAN_OR_EQUAL_TO: (
            _("is greater than or equal to %(expected)s"),
            _("is less than %(expected)s"),
        ),
        IS_LESS_THAN: (_("is less than %(expected)s"), _("is not less than %(expected)s")),
        IS_LESS_THAN_OR_EQUAL_TO: (
            _("is less than or equal to %(expected)s"),
            _("is greater than %(expected)s"),
        ),
    }
    table: dict[tuple[str, str], tuple[str, str]] = {}
    table.update({(STRING, k): v for k, v in s.items()})
    table.update({(MULTISTRING, k): v for k, v in m.items()})
    table.update({(NUMBER, k): v for k, v in n.items()})
    table[(NUMBER_RANGED, IS_BETWEEN)] = (
        _("is between %(lower)s and %(upper)s"),
        _("is not between %(lower)s and %(upper)s"),
    )
    table[(NUMBER_RANGED, IS_NOT_BETWEEN)] = (
        _("is not between %(lower)s and %(upper)s"),
        _("is between %(lower)s and %(upper)s"),
    )
    table[(BOOL, IS_EQUAL_TO)] = (_("is %(expected)s"), _("is not %(expected)s"))
    table[(BOOL, IS_NOT_EQUAL_TO)] = (_("is not %(expected)s"), _("is %(expected)s"))
    table[(ENUMERATION, IS_ANY_OF)] = (_("is any of %(expected)s"), _("is not any of %(expected)s"))
    table[(ENUMERATION, IS_NONE_OF)] = (_("is none of %(expected)s"), _("is one of %(expected)s"))
    table[(ALL_PROPERTY, IS_KNOWN)] = (_("is known"), _("is unknown"))
    table[(ALL_PROPERTY, IS_UNKNOWN)] = (_("is unknown"), _("is known"))
    table[(DATETIME, IS_BEFORE)] = (_("is before %(expected)s"), _("is not before %(expected)s"))
    table[(DATETIME, IS_AFTER)] = (_("is after %(expected)s"), _("is not after %(expected)s"))
    table[(ROLLING_DATE_RANGE, IS_LESS_THAN_X_DAYS_AGO)] = (
        _("is less than %(days)s days ago"),
        _("is not less than %(days)s days ago"),
    )
    table[(ROLLING_DATE_RANGE, IS_MORE_THAN_X_DAYS_AGO)] = (
        _("is more than %(days)s days ago"),
        _("is not more than %(days)s days ago"),
    )
    return table


def _format_ms(ms: float | int, *, date_only: bool) -> str:
    if not MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS:
        return str(ms)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(ms))
    if date_only:
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _format_number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def _format_value(value: Any, kind: str, spec: PropertySpec | None) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if kind in (DATETIME, ROLLING_DATE_RANGE) and isinstance(value, int | float):
        date_only = spec is not None and spec.type == "date"
        return _format_ms(value, date_only=date_only)
    if isinstance(value, int | float):
        return _format_number(value)
    return str(value)


def _values_list(values: tuple[str, ...]) -> str:
    shown = ", ".join(values[:10])
    if len(values) > 10:
        shown += " " + _("and %(count)s more") % {"count": len(values) - 10}
    return shown


def _explain_property(item: PropertyFilter, properties: Mapping[str, Any], now_ms: int, spec: PropertySpec | None):
    op = item.operation
    label = (spec.label if spec is not None and spec.label else None) or item.property
    passed = filter_passes(item, properties, (), now_ms)
    raw_value = properties.get(item.property) if is_known(properties, item.property) else None
    read = read_value(properties, item)
    params: dict[str, Any] = {"property": label}
    if op.operation_type in (STRING,):
        params["expected"] = op.value
    elif op.operation_type in (MULTISTRING, ENUMERATION):
        params["expected"] = _values_list(op.values)
    elif op.operation_type == NUMBER:
        params["expected"] = _format_number(op.value)
    elif op.operation_type == NUMBER_RANGED:
        params["lower"], params["upper"] = _format_number(op.lower), _format_number(op.upper)
    elif op.operation_type == BOOL:
        params["expected"] = _("Yes") if op.value else _("No")
    elif op.operation_type == DATETIME:
        params["expected"] = _format_ms(op.timestamp, date_only=spec is not None and spec.type == "date")
    elif op.operation_type == ROLLING_DATE_RANGE:
        params["days"] = op.number_of_days
    holds, fails = _phrases()[(op.operation_type, op.operator)]
    shown = _format_value(raw_value, op.operation_type, spec)
    if op.operation_type == ALL_PROPERTY:
        if read is None:
            sentence = _("%(property)s has no value") % {"property": label}
        else:
            sentence = _("%(property)s = %(value)s %(phrase)s") % {
                "property": label,
                "value": shown,
                "phrase": holds if op.operator == IS_KNOWN else fails,
            }
    elif read is None and raw_value is not None:
        sentence = _("%(property)s = %(value)s cannot be compared by this filter, so it counts as no value") % {
            "property": label,
            "value": shown,
        }
    elif read is None and passed:
        sentence = _("%(property)s has no value, which this filter accepts") % {"property": label}
    elif read is None:
        sentence = _("%(property)s has no value (filter: %(condition)s)") % {
            "property": label,
            "condition": holds % params,
        }
    else:
        # Describes the contact: "country = Spain is not any of France, Germany".
        outcome_holds = evaluate_operation(op, read, now_ms)
        sentence = _("%(property)s = %(value)s %(phrase)s") % {
            "property": label,
            "value": shown,
            "phrase": (holds if outcome_holds else fails) % params,
        }
    return passed, sentence, raw_value


def explain(
    branch: OrBranch,
    *,
    properties: Mapping[str, Any],
    list_ids: Collection[int],
    now: datetime,
    schema: Mapping[str, Any] | None = None,
    list_names: Mapping[int, str] | None = None,
) -> list[FilterExplanation]:
    """Every filter's verdict for one contact, in document order (translatable sentences)."""
    now_ms = epoch_ms(now)
    specs = {k: v if isinstance(v, PropertySpec) else PropertySpec.from_property(v) for k, v in (schema or {}).items()}
    result: list[FilterExplanation] = []

    def visit(node: AndBranch | OrBranch) -> None:
        if isinstance(node, AndBranch):
            for index, item in enumerate(node.filters):
                place = where(node.path, index + 1)
                if isinstance(item, InListFilter):
                    member = item.list_id in list_ids
                    passed = filter_passes(item, properties, list_ids, now_ms)
                    name = (list_names or {}).get(item.list_id) or _("list %(id)s") % {"id": item.list_id}
                    sentence = (_("is a member of %(list)s") if member else _("is not a member of %(list)s")) % {
                        "list": name
                    }
                    result.append(
                        FilterExplanation(
                            group_index=node.path[0] - 1 if node.path else 0,
                            filter_index=index,
                            group_path=node.path,
                            place=place,
                            property=None,
                            list_id=item.list_id,
                            sentence=sentence,
                            passed=passed,
                            value=member,
                        )
                    )
                else:
                    passed, sentence, value = _explain_property(item, properties, now_ms, specs.get(item.property))
                    result.append(
                        FilterExplanation(
                            group_index=node.path[0] - 1 if node.path else 0,
                            filter_index=index,
                            group_path=node.path,
                            place=place,
                            property=item.property,
                            list_id=None,
                            sentence=sentence,
                            passed=passed,
                            value=value,
                        )
                    )
        for sub in node.branches:
            visit(sub)

    visit(branch)
    return result
