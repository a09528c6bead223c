"""Who relies on a list, declared by the layers above ``lists``.

``lists`` is the lowest layer: it must not name the apps built on it. Yet the lists page badges
the Salesforce inclusion list, and deleting it must be refused with a reason a person can act
on. So an app that holds a list (``integration``'s ``SyncSettings.inclusion_list``) registers a
``ListUse`` from its ``AppConfig.ready()``, and ``lists`` asks the registry (dependency
inversion, as Django's own ``admin.site.register``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef

from lists.models import ContactList


@dataclass(frozen=True)
class ListUse:
    """A model whose foreign key ``field`` to ``ContactList`` puts the list to use."""

    key: str  # stable, for CSS classes and annotations: ``list-badge-<key>``
    model: type[models.Model]
    field: str
    badge: Any  # a (lazy) label shown beside the list's name
    delete_refusal: Any  # a (lazy) message with ``%(name)s``: why the list cannot be deleted

    @property
    def annotation(self) -> str:
        return f"used_as_{self.key}"

    def rows_using(self, contact_list_id: Any) -> models.QuerySet:
        return self.model._default_manager.filter(**{f"{self.field}_id": contact_list_id})


_USES: dict[str, ListUse] = {}


def list_use_register(use: ListUse) -> None:
    """Declare a use (idempotent: ``ready()`` may run more than once in tests)."""
    _USES[use.key] = use


def list_uses() -> tuple[ListUse, ...]:
    return tuple(_USES.values())


def list_uses_annotate(queryset: models.QuerySet[ContactList]) -> models.QuerySet[ContactList]:
    """``used_as_<key>`` booleans on each list: one subquery per use, not a query per row."""
    return queryset.annotate(**{use.annotation: Exists(use.rows_using(OuterRef("pk"))) for use in list_uses()})


def uses_of(contact_list: ContactList) -> list[ListUse]:
    """The uses holding this list now (read from the annotation when the row carries it)."""
    found = []
    for use in list_uses():
        annotated = getattr(contact_list, use.annotation, None)
        if annotated if annotated is not None else use.rows_using(contact_list.pk).exists():
            found.append(use)
    return found


def use_protecting(objects: Any) -> ListUse | None:
    """The registered use among a ``ProtectedError``'s ``protected_objects``, if any."""
    for use in list_uses():
        if any(isinstance(obj, use.model) for obj in objects):
            return use
    return None
