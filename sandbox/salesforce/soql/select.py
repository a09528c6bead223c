"""The SELECT list: fields, ``FIELDS(ALL | STANDARD | CUSTOM)`` and the aggregate functions
``COUNT(field)`` and ``COUNT_DISTINCT(field)``, checked as Salesforce checks them.

- ``FIELDS()`` ("SELECT", SOQL and SOSL Reference,
  https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_fields.htm):
  ``ALL`` and ``CUSTOM`` are unbounded sets of fields and need ``LIMIT`` of at most 200
  (``STANDARD`` does not); a field selected twice through it is "duplicate field selected".
- Aggregates ("Aggregate Functions" and "GROUP BY",
  https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_agg_functions.htm):
  each field of the list is grouped or aggregated; an aggregate without an alias is named
  ``expr0``, ``expr1``... in the order of the unnamed ones; the records are ``AggregateResult``s.
  ``COUNT()`` (no field) stays the count alone: ``totalSize`` and no records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.salesforce.schema import Field
from sandbox.salesforce.soql.tokens import Token
from sandbox.salesforce.soql.tree import Aggregate, Query, SoqlError

AGGREGATES = ("count", "count_distinct")
FIELDS_SETS = ("all", "standard", "custom")
UNBOUNDED_LIMIT = 200


@dataclass(frozen=True)
class Item:
    """One entry of the SELECT list as written: a field, or ``function(argument) [alias]``."""

    token: Token
    argument: Token | None = None
    alias: Token | None = None


def _fields_set(sobject_fields: tuple[Field, ...], which: str) -> list[Field]:
    if which == "custom":
        return [f for f in sobject_fields if f.custom]
    if which == "standard":
        return [f for f in sobject_fields if not f.custom]
    return list(sobject_fields)


def resolve(parser: Any, query: Query, items: list[Item]) -> set[str]:
    """Fill ``query.fields`` (and ``query.columns`` for aggregates) from ``items``; returns the
    ``FIELDS()`` sets used (they are checked against LIMIT once it is read)."""
    sets: set[str] = set()
    seen: dict[str, bool] = {}  # field name -> selected through FIELDS()
    unnamed = 0
    for item in items:
        if item.argument is None:
            f = parser.resolve_field(item.token)
            if item.alias is not None:
                query.aliases[f.name] = item.alias.text
            if f.name in seen:
                if seen[f.name]:
                    raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {f.name}")
                continue  # the same field twice by name: selected once
            seen[f.name] = False
            query.fields.append(f)
            query.columns.append(f)
            continue
        function = item.token.lower
        if function == "fields":
            which = item.argument.lower
            if which not in FIELDS_SETS or item.alias is not None:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{item.argument.text}'")
            sets.add(which)
            for f in _fields_set(query.sobject.fields, which):
                if f.name in seen:
                    raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {f.name}")
                seen[f.name] = True
                query.fields.append(f)
            continue
        if function not in AGGREGATES:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{item.token.text}'")
        f = parser.resolve_field(item.argument, "aggregated")
        if item.alias is not None:
            alias = item.alias.text
        else:
            alias, unnamed = f"expr{unnamed}", unnamed + 1
        query.columns.append(Aggregate(function.upper(), f, alias))
    return sets


def order_aggregate(parser: Any, token: Token) -> Aggregate | None:
    """``COUNT(field)`` (or ``COUNT_DISTINCT``) read from ``token`` on in an ORDER BY, else ``None``."""
    following = parser.peek()
    if token.lower not in AGGREGATES or following is None or following.text != "(":
        return None
    parser.next()
    f = parser.resolve_field(parser.next(), "aggregated")
    parser.expect_punct(")")
    return Aggregate(token.lower.upper(), f, "")


def check(query: Query, sets: set[str]) -> None:
    """What Salesforce refuses once the whole statement is read."""
    if sets & {"all", "custom"} and (query.limit is None or query.limit > UNBOUNDED_LIMIT):
        raise SoqlError(
            "MALFORMED_QUERY",
            f"The SOQL FIELDS function must have a LIMIT of at most {UNBOUNDED_LIMIT}",
        )
    aggregates = [c for c in query.columns if isinstance(c, Aggregate)]
    if not aggregates and not query.group_by:
        if query.aliases or any(o.aggregate is not None for o in query.order_by):
            raise SoqlError("MALFORMED_QUERY", "Only aggregate expressions use field aliasing")
        query.columns = []
        return
    if query.count_only:
        raise SoqlError("MALFORMED_QUERY", "COUNT() and GROUP BY cannot be used together")
    if sets:
        raise SoqlError("MALFORMED_QUERY", "FIELDS() cannot be used in an aggregate query")
    grouped = {f.name for f in query.group_by}
    sorted_fields = [o.field for o in query.order_by if o.aggregate is None]
    for f in [*query.fields, *sorted_fields]:
        if f.name not in grouped:
            raise SoqlError("MALFORMED_QUERY", f"Field must be grouped or aggregated: {f.name}")
    aliases = [c.alias.lower() for c in aggregates] + [alias.lower() for alias in query.aliases.values()]
    named = {f.name.lower() for f in query.fields if f.name not in query.aliases}
    if len(set(aliases)) != len(aliases) or set(aliases) & named:
        raise SoqlError("MALFORMED_QUERY", "duplicate alias in the SELECT list")
