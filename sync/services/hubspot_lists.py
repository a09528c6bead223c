"""HubSpot's own lists: mirror them (``hubspot_lists_pull``), and publish a list made here to
HubSpot, keeping its definition there in step with edits made here."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from integration.clients.base import ClientError
from integration.clients.hubspot import get_hubspot_client
from integration.failures import failure_report
from integration.models import HubSpotConnection, SettingChange
from lists.models import ContactList
from lists.services.mirror import UnmappedList, criteria_to_hubspot, hubspot_list_ids
from sync.engine.hubspot_lists import HubSpotListsPull, ListsPullResult
from sync.models import SyncRun
from sync.services.clients import RunClients
from sync.services.cycle import hubspot_read
from sync.services.runs import Publisher

logger = logging.getLogger(__name__)


def hubspot_lists_pull(*, trigger: str = SyncRun.Trigger.COMMAND) -> tuple[SyncRun, ListsPullResult]:
    """Mirror every HubSpot contact list and its membership now (a run counts its API calls),
    then queue the inclusion list's new members, as the cycle does."""

    def pull(clients: RunClients, publisher: Publisher) -> ListsPullResult:
        return HubSpotListsPull(client=clients.hubspot, on_list=lambda n: publisher.publish()).run()

    return hubspot_read(trigger=trigger, phase="hubspot_lists", work=pull)


def _hubspot_criteria(contact_list: ContactList) -> dict[str, Any]:
    hubspot_of = {pk: hubspot_id for hubspot_id, pk in hubspot_list_ids().items()}
    try:
        return criteria_to_hubspot(contact_list.filter_branch, hubspot_of)
    except UnmappedList as exc:
        name = ContactList.objects.filter(pk=str(exc.list_id).strip() or 0).values_list("name", flat=True).first()
        raise ValidationError(
            _("“%(name)s” uses the list “%(other)s”, which is not in HubSpot: publish that list first.")
            % {"name": contact_list.name, "other": name or exc.list_id}
        )


def _refusal(exc: ClientError) -> ValidationError:
    _category, message = failure_report(exc, service="HubSpot", logger=logger, where="list publish")
    # HubSpot's own words for what it refused in the input (a name taken, a filter); the fixed
    # category text for anything else (connection, credentials), whose details are in the log.
    detail = exc.message if exc.status in (400, 409) else message
    return ValidationError(_("HubSpot refused the list: %(reason)s") % {"reason": detail})


def list_publish(*, contact_list: ContactList, actor: Any = None, client: Any = None) -> ContactList:
    """Create the list in HubSpot with its criteria and link it (``hubspot_list_id``): marketing
    sees the inclusion list in HubSpot too. Only an active list evaluated here can be published;
    publishing a published one pushes its definition again."""
    if contact_list.is_mirrored:
        raise ValidationError(_("“%(name)s” already lives in HubSpot.") % {"name": contact_list.name})
    if not contact_list.evaluated_here or not contact_list.filter_branch:
        raise ValidationError(_("Only an active list with criteria can be published to HubSpot."))
    if contact_list.hubspot_published:
        return list_definition_push(contact_list=contact_list, client=client)
    criteria = _hubspot_criteria(contact_list)
    client = client or get_hubspot_client(interactive=True)
    try:
        created = client.create_list(name=contact_list.name, filter_branch=criteria)
    except ClientError as exc:
        raise _refusal(exc) from exc
    with transaction.atomic():
        ContactList.objects.filter(pk=contact_list.pk).update(
            hubspot_list_id=str(created.get("listId") or ""),
            hubspot_published=True,
            hubspot_list_version=created.get("listVersion"),
            hubspot_filter_branch=created.get("filterBranch"),
            hubspot_processing_type="DYNAMIC",
            hubspot_processing_status=str(created.get("processingStatus") or ""),
        )
        SettingChange.objects.create(
            actor=actor if getattr(actor, "pk", None) else None,
            setting="list_published_to_hubspot",
            old_value="",
            new_value=f"{contact_list.name} → HubSpot list {created.get('listId')}",
            detail={"list": contact_list.pk, "hubspot_list_id": str(created.get("listId") or "")},
        )
    contact_list.refresh_from_db()
    return contact_list


def list_definition_push(*, contact_list: ContactList, client: Any = None) -> ContactList:
    """Send a published list's name and criteria to HubSpot (after an edit here)."""
    contact_list.refresh_from_db()
    if not contact_list.hubspot_published or not contact_list.hubspot_list_id:
        return contact_list
    client = client or RunClients().hubspot
    criteria = _hubspot_criteria(contact_list)
    try:
        updated = client.update_list_filters(contact_list.hubspot_list_id, criteria)
        if updated.get("name") != contact_list.name:
            updated = client.rename_list(contact_list.hubspot_list_id, contact_list.name) or updated
    except ClientError as exc:
        raise _refusal(exc) from exc
    ContactList.objects.filter(pk=contact_list.pk).update(
        hubspot_list_version=updated.get("listVersion"), hubspot_filter_branch=updated.get("filterBranch")
    )
    contact_list.refresh_from_db()
    return contact_list


def published_list_changed(contact_list: ContactList) -> None:
    """Registered with ``lists.remote``: an edit here reaches HubSpot by a background job."""
    async_task("sync.tasks.hubspot_list_push_task", contact_list.pk, task_name=f"hubspot-list-push-{contact_list.pk}")


def published_list_deleted(contact_list: ContactList) -> None:
    """Registered with ``lists.remote``: a published list deleted here is deleted in HubSpot
    (HubSpot keeps it restorable for a while)."""
    if contact_list.hubspot_published and contact_list.hubspot_list_id:
        async_task("sync.tasks.hubspot_list_delete_task", contact_list.hubspot_list_id)


def hubspot_list_url(contact_list: ContactList) -> str:
    """The list's page in HubSpot, when the connected portal is known (not in the sandbox)."""
    portal = HubSpotConnection.load().portal_id
    if not portal or not contact_list.hubspot_list_id:
        return ""
    return f"https://app.hubspot.com/contacts/{portal}/objectLists/{contact_list.hubspot_list_id}/filters"
