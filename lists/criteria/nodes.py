"""The typed form of a HubSpot ``filterBranch`` (DESIGN §5), its operators and limits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from django.utils.translation import gettext as _

from lists.normalize import fold

# Limits, named in the messages that refuse criteria past them. HubSpot has its own (250
# filters per list); ours are generous but keep a definition compilable to one SQL statement
# and a page of the editor usable.
MAX_DEPTH = 10  # branch levels below the root OR
MAX_FILTERS = 500  # filters in the whole definition
MAX_VALUES = 10_000  # values in one MULTISTRING or ENUMERATION filter
MAX_VALUE_LENGTH = 1_000  # characters in one string value
MAX_DAYS = 36_500  # numberOfDays of a rolling date range (100 years)
# The JSON itself, checked before anything walks it (``lists.criteria.guard``): a definition at
# the limits above nests about 25 levels deep, and 500 filters take some 200 kB as the editor
# writes them (indented).
MAX_JSON_DEPTH = 64
MAX_JSON_BYTES = 512 * 1024
MAX_ERRORS = 50  # messages listed for one definition; the rest are counted

STRING = "STRING"
MULTISTRING = "MULTISTRING"
NUMBER = "NUMBER"
NUMBER_RANGED = "NUMBER_RANGED"
BOOL = "BOOL"
ENUMERATION = "ENUMERATION"
ALL_PROPERTY = "ALL_PROPERTY"
DATETIME = "DATETIME"
ROLLING_DATE_RANGE = "ROLLING_DATE_RANGE"

IS_EQUAL_TO = "IS_EQUAL_TO"
IS_NOT_EQUAL_TO = "IS_NOT_EQUAL_TO"
CONTAINS = "CONTAINS"
DOES_NOT_CONTAIN = "DOES_NOT_CONTAIN"
STARTS_WITH = "STARTS_WITH"
ENDS_WITH = "ENDS_WITH"
IS_GREATER_THAN = "IS_GREATER_THAN"
IS_GREATER_THAN_OR_EQUAL_TO = "IS_GREATER_THAN_OR_EQUAL_TO"
IS_LESS_THAN = "IS_LESS_THAN"
IS_LESS_THAN_OR_EQUAL_TO = "IS_LESS_THAN_OR_EQUAL_TO"
IS_BETWEEN = "IS_BETWEEN"
IS_NOT_BETWEEN = "IS_NOT_BETWEEN"
IS_ANY_OF = "IS_ANY_OF"
IS_NONE_OF = "IS_NONE_OF"
IS_KNOWN = "IS_KNOWN"
IS_UNKNOWN = "IS_UNKNOWN"
IS_BEFORE = "IS_BEFORE"
IS_AFTER = "IS_AFTER"
IS_LESS_THAN_X_DAYS_AGO = "IS_LESS_THAN_X_DAYS_AGO"
IS_MORE_THAN_X_DAYS_AGO = "IS_MORE_THAN_X_DAYS_AGO"
IN_LIST = "IN_LIST"
NOT_IN_LIST = "NOT_IN_LIST"

STRING_OPERATORS = (IS_EQUAL_TO, IS_NOT_EQUAL_TO, CONTAINS, DOES_NOT_CONTAIN, STARTS_WITH, ENDS_WITH)
NUMBER_OPERATORS = (
    IS_EQUAL_TO,
    IS_NOT_EQUAL_TO,
    IS_GREATER_THAN,
    IS_GREATER_THAN_OR_EQUAL_TO,
    IS_LESS_THAN,
    IS_LESS_THAN_OR_EQUAL_TO,
)

#: operationType -> the operators it supports.
OPERATORS: dict[str, tuple[str, ...]] = {
    STRING: STRING_OPERATORS,
    MULTISTRING: STRING_OPERATORS,
    NUMBER: NUMBER_OPERATORS,
    NUMBER_RANGED: (IS_BETWEEN, IS_NOT_BETWEEN),
    BOOL: (IS_EQUAL_TO, IS_NOT_EQUAL_TO),
    ENUMERATION: (IS_ANY_OF, IS_NONE_OF),
    ALL_PROPERTY: (IS_KNOWN, IS_UNKNOWN),
    DATETIME: (IS_BEFORE, IS_AFTER),
    ROLLING_DATE_RANGE: (IS_LESS_THAN_X_DAYS_AGO, IS_MORE_THAN_X_DAYS_AGO),
}

#: operationType -> the ContactProperty types it applies to (None: any type).
PROPERTY_TYPES: dict[str, tuple[str, ...] | None] = {
    STRING: ("string",),
    MULTISTRING: ("string",),
    NUMBER: ("number",),
    NUMBER_RANGED: ("number",),
    BOOL: ("bool",),
    ENUMERATION: ("enumeration",),
    ALL_PROPERTY: None,
    DATETIME: ("date", "datetime"),
    ROLLING_DATE_RANGE: ("date", "datetime"),
}

#: The operators a property editor offers for each property type, in display order.
OPERATION_TYPES_BY_PROPERTY_TYPE: dict[str, tuple[str, ...]] = {
    "string": (STRING, MULTISTRING, ALL_PROPERTY),
    "number": (NUMBER, NUMBER_RANGED, ALL_PROPERTY),
    "bool": (BOOL, ALL_PROPERTY),
    "enumeration": (ENUMERATION, ALL_PROPERTY),
    "date": (DATETIME, ROLLING_DATE_RANGE, ALL_PROPERTY),
    "datetime": (DATETIME, ROLLING_DATE_RANGE, ALL_PROPERTY),
}

NEGATIVE_OPERATORS = frozenset({IS_NOT_EQUAL_TO, DOES_NOT_CONTAIN, IS_NOT_BETWEEN, IS_NONE_OF, IS_UNKNOWN})


class CriteriaError(Exception):
    """Criteria refused; ``messages`` each name where (group and filter) and why."""

    def __init__(self, messages: list[str] | str) -> None:
        self.messages: list[str] = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("; ".join(self.messages))


@dataclass(frozen=True)
class Operation:
    """A property filter's ``operation``. Values are already typed and checked:

    - ``value``: ``str`` (STRING), ``int | float`` (NUMBER), ``bool`` (BOOL);
    - ``values``: the strings of MULTISTRING / ENUMERATION, as given (deduplicated, in order);
    - ``lower`` / ``upper``: NUMBER_RANGED bounds; ``timestamp``: DATETIME, epoch milliseconds;
    - ``number_of_days``: ROLLING_DATE_RANGE.
    """

    operation_type: str
    operator: str
    include_no_value: bool = False
    value: Any = None
    values: tuple[str, ...] = ()
    lower: int | float | None = None
    upper: int | float | None = None
    timestamp: int | None = None
    number_of_days: int | None = None
    # ENUMERATION only: whether the property is a multiple checkbox, when known from the schema
    # (``annotate``). None compiles a test that works for both kinds; a known kind compiles
    # to one comparison instead of two, which counts on a million rows.
    multiple: bool | None = field(default=None, compare=False)

    @cached_property
    def folded_value(self) -> str:
        """``value`` case-folded like the stored folded copies (STRING)."""
        return fold(self.value) if isinstance(self.value, str) else ""

    @cached_property
    def folded_values(self) -> tuple[str, ...]:
        """``values`` case-folded, distinct, in order (MULTISTRING, ENUMERATION)."""
        return tuple(dict.fromkeys(fold(v) for v in self.values))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "operationType": self.operation_type,
            "operator": self.operator,
            "includeObjectsWithNoValueSet": self.include_no_value,
        }
        if self.operation_type in (STRING, NUMBER, BOOL):
            data["value"] = self.value
        elif self.operation_type in (MULTISTRING, ENUMERATION):
            data["values"] = list(self.values)
        elif self.operation_type == NUMBER_RANGED:
            data["lowerBound"] = self.lower
            data["upperBound"] = self.upper
        elif self.operation_type == DATETIME:
            data["timestamp"] = self.timestamp
        elif self.operation_type == ROLLING_DATE_RANGE:
            data["numberOfDays"] = self.number_of_days
        return data


@dataclass(frozen=True)
class PropertyFilter:
    property: str
    operation: Operation
    # Where the filter sits: the 1-based indexes of its branch below the root ("Group 2" is
    # (2,), a group nested in it (2, 1, 1)) and its 1-based position in that branch.
    path: tuple[int, ...] = field(default=(), compare=False)
    position: int = field(default=0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"filterType": "PROPERTY", "property": self.property, "operation": self.operation.to_dict()}


@dataclass(frozen=True)
class InListFilter:
    list_id: int
    operator: str = IN_LIST
    path: tuple[int, ...] = field(default=(), compare=False)
    position: int = field(default=0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"filterType": "IN_LIST", "listId": str(self.list_id), "operator": self.operator}


Filter = PropertyFilter | InListFilter


@dataclass(frozen=True)
class AndBranch:
    """True when all its filters and all its sub-branches are true."""

    filters: tuple[Filter, ...] = ()
    branches: tuple[AndBranch | OrBranch, ...] = ()
    path: tuple[int, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "filterBranchType": "AND",
            "filters": [f.to_dict() for f in self.filters],
            "filterBranches": [b.to_dict() for b in self.branches],
        }


@dataclass(frozen=True)
class OrBranch:
    """True when any of its AND branches is true (HubSpot: an OR branch holds no filters)."""

    branches: tuple[AndBranch, ...] = ()
    path: tuple[int, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "filterBranchType": "OR",
            "filters": [],
            "filterBranches": [b.to_dict() for b in self.branches],
        }


def iter_filters(branch: AndBranch | OrBranch) -> Iterator[Filter]:
    """Every filter of a definition, depth first in document order."""
    if isinstance(branch, AndBranch):
        yield from branch.filters
    for sub in branch.branches:
        yield from iter_filters(sub)


def referenced_properties(branch: AndBranch | OrBranch) -> set[str]:
    return {f.property for f in iter_filters(branch) if isinstance(f, PropertyFilter)}


def referenced_list_ids(branch: AndBranch | OrBranch) -> set[int]:
    return {f.list_id for f in iter_filters(branch) if isinstance(f, InListFilter)}


def group_label(path: tuple[int, ...]) -> str:
    return _("Group %(group)s") % {"group": ".".join(str(i) for i in path)} if path else _("Criteria")


def where(path: tuple[int, ...], position: int | None = None, subject: str | None = None) -> str:
    """ "Group 2, filter 1 (country)": the place a message is about."""
    label = group_label(path)
    if position:
        label = _("%(group)s, filter %(filter)s") % {"group": label, "filter": position}
    if subject:
        label = _("%(place)s (%(subject)s)") % {"place": label, "subject": subject}
    return label


def located(path: tuple[int, ...], position: int | None, subject: str | None, message: str) -> str:
    return _("%(where)s: %(message)s") % {"where": where(path, position, subject), "message": message}


def annotate(branch: OrBranch, schema: Mapping[str, Any]) -> OrBranch:
    """The branch with schema facts the compiler can use (see ``Operation.multiple``)."""

    def is_multiple(name: str) -> bool | None:
        spec = schema.get(name)
        if spec is None or getattr(spec, "type", None) != "enumeration":
            return None
        return (getattr(spec, "field_type", "") or "") == "checkbox"

    def visit(node):
        if isinstance(node, OrBranch):
            return replace(node, branches=tuple(visit(b) for b in node.branches))
        filters = []
        for item in node.filters:
            if isinstance(item, PropertyFilter) and item.operation.operation_type == ENUMERATION:
                item = replace(item, operation=replace(item.operation, multiple=is_multiple(item.property)))
            filters.append(item)
        return replace(node, filters=tuple(filters), branches=tuple(visit(b) for b in node.branches))

    return visit(branch)
