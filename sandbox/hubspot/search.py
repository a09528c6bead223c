"""CRM search (``POST /crm/v3/objects/contacts/search``) compiled to SQL over the store.

Operators: EQ, NEQ, GT, GTE, LT, LTE, IN, NOT_IN, BETWEEN, HAS_PROPERTY, NOT_HAS_PROPERTY,
CONTAINS_TOKEN, NOT_CONTAINS_TOKEN. Filters in a group are ANDed, groups ORed (at most 6
groups of at most 6 filters, 18 filters in all). Comparisons follow the property's type:
numbers numerically, dates and datetimes as instants (a filter value may be epoch ms or ISO
8601), bools as true/false, strings and enumerations case-insensitively; a multiple-checkbox
value ``a;b`` EQ-matches ``a`` and ``b``. A contact without a value fails every comparison
except NEQ, NOT_IN, NOT_CONTAINS_TOKEN and NOT_HAS_PROPERTY.

One sort at most (HubSpot's rule): ``"prop"`` / ``"-prop"`` or
``{"propertyName": ..., "direction": "ASCENDING"|"DESCENDING"}``; ties and the default order
are by ``hs_object_id`` ascending. ``after`` is an offset; the search stops at 10,000 results
like HubSpot's (``total`` still counts every match; asking for ``after`` >= 10000 is a 400).
"""

from __future__ import annotations

import fnmatch
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from sandbox.hubspot.schema import PropertyDef, iso_ms, parse_instant

MAX_LIMIT = 200
DEFAULT_LIMIT = 10
RESULT_CAP = 10_000
MAX_GROUPS = 6
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
QUERY_PROPERTIES = ("firstname", "lastname", "email", "phone", "company")

OPERATORS = {
    "EQ",
    "NEQ",
    "GT",
    "GTE",
    "LT",
    "LTE",
    "IN",
    "NOT_IN",
    "BETWEEN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}
_COMPARE = {"EQ": "=", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<="}
_TOKEN_SPLIT = re.compile(r"[^\w]+", re.UNICODE)


class SearchError(ValueError):
    pass


def _fold(value: Any) -> str | None:
    return None if value is None else str(value).casefold()


def _has_token(value: Any, token: Any) -> int:
    if value is None or token is None:
        return 0
    wanted = str(token).casefold()
    return int(wanted in {part.casefold() for part in str(value).split(";")})


def _contains_token(value: Any, pattern: Any) -> int:
    if value is None or pattern is None:
        return 0
    text = str(value).casefold()
    wanted = str(pattern).casefold()
    if fnmatch.fnmatchcase(text, wanted):
        return 1
    return int(any(fnmatch.fnmatchcase(token, wanted) for token in _TOKEN_SPLIT.split(text) if token))


def register_functions(conn: sqlite3.Connection) -> None:
    conn.create_function("hs_fold", 1, _fold, deterministic=True)
    conn.create_function("hs_has_token", 2, _has_token, deterministic=True)
    conn.create_function("hs_contains_token", 2, _contains_token, deterministic=True)


@dataclass
class _Compiled:
    sql: str
    params: list[Any]


class SearchCompiler:
    def __init__(self, properties: dict[str, PropertyDef]) -> None:
        self.properties = properties

    # -- expressions --------------------------------------------------------------------

    def _prop(self, name: Any) -> PropertyDef:
        if not isinstance(name, str) or name not in self.properties:
            raise SearchError(f"Property {name!r} does not exist on contacts.")
        return self.properties[name]

    @staticmethod
    def _expr(prop: PropertyDef) -> tuple[str, list[Any]]:
        if prop.name == "hs_object_id":
            return "id", []
        if prop.name == "createdate":
            return "created_ms", []
        if prop.name == "lastmodifieddate":
            return "updated_ms", []
        return "json_extract(props, ?)", [f'$."{prop.name}"']

    def _operand(self, prop: PropertyDef, raw: Any) -> Any:
        """A filter value converted to what the stored value compares against."""
        if raw is None:
            raise SearchError(f"A value is required to filter on {prop.name}.")
        text = str(raw)
        if prop.name == "hs_object_id":
            try:
                return int(text)
            except ValueError:
                raise SearchError(f"{text} is not a valid number for hs_object_id.")
        if prop.type in ("date", "datetime"):
            moment = parse_instant(text)
            if moment is None:
                raise SearchError(f"{text} is not a valid date/time value for {prop.name}.")
            if prop.name in ("createdate", "lastmodifieddate"):
                return int(moment.timestamp() * 1000)
            return moment.date().isoformat() if prop.type == "date" else iso_ms(moment)
        if prop.type == "number":
            try:
                return float(text)
            except ValueError:
                raise SearchError(f"{text} is not a valid number for {prop.name}.")
        if prop.type == "bool":
            return text.strip().lower()
        return text.casefold()

    def _value_expr(self, prop: PropertyDef) -> tuple[str, list[Any]]:
        """The stored value as it compares (typed or case-folded)."""
        expr, params = self._expr(prop)
        if prop.name in ("hs_object_id", "createdate", "lastmodifieddate"):
            return expr, params
        if prop.type == "number":
            return f"CAST({expr} AS REAL)", params
        if prop.type in ("date", "datetime"):
            return expr, params  # canonical strings order like the instants
        if prop.type == "bool":
            return f"lower({expr})", params
        return f"hs_fold({expr})", params

    # -- filters ------------------------------------------------------------------------

    def _filter(self, item: Any) -> _Compiled:
        if not isinstance(item, dict):
            raise SearchError("Each filter must be an object.")
        operator = item.get("operator")
        if operator not in OPERATORS:
            raise SearchError(f"Unknown operator {operator!r}; expected one of {', '.join(sorted(OPERATORS))}.")
        prop = self._prop(item.get("propertyName"))
        raw_expr, raw_params = self._expr(prop)
        if operator == "HAS_PROPERTY":
            return _Compiled(f"({raw_expr} IS NOT NULL)", raw_params)
        if operator == "NOT_HAS_PROPERTY":
            return _Compiled(f"({raw_expr} IS NULL)", raw_params)
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            sql = f"hs_contains_token({raw_expr}, ?)"
            params = [*raw_params, item.get("value")]
            if operator == "NOT_CONTAINS_TOKEN":
                return _Compiled(f"({raw_expr} IS NULL OR NOT {sql})", [*raw_params, *params])
            return _Compiled(f"({sql})", params)

        multiple = prop.multiple
        value_expr, value_params = self._value_expr(prop)
        if operator in ("IN", "NOT_IN"):
            values = item.get("values")
            if not isinstance(values, list) or not values:
                raise SearchError(f"{operator} on {prop.name} needs a non-empty 'values' list.")
            operands = [self._operand(prop, v) for v in values]
            if multiple:
                parts = " OR ".join(f"hs_has_token({raw_expr}, ?)" for _ in operands)
                params: list[Any] = []
                for operand in operands:
                    params += [*raw_params, operand]
                positive = f"({parts})"
            else:
                marks = ",".join("?" * len(operands))
                positive = f"({value_expr} IN ({marks}))"
                params = [*value_params, *operands]
            if operator == "NOT_IN":
                return _Compiled(f"({raw_expr} IS NULL OR NOT {positive})", [*raw_params, *params])
            return _Compiled(positive, params)
        if operator == "BETWEEN":
            low = self._operand(prop, item.get("value"))
            high = self._operand(prop, item.get("highValue"))
            return _Compiled(f"({value_expr} BETWEEN ? AND ?)", [*value_params, low, high])

        operand = self._operand(prop, item.get("value"))
        if operator in ("EQ", "NEQ") and multiple:
            positive = f"hs_has_token({raw_expr}, ?)"
            params = [*raw_params, operand]
        else:
            positive = f"{value_expr} {_COMPARE.get(operator, '=')} ?"
            params = [*value_params, operand]
        if operator == "NEQ":
            return _Compiled(f"({raw_expr} IS NULL OR NOT ({positive}))", [*raw_params, *params])
        return _Compiled(f"({positive})", params)

    def where(self, filter_groups: Any, query: Any = None) -> _Compiled:
        if filter_groups is None:
            filter_groups = []
        if not isinstance(filter_groups, list):
            raise SearchError("filterGroups must be a list.")
        if len(filter_groups) > MAX_GROUPS:
            raise SearchError(f"At most {MAX_GROUPS} filterGroups are allowed.")
        total = 0
        groups_sql: list[str] = []
        params: list[Any] = []
        for group in filter_groups:
            filters = group.get("filters") if isinstance(group, dict) else None
            if not isinstance(filters, list) or not filters:
                raise SearchError("Each filterGroup needs a non-empty 'filters' list.")
            if len(filters) > MAX_FILTERS_PER_GROUP:
                raise SearchError(f"At most {MAX_FILTERS_PER_GROUP} filters are allowed in a filterGroup.")
            total += len(filters)
            compiled = [self._filter(f) for f in filters]
            groups_sql.append("(" + " AND ".join(c.sql for c in compiled) + ")")
            for c in compiled:
                params += c.params
        if total > MAX_FILTERS:
            raise SearchError(f"At most {MAX_FILTERS} filters are allowed in a search.")
        clauses = ["archived = 0"]
        if groups_sql:
            clauses.append("(" + " OR ".join(groups_sql) + ")")
        if query:
            if not isinstance(query, str) or len(query) > 3000:
                raise SearchError("query must be a string of at most 3000 characters.")
            for word in query.split():
                ors = []
                for name in QUERY_PROPERTIES:
                    ors.append("instr(hs_fold(json_extract(props, ?)), ?) > 0")
                    params += [f'$."{name}"', word.casefold()]
                clauses.append("(" + " OR ".join(ors) + ")")
        return _Compiled(" AND ".join(clauses), params)

    def order_by(self, sorts: Any) -> _Compiled:
        if not sorts:
            return _Compiled("id ASC", [])
        if not isinstance(sorts, list):
            raise SearchError("sorts must be a list.")
        if len(sorts) > 1:
            raise SearchError("Only one sort is allowed.")
        sort = sorts[0]
        if isinstance(sort, str):
            descending = sort.startswith("-")
            name = sort.lstrip("-")
        elif isinstance(sort, dict):
            name = sort.get("propertyName")
            direction = str(sort.get("direction") or "ASCENDING").upper()
            if direction not in ("ASCENDING", "DESCENDING"):
                raise SearchError("direction must be ASCENDING or DESCENDING.")
            descending = direction == "DESCENDING"
        else:
            raise SearchError("Each sort is a property name or {propertyName, direction}.")
        prop = self._prop(name)
        expr, params = self._value_expr(prop)
        direction_sql = "DESC" if descending else "ASC"
        if prop.name in ("hs_object_id", "createdate", "lastmodifieddate"):
            # Never empty; a plain column order lets SQLite walk the index instead of sorting.
            return _Compiled(
                f"{expr} {direction_sql}, id {direction_sql if prop.name == 'hs_object_id' else 'ASC'}", []
            )
        # Contacts without a value come last either way; hs_object_id breaks ties.
        return _Compiled(f"({expr}) IS NULL, {expr} {direction_sql}, id ASC", [*params, *params])


def parse_paging(body: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit) from a search body, validated like HubSpot."""
    limit = body.get("limit", DEFAULT_LIMIT)
    if limit is None:
        limit = DEFAULT_LIMIT
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise SearchError("limit must be an integer.")
    if limit < 1 or limit > MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}.")
    after = body.get("after") or 0
    try:
        offset = int(after)
    except (TypeError, ValueError):
        raise SearchError(f"after {after!r} is not a valid paging cursor.")
    if offset < 0:
        raise SearchError("after must be positive.")
    if offset >= RESULT_CAP:
        raise SearchError(
            f"The search API returns at most {RESULT_CAP} results per query; "
            "narrow the filters (e.g. on lastmodifieddate) instead of paging further."
        )
    return offset, limit
