"""Writing Salesforce's values to HubSpot contacts: the HubSpot half of a field plan, for the push
and the Salesforce pull alike.

One batch update per 100 contacts; a contact HubSpot refuses (an email another contact has, an
invalid value) is its own failure, filed under its true category, and never blocks the others
(the client splits a refused batch). What HubSpot answers is stored locally at once, so the next
HubSpot pull does not take our own write for a HubSpot edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from integration.clients.base import ClientError
from integration.clients.hubspot import category_for_status
from lists.models import Contact
from sync.engine.errors import hubspot_error_category
from sync.engine.fields import ContactPlan
from sync.engine.hubspot_pull import contacts_upsert_from_hubspot
from sync.models import SyncRecord, SyncRun

BATCH = 100  # HubSpot's batch endpoints take 100 inputs

# (contact, plan, Salesforce object, Salesforce id)
Update = tuple[Contact, ContactPlan, str, str]


def hubspot_updates_apply(client: Any, run: SyncRun, updates: Sequence[Update]) -> set[int]:
    """Apply each plan's ``to_hubspot`` values; log one record per contact. Returns the ids of
    the contacts HubSpot refused (their bases for those fields must not move)."""
    failed: set[int] = set()
    records: list[SyncRecord] = []
    for start in range(0, len(updates), BATCH):
        chunk = [u for u in updates[start : start + BATCH] if u[1].to_hubspot]
        if not chunk:
            continue
        try:
            result = client.batch_update(
                [{"id": contact.hubspot_id, "properties": plan.to_hubspot} for contact, plan, _o, _i in chunk]
            )
        except ClientError as exc:
            failed.update(contact.pk for contact, *_rest in chunk)
            category = str(category_for_status(exc.status))
            records += [_record(run, u, SyncRecord.Action.FAILED, category=category, exc=exc) for u in chunk]
            continue
        done = {str(c.id) for c in result.contacts}
        errors = _errors_by_id(result.errors)
        for update in chunk:
            contact = update[0]
            if contact.hubspot_id in done:
                records.append(_record(run, update, SyncRecord.Action.UPDATED))
                continue
            failed.add(contact.pk)
            error = errors.get(contact.hubspot_id, {})
            records.append(
                _record(
                    run,
                    update,
                    SyncRecord.Action.FAILED,
                    category=hubspot_error_category(error),
                    error_code=str(error.get("code") or error.get("category") or "")[:80],
                    message=str(error.get("message") or _("HubSpot did not update this contact.")),
                )
            )
        if result.contacts:
            # Our own write, stored now (what we wrote, cleared values too, over what HubSpot
            # answered): not queued again as a HubSpot change.
            written = {contact.hubspot_id: plan.to_hubspot for contact, plan, _o, _i in chunk}
            for answer in result.contacts:
                answer.properties = {**(answer.properties or {}), **written.get(str(answer.id), {})}
            contacts_upsert_from_hubspot(result.contacts, queue_changes=False, partial=True)
    SyncRecord.objects.bulk_create(records, batch_size=500)
    return failed


def _errors_by_id(errors: Sequence[dict]) -> dict[str, dict]:
    return {str(error["id"]): error for error in errors if error.get("id")}


def _record(
    run: SyncRun, update: Update, action: str, *, category: str = "", exc: Exception | None = None, **fields: Any
) -> SyncRecord:
    contact, plan, salesforce_object, salesforce_id = update
    before = {k: (contact.raw_properties or {}).get(k) for k in plan.to_hubspot}
    if exc is not None:
        fields.setdefault("error_code", (getattr(exc, "code", "") or type(exc).__name__)[:80])
        fields.setdefault("message", str(exc))
    return SyncRecord.for_contact(
        run,
        contact,
        SyncRecord.Direction.TO_HUBSPOT,
        action,
        salesforce_object=salesforce_object,
        salesforce_id=salesforce_id,
        category=category,
        fields=sorted(plan.to_hubspot),
        payload_before=before,
        payload_after=dict(plan.to_hubspot),
        conflicts=[c for c in plan.conflicts if c["property"] in plan.to_hubspot] or None,
        **fields,
    )
