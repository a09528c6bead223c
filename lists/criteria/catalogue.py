"""The operators a person chooses from, named: one catalogue for the editor and its menus.

Which operators each ``operationType`` accepts, and which operation types fit each property type,
are the engine's rules (``nodes.OPERATORS``, ``nodes.PROPERTY_TYPES`` and
``nodes.OPERATION_TYPES_BY_PROPERTY_TYPE``, enforced by ``parse`` and ``validate``). This module
only gives them words, so a menu built from it offers what the engine accepts and nothing else:
a label missing for an operator the engine knows fails at import, not in front of a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .nodes import (
    ALL_PROPERTY,
    BOOL,
    CONTAINS,
    DATETIME,
    DOES_NOT_CONTAIN,
    ENDS_WITH,
    ENUMERATION,
    IN_LIST,
    IS_AFTER,
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
    IS_MORE_THAN_X_DAYS_AGO,
    IS_NONE_OF,
    IS_NOT_BETWEEN,
    IS_NOT_EQUAL_TO,
    IS_UNKNOWN,
    MULTISTRING,
    NOT_IN_LIST,
    NUMBER,
    NUMBER_RANGED,
    OPERATION_TYPES_BY_PROPERTY_TYPE,
    OPERATORS,
    PROPERTY_TYPES,
    ROLLING_DATE_RANGE,
    STARTS_WITH,
    STRING,
)

# Read after the property's name: "Country is any of France, Spain". MULTISTRING compares one
# value with several, hence its own words for the same operators as STRING.
_LABELS: dict[str, dict[str, Promise]] = {
    STRING: {
        IS_EQUAL_TO: _("is equal to"),
        IS_NOT_EQUAL_TO: _("is not equal to"),
        CONTAINS: _("contains"),
        DOES_NOT_CONTAIN: _("does not contain"),
        STARTS_WITH: _("starts with"),
        ENDS_WITH: _("ends with"),
    },
    MULTISTRING: {
        IS_EQUAL_TO: _("is any of"),
        IS_NOT_EQUAL_TO: _("is none of"),
        CONTAINS: _("contains any of"),
        DOES_NOT_CONTAIN: _("contains none of"),
        STARTS_WITH: _("starts with any of"),
        ENDS_WITH: _("ends with any of"),
    },
    NUMBER: {
        IS_EQUAL_TO: _("is equal to"),
        IS_NOT_EQUAL_TO: _("is not equal to"),
        IS_GREATER_THAN: _("is greater than"),
        IS_GREATER_THAN_OR_EQUAL_TO: _("is greater than or equal to"),
        IS_LESS_THAN: _("is less than"),
        IS_LESS_THAN_OR_EQUAL_TO: _("is less than or equal to"),
    },
    NUMBER_RANGED: {IS_BETWEEN: _("is between"), IS_NOT_BETWEEN: _("is not between")},
    BOOL: {IS_EQUAL_TO: _("is"), IS_NOT_EQUAL_TO: _("is not")},
    ENUMERATION: {IS_ANY_OF: _("is any of"), IS_NONE_OF: _("is none of")},
    DATETIME: {IS_BEFORE: _("is before"), IS_AFTER: _("is after")},
    # Followed by the number of days and "days ago".
    ROLLING_DATE_RANGE: {IS_LESS_THAN_X_DAYS_AGO: _("is less than"), IS_MORE_THAN_X_DAYS_AGO: _("is more than")},
    ALL_PROPERTY: {IS_KNOWN: _("is known"), IS_UNKNOWN: _("is unknown")},
}


@dataclass(frozen=True)
class OperatorChoice:
    """One entry of an operator menu: what is stored (``operationType`` and ``operator``), what is read."""

    operation_type: str
    operator: str
    label: Promise


#: operationType -> every operator the engine accepts for it, in menu order, with its label.
OPERATOR_CHOICES: dict[str, tuple[OperatorChoice, ...]] = {
    kind: tuple(OperatorChoice(kind, operator, _LABELS[kind][operator]) for operator in operators)
    for kind, operators in OPERATORS.items()
}

#: The operators of a list-membership filter (``IN_LIST`` filters carry no operationType).
LIST_OPERATOR_CHOICES: tuple[tuple[str, Promise], ...] = (
    (IN_LIST, _("is a member of")),
    (NOT_IN_LIST, _("is not a member of")),
)

#: The operation types that fit a property of any type (for a type the engine has no menu for).
ANY_PROPERTY_TYPE: tuple[str, ...] = tuple(kind for kind, types in PROPERTY_TYPES.items() if types is None)


def operation_types_for(property_type: str) -> tuple[str, ...]:
    """The operation types a filter on a property of this type may use, in menu order."""
    return OPERATION_TYPES_BY_PROPERTY_TYPE.get(property_type, ANY_PROPERTY_TYPE)
