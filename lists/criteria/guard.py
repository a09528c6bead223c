"""The criteria's JSON checked before the parser walks it, each problem named as the engine names
a place ("Group 2, filter 1 (numemployees): ...").

The parser recurses once per level of branches and formats bad values with ``repr``; Django's
``JSONField`` check serialises with ``json.dumps``. All three recurse, and ``repr`` refuses an
integer of more than 4,300 digits: :func:`lists.jsonguard.inspect` walks the value first,
without recursion, so none of them ever sees a value that would make it fail.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from lists import jsonguard

from .nodes import MAX_JSON_DEPTH, CriteriaError, located


def check_json(data: object) -> None:
    """Raise :class:`CriteriaError` unless ``data`` is plain JSON the parser can safely walk:
    nested at most ``MAX_JSON_DEPTH`` deep, numbers of at most 100 digits, text storable."""
    problem = jsonguard.inspect(data, max_depth=MAX_JSON_DEPTH)
    if problem is None:
        return
    group, position, subject, followed = place_of(data, problem.path)
    message = problem.message
    if problem.too_deep:
        # Named at the group it starts from, not by a label of 30 numbers.
        group, position, subject = group[:1], None, None
    elif position is not None and followed < len(problem.path):
        inner = jsonguard.json_path(problem.path[followed:]).removeprefix("$").removeprefix(".")
        message = _("%(key)s: %(problem)s") % {"key": inner, "problem": message}
    raise CriteriaError(located(group, position, subject, message))


def place_of(data: Any, path: tuple[str | int, ...]) -> tuple[tuple[int, ...], int | None, str | None, int]:
    """Where ``path`` leads, as far as it follows ``filterBranches`` and ``filters``: the group
    path, the filter's position and property, and how many keys of ``path`` that used."""
    group: list[int] = []
    node = data
    followed = 0
    while followed + 1 < len(path) and isinstance(node, dict):
        key, item = path[followed], path[followed + 1]
        children = node.get(key) if key in ("filterBranches", "filters") else None
        if not isinstance(children, list) or not isinstance(item, int) or item >= len(children):
            break
        followed += 2
        if key == "filters":
            name = children[item].get("property") if isinstance(children[item], dict) else None
            subject = (name if len(name) <= 60 else name[:57] + "...") if isinstance(name, str) and name else None
            return tuple(group), item + 1, subject, followed
        group.append(item + 1)
        node = children[item]
    return tuple(group), None, None, followed
