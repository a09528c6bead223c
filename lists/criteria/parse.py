"""Parse ``filterBranch`` JSON into typed nodes: structure and value formats, no schema.

Everything not in DESIGN §5 is refused; every problem found is reported (not only the first),
each message naming its group and filter. Only :class:`CriteriaError` is raised, whatever the
input (wrong JSON types included).
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lists.normalize import parse_datetime_ms, parse_number

from .guard import check_json
from .nodes import (
    ALL_PROPERTY,
    BOOL,
    DATETIME,
    ENUMERATION,
    IN_LIST,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_ERRORS,
    MAX_FILTERS,
    MAX_VALUE_LENGTH,
    MAX_VALUES,
    MULTISTRING,
    NOT_IN_LIST,
    NUMBER,
    NUMBER_RANGED,
    OPERATORS,
    ROLLING_DATE_RANGE,
    STRING,
    AndBranch,
    CriteriaError,
    Filter,
    InListFilter,
    Operation,
    OrBranch,
    PropertyFilter,
    located,
)

_BRANCH_KEYS = {"filterBranchType", "filters", "filterBranches", "filterBranchOperator"}
_PROPERTY_FILTER_KEYS = {"filterType", "property", "operation"}
_IN_LIST_KEYS = {"filterType", "listId", "operator", "metadata"}
_COMMON_OPERATION_KEYS = {"operationType", "operator", "includeObjectsWithNoValueSet"}
_OPERATION_KEYS: dict[str, set[str]] = {
    STRING: {"value"},
    MULTISTRING: {"values"},
    NUMBER: {"value"},
    NUMBER_RANGED: {"lowerBound", "upperBound"},
    BOOL: {"value"},
    ENUMERATION: {"values"},
    ALL_PROPERTY: set(),
    DATETIME: {"timestamp", "requiresTimeZoneConversion"},
    ROLLING_DATE_RANGE: {"numberOfDays", "requiresTimeZoneConversion"},
}
_LIST_ID = re.compile(r"^\s*[0-9]{1,18}\s*$")
_MAX_ID = 10**18
_DAYS = re.compile(r"^\s*[0-9]{1,9}\s*$")
# Longer text cannot be a number or a date: refused before it is converted.
_MAX_NUMBER_TEXT = 100
# HubSpot internal names are letters, digits and underscores; a few more characters are
# tolerated, but never quotes or backslashes, which would break a JSON path in SQL.
_PROPERTY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,254}$")


class _Parser:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.more_errors = 0
        self.filter_count = 0
        self.too_many_reported = False

    def error(self, path: tuple[int, ...], position: int | None, subject: str | None, message: str) -> None:
        # A pasted list of 100,000 wrong items is one page of messages, not 100,000.
        if len(self.errors) >= MAX_ERRORS:
            self.more_errors += 1
            return
        self.errors.append(located(path, position, subject, message))

    def refusal(self) -> CriteriaError:
        messages = list(self.errors)
        if self.more_errors:
            messages.append(
                ngettext("… and %(count)s more problem.", "… and %(count)s more problems.", self.more_errors)
                % {"count": self.more_errors}
            )
        return CriteriaError(messages)

    # Branches -------------------------------------------------------------------------------

    def root(self, data: object) -> OrBranch:
        if not isinstance(data, dict):
            raise CriteriaError(located((), None, None, _("the criteria must be a JSON object (a filter branch).")))
        kind = data.get("filterBranchType")
        if kind != "OR":
            self.error(
                (),
                None,
                None,
                _("the root branch must be an OR branch (filterBranchType OR), not %(kind)s.") % {"kind": _show(kind)},
            )
            raise self.refusal()
        branch = self.or_branch(data, (), depth=0)
        if not branch.branches and not self.errors:
            self.error((), None, None, _("add at least one group of filters."))
        if self.errors:
            raise self.refusal()
        return branch

    def _check_branch_keys(self, data: dict, path: tuple[int, ...], kind: str) -> None:
        unknown = sorted(str(k) for k in data if k not in _BRANCH_KEYS)
        if unknown:
            self.error(path, None, None, _("unknown keys %(keys)s in the branch.") % {"keys": ", ".join(unknown)})
        operator = data.get("filterBranchOperator")
        if operator is not None and operator != kind:
            self.error(
                path,
                None,
                None,
                _("filterBranchOperator %(op)s does not match filterBranchType %(kind)s.")
                % {"op": _show(operator), "kind": kind},
            )

    def _list(self, data: dict, key: str, path: tuple[int, ...]) -> list:
        value = data.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, None, None, _("%(key)s must be a list.") % {"key": key})
            return []
        return value

    def or_branch(self, data: dict, path: tuple[int, ...], depth: int) -> OrBranch:
        self._check_branch_keys(data, path, "OR")
        if self._list(data, "filters", path):
            self.error(
                path,
                None,
                None,
                _("an OR branch holds no filters of its own: put them in AND branches (groups)."),
            )
        branches: list[AndBranch] = []
        for index, child in enumerate(self._list(data, "filterBranches", path), start=1):
            child_path = (*path, index)
            if not isinstance(child, dict):
                self.error(child_path, None, None, _("a branch must be a JSON object."))
                continue
            kind = child.get("filterBranchType")
            if kind != "AND":
                self.error(
                    child_path,
                    None,
                    None,
                    _("the branches of an OR branch must be AND branches, not %(kind)s.") % {"kind": _show(kind)},
                )
                continue
            branches.append(self.and_branch(child, child_path, depth + 1))
        return OrBranch(branches=tuple(branches), path=path)

    def and_branch(self, data: dict, path: tuple[int, ...], depth: int) -> AndBranch:
        self._check_branch_keys(data, path, "AND")
        if depth > MAX_DEPTH:
            self.error(
                path,
                None,
                None,
                _("branches are nested more than %(max)s levels deep (the limit).") % {"max": MAX_DEPTH},
            )
            return AndBranch(path=path)
        raw_filters = self._list(data, "filters", path)
        raw_branches = self._list(data, "filterBranches", path)
        if not raw_filters and not raw_branches:
            self.error(path, None, None, _("the group is empty: add a filter or remove the group."))
        filters: list[Filter] = []
        for position, raw in enumerate(raw_filters, start=1):
            self.filter_count += 1
            if self.filter_count > MAX_FILTERS:
                if not self.too_many_reported:
                    self.too_many_reported = True
                    self.error(
                        path,
                        position,
                        None,
                        _("the criteria have more than %(max)s filters (the limit).") % {"max": MAX_FILTERS},
                    )
                continue
            parsed = self.filter(raw, path, position)
            if parsed is not None:
                filters.append(parsed)
        branches: list[AndBranch | OrBranch] = []
        for index, child in enumerate(raw_branches, start=1):
            child_path = (*path, index)
            if not isinstance(child, dict):
                self.error(child_path, None, None, _("a branch must be a JSON object."))
                continue
            kind = child.get("filterBranchType")
            if kind == "AND":
                branches.append(self.and_branch(child, child_path, depth + 1))
            elif kind == "OR":
                if depth + 1 > MAX_DEPTH:
                    self.error(
                        child_path,
                        None,
                        None,
                        _("branches are nested more than %(max)s levels deep (the limit).") % {"max": MAX_DEPTH},
                    )
                    continue
                sub = self.or_branch(child, child_path, depth + 1)
                if not sub.branches:
                    self.error(child_path, None, None, _("the OR branch is empty."))
                branches.append(sub)
            else:
                self.error(
                    child_path,
                    None,
                    None,
                    _("unsupported branch type %(kind)s (supported: AND, OR).") % {"kind": _show(kind)},
                )
        return AndBranch(filters=tuple(filters), branches=tuple(branches), path=path)

    # Filters --------------------------------------------------------------------------------

    def filter(self, raw: object, path: tuple[int, ...], position: int) -> Filter | None:
        if not isinstance(raw, dict):
            self.error(path, position, None, _("a filter must be a JSON object."))
            return None
        kind = raw.get("filterType")
        if kind == "PROPERTY":
            return self.property_filter(raw, path, position)
        if kind == "IN_LIST":
            return self.in_list_filter(raw, path, position)
        self.error(
            path,
            position,
            None,
            _("unsupported filter type %(kind)s (supported: PROPERTY, IN_LIST).") % {"kind": _show(kind)},
        )
        return None

    def in_list_filter(self, raw: dict, path: tuple[int, ...], position: int) -> InListFilter | None:
        ok = True
        unknown = sorted(str(k) for k in raw if k not in _IN_LIST_KEYS)
        if unknown:
            self.error(path, position, None, _("unknown keys %(keys)s.") % {"keys": ", ".join(unknown)})
            ok = False
        list_id = raw.get("listId")
        parsed_id: int | None = None
        if isinstance(list_id, bool) or not isinstance(list_id, int | str):
            parsed_id = None
        elif isinstance(list_id, int):
            parsed_id = list_id if list_id < _MAX_ID else None
        elif _LIST_ID.match(list_id):
            parsed_id = int(list_id)
        if parsed_id is None or parsed_id <= 0:
            self.error(path, position, None, _("listId %(id)s is not a list id.") % {"id": _show(list_id)})
            ok = False
        operator = raw.get("operator")
        if operator not in (IN_LIST, NOT_IN_LIST):
            self.error(
                path,
                position,
                None,
                _("operator %(op)s is not supported for a list filter (IN_LIST or NOT_IN_LIST).")
                % {"op": _show(operator)},
            )
            ok = False
        if not ok:
            return None
        return InListFilter(list_id=parsed_id, operator=operator, path=path, position=position)

    def property_filter(self, raw: dict, path: tuple[int, ...], position: int) -> PropertyFilter | None:
        name = raw.get("property")
        subject = name if isinstance(name, str) and name else None
        ok = True
        unknown = sorted(str(k) for k in raw if k not in _PROPERTY_FILTER_KEYS)
        if unknown:
            self.error(path, position, subject, _("unknown keys %(keys)s.") % {"keys": ", ".join(unknown)})
            ok = False
        if not isinstance(name, str) or not name.strip():
            self.error(path, position, None, _("the filter names no property."))
            ok = False
        elif not _PROPERTY_NAME.match(name):
            self.error(path, position, subject, _("%(name)s is not a property name.") % {"name": _show(name)})
            ok = False
        operation = self.operation(raw.get("operation"), path, position, subject)
        if operation is None or not ok:
            return None
        return PropertyFilter(property=name, operation=operation, path=path, position=position)

    def operation(self, raw: object, path: tuple[int, ...], position: int, subject: str | None) -> Operation | None:
        def fail(message: str) -> None:
            self.error(path, position, subject, message)

        if not isinstance(raw, dict):
            fail(_("the filter has no operation (a JSON object)."))
            return None
        kind = raw.get("operationType")
        operator = raw.get("operator")
        if not isinstance(kind, str) or kind not in OPERATORS:
            fail(_("unsupported operation type %(kind)s.") % {"kind": _show(kind)})
            return None
        if operator not in OPERATORS[kind]:
            fail(
                _("operator %(op)s is not supported for %(kind)s (supported: %(ops)s).")
                % {"op": _show(operator), "kind": kind, "ops": ", ".join(OPERATORS[kind])}
            )
            return None
        ok = True
        unknown = sorted(str(k) for k in raw if k not in _COMMON_OPERATION_KEYS | _OPERATION_KEYS[kind])
        if unknown:
            fail(_("unknown keys %(keys)s in the %(kind)s operation.") % {"keys": ", ".join(unknown), "kind": kind})
            ok = False
        include = raw.get("includeObjectsWithNoValueSet", False)
        if include is None:
            include = False
        if not isinstance(include, bool):
            fail(_("includeObjectsWithNoValueSet must be true or false."))
            ok = False
        tz = raw.get("requiresTimeZoneConversion")
        if tz is not None and not isinstance(tz, bool):
            fail(_("requiresTimeZoneConversion must be true or false."))
            ok = False
        fields: dict[str, Any] = {}
        if kind == STRING:
            value = self.string_value(raw, "value", fail)
            ok = ok and value is not None
            fields["value"] = value
        elif kind in (MULTISTRING, ENUMERATION):
            values = self.string_values(raw, fail, allow_numbers=kind == ENUMERATION)
            ok = ok and values is not None
            fields["values"] = values
        elif kind == NUMBER:
            number = self.number(raw, "value", fail)
            ok = ok and number is not None
            fields["value"] = number
        elif kind == NUMBER_RANGED:
            lower = self.number(raw, "lowerBound", fail)
            upper = self.number(raw, "upperBound", fail)
            if lower is not None and upper is not None and lower > upper:
                fail(
                    _("lowerBound %(lower)s is greater than upperBound %(upper)s.")
                    % {"lower": _show(raw.get("lowerBound")), "upper": _show(raw.get("upperBound"))}
                )
                ok = False
            ok = ok and lower is not None and upper is not None
            fields.update(lower=lower, upper=upper)
        elif kind == BOOL:
            value = raw.get("value")
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                value = value.strip().lower() == "true"
            if not isinstance(value, bool):
                fail(_("value must be true or false, not %(value)s.") % {"value": _show(value)})
                ok = False
            fields["value"] = value
        elif kind == DATETIME:
            if "timestamp" not in raw or raw.get("timestamp") in (None, ""):
                fail(_("timestamp is missing."))
                ok = False
            else:
                raw_stamp = raw["timestamp"]
                too_long = isinstance(raw_stamp, str) and len(raw_stamp) > _MAX_NUMBER_TEXT
                stamp = None if too_long else parse_datetime_ms(raw_stamp)
                if stamp is None:
                    fail(
                        _(
                            "timestamp %(value)s is not a date (epoch milliseconds or ISO 8601 between years 1 and 9999)."
                        )
                        % {"value": _show(raw["timestamp"])}
                    )
                    ok = False
                fields["timestamp"] = stamp
        elif kind == ROLLING_DATE_RANGE:
            days = raw.get("numberOfDays")
            if isinstance(days, str) and _DAYS.match(days):
                days = int(days)
            if isinstance(days, float) and days.is_integer():
                days = int(days)
            if isinstance(days, bool) or not isinstance(days, int):
                fail(_("numberOfDays must be a whole number, not %(value)s.") % {"value": _show(days)})
                ok = False
            elif days < 0:
                fail(_("numberOfDays must be 0 or more, not %(value)s.") % {"value": days})
                ok = False
            elif days > MAX_DAYS:
                fail(_("numberOfDays must be at most %(max)s (the limit).") % {"max": MAX_DAYS})
                ok = False
            fields["number_of_days"] = days
        if not ok:
            return None
        return Operation(operation_type=kind, operator=operator, include_no_value=include, **fields)

    # Values ---------------------------------------------------------------------------------

    def string_value(self, raw: dict, key: str, fail) -> str | None:
        if key not in raw or raw[key] is None:
            fail(_("%(key)s is missing.") % {"key": key})
            return None
        value = raw[key]
        if not isinstance(value, str):
            fail(_("%(key)s must be text, not %(value)s.") % {"key": key, "value": _show(value)})
            return None
        if not value.strip():
            fail(_("%(key)s is empty.") % {"key": key})
            return None
        if len(value) > MAX_VALUE_LENGTH:
            fail(_("a value is longer than %(max)s characters (the limit).") % {"max": MAX_VALUE_LENGTH})
            return None
        return value

    def string_values(self, raw: dict, fail, *, allow_numbers: bool) -> tuple[str, ...] | None:
        values = raw.get("values")
        if values is None:
            fail(_("values is missing."))
            return None
        if not isinstance(values, list):
            fail(_("values must be a list, not %(value)s.") % {"value": _show(values)})
            return None
        if not values:
            fail(_("values is empty: give at least one value."))
            return None
        if len(values) > MAX_VALUES:
            fail(
                _("%(count)s values, more than %(max)s (the limit) for one filter.")
                % {"count": len(values), "max": MAX_VALUES}
            )
            return None
        result: dict[str, None] = {}
        for index, value in enumerate(values, start=1):
            if allow_numbers and isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                fail(_("value %(n)s must be text, not %(value)s.") % {"n": index, "value": _show(value)})
                return None
            if not value.strip():
                fail(_("value %(n)s is empty.") % {"n": index})
                return None
            if len(value) > MAX_VALUE_LENGTH:
                fail(_("a value is longer than %(max)s characters (the limit).") % {"max": MAX_VALUE_LENGTH})
                return None
            result.setdefault(value, None)
        return tuple(result)

    def number(self, raw: dict, key: str, fail) -> int | float | None:
        if key not in raw or raw[key] is None or raw[key] == "":
            fail(_("%(key)s is missing.") % {"key": key})
            return None
        value = raw[key]
        too_long = isinstance(value, str) and len(value) > _MAX_NUMBER_TEXT
        number = None if too_long else parse_number(value)
        if number is None:
            fail(_("%(key)s %(value)s is not a number.") % {"key": key, "value": _show(raw[key])})
        return number


def _show(value: object) -> str:
    """A short, safe rendering of a bad input for a message."""
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


def parse(data: object) -> OrBranch:
    """The typed form of a ``filterBranch``; :class:`CriteriaError` lists everything wrong.

    The JSON is checked first (``guard.check_json``), so the parser walks only plain JSON of a
    bounded depth and size."""
    check_json(data)
    try:
        return _Parser().root(data)
    except CriteriaError:
        raise
    except (RecursionError, MemoryError):
        raise CriteriaError(_("Criteria: the definition is too large or too deeply nested."))
