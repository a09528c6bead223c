"""Compile criteria to a Django ``Q`` over ``lists.Contact`` that runs in the database.

Each property filter becomes one :class:`PropertyPredicate`, a boolean expression with its own
SQL for SQLite (JSON1: ``json_extract``/``json_type``) and PostgreSQL (``jsonb`` operators). It
applies exactly the rules of ``evaluate.py`` to the same normalised values, and it is never
NULL (``COALESCE(..., false)``), so ``~to_q(...)`` / ``exclude()`` is the exact complement.
List filters are ``id IN (SELECT contact_id FROM membership WHERE list = N)``, which both
databases run once per query, not once per contact.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, F, Func, Q, QuerySet
from django.utils import timezone

from lists.normalize import FOLDED_KEY, NUMBERS_KEY

from .evaluate import DAY_MS, epoch_ms
from .nodes import (
    ALL_PROPERTY,
    BOOL,
    CONTAINS,
    DATETIME,
    DOES_NOT_CONTAIN,
    ENDS_WITH,
    ENUMERATION,
    IN_LIST,
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
    IS_NOT_EQUAL_TO,
    MULTISTRING,
    NUMBER,
    NUMBER_RANGED,
    ROLLING_DATE_RANGE,
    STARTS_WITH,
    STRING,
    AndBranch,
    CriteriaError,
    InListFilter,
    Operation,
    OrBranch,
    PropertyFilter,
)

# Up to this many values, "any of" is an OR of simple tests; beyond, the values travel as one
# JSON/array parameter (SQLite's expression depth limit is 1000).
_INLINE_VALUES = 32

_TOKEN = re.compile("\x00(\\d+)\x00")

_NUMBER_COMPARISONS = {
    IS_EQUAL_TO: "=",
    IS_NOT_EQUAL_TO: "<>",
    IS_GREATER_THAN: ">",
    IS_GREATER_THAN_OR_EQUAL_TO: ">=",
    IS_LESS_THAN: "<",
    IS_LESS_THAN_OR_EQUAL_TO: "<=",
}


def _json_path(*keys: str) -> str:
    for key in keys:
        if '"' in key or "\\" in key:
            raise CriteriaError(f"Unsupported property name {key!r}")
    return "$" + "".join(f'."{key}"' for key in keys)


class _Dialect:
    """The SQL fragments of one database; ``col`` is the compiled ``properties`` column."""

    false = "0"

    def __init__(self, col: str) -> None:
        self.col = col
        self._values: list[Any] = []

    def p(self, value: Any) -> str:
        """A token standing for a parameter. Fragments are built out of order and reused (a
        reader appears in its test and in its IS NULL check), so tokens are only turned into
        ``%s`` placeholders, in the order they appear, by :meth:`finish`."""
        self._values.append(value)
        return f"\x00{len(self._values) - 1}\x00"

    def finish(self, sql: str) -> tuple[str, tuple[Any, ...]]:
        params: list[Any] = []

        def placeholder(match: re.Match[str]) -> str:
            params.append(self._values[int(match.group(1))])
            return "%s"

        return _TOKEN.sub(placeholder, sql), tuple(params)

    # Readers, each NULL when there is nothing of its type to read.
    def text(self, name: str) -> str:
        raise NotImplementedError

    def number(self, name: str) -> str:
        raise NotImplementedError

    def boolean(self, name: str) -> str:
        raise NotImplementedError

    def known(self, name: str) -> str:
        raise NotImplementedError

    def strpos(self, haystack: str, needle: str) -> str:
        raise NotImplementedError

    def left(self, text: str, value: str) -> str:
        raise NotImplementedError

    def right(self, text: str, value: str) -> str:
        raise NotImplementedError

    def in_values(self, text: str, values: list[str]) -> str:
        raise NotImplementedError

    def any_value(self, text: str, values: list[str], test: str) -> str:
        """``test`` over a big list of values: the SQL with ``{text}`` and ``{value}`` holes."""
        raise NotImplementedError

    # Shared rules.
    def string_test(self, operator: str, text: str, value: str) -> str:
        if operator in (IS_EQUAL_TO, IS_NOT_EQUAL_TO):
            return f"{text} = {self.p(value)}"
        if operator in (CONTAINS, DOES_NOT_CONTAIN):
            return f"{self.strpos(text, self.p(value))} > 0"
        if operator == STARTS_WITH:
            return self.left(text, value)
        return self.right(text, value)

    def any_string(self, operator: str, text: str, values: list[str]) -> str:
        if operator in (IS_EQUAL_TO, IS_NOT_EQUAL_TO):
            return self.in_values(text, values)
        if len(values) <= _INLINE_VALUES:
            return "(" + " OR ".join(self.string_test(operator, text, v) for v in values) + ")"
        return self.any_value(text, values, operator)


class _SQLite(_Dialect):
    def text(self, name: str) -> str:
        return f"json_extract({self.col}, {self.p(_json_path(FOLDED_KEY, name))})"

    def number(self, name: str) -> str:
        # Only numbers live under NUMBERS_KEY (lists.normalize): no json_type() check needed.
        return f"json_extract({self.col}, {self.p(_json_path(NUMBERS_KEY, name))})"

    def boolean(self, name: str) -> str:
        return f"(CASE json_type({self.col}, {self.p(_json_path(name))}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"

    def bool_literal(self, value: bool) -> str:
        return "1" if value else "0"

    def known(self, name: str) -> str:
        return f"(json_type({self.col}, {self.p(_json_path(name))}) IS NOT NULL)"

    def strpos(self, haystack: str, needle: str) -> str:
        return f"instr({haystack}, {needle})"

    def left(self, text: str, value: str) -> str:
        return f"substr({text}, 1, {len(value)}) = {self.p(value)}"

    def right(self, text: str, value: str) -> str:
        # substr(x, -n) is the whole of x when x is shorter: then it cannot equal value.
        return f"substr({text}, -{len(value)}) = {self.p(value)}"

    def in_values(self, text: str, values: list[str]) -> str:
        if len(values) <= _INLINE_VALUES:
            return f"{text} IN ({', '.join(self.p(v) for v in values)})"
        return f"{text} IN (SELECT value FROM json_each({self.p(json.dumps(values, ensure_ascii=False))}))"  # nosec B608  # values are parameters (p); text is a compiled column expression

    def any_value(self, text: str, values: list[str], operator: str) -> str:
        test = {
            CONTAINS: "instr({t}, v.value) > 0",
            DOES_NOT_CONTAIN: "instr({t}, v.value) > 0",
            STARTS_WITH: "substr({t}, 1, length(v.value)) = v.value",
            ENDS_WITH: "substr({t}, -length(v.value)) = v.value",
        }[operator].format(t=text)
        return f"EXISTS (SELECT 1 FROM json_each({self.p(json.dumps(values, ensure_ascii=False))}) AS v WHERE {test})"  # nosec B608  # values are parameters (p); test is a constant template

    def coalesce(self, sql: str) -> str:
        return f"COALESCE(({sql}), 0)"


class _PostgreSQL(_Dialect):
    false = "false"

    def text(self, name: str) -> str:
        return f"({self.col} -> {self.p(FOLDED_KEY)} ->> {self.p(name)})"

    def number(self, name: str) -> str:
        # The type check is nearly free on jsonb and keeps a stray non-number from failing the cast.
        item = f"({self.col} -> {self.p(NUMBERS_KEY)} -> {self.p(name)})"
        return f"(CASE WHEN jsonb_typeof({item}) = 'number' THEN ({item} #>> '{{}}')::double precision END)"

    def boolean(self, name: str) -> str:
        return (
            f"(CASE WHEN jsonb_typeof({self.col} -> {self.p(name)}) = 'boolean' "
            f"THEN ({self.col} ->> {self.p(name)})::boolean END)"
        )

    def bool_literal(self, value: bool) -> str:
        return "true" if value else "false"

    def known(self, name: str) -> str:
        return f"({self.col} ? {self.p(name)})"

    def strpos(self, haystack: str, needle: str) -> str:
        return f"strpos({haystack}, {needle})"

    def left(self, text: str, value: str) -> str:
        return f"left({text}, {len(value)}) = {self.p(value)}"

    def right(self, text: str, value: str) -> str:
        return f"right({text}, {len(value)}) = {self.p(value)}"

    def in_values(self, text: str, values: list[str]) -> str:
        if len(values) <= _INLINE_VALUES:
            return f"{text} IN ({', '.join(self.p(v) for v in values)})"
        return f"{text} = ANY({self.p(values)}::text[])"

    def any_value(self, text: str, values: list[str], operator: str) -> str:
        test = {
            CONTAINS: "strpos({t}, v) > 0",
            DOES_NOT_CONTAIN: "strpos({t}, v) > 0",
            STARTS_WITH: "left({t}, length(v)) = v",
            ENDS_WITH: "right({t}, length(v)) = v",
        }[operator].format(t=text)
        return f"EXISTS (SELECT 1 FROM unnest({self.p(values)}::text[]) AS u(v) WHERE {test})"  # nosec B608  # values are parameters (p); test is a constant template

    def coalesce(self, sql: str) -> str:
        return f"COALESCE(({sql}), false)"


def _predicate_sql(d: _Dialect, item: PropertyFilter, now_ms: int) -> str:
    op: Operation = item.operation
    kind, operator, name = op.operation_type, op.operator, item.property
    if kind == ALL_PROPERTY:
        known = d.known(name)
        if operator == IS_KNOWN:
            return f"({known} OR NOT {known})" if op.include_no_value else known
        return f"NOT {known}"
    if kind in (STRING, MULTISTRING, ENUMERATION):
        reader = d.text(name)
        if kind == STRING:
            test = d.string_test(operator, reader, op.folded_value)
            negate = operator in (IS_NOT_EQUAL_TO, DOES_NOT_CONTAIN)
        elif kind == MULTISTRING:
            test = d.any_string(operator, reader, list(op.folded_values))
            negate = operator in (IS_NOT_EQUAL_TO, DOES_NOT_CONTAIN)
        else:
            wanted = list(op.folded_values)
            # Equal to an option, or (a packed multiple-checkbox value) holding ";option;".
            if op.multiple is False:
                test = d.in_values(reader, wanted)
            elif op.multiple is True:
                test = d.any_string(CONTAINS, reader, [f";{w};" for w in wanted])
            else:
                packed = d.any_string(CONTAINS, reader, [f";{w};" for w in wanted])
                test = f"({d.in_values(reader, wanted)} OR ({d.left(reader, ';')} AND {packed}))"
            negate = operator != IS_ANY_OF
    elif kind == BOOL:
        reader = d.boolean(name)
        comparison = "=" if operator == IS_EQUAL_TO else "<>"
        test, negate = f"{reader} {comparison} {d.bool_literal(op.value)}", False
    else:
        reader = d.number(name)
        negate = False
        if kind == NUMBER:
            test = f"{reader} {_NUMBER_COMPARISONS[operator]} {d.p(float(op.value))}"
        elif kind == NUMBER_RANGED:
            inside = f"{reader} BETWEEN {d.p(float(op.lower))} AND {d.p(float(op.upper))}"
            test, negate = inside, operator != IS_BETWEEN
        elif kind == DATETIME:
            test = f"{reader} {'<' if operator == IS_BEFORE else '>'} {d.p(float(op.timestamp))}"
        elif kind == ROLLING_DATE_RANGE:
            cutoff = float(now_ms - op.number_of_days * DAY_MS)
            if operator == IS_LESS_THAN_X_DAYS_AGO:
                test = f"({reader} > {d.p(cutoff)} AND {reader} <= {d.p(float(now_ms))})"
            else:
                test = f"{reader} < {d.p(cutoff)}"
        else:  # pragma: no cover - parse() admits no other operation type
            raise CriteriaError(f"Unsupported operation type {kind}")
    # The value is present (the reader is not NULL) and the test holds (or, negated, does not);
    # with includeObjectsWithNoValueSet a missing value passes too.
    present = f"{reader} IS NOT NULL"
    body = f"({present} AND NOT {d.coalesce(test)})" if negate else d.coalesce(test)
    if op.include_no_value:
        body = f"({body} OR {reader} IS NULL)"
    return body


class PropertyPredicate(Func):
    """One property filter as a boolean SQL expression over ``Contact.properties``."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, item: PropertyFilter, now_ms: int) -> None:
        super().__init__(F("properties"))
        self.item = item
        self.now_ms = now_ms

    def _compile(self, dialect_class: type[_Dialect], compiler, connection) -> tuple[str, list[Any]]:
        col_sql, col_params = compiler.compile(self.source_expressions[0])
        if col_params:  # the column is a plain column: it has none
            raise CriteriaError("Unexpected parameters in the properties column")
        dialect = dialect_class(col_sql)
        body = _predicate_sql(dialect, self.item, self.now_ms)
        # _predicate_sql never yields NULL (tests are COALESCEd, presence checks are not NULL).
        return dialect.finish(body)

    def as_sqlite(self, compiler, connection, **extra):
        return self._compile(_SQLite, compiler, connection)

    def as_postgresql(self, compiler, connection, **extra):
        return self._compile(_PostgreSQL, compiler, connection)

    def as_sql(self, compiler, connection, **extra):
        raise CriteriaError(f"Criteria cannot be compiled for the {connection.vendor} database")


def _in_list_q(item: InListFilter, memberships: QuerySet | None) -> Q:
    if memberships is None:
        raise TypeError("to_q() needs memberships= (the ListMembership rows) to compile IN_LIST filters")
    members = memberships.filter(contact_list_id=item.list_id).values("contact_id")
    q = Q(pk__in=members)
    return q if item.operator == IN_LIST else ~q


def _branch_q(branch: AndBranch | OrBranch, now_ms: int, memberships: QuerySet | None) -> Q:
    if isinstance(branch, OrBranch):
        result = Q(pk__in=[])  # an OR of nothing is false
        for i, sub in enumerate(branch.branches):
            sub_q = _branch_q(sub, now_ms, memberships)
            result = sub_q if i == 0 else result | sub_q
        return result
    result = Q()  # an AND of nothing is true
    for item in branch.filters:
        if isinstance(item, InListFilter):
            result &= _in_list_q(item, memberships)
        else:
            result &= Q(PropertyPredicate(item, now_ms))
    for sub in branch.branches:
        result &= _branch_q(sub, now_ms, memberships)
    return result


def to_q(branch: OrBranch, *, now: datetime | None = None, memberships: QuerySet | None = None) -> Q:
    """The criteria as a ``Q`` for ``Contact.objects.filter()`` (SQLite and PostgreSQL).

    ``memberships``: the ``ListMembership`` rows IN_LIST filters read (``contact_list_id``,
    ``contact_id``), passed in so that the engine imports no model; criteria without IN_LIST
    filters need none.
    """
    return _branch_q(branch, epoch_ms(now or timezone.now()), memberships)
