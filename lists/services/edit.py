"""Create, rename, re-define and delete lists.

A new or re-defined active list is left PROCESSING and its refresh queued once the transaction
commits (``lists.tasks.list_refresh_task``); the refresh itself is :mod:`lists.services.refresh`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.deletion import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from lists.models import ContactList
from lists.remote import published_list_changed, published_list_deleted
from lists.selectors import lists_referencing
from lists.usage import use_protecting

logger = logging.getLogger(__name__)

Status = ContactList.ProcessingStatus


def _enqueue_refresh(contact_list: ContactList) -> None:
    list_id, version = contact_list.pk, contact_list.version

    def enqueue() -> None:
        async_task(
            "lists.tasks.list_refresh_task",
            list_id,
            version,
            task_name=f"list_refresh:{list_id}:v{version}",
            group="lists",
        )

    transaction.on_commit(enqueue)


def list_create(*, name: str, processing_type: str, filter_branch: dict | None, actor: Any = None) -> ContactList:
    """Create a list. An active list starts PROCESSING and its refresh is queued."""
    is_active = processing_type == ContactList.ProcessingType.DYNAMIC
    contact_list = ContactList(
        name=name,
        processing_type=processing_type,
        filter_branch=filter_branch if is_active else filter_branch or None,
        processing_status=Status.PROCESSING if is_active else Status.COMPLETE,
        size=0,
        progress=0,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    if not is_active:
        contact_list.processed_at = timezone.now()
        contact_list.progress = 100
    contact_list.full_clean()
    with transaction.atomic():
        contact_list.save()
        if is_active:
            _enqueue_refresh(contact_list)
    logger.info("list %s created by %s", contact_list.pk, actor)
    return contact_list


def list_update(
    *,
    contact_list: ContactList,
    name: str | None = None,
    filter_branch: dict | None = None,
    actor: Any = None,
) -> ContactList:
    """Rename and/or change the criteria. New criteria bump the version and queue a refresh.

    Invalid criteria raise ``ValidationError``; nothing is stored and the instance keeps its
    previous definition.
    """
    with transaction.atomic():
        current = ContactList.objects.select_for_update().get(pk=contact_list.pk)
        if current.is_mirrored:
            raise ValidationError(
                _("“%(name)s” lives in HubSpot: change it there, and the next sync brings the change here.")
                % {"name": current.name}
            )
        name_changed = name is not None and name != current.name
        # Saving the criteria of a failed list again retries it (the property it missed may be back).
        criteria_changed = filter_branch is not None and (
            filter_branch != current.filter_branch or current.processing_status == Status.FAILED
        )
        if name is not None:
            current.name = name
        # Validate on the locked copy: a refusal leaves both the row and the caller's object alone.
        if filter_branch is not None:
            current.filter_branch = filter_branch
            current.full_clean()
        else:
            # A rename alone must work even when the stored criteria no longer validate (a
            # property deleted in HubSpot): the list is FAILED, and renaming it is harmless.
            current.clean_fields()
            current.validate_constraints()
        if criteria_changed:
            current.version += 1
            current.processing_status = Status.PROCESSING
            current.progress = 0
            current.error = ""
        current.save()
        if criteria_changed:
            _enqueue_refresh(current)
        if criteria_changed or name_changed:
            published_list_changed(current)
    _copy_state(current, contact_list)
    logger.info("list %s updated by %s (criteria changed: %s)", contact_list.pk, actor, criteria_changed)
    return contact_list


def list_rename(*, contact_list: ContactList, name: str, actor: Any = None) -> ContactList:
    return list_update(contact_list=contact_list, name=name, actor=actor)


def list_delete(*, contact_list: ContactList) -> None:
    """Delete a list, unless the sync uses it as its inclusion list or another list uses it."""
    users = lists_referencing(contact_list=contact_list)
    if users:
        raise ValidationError(
            _(
                "“%(name)s” cannot be deleted: the list(s) %(users)s use it in their criteria. Remove those filters first."
            )
            % {"name": contact_list.name, "users": ", ".join(f"“{u.name}”" for u in users)}
        )
    try:
        with transaction.atomic():
            published_list_deleted(contact_list)
            contact_list.delete()
    except ProtectedError as exc:
        use = use_protecting(exc.protected_objects)
        if use is not None:
            raise ValidationError(str(use.delete_refusal) % {"name": contact_list.name})
        raise ValidationError(
            _("“%(name)s” cannot be deleted: it is still used by %(users)s.")
            % {"name": contact_list.name, "users": ", ".join(str(obj) for obj in exc.protected_objects)}
        )


def _copy_state(source: ContactList, target: ContactList) -> None:
    if source is target:
        return
    for f in ContactList._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
