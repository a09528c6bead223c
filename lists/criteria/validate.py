"""Check parsed criteria against the property schema and the graph of lists."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from lists.normalize import PropertySpec, fold, schema_from_properties

from .nodes import (
    ENUMERATION,
    MAX_DEPTH,
    MAX_FILTERS,
    MAX_VALUES,
    PROPERTY_TYPES,
    AndBranch,
    CriteriaError,
    InListFilter,
    OrBranch,
    PropertyFilter,
    annotate,
    iter_filters,
    located,
)
from .parse import parse

_LIST_ID = re.compile(r"^\s*[0-9]{1,18}\s*$")

ListGraph = Mapping[int, Iterable[int]] | Callable[[int], Iterable[int] | None]


def type_label(property_type: str) -> str:
    return {
        "string": _("a text property"),
        "number": _("a number property"),
        "date": _("a date property"),
        "datetime": _("a date and time property"),
        "enumeration": _("an enumeration property"),
        "bool": _("a yes/no property"),
    }.get(property_type, _("a %(type)s property") % {"type": property_type})


def _depth(branch: AndBranch | OrBranch, level: int = 0) -> int:
    return max((_depth(b, level + 1) for b in branch.branches), default=level)


def _references(list_ids: ListGraph, list_id: int) -> tuple[bool, set[int]]:
    """(whether the list exists, the list ids its criteria reference)."""
    if callable(list_ids):
        found = list_ids(list_id)
        return (found is not None, set(found or ()))
    if list_id not in list_ids:
        return (False, set())
    return (True, set(list_ids[list_id] or ()))


def validate(
    branch: OrBranch,
    *,
    schema: Mapping[str, Any],
    list_ids: ListGraph,
    list_id: int | None = None,
) -> None:
    """Raise :class:`CriteriaError` unless the criteria fit the schema and the lists graph.

    ``schema`` maps property names to PropertySpec (or ContactProperty) of the non-archived
    properties. ``list_ids`` maps every existing list id to the list ids its own criteria
    reference (or is a callable returning them, None for an unknown list); ``list_id`` is the id
    of the list being validated, to refuse cycles through it.
    """
    errors: list[str] = []
    specs = {name: _spec(value) for name, value in schema.items()}
    filters = list(iter_filters(branch))
    if len(filters) > MAX_FILTERS:
        errors.append(
            located(
                (), None, None, _("the criteria have more than %(max)s filters (the limit).") % {"max": MAX_FILTERS}
            )
        )
    if _depth(branch) > MAX_DEPTH:
        errors.append(
            located(
                (), None, None, _("branches are nested more than %(max)s levels deep (the limit).") % {"max": MAX_DEPTH}
            )
        )
    for item in filters:
        if isinstance(item, PropertyFilter):
            errors.extend(_check_property_filter(item, specs))
        else:
            errors.extend(_check_list_filter(item, list_ids, list_id))
    if errors:
        raise CriteriaError(errors)


def _spec(value: Any) -> PropertySpec:
    return value if isinstance(value, PropertySpec) else PropertySpec.from_property(value)


def _check_property_filter(item: PropertyFilter, specs: Mapping[str, PropertySpec]) -> list[str]:
    def err(message: str) -> str:
        return located(item.path, item.position, item.property, message)

    spec = specs.get(item.property)
    if spec is None:
        return [err(_("there is no property %(name)s (or it is archived).") % {"name": item.property})]
    op = item.operation
    allowed = PROPERTY_TYPES[op.operation_type]
    if allowed is not None and spec.type not in allowed:
        return [
            err(
                _("operator %(op)s (%(kind)s) does not apply to %(type)s.")
                % {"op": op.operator, "kind": op.operation_type, "type": type_label(spec.type)}
            )
        ]
    if len(op.values) > MAX_VALUES:
        return [err(_("more than %(max)s values (the limit) for one filter.") % {"max": MAX_VALUES})]
    if op.operation_type == ENUMERATION and spec.options:
        unknown = [v for v in op.values if fold(v) not in spec.folded_options]
        if unknown:
            shown = ", ".join(unknown[:5]) + ("…" if len(unknown) > 5 else "")
            return [
                err(
                    _("%(values)s is not an option of this property (options: %(options)s).")
                    % {
                        "values": shown,
                        "options": ", ".join(spec.options[:20]) + ("…" if len(spec.options) > 20 else ""),
                    }
                )
            ]
    return []


def _check_list_filter(item: InListFilter, list_ids: ListGraph, list_id: int | None) -> list[str]:
    subject = _("list %(id)s") % {"id": item.list_id}

    def err(message: str) -> str:
        return located(item.path, item.position, subject, message)

    if list_id is not None and item.list_id == list_id:
        return [err(_("a list cannot be built from itself."))]
    exists, refs = _references(list_ids, item.list_id)
    if not exists:
        return [err(_("there is no list %(id)s.") % {"id": item.list_id})]
    if list_id is None:
        return []
    # Walk the lists this one references, transitively: reaching the list being edited
    # would make membership depend on itself.
    seen = {item.list_id}
    chain = {item.list_id: [item.list_id]}
    frontier = [item.list_id]
    while frontier:
        current = frontier.pop()
        _exists, targets = _references(list_ids, current)
        for target in targets:
            if target == list_id:
                route = " → ".join(str(i) for i in [*chain[current], list_id])
                return [err(_("lists would depend on each other in a cycle (%(route)s).") % {"route": route})]
            if target not in seen:
                seen.add(target)
                chain[target] = [*chain[current], target]
                frontier.append(target)
    return []


def load_schema(properties: Iterable[Any]) -> dict[str, PropertySpec]:
    """The schema the criteria are validated against, from the property rows the caller read
    (``ContactProperty.objects.schema()`` reads the non-archived ones)."""
    return schema_from_properties(properties)


def load_list_graph(rows: Iterable[tuple[int, object]]) -> dict[int, set[int]]:
    """Every list id -> the list ids its stored criteria reference (unparsable criteria: none),
    from ``(id, filter_branch)`` pairs (``ContactList.objects.list_graph()`` reads them)."""
    return {pk: referenced_ids_of_json(data) for pk, data in rows}


def referenced_ids_of_json(data: object) -> set[int]:
    """The list ids a stored (possibly invalid) ``filterBranch`` references, best effort."""
    found: set[int] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("filterType") == "IN_LIST":
                raw = node.get("listId")
                if isinstance(raw, int) and not isinstance(raw, bool):
                    found.add(raw)
                elif isinstance(raw, str) and _LIST_ID.match(raw):
                    # ASCII digits only: "²".isdigit() is true and int("²") fails.
                    found.add(int(raw))
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return found


def check_filter_branch(
    data: object, *, schema: Mapping[str, Any], list_ids: ListGraph, list_id: int | None = None
) -> OrBranch:
    """Parse and validate (see :func:`validate` for ``schema``, ``list_ids`` and ``list_id``);
    raise ``ValidationError`` on ``filter_branch`` with the engine's messages.

    Returns the branch annotated with the schema facts that make its SQL faster (``annotate``).
    ``lists.selectors.criteria_check`` passes the stored properties and lists.
    """
    try:
        branch = parse(data)
        validate(branch, schema=schema, list_ids=list_ids, list_id=list_id)
    except CriteriaError as exc:
        raise ValidationError({"filter_branch": exc.messages})
    return annotate(branch, schema)
