"""The parsed form of a SOQL statement: ``Query`` and its conditions, and ``SoqlError``."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.salesforce.schema import Field, SObject


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, datetime, date, range (a date literal: [start, end) days)
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
    # ORDER BY COUNT(field) in an aggregate query: the aggregate, ``field`` being its argument.
    aggregate: Aggregate | None = None


@dataclass(frozen=True)
class Aggregate:
    """``COUNT(field)`` or ``COUNT_DISTINCT(field)`` in a SELECT list, named ``alias`` in the answer."""

    function: str  # COUNT, COUNT_DISTINCT
    field: Field
    alias: str


@dataclass
class Query:
    sobject: SObject
    fields: list[Field] = field(default_factory=list)
    count_only: bool = False
    # An aggregate query (aggregate functions or GROUP BY): its columns in SELECT order.
    columns: list[Field | Aggregate] = field(default_factory=list)
    group_by: list[Field] = field(default_factory=list)
    # The aliases of grouped fields in an aggregate query (``SELECT LeadSource source ...``).
    aliases: dict[str, str] = field(default_factory=dict)
    where: Condition | None = None
    order_by: list[OrderBy] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
