"""What happens to a list published to HubSpot when it changes here, declared by the layer above.

``lists`` cannot name the HubSpot client (it is the lowest layer), yet a list published to
HubSpot must follow its edits there. ``sync`` registers the callbacks from its
``AppConfig.ready()`` (as ``lists.usage``); the list services call them once the change commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from lists.models import ContactList


@dataclass(frozen=True)
class RemoteLists:
    changed: Callable[[ContactList], None]  # name or criteria of a published list changed here
    deleted: Callable[[ContactList], None]  # a published list was deleted here
    publish_url_name: str  # the view publishing a list (POST, the list's pk as ``pk``)
    list_url: Callable[[ContactList], str]  # the list's page in HubSpot ("" when unknown)


_REMOTE: list[RemoteLists] = []


def remote_register(remote: RemoteLists) -> None:
    _REMOTE[:] = [remote]


def remote_lists() -> RemoteLists | None:
    return _REMOTE[0] if _REMOTE else None


def published_list_changed(contact_list: ContactList) -> None:
    remote = remote_lists()
    if remote is not None and contact_list.hubspot_published:
        transaction.on_commit(lambda: remote.changed(contact_list))


def published_list_deleted(contact_list: ContactList) -> None:
    remote = remote_lists()
    if remote is not None and contact_list.hubspot_published:
        transaction.on_commit(lambda: remote.deleted(contact_list))
