"""A parsed SOQL query compiled to SQLite, narrowed to the sandbox's candidate ids when it can be.

String comparisons are case-insensitive, as in Salesforce: the store declares text columns
``COLLATE NOCASE``, so ``Email = 'A@x.com'`` finds ``a@x.com``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Protocol

from sandbox.salesforce.lookups import CANDIDATES_SQL
from sandbox.salesforce.schema import Field
from sandbox.salesforce.soql.tree import Aggregate, BoolOp, Comparison, Condition, Literal, Not, Query
from sandbox.salesforce.store import format_datetime


def column_sql(f: Field) -> str:
    """The SQL of a field's value: its column, or for the compound ``Name`` its parts joined as
    ``Field.compound_value`` joins them (a compound address is never filtered, sorted or grouped)."""
    if not f.compound:
        return f'"{f.name}"'
    parts = " || ' ' || ".join(f"COALESCE(\"{name}\", '')" for name in f.compound)
    return f"(NULLIF(TRIM({parts}), '') COLLATE NOCASE)"


def range_bounds(f: Field, literal: Literal) -> tuple[str, str]:
    """A date literal's ``[start, end)`` as ``f`` stores it: days for a date field, the UTC
    midnights (the store's dateTime text) for a dateTime field."""
    start, end = literal.value  # type: ignore[misc]
    if f.type == "datetime":
        return tuple(format_datetime(datetime.combine(day, time(), tzinfo=UTC)) for day in (start, end))  # type: ignore[return-value]
    return start.isoformat(), end.isoformat()


def _range_condition(column: str, op: str, bounds: tuple[str, str], params: list[object]) -> str:
    """``column op`` a date literal: ``=`` inside the range, ``<`` before it, ``>`` after it."""
    start, end = bounds
    if op in ("=", "!="):
        params.extend([start, end])
        inside = f"({column} >= ? AND {column} < ?)"
        return inside if op == "=" else f"(NOT {inside} OR {column} IS NULL)"
    params.append({"<": start, "<=": end, ">": end, ">=": start}[op])
    return f"{column} {'<' if op in ('<', '<=') else '>='} ?"


def _sql_value(literal: Literal) -> object:
    if literal.kind == "boolean":
        return 1 if literal.value else 0
    if isinstance(literal.value, date) and not isinstance(literal.value, datetime):
        return literal.value.isoformat()
    return literal.value


def compile_condition(condition: Condition, params: list[object]) -> str:
    if isinstance(condition, BoolOp):
        joiner = f" {condition.op} "
        return "(" + joiner.join(compile_condition(item, params) for item in condition.items) + ")"
    if isinstance(condition, Not):
        return f"(NOT {compile_condition(condition.item, params)})"
    column = column_sql(condition.field)
    if any(v.kind == "range" for v in condition.values):
        if condition.op in ("IN", "NOT IN"):
            ranges = [
                _range_condition(column, "=", range_bounds(condition.field, v), params)
                for v in condition.values
                if v.kind == "range"
            ]
            others = [v for v in condition.values if v.kind != "range"]
            if others:
                inner = Comparison(condition.field, "IN", tuple(others))
                ranges.append(compile_condition(inner, params))
            either = "(" + " OR ".join(ranges) + ")"
            return either if condition.op == "IN" else f"(NOT {either} OR {column} IS NULL)"
        return _range_condition(column, condition.op, range_bounds(condition.field, condition.values[0]), params)
    if condition.op in ("IN", "NOT IN"):
        non_null = [v for v in condition.values if v.kind != "null"]
        has_null = len(non_null) != len(condition.values)
        parts = []
        if non_null:
            params.extend(_sql_value(v) for v in non_null)
            parts.append(f"{column} {condition.op} ({', '.join('?' for _ in non_null)})")
        if condition.op == "IN":
            if has_null:
                parts.append(f"{column} IS NULL")
            return "(" + (" OR ".join(parts) or "0") + ")"
        if has_null:
            parts.append(f"{column} IS NOT NULL")
        elif non_null:
            # SOQL's NOT IN keeps rows whose value is null; SQL's would drop them.
            parts = [f"({parts[0]} OR {column} IS NULL)"]
        return "(" + (" AND ".join(parts) or "1") + ")"
    literal = condition.values[0]
    if literal.kind == "null":
        return f"{column} IS NULL" if condition.op == "=" else f"{column} IS NOT NULL"
    params.append(_sql_value(literal))
    if condition.op == "LIKE":
        return f"{column} LIKE ?"  # SOQL's % and _ are SQL's; the NOCASE collation makes it case-insensitive
    if condition.op == "!=":
        # SOQL: a null value is "not equal" to any non-null literal.
        return f"({column} != ? OR {column} IS NULL)"
    return f"{column} {condition.op} ?"


def _required_comparisons(condition: Condition | None) -> Iterator[Comparison]:
    """The comparisons ``condition`` requires to hold: itself, or the items of an AND (nested)."""
    if isinstance(condition, Comparison):
        yield condition
    elif isinstance(condition, BoolOp) and condition.op == "AND":
        for item in condition.items:
            yield from _required_comparisons(item)


def required_values(condition: Condition | None, field_name: str) -> list[str] | None:
    """The string values ``field_name`` must equal for ``condition`` to hold, when its top level
    says so (``F = 'x'``, ``F IN ('x', 'y')``, alone or ANDed with anything); else ``None``."""
    for comparison in _required_comparisons(condition):
        if (
            comparison.field.name == field_name
            and comparison.op in ("=", "IN")
            and all(v.kind == "string" for v in comparison.values)
        ):
            return [str(v.value) for v in comparison.values]
    return None


def lower_bound(condition: Condition | None, field_name: str) -> tuple[str, bool] | None:
    """``(value, inclusive)`` when ``condition``'s top level requires ``field_name > value`` (or
    ``>=``, alone or ANDed with anything), with a text value as stored; else ``None``."""
    for comparison in _required_comparisons(condition):
        if comparison.field.name == field_name and comparison.values[0].kind == "range":
            if comparison.op in (">", ">=", "="):
                start, end = range_bounds(comparison.field, comparison.values[0])
                return (end if comparison.op == ">" else start), True
            continue
        if comparison.field.name == field_name and comparison.op in (">", ">="):
            value = _sql_value(comparison.values[0])
            if isinstance(value, str):
                return value, comparison.op == ">="
    return None


class Candidates(Protocol):
    """The sandbox's candidate ids for a condition (see ``lookups``)."""

    def email(self, emails: list[str]) -> list[str]: ...

    def modified(self, stamp: str, inclusive: bool) -> list[str] | None: ...


def compile_query(
    query: Query, *, include_deleted: bool = False, candidates: Candidates | None = None
) -> tuple[str, list[object]]:
    """SQL selecting the matching ids in order (the paging cursor keeps ids, then pages rows).

    With ``candidates``, a condition on Email or a lower bound of LastModifiedDate also limits
    the rows read to the candidate ids; the condition itself stays, so the result is the same.
    """
    params: list[object] = []
    clauses = _where(query, include_deleted, params)
    if candidates is not None:
        narrowed: list[str] | None = None
        emails = required_values(query.where, "Email")
        if emails is not None:
            narrowed = candidates.email(emails)
        else:
            bound = lower_bound(query.where, "LastModifiedDate")
            if bound is not None:
                narrowed = candidates.modified(*bound)
        if narrowed is not None:
            clauses.append(CANDIDATES_SQL)
            params.append(json.dumps(narrowed))
    sql = f'SELECT "Id" FROM "{query.sobject.name}"'
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += _order_and_page(query, params, default='"Id"')
    return sql, params


def _where(query: Query, include_deleted: bool, params: list[object]) -> list[str]:
    clauses = []
    if not include_deleted:
        clauses.append('"IsDeleted" = 0')
    if query.where is not None:
        clauses.append(compile_condition(query.where, params))
    return clauses


def _order_and_page(query: Query, params: list[object], *, default: str) -> str:
    sql = ""
    if query.order_by:
        parts = []
        for item in query.order_by:
            column = _aggregate_sql(item.aggregate) if item.aggregate is not None else column_sql(item.field)
            nulls_last = item.nulls_last if item.nulls_last is not None else item.descending
            parts.append(f"{column} IS NULL {'ASC' if nulls_last else 'DESC'}")
            parts.append(f"{column} {'DESC' if item.descending else 'ASC'}")
        sql += " ORDER BY " + ", ".join(parts)
    elif default:
        sql += f" ORDER BY {default}"
    if query.limit is not None or query.offset:
        sql += " LIMIT ? OFFSET ?"
        params.extend([query.limit if query.limit is not None else -1, query.offset or 0])
    return sql


def _aggregate_sql(aggregate: Aggregate) -> str:
    distinct = "DISTINCT " if aggregate.function == "COUNT_DISTINCT" else ""
    return f"COUNT({distinct}{column_sql(aggregate.field)})"


def compile_aggregate(query: Query, *, include_deleted: bool = False) -> tuple[str, list[object]]:
    """SQL of an aggregate query: one row per group, its columns in ``query.columns``' order."""
    params: list[object] = []
    selected = []
    for column in query.columns:
        if isinstance(column, Aggregate):
            selected.append(_aggregate_sql(column))
        else:
            selected.append(column_sql(column))
    clauses = _where(query, include_deleted, params)
    sql = f'SELECT {", ".join(selected)} FROM "{query.sobject.name}"'
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    groups = ", ".join(column_sql(f) for f in query.group_by)
    if groups:
        sql += f" GROUP BY {groups}"
    return sql + _order_and_page(query, params, default=groups), params
