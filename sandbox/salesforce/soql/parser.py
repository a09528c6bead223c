"""SOQL text parsed into a ``Query``, with Salesforce's error codes and messages.

Errors carry Salesforce's codes: ``MALFORMED_QUERY`` for syntax, ``INVALID_FIELD`` for an
unknown field or a value of the wrong type, ``INVALID_TYPE`` for an unknown object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from sandbox.salesforce import ids
from sandbox.salesforce.schema import Field, SObject, get_object
from sandbox.salesforce.soql import dates, select
from sandbox.salesforce.soql.tokens import KEYWORDS, Token, tokenize
from sandbox.salesforce.soql.tree import BoolOp, Comparison, Condition, Literal, Not, OrderBy, Query, SoqlError
from sandbox.salesforce.store import format_datetime, utc_now


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
        items, count_only = self.parse_select_list()
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
        fields_functions = select.resolve(self, query, items)
        if self.at_keyword("where"):
            self.next()
            query.where = self.parse_or()
        if self.at_keyword("group"):
            self.next()
            self.expect_keyword("by")
            query.group_by = self.parse_field_list("grouped")
        if self.at_keyword("order"):
            self.next()
            self.expect_keyword("by")
            while True:
                token = self.next()
                aggregate = select.order_aggregate(self, token)
                f = aggregate.field if aggregate is not None else self.resolve_field(token, "sorted")
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
                query.order_by.append(OrderBy(f, descending, nulls_last, aggregate))
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
        select.check(query, fields_functions)
        return query

    def parse_select_list(self) -> tuple[list[select.Item], bool]:
        """The SELECT list as written (fields are resolved once the object is known); ``True``
        for ``COUNT()``."""
        ahead = [self.peek(1), self.peek(2)]
        if self.at_keyword("count") and [t.text if t is not None else None for t in ahead] == ["(", ")"]:
            self.i += 3
            return [], True
        items: list[select.Item] = []
        while True:
            token = self.next()
            following = self.peek()
            if token.kind == "word" and following is not None and following.text == "(":
                self.next()
                argument = self.next()
                self.expect_punct(")")
                alias = None
                after = self.peek()
                if after is not None and after.kind == "word" and after.lower not in KEYWORDS:
                    alias = self.next()
                items.append(select.Item(token, argument, alias))
            elif token.kind != "word" or token.lower in KEYWORDS:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
            else:
                after = self.peek()
                alias = None
                if after is not None and after.kind == "word" and after.lower not in KEYWORDS:
                    alias = self.next()
                items.append(select.Item(token, alias=alias))
            if self.peek() is not None and self.peek().text == ",":
                self.next()
                continue
            return items, False

    def parse_field_list(self, verb: str) -> list[Field]:
        fields = [self.resolve_field(self.next(), verb)]
        while self.peek() is not None and self.peek().text == ",":
            self.next()
            fields.append(self.resolve_field(self.next(), verb))
        return fields

    def parse_count(self, clause: str) -> int:
        token = self.next()
        if token.kind != "number" or "." in token.text or token.text.startswith("-"):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
        return int(token.text)

    def resolve_field(self, token: Token, verb: str | None = None) -> Field:
        """The field ``token`` names; with ``verb`` (filtered, sorted, grouped), a compound address
        is refused as Salesforce refuses it ("Compound Fields", Object Reference: "you can't use
        compound fields in WHERE, ORDER BY or GROUP BY" but DISTANCE)."""
        if token.kind != "word" or token.lower in KEYWORDS:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
        assert self.sobject is not None
        f = self.sobject.field(token.text)
        if f is not None and verb is not None and f.type == "address":
            raise SoqlError("INVALID_FIELD", f"field '{f.name}' can not be {verb} in a query call")
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
        return self._joined("or", self.parse_and)

    def parse_and(self) -> Condition:
        return self._joined("and", self.parse_factor)

    def _joined(self, keyword: str, operand: Callable[[], Condition]) -> Condition:
        """``operand (keyword operand)*``: the lone operand, or a ``BoolOp`` over them all."""
        items = [operand()]
        while self.at_keyword(keyword):
            self.next()
            items.append(operand())
        return items[0] if len(items) == 1 else BoolOp(keyword.upper(), tuple(items))

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
        f = self.resolve_field(self.next(), "filtered")
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
        elif token.kind == "nliteral" or (token.kind == "word" and dates.is_date_literal(token.lower)):
            if token.kind == "nliteral" and not dates.is_date_literal(token.lower):
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
            literal = Literal("range", dates.day_range(token.text, utc_now().date()))
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


# The literal a field type takes, and the type Salesforce names when it gets another; every other
# field type takes a quoted string (a date literal is refused for a dateTime field, too).
# A date literal (TODAY, LAST_N_DAYS:n) takes a date or a dateTime field.
_LITERAL_KINDS = {
    "datetime": ("datetime", "dateTime"),
    "date": ("date", "date"),
    "int": ("number", "double"),
    "double": ("number", "double"),
    "currency": ("number", "double"),
    "boolean": ("boolean", "boolean"),
}


def _check_type(f: Field, literal: Literal) -> None:
    kind, type_name = _LITERAL_KINDS.get(f.type, ("string", "string"))
    if literal.kind == "range" and f.type in ("date", "datetime"):
        return
    if literal.kind != kind:
        quotes = "should be enclosed in quotes" if kind == "string" else "should not be enclosed in quotes"
        raise SoqlError(
            "INVALID_FIELD", f"value of filter criterion for field '{f.name}' must be of type {type_name} and {quotes}"
        )


def parse(soql: str) -> Query:
    """Parse one SOQL statement; raises ``SoqlError`` with Salesforce's error code."""
    if not soql or not soql.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
    return _Parser(soql.strip()).parse()
