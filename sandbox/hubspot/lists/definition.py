"""A ``filterBranch`` checked as HubSpot checks it and put in the form HubSpot stores and answers.

Structure (https://developers.hubspot.com/docs/api-reference/crm-lists-v3/list-filters, "Filter
branches"): the root is an ``OR`` branch with no filters of its own and one or more ``AND``
branches; "filterType parameters are nested within AND filter branches, rather than directly
within an OR filter branch. This structure is enforced by HubSpot's API". The branches of any OR
branch are AND branches; an AND branch holds filters and branches of any type.

Every branch, filter and operation is checked against the spec's tables (:mod:`.catalogue`):
type, required fields and their JSON types, no unknown field. A PROPERTY filter must name an
existing contact property, with an operation type that fits the property's type; an IN_LIST
filter must name a live list, never its own list nor one that (through its own IN_LIST filters)
depends on it. Every problem is reported, each located (``filterBranches[0].filters[1]``).

The stored form adds what HubSpot's answers carry: ``filterBranchOperator`` on every branch,
``includeObjectsWithNoValueSet`` (default false) on every operation and
``requiresTimeZoneConversion`` (default false) where the spec requires it; numbers sent as text
become numbers and IN_LIST ``listId``s strings, as the spec types them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.hubspot.lists import catalogue as cat
from sandbox.hubspot.schema import PropertyDef

MAX_DEPTH = 20  # branch levels below the root (the product's editor allows 10)
MAX_FILTERS = 500  # filters in one definition (the product's limit)
MAX_ERRORS = 50
_MAX_INT64 = 2**63 - 1


class DefinitionError(ValueError):
    """The definition is refused; ``errors`` are ``(location, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{where}: {message}" for where, message in errors))


@dataclass(frozen=True)
class Definition:
    """A checked definition: ``branch`` (the stored JSON), the list ids its IN_LIST filters
    name, whether the sandbox evaluates it itself, and whether its result moves with the clock."""

    branch: dict[str, Any]
    references: frozenset[int]
    evaluable: bool
    time_relative: bool


@dataclass
class _Context:
    properties: dict[str, PropertyDef]
    list_exists: Callable[[int], bool]
    errors: list[tuple[str, str]]
    references: set[int]
    evaluable: bool = True
    time_relative: bool = False
    filters: int = 0

    def fail(self, where: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append((where, message))


def parse_definition(
    data: Any,
    *,
    properties: dict[str, PropertyDef],
    list_exists: Callable[[int], bool],
    depends_on: Callable[[int], set[int]] | None = None,
    own_id: int | None = None,
    where: str = "filterBranch",
) -> Definition:
    """Check ``data`` and return its stored form, or raise ``DefinitionError``.

    ``list_exists(id)``: whether a live contact list has this id; ``depends_on(id)``: the ids
    that list's definition depends on, directly or not (for the cycle check of ``own_id``)."""
    ctx = _Context(properties=properties, list_exists=list_exists, errors=[], references=set())
    if not isinstance(data, dict):
        raise DefinitionError([(where, "The filter branch must be a JSON object.")])
    if data.get("filterBranchType") != "OR":
        raise DefinitionError(
            [(where, f"The root filter branch must be of type OR, not {_show(data.get('filterBranchType'))}.")]
        )
    branch = _branch(ctx, data, where, depth=0, contact=True)
    if not data.get("filterBranches") and not ctx.errors:
        ctx.fail(where, "The root OR filter branch must hold one or more AND filter branches.")
    if own_id is not None:
        if own_id in ctx.references:
            ctx.fail(where, f"The list cannot filter on its own membership (IN_LIST {own_id}).")
        elif depends_on is not None:
            for ref in sorted(ctx.references):
                if own_id in depends_on(ref):
                    ctx.fail(
                        where, f"IN_LIST {ref} depends on this list: lists cannot depend on each other in a cycle."
                    )
    if ctx.errors:
        raise DefinitionError(ctx.errors)
    return Definition(
        branch=branch,
        references=frozenset(ctx.references),
        evaluable=ctx.evaluable,
        time_relative=ctx.time_relative,
    )


# -- branches --------------------------------------------------------------------------------


def _branch(ctx: _Context, data: dict[str, Any], where: str, depth: int, contact: bool) -> dict[str, Any]:
    """``contact``: whether the branch's property filters are on contacts (not, below an
    ASSOCIATION or UNIFIED_EVENTS branch: there they name the associated object's or the
    event's properties, which the sandbox does not know)."""
    kind = data.get("filterBranchType")
    if kind not in cat.BRANCH_TYPES:
        ctx.fail(where, f"Unknown filterBranchType {_show(kind)} (one of {', '.join(cat.BRANCH_TYPES)}).")
        return {}
    if kind not in cat.EVALUATED_BRANCHES:
        ctx.evaluable = False
    required, optional = cat.BRANCH_TYPES[kind]
    known = {"filterBranchType", "filterBranchOperator", "filters", "filterBranches"}
    result = _fields(ctx, data, where, kind, required, optional, cat.BRANCH_ENUMS, known)
    operator = data.get("filterBranchOperator")
    if operator is not None and not isinstance(operator, str):
        ctx.fail(where, "filterBranchOperator must be a string.")
    filters = _array(ctx, data, "filters", where)
    branches = _array(ctx, data, "filterBranches", where)
    if kind == "OR" and filters:
        ctx.fail(where, "An OR filter branch cannot hold filters: put them in AND filter branches.")
        filters = []
    if depth >= MAX_DEPTH and branches:
        ctx.fail(where, f"Filter branches are nested more than {MAX_DEPTH} levels deep.")
        branches = []
    contact = contact and kind not in ("ASSOCIATION", "UNIFIED_EVENTS")
    stored_filters = [_filter(ctx, item, f"{where}.filters[{i}]", contact) for i, item in enumerate(filters)]
    stored_branches = []
    for i, child in enumerate(branches):
        child_where = f"{where}.filterBranches[{i}]"
        if not isinstance(child, dict):
            ctx.fail(child_where, "A filter branch must be a JSON object.")
            continue
        if kind == "OR" and child.get("filterBranchType") != "AND":
            ctx.fail(
                child_where,
                f"The filter branches of an OR branch must be AND branches, not {_show(child.get('filterBranchType'))}.",
            )
            continue
        stored_branches.append(_branch(ctx, child, child_where, depth + 1, contact))
    result.update(
        filterBranchType=kind,
        filterBranchOperator=cat.BRANCH_OPERATORS[kind],
        filters=stored_filters,
        filterBranches=stored_branches,
    )
    return dict(sorted(result.items()))


def _array(ctx: _Context, data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.fail(where, f"{key} must be an array.")
        return []
    return value


# -- filters ---------------------------------------------------------------------------------


def _filter(ctx: _Context, data: Any, where: str, contact: bool) -> dict[str, Any]:
    ctx.filters += 1
    if ctx.filters == MAX_FILTERS + 1:
        ctx.fail(where, f"A list definition holds at most {MAX_FILTERS} filters.")
    if not isinstance(data, dict):
        ctx.fail(where, "A filter must be a JSON object.")
        return {}
    kind = data.get("filterType")
    if kind not in cat.FILTER_TYPES:
        ctx.fail(where, f"Unknown filterType {_show(kind)} (one of {', '.join(cat.FILTER_TYPES)}).")
        return {}
    if kind not in cat.EVALUATED_FILTERS:
        ctx.evaluable = False
    required, optional = cat.FILTER_TYPES[kind]
    result = _fields(ctx, data, where, kind, required, optional, cat.FILTER_ENUMS, {"filterType"})
    result["filterType"] = kind
    if kind == "PROPERTY" and isinstance(data.get("operation"), dict) and isinstance(data.get("property"), str):
        name = data["property"]
        result["operation"] = _property_operation(ctx, name, data["operation"], f"{where}.operation", contact)
    elif kind == "IN_LIST":
        _in_list(ctx, result, where)
    return dict(sorted(result.items()))


def _in_list(ctx: _Context, result: dict[str, Any], where: str) -> None:
    raw = result.get("listId")
    if raw is None:
        return
    text = str(raw).strip()
    if not text.isdigit() or not 0 < int(text) <= _MAX_INT64:
        ctx.fail(where, f"listId {_show(raw)} is not a list id.")
        return
    list_id = int(text)
    result["listId"] = str(list_id)
    ctx.references.add(list_id)
    if not ctx.list_exists(list_id):
        ctx.fail(where, f"IN_LIST names list {list_id}, which does not exist (or was deleted).")


def _property_operation(ctx: _Context, name: str, data: dict[str, Any], where: str, contact: bool) -> dict[str, Any]:
    kind = data.get("operationType")
    if kind not in cat.OPERATION_TYPES:
        ctx.fail(where, f"Unknown operationType {_show(kind)} (one of {', '.join(cat.OPERATION_TYPES)}).")
        return dict(data)
    prop = ctx.properties.get(name) if contact else None
    if prop is None and contact:
        ctx.fail(where, f"Property {name!r} does not exist on contacts.")
    elif prop is not None and kind in cat.PROPERTY_TYPES and prop.type not in cat.PROPERTY_TYPES[kind]:
        ctx.fail(where, f"operationType {kind} does not apply to {name}, a property of type {prop.type}.")
    required, optional = cat.OPERATION_TYPES[kind]
    known = {"operationType", "operator", "includeObjectsWithNoValueSet"}
    result = _fields(ctx, data, where, kind, required, optional, {}, known)
    operator = data.get("operator")
    if not isinstance(operator, str) or not operator:
        ctx.fail(where, "operator is required (a string).")
    elif kind in cat.OPERATORS and operator not in cat.OPERATORS[kind]:
        ctx.fail(where, f"Operator {operator} is not valid for {kind} (one of {', '.join(cat.OPERATORS[kind])}).")
    if operator not in cat.EVALUATED.get(kind, ()):
        ctx.evaluable = False
    include = data.get("includeObjectsWithNoValueSet", False)
    if not isinstance(include, bool):
        ctx.fail(where, "includeObjectsWithNoValueSet must be true or false.")
    for flag in cat.REQUIRED_FLAGS.get(kind, ()):
        result.setdefault(flag, False)
    if kind == "ROLLING_DATE_RANGE":
        ctx.time_relative = True
    _check_values(ctx, kind, result, where)
    result.update(operationType=kind, operator=operator, includeObjectsWithNoValueSet=include is True)
    return dict(sorted(result.items()))


def _check_values(ctx: _Context, kind: str, op: dict[str, Any], where: str) -> None:
    if kind in ("MULTISTRING", "ENUMERATION") and op.get("values") == []:
        ctx.fail(where, "values must hold at least one value.")
    if kind in ("NUMBER_RANGED", "RANGED_DATE"):
        lower, upper = op.get("lowerBound"), op.get("upperBound")
        if isinstance(lower, int) and isinstance(upper, int) and lower > upper:
            ctx.fail(where, f"lowerBound {lower} is greater than upperBound {upper}.")
    if kind in ("ROLLING_DATE_RANGE", "ROLLING_PROPERTY_UPDATED"):
        days = op.get("numberOfDays")
        if isinstance(days, int) and days < 0:
            ctx.fail(where, f"numberOfDays must be 0 or more, not {days}.")


# -- fields ----------------------------------------------------------------------------------


def _fields(
    ctx: _Context,
    data: dict[str, Any],
    where: str,
    kind: str,
    required: cat.Fields,
    optional: cat.Fields,
    enums: dict[tuple[str, str], tuple[str, ...]],
    handled: set[str],
) -> dict[str, Any]:
    """The typed fields of ``data`` besides ``handled``; unknown and missing ones reported."""
    result: dict[str, Any] = {}
    unknown = sorted(str(key) for key in data if key not in handled and key not in required and key not in optional)
    if unknown:
        ctx.fail(where, f"Unknown field(s) for {kind}: {', '.join(unknown)}.")
    for key, field_kind in (*required.items(), *optional.items()):
        if data.get(key) is None:
            if key in required:
                ctx.fail(where, f"{key} is required for {kind}.")
            continue
        value, problem = _typed(data[key], field_kind)
        if problem:
            ctx.fail(where, f"{key} {problem}.")
            continue
        allowed = enums.get((kind, key))
        if allowed and value not in allowed:
            ctx.fail(where, f"{key} {_show(value)} is not one of {', '.join(allowed)}.")
        result[key] = value
    return result


def _typed(value: Any, kind: str) -> tuple[Any, str | None]:
    """``value`` as the spec types it (text that is a number becomes one, as HubSpot's JSON
    reader coerces it), or a problem."""
    if kind == "str":
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None, "must be a string"
        return str(value), None
    if kind == "bool":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind in ("int", "number"):
        number = _number(value)
        if number is None:
            return None, "must be a number"
        if kind == "int":
            if not float(number).is_integer() or abs(number) > _MAX_INT64:
                return None, "must be a whole number (int64)"
            return int(number), None
        return number, None
    if kind == "object":
        return (value, None) if isinstance(value, dict) else (None, "must be a JSON object")
    if kind.startswith("list["):
        if not isinstance(value, list):
            return None, "must be an array"
        item_kind = kind[5:-1]
        items = [_typed(item, item_kind) for item in value]
        problems = [problem for _item, problem in items if problem]
        return ([item for item, _problem in items], None) if not problems else (None, f"items {problems[0]}")
    raise AssertionError(kind)


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 64:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
        return int(number) if number == number.to_integral_value() else float(number)
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
