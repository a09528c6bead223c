"""The subset of SOQL the sandbox answers, parsed into a small tree and compiled to SQLite.

Grammar (keywords case-insensitive, like Salesforce)::

    SELECT (COUNT() | field [, field ...]) FROM object
      [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST] [, ...]]
      [LIMIT n] [OFFSET n]
    condition := term (OR term)* ; term := factor (AND factor)* ;
    factor := NOT factor | '(' condition ')' | field op value | field [NOT] IN (value, ...)
    op := = | != | <> | < | <= | > | >= | LIKE
    value := 'string' | number | true | false | null | 2026-01-01T00:00:00Z | 2026-01-01

Errors carry Salesforce's codes: ``MALFORMED_QUERY`` for syntax, ``INVALID_FIELD`` for an
unknown field or a value of the wrong type, ``INVALID_TYPE`` for an unknown object.
String comparisons are case-insensitive, as in Salesforce (the store declares text columns
``COLLATE NOCASE``), so ``Email = 'A@x.com'`` finds ``a@x.com``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from sandbox.salesforce import ids
from sandbox.salesforce.lookups import CANDIDATES_SQL
from sandbox.salesforce.schema import Field, SObject, get_object


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),*])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)

KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "like",
    "order",
    "by",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "limit",
    "offset",
    "null",
    "true",
    "false",
    "count",
}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int

    @property
    def lower(self) -> str:
        return self.text.lower()


def tokenize(soql: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN_RE.match(soql, pos)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{soql[pos : pos + 10].split()[0]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


# -- tree ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, datetime, date
    value: object


@dataclass(frozen=True)
class Comparison:
    field: Field
    op: str  # = != < <= > >= LIKE IN NOT IN
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND, OR
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderBy:
    field: Field
    descending: bool = False
    nulls_last: bool | None = None


@dataclass
class Query:
    sobject: SObject
    fields: list[Field] = field(default_factory=list)
    count_only: bool = False
    where: Condition | None = None
    order_by: list[OrderBy] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


# -- parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0
        self.sobject: SObject | None = None

    def peek(self, offset: int = 0) -> Token | None:
        index = self.i + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.i += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.lower in words

    def expect_keyword(self, word: str) -> None:
        token = self.next()
        if token.kind != "word" or token.lower != word:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")

    def expect_punct(self, char: str) -> None:
        token = self.next()
        if token.text != char:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")

    def parse(self) -> Query:
        self.expect_keyword("select")
        select_items: list[Token] = []
        count_only = False
        if self.at_keyword("count") and self.peek(1) is not None and self.peek(1).text == "(":
            self.next()
            self.expect_punct("(")
            self.expect_punct(")")
            count_only = True
        else:
            while True:
                token = self.next()
                if token.kind != "word" or token.lower in KEYWORDS:
                    raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
                select_items.append(token)
                if self.peek() is not None and self.peek().text == ",":
                    self.next()
                    continue
                break
        self.expect_keyword("from")
        obj_token = self.next()
        if obj_token.kind != "word":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{obj_token.text}'")
        sobject = get_object(obj_token.text)
        if sobject is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"\n{self.soql}\n{' ' * obj_token.pos}^\nERROR at Row:1:Column:{obj_token.pos + 1}\n"
                f"sObject type '{obj_token.text}' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name. Please reference your WSDL or "
                "the describe call for the appropriate names.",
            )
        self.sobject = sobject
        query = Query(sobject=sobject, count_only=count_only)
        seen: set[str] = set()
        for token in select_items:
            f = self.resolve_field(token)
            if f.name not in seen:
                seen.add(f.name)
                query.fields.append(f)
        if self.at_keyword("where"):
            self.next()
            query.where = self.parse_or()
        if self.at_keyword("order"):
            self.next()
            self.expect_keyword("by")
            while True:
                f = self.resolve_field(self.next())
                descending = False
                nulls_last: bool | None = None
                if self.at_keyword("asc", "desc"):
                    descending = self.next().lower == "desc"
                if self.at_keyword("nulls"):
                    self.next()
                    which = self.next()
                    if which.lower not in ("first", "last"):
                        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{which.text}'")
                    nulls_last = which.lower == "last"
                query.order_by.append(OrderBy(f, descending, nulls_last))
                if self.peek() is not None and self.peek().text == ",":
                    self.next()
                    continue
                break
        if self.at_keyword("limit"):
            self.next()
            query.limit = self.parse_count("LIMIT")
        if self.at_keyword("offset"):
            self.next()
            query.offset = self.parse_count("OFFSET")
            if query.offset > 2000:
                raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        trailing = self.peek()
        if trailing is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{trailing.text}'")
        return query

    def parse_count(self, clause: str) -> int:
        token = self.next()
        if token.kind != "number" or "." in token.text or token.text.startswith("-"):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
        return int(token.text)

    def resolve_field(self, token: Token) -> Field:
        if token.kind != "word" or token.lower in KEYWORDS:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
        assert self.sobject is not None
        f = self.sobject.field(token.text)
        if f is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"\n{self.soql}\n{' ' * token.pos}^\nERROR at Row:1:Column:{token.pos + 1}\n"
                f"No such column '{token.text}' on entity '{self.sobject.name}'. If you are attempting to use "
                "a custom field, be sure to append the '__c' after the custom field name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
            )
        return f

    def parse_or(self) -> Condition:
        items = [self.parse_and()]
        while self.at_keyword("or"):
            self.next()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def parse_and(self) -> Condition:
        items = [self.parse_factor()]
        while self.at_keyword("and"):
            self.next()
            items.append(self.parse_factor())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def parse_factor(self) -> Condition:
        if self.at_keyword("not"):
            self.next()
            return Not(self.parse_factor())
        token = self.peek()
        if token is not None and token.text == "(":
            self.next()
            inner = self.parse_or()
            self.expect_punct(")")
            return inner
        f = self.resolve_field(self.next())
        op_token = self.next()
        if op_token.kind == "op":
            op = "!=" if op_token.text == "<>" else op_token.text
            value = self.parse_value(f)
            if value.kind == "null" and op not in ("=", "!="):
                raise SoqlError("MALFORMED_QUERY", "unexpected token: 'null'")
            return Comparison(f, op, (value,))
        if op_token.kind == "word" and op_token.lower == "like":
            value = self.parse_value(f)
            if value.kind != "string":
                raise SoqlError("INVALID_FIELD", f"value of filter criterion for field '{f.name}' must be a string")
            return Comparison(f, "LIKE", (value,))
        negated = False
        if op_token.kind == "word" and op_token.lower == "not":
            negated = True
            op_token = self.next()
        if op_token.kind == "word" and op_token.lower == "in":
            self.expect_punct("(")
            values = [self.parse_value(f)]
            while self.peek() is not None and self.peek().text == ",":
                self.next()
                values.append(self.parse_value(f))
            self.expect_punct(")")
            return Comparison(f, "NOT IN" if negated else "IN", tuple(values))
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{op_token.text}'")

    def parse_value(self, f: Field) -> Literal:
        token = self.next()
        if token.kind == "string":
            literal = Literal("string", _unescape(token.text[1:-1]))
        elif token.kind == "number":
            literal = Literal("number", float(token.text) if "." in token.text else int(token.text))
        elif token.kind == "datetime":
            literal = Literal("datetime", parse_datetime_literal(token.text))
        elif token.kind == "date":
            literal = Literal("date", token.text)
        elif token.kind == "word" and token.lower in ("true", "false"):
            literal = Literal("boolean", token.lower == "true")
        elif token.kind == "word" and token.lower == "null":
            return Literal("null", None)
        else:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
        _check_type(f, literal)
        if f.type in ("id", "reference"):
            # Salesforce accepts 15- and 18-character ids and refuses anything else.
            normalized = ids.normalize(str(literal.value))
            if normalized is None:
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal.value}")
            literal = Literal("string", normalized)
        return literal


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), text)


def parse_datetime_literal(text: str) -> str:
    """A SOQL dateTime literal -> the store's canonical UTC text (``2026-01-01T00:00:00.000+0000``)."""
    normalized = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normalized):
        normalized = normalized[:-2] + ":" + normalized[-2:]
    try:
        value = datetime.fromisoformat(normalized)
    except ValueError:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'")
    return format_datetime(value)


def format_datetime(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _check_type(f: Field, literal: Literal) -> None:
    if f.type == "datetime":
        if literal.kind == "date":
            # Salesforce refuses a date literal for a dateTime field.
            raise SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{f.name}' must be of type dateTime and should not be "
                "enclosed in quotes",
            )
        if literal.kind != "datetime":
            raise SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{f.name}' must be of type dateTime and should not be "
                "enclosed in quotes",
            )
    elif f.type == "int":
        if literal.kind != "number":
            raise SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{f.name}' must be of type double and should not be "
                "enclosed in quotes",
            )
    elif f.type == "boolean":
        if literal.kind != "boolean":
            raise SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{f.name}' must be of type boolean and should not be "
                "enclosed in quotes",
            )
    elif literal.kind != "string":
        raise SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{f.name}' must be of type string and should be enclosed in quotes",
        )


def parse(soql: str) -> Query:
    """Parse one SOQL statement; raises ``SoqlError`` with Salesforce's error code."""
    if not soql or not soql.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
    return _Parser(soql.strip()).parse()


# -- compile to SQLite -----------------------------------------------------------------------


def _sql_value(literal: Literal) -> object:
    if literal.kind == "boolean":
        return 1 if literal.value else 0
    if isinstance(literal.value, date) and not isinstance(literal.value, datetime):
        return literal.value.isoformat()
    return literal.value


def _like_to_sql(pattern: str) -> str:
    return pattern  # SOQL's % and _ are SQL's; the NOCASE collation gives case-insensitivity.


def compile_condition(condition: Condition, params: list[object]) -> str:
    if isinstance(condition, BoolOp):
        joiner = f" {condition.op} "
        return "(" + joiner.join(compile_condition(item, params) for item in condition.items) + ")"
    if isinstance(condition, Not):
        return f"(NOT {compile_condition(condition.item, params)})"
    column = f'"{condition.field.name}"'
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
        return f"{column} LIKE ?"
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
    clauses = []
    if not include_deleted:
        clauses.append('"IsDeleted" = 0')
    if query.where is not None:
        clauses.append(compile_condition(query.where, params))
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
    if query.order_by:
        parts = []
        for item in query.order_by:
            column = f'"{item.field.name}"'
            nulls_last = item.nulls_last if item.nulls_last is not None else item.descending
            parts.append(f"{column} IS NULL {'ASC' if nulls_last else 'DESC'}")
            parts.append(f"{column} {'DESC' if item.descending else 'ASC'}")
        sql += " ORDER BY " + ", ".join(parts)
    else:
        sql += ' ORDER BY "Id"'
    if query.limit is not None or query.offset:
        sql += " LIMIT ? OFFSET ?"
        params.extend([query.limit if query.limit is not None else -1, query.offset or 0])
    return sql, params
