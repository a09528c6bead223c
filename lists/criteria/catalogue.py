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

from lists.criteria import nodes as n  # n.IS_EQUAL_TO: the engine's own names

# Read after the property's name: "Country is any of France, Spain". MULTISTRING compares one
# value with several, hence its own words for the same operators as STRING.
_LABELS: dict[str, dict[str, Promise]] = {
    n.STRING: {
        n.IS_EQUAL_TO: _("is equal to"),
        n.IS_NOT_EQUAL_TO: _("is not equal to"),
        n.CONTAINS: _("contains"),
        n.DOES_NOT_CONTAIN: _("does not contain"),
        n.STARTS_WITH: _("starts with"),
        n.ENDS_WITH: _("ends with"),
    },
    n.MULTISTRING: {
        n.IS_EQUAL_TO: _("is any of"),
        n.IS_NOT_EQUAL_TO: _("is none of"),
        n.CONTAINS: _("contains any of"),
        n.DOES_NOT_CONTAIN: _("contains none of"),
        n.STARTS_WITH: _("starts with any of"),
        n.ENDS_WITH: _("ends with any of"),
    },
    n.NUMBER: {
        n.IS_EQUAL_TO: _("is equal to"),
        n.IS_NOT_EQUAL_TO: _("is not equal to"),
        n.IS_GREATER_THAN: _("is greater than"),
        n.IS_GREATER_THAN_OR_EQUAL_TO: _("is greater than or equal to"),
        n.IS_LESS_THAN: _("is less than"),
        n.IS_LESS_THAN_OR_EQUAL_TO: _("is less than or equal to"),
    },
    n.NUMBER_RANGED: {n.IS_BETWEEN: _("is between"), n.IS_NOT_BETWEEN: _("is not between")},
    n.BOOL: {n.IS_EQUAL_TO: _("is"), n.IS_NOT_EQUAL_TO: _("is not")},
    n.ENUMERATION: {n.IS_ANY_OF: _("is any of"), n.IS_NONE_OF: _("is none of")},
    n.DATETIME: {n.IS_BEFORE: _("is before"), n.IS_AFTER: _("is after")},
    # Followed by the number of days and "days ago".
    n.ROLLING_DATE_RANGE: {n.IS_LESS_THAN_X_DAYS_AGO: _("is less than"), n.IS_MORE_THAN_X_DAYS_AGO: _("is more than")},
    n.ALL_PROPERTY: {n.IS_KNOWN: _("is known"), n.IS_UNKNOWN: _("is unknown")},
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
    for kind, operators in n.OPERATORS.items()
}

#: The operators of a list-membership filter (``IN_LIST`` filters carry no operationType).
LIST_OPERATOR_CHOICES: tuple[tuple[str, Promise], ...] = (
    (n.IN_LIST, _("is a member of")),
    (n.NOT_IN_LIST, _("is not a member of")),
)

#: The operation types that fit a property of any type (for a type the engine has no menu for).
ANY_PROPERTY_TYPE: tuple[str, ...] = tuple(kind for kind, types in n.PROPERTY_TYPES.items() if types is None)


def operation_types_for(property_type: str) -> tuple[str, ...]:
    """The operation types a filter on a property of this type may use, in menu order."""
    return n.OPERATION_TYPES_BY_PROPERTY_TYPE.get(property_type, ANY_PROPERTY_TYPE)
