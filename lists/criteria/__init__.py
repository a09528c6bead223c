"""HubSpot filterBranch criteria: parse, validate, compile to SQL, evaluate, explain.

Pure: the engine imports no model and reads no table by itself. What it needs of the database
is passed in: the property schema and the graph of lists to ``validate``/``check_filter_branch``
(``ContactProperty.objects.schema()``, ``ContactList.objects.list_graph()``; the stored ones
together: ``lists.selectors.criteria_check``), the memberships IN_LIST filters read to ``to_q``,
a contact's lists to ``matches``/``explain``. The stored forms the engine reads are described in
``lists.normalize``; the evaluation rules in ``lists.criteria.evaluate``.
"""

from .evaluate import FilterExplanation, epoch_ms, explain, matches
from .nodes import (
    MAX_DAYS,
    MAX_DEPTH,
    MAX_FILTERS,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
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
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
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
