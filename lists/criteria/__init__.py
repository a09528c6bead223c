"""HubSpot filterBranch criteria: parse, validate, compile to SQL, evaluate, explain.

Pure where it can be: ``parse``, ``validate``, ``matches`` and ``explain`` need no database;
``to_q`` builds a query over ``lists.Contact``; ``check_filter_branch`` reads the property schema
and the lists from the database (``ContactList.clean()`` calls it). The stored forms the engine
reads are described in ``lists.normalize``; the evaluation rules in ``lists.criteria.evaluate``.
"""

from .evaluate import FilterExplanation, epoch_ms, explain, matches
from .nodes import (
    MAX_DAYS,
    MAX_DEPTH,
    MAX_FILTERS,
    MAX_VALUE_LENGTH,
    MAX_VALUES,
    OPERATION_TYPES_BY_PROPERTY_TYPE,
    OPERATORS,
    PROPERTY_TYPES,
    AndBranch,
    CriteriaError,
    Filter,
    InListFilter,
    Operation,
    OrBranch,
    PropertyFilter,
    annotate,
    iter_filters,
    referenced_list_ids,
    referenced_properties,
)
from .parse import parse
from .sql import to_q
from .validate import check_filter_branch, load_list_graph, load_schema, referenced_ids_of_json, validate

__all__ = [
    "MAX_DAYS",
    "MAX_DEPTH",
    "MAX_FILTERS",
    "MAX_VALUES",
    "MAX_VALUE_LENGTH",
    "OPERATION_TYPES_BY_PROPERTY_TYPE",
    "OPERATORS",
    "PROPERTY_TYPES",
    "AndBranch",
    "CriteriaError",
    "Filter",
    "FilterExplanation",
    "InListFilter",
    "Operation",
    "OrBranch",
    "PropertyFilter",
    "annotate",
    "check_filter_branch",
    "epoch_ms",
    "explain",
    "iter_filters",
    "load_list_graph",
    "load_schema",
    "matches",
    "parse",
    "referenced_ids_of_json",
    "referenced_list_ids",
    "referenced_properties",
    "to_q",
    "validate",
]
