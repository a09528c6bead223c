"""The subset of SOQL the sandbox answers, parsed into a small tree and compiled to SQLite.

Grammar (keywords case-insensitive, like Salesforce)::

    SELECT (COUNT() | item [, item ...]) FROM object
      [WHERE condition] [GROUP BY field [, ...]]
      [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST] [, ...]] [LIMIT n] [OFFSET n]
    item := field | FIELDS(ALL|STANDARD|CUSTOM) | (COUNT|COUNT_DISTINCT)(field) [alias]
    condition := term (OR term)* ; term := factor (AND factor)* ;
    factor := NOT factor | '(' condition ')' | field op value | field [NOT] IN (value, ...)
    op := = | != | <> | < | <= | > | >= | LIKE
    value := 'string' | number | true | false | null | 2026-01-01T00:00:00Z | 2026-01-01
           | a date literal: TODAY, LAST_N_DAYS:30 ... (:mod:`.dates`)

Errors carry Salesforce's codes: ``MALFORMED_QUERY`` for syntax, ``INVALID_FIELD`` for an
unknown field or a value of the wrong type, ``INVALID_TYPE`` for an unknown object.
String comparisons are case-insensitive, as in Salesforce (the store declares text columns
``COLLATE NOCASE``), so ``Email = 'A@x.com'`` finds ``a@x.com``.

- :mod:`.tokens`: the text as tokens; :mod:`.parser`: tokens into a :mod:`.tree` (``Query``),
  ``parse(text)``, with :mod:`.select` (the SELECT list: FIELDS(), aggregates) and :mod:`.dates`
  (date literals); :mod:`.compiler`: a ``Query`` into SQL, ``compile_query(query, ...)`` and
  ``compile_aggregate(query)``.

The store's datetime text (``format_datetime``) lives in :mod:`sandbox.salesforce.store`.
"""

from sandbox.salesforce.soql.compiler import (
    Candidates,
    compile_aggregate,
    compile_condition,
    compile_query,
    lower_bound,
    required_values,
)
from sandbox.salesforce.soql.parser import parse, parse_datetime_literal
from sandbox.salesforce.soql.tree import (
    Aggregate,
    BoolOp,
    Comparison,
    Condition,
    Literal,
    Not,
    OrderBy,
    Query,
    SoqlError,
)

__all__ = [
    "Aggregate",
    "BoolOp",
    "Candidates",
    "Comparison",
    "Condition",
    "Literal",
    "Not",
    "OrderBy",
    "Query",
    "SoqlError",
    "compile_aggregate",
    "compile_condition",
    "compile_query",
    "lower_bound",
    "parse",
    "parse_datetime_literal",
    "required_values",
]
