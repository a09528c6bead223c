"""Pull contacts from HubSpot into the mirror, keep list memberships current, queue sends.

First load: the list endpoint, 100 a page, checkpointing HubSpot's ``after`` cursor after each
committed page so an interrupted load resumes. Then incremental: search by ``lastmodifieddate``
ascending, 200 a page; the watermark only moves forward after the page is committed, so an
interruption loses nothing (pages are upserts: reading one twice is harmless).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integration.models import SyncSettings
from lists.models import Contact, ContactList, ContactProperty, ListMembership
from lists.normalize import normalize_properties, schema_from_properties, storable_raw
from lists.services import lists_refresh_using_properties, memberships_update_for_contacts
from sync.engine import queue
from sync.engine.payload import load_mappings, mapped_properties
from sync.models import Reason, Watermark

logger = logging.getLogger(__name__)

CLOCK_SKEW_MARGIN = timedelta(minutes=2)
DELETIONS_EVERY = timedelta(hours=1)

TYPE_MAP = {
    "string": ContactProperty.Type.STRING,
    "phone_number": ContactProperty.Type.STRING,
    "number": ContactProperty.Type.NUMBER,
    "date": ContactProperty.Type.DATE,
    "datetime": ContactProperty.Type.DATETIME,
    "enumeration": ContactProperty.Type.ENUMERATION,
    "bool": ContactProperty.Type.BOOL,
}


@dataclass
class PullResult:
    pulled: int = 0
    created: int = 0
    updated: int = 0
    queued: int = 0
    pages: int = 0
    archived: int = 0
    joined: dict[int, set[int]] = field(default_factory=dict)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_datetime(str(value))
    if parsed is None:
        try:
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def schema_refresh(client) -> dict[str, ContactProperty]:
    """Mirror HubSpot's contact property definitions; properties gone from HubSpot are archived
    (lists that still use them fail on their next refresh, naming the property)."""
    seen: set[str] = set()
    existing = {p.name: p for p in ContactProperty.objects.all()}
    existing_types = {name: (p.type, p.field_type) for name, p in existing.items()}
    to_create, to_update = [], []
    for item in client.get_properties():
        name = _get(item, "name")
        if not name:
            continue
        seen.add(name)
        options = [
            {"label": _get(o, "label", ""), "value": _get(o, "value", ""), "hidden": bool(_get(o, "hidden", False))}
            for o in (_get(item, "options") or [])
        ]
        values = {
            "label": _get(item, "label", "") or name,
            "type": TYPE_MAP.get(_get(item, "type", "string"), ContactProperty.Type.STRING),
            "field_type": _get(item, "field_type", None) or _get(item, "fieldType", "") or "",
            "options": options,
            "group_name": _get(item, "group_name", None) or _get(item, "groupName", "") or "",
            "hidden": bool(_get(item, "hidden", False)),
            "calculated": bool(_get(item, "calculated", False)),
            "archived": bool(_get(item, "archived", False)),
        }
        prop = existing.get(name)
        if prop is None:
            to_create.append(ContactProperty(name=name, **values))
        elif any(getattr(prop, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(prop, k, v)
            to_update.append(prop)
    retyped = [
        p.name for p in to_update if (existing_types.get(p.name) or (p.type, p.field_type)) != (p.type, p.field_type)
    ]
    with transaction.atomic():
        ContactProperty.objects.bulk_create(to_create, batch_size=500)
        if to_update:
            ContactProperty.objects.bulk_update(to_update, list(values), batch_size=500)
        gone = list(
            ContactProperty.objects.exclude(name__in=seen).filter(archived=False).values_list("name", flat=True)
        )
        ContactProperty.objects.filter(name__in=gone).update(archived=True)
    schema = {p.name: p for p in ContactProperty.objects.filter(archived=False)}
    if retyped:
        _renormalise(retyped, schema)
    changed = {*gone, *retyped, *(p.name for p in to_update)}
    if changed:
        # Lists using a property HubSpot deleted turn FAILED, naming it (gating nobody in);
        # lists using a changed one are recomputed with its new definition.
        lists_refresh_using_properties(names=changed)
    return schema


def _renormalise(names: list[str], schema: dict[str, ContactProperty]) -> None:
    """A property changed type in HubSpot: compute its stored typed values again."""
    specs = schema_from_properties(schema.values())
    batch: list[Contact] = []
    contacts = Contact.objects.filter(raw_properties__has_any_keys=names).only("id", "raw_properties")
    for contact in contacts.iterator(chunk_size=2000):
        contact.properties = normalize_properties(contact.raw_properties, specs)
        batch.append(contact)
        if len(batch) >= 2000:
            Contact.objects.bulk_update(batch, ["properties"])
            batch = []
    if batch:
        Contact.objects.bulk_update(batch, ["properties"])


class HubSpotPull:
    def __init__(self, *, client, on_page: Callable[[PullResult], None] | None = None) -> None:
        self.client = client
        self.on_page = on_page
        self.result = PullResult()

    def run(self) -> PullResult:
        properties = schema_refresh(self.client)
        self.schema = schema_from_properties(properties.values())
        self.property_names = sorted(properties)
        self.mapped = mapped_properties(load_mappings())
        mark, _created = Watermark.objects.get_or_create(source=Watermark.Source.HUBSPOT_CONTACTS)
        if mark.value is None:
            self._first_load(mark)
        else:
            self._incremental(mark)
            self._deletions()
        return self.result

    def _deletions(self) -> None:
        """Contacts deleted (or merged away) in HubSpot without a webhook telling us: the search
        never returns them, so read HubSpot's archived contacts now and then and let them go
        (they leave every list and stop syncing)."""
        mark, _created = Watermark.objects.get_or_create(source=Watermark.Source.HUBSPOT_ARCHIVED)
        now = timezone.now()
        if mark.value and now - mark.value < DELETIONS_EVERY:
            return
        for page in self.client.iter_contacts(["email"], archived=True):
            gone = list(
                Contact.objects.filter(hubspot_id__in=[str(c.id) for c in page.contacts], archived=False).values_list(
                    "pk", flat=True
                )
            )
            if gone:
                with transaction.atomic():
                    Contact.objects.filter(pk__in=gone).update(archived=True, updated_at=now)
                    memberships_update_for_contacts(contact_ids=gone)
                self.result.archived += len(gone)
        mark.value = now
        mark.save(update_fields=["value", "updated_at"])

    def _first_load(self, mark: Watermark) -> None:
        state = json.loads(mark.cursor) if mark.cursor.startswith("{") else {}
        # Changes made while the load runs must be picked up by the first incremental pull:
        # it starts from the load's start (less a margin for clock skew), not from the newest
        # change the load happened to see.
        started = state.get("started") or (timezone.now() - CLOCK_SKEW_MARGIN).isoformat()
        for page in self.client.iter_contacts(self.property_names, after=state.get("after") or None):
            self._store(list(page.contacts))
            # Checkpoint: an interrupted load resumes from the next page.
            mark.cursor = json.dumps({"after": _get(page, "after", None) or "", "started": started})
            mark.save(update_fields=["cursor", "updated_at"])
        mark.cursor = ""
        mark.value = _as_datetime(started)
        mark.save(update_fields=["cursor", "value", "updated_at"])

    def _incremental(self, mark: Watermark) -> None:
        for page in self.client.search_modified_since(mark.value, self.property_names):
            page_newest = self._store(list(page.contacts))
            if page_newest and page_newest > mark.value:
                mark.value = page_newest
                mark.save(update_fields=["value", "updated_at"])

    def _store(self, results: list[Any], *, queue_changes: bool = True, partial: bool = False) -> datetime | None:
        """Upsert one page, update memberships for it, queue what must be sent. One transaction."""
        if not results:
            return None
        newest: datetime | None = None
        incoming: dict[str, dict] = {}
        for item in results:
            hubspot_id = str(_get(item, "id"))
            raw = storable_raw(_get(item, "properties") or {})
            updated = _as_datetime(
                _get(item, "updated_at", None) or _get(item, "updatedAt", None) or raw.get("lastmodifieddate")
            )
            created = _as_datetime(
                _get(item, "created_at", None) or _get(item, "createdAt", None) or raw.get("createdate")
            )
            if updated and (newest is None or updated > newest):
                newest = updated
            incoming[hubspot_id] = {
                "raw": raw,
                "updated": updated,
                "created": created,
                "archived": bool(_get(item, "archived", False)),
            }
        with transaction.atomic():
            existing = {c.hubspot_id: c for c in Contact.objects.filter(hubspot_id__in=list(incoming))}
            to_create, to_update, changed_mapped = [], [], set()
            for hubspot_id, data in incoming.items():
                raw = data["raw"]
                contact = existing.get(hubspot_id)
                if (
                    contact is not None
                    and contact.hubspot_updated_at
                    and data["updated"]
                    and data["updated"] <= contact.hubspot_updated_at
                    and data["archived"] == contact.archived
                ):
                    continue  # the version we hold, or an older one (pages and pulls overlap)
                if contact is None:
                    contact = Contact(hubspot_id=hubspot_id)
                    to_create.append(contact)
                else:
                    old = contact.raw_properties or {}
                    if any((old.get(p) or "") != (raw.get(p) or "") for p in self.mapped if p in raw or p in old):
                        changed_mapped.add(hubspot_id)
                    to_update.append(contact)
                if partial and contact.pk:
                    # An answer carrying only the properties written: the others are as stored.
                    raw = {**(contact.raw_properties or {}), **raw}
                contact.raw_properties = raw
                contact.properties = normalize_properties(raw, self.schema)
                contact.email = (raw.get("email") or "").strip()[:254]
                contact.firstname = (raw.get("firstname") or "")[:255]
                contact.lastname = (raw.get("lastname") or "")[:255]
                contact.hubspot_updated_at = data["updated"]
                contact.hubspot_created_at = data["created"] or contact.hubspot_created_at
                contact.archived = data["archived"]
            Contact.objects.bulk_create(to_create, batch_size=500)
            now = timezone.now()
            for contact in to_update:
                contact.updated_at = now  # bulk_update does not apply auto_now
            if to_update:
                Contact.objects.bulk_update(
                    to_update,
                    [
                        "raw_properties",
                        "properties",
                        "email",
                        "firstname",
                        "lastname",
                        "hubspot_updated_at",
                        "hubspot_created_at",
                        "archived",
                        "updated_at",
                    ],
                    batch_size=500,
                )
            ids = dict(Contact.objects.filter(hubspot_id__in=list(incoming)).values_list("hubspot_id", "pk"))
            memberships_update_for_contacts(contact_ids=list(ids.values()))
            queued = self._queue_changed([ids[h] for h in changed_mapped if h in ids]) if queue_changes else 0
        self.result.pulled += len(incoming)
        self.result.created += len(to_create)
        self.result.updated += len(to_update)
        self.result.queued += queued
        self.result.pages += 1
        if self.on_page:
            self.on_page(self.result)
        return newest

    def _queue_changed(self, contact_ids: list[int]) -> int:
        """Members of the inclusion list whose mapped properties changed are queued; joins are
        queued from the membership changes by the cycle (sync.services.inclusion_joins_enqueue)."""
        if not contact_ids:
            return 0
        inclusion_id = SyncSettings.load().inclusion_list_id
        if inclusion_id is None:
            return 0
        if not ContactList.objects.filter(
            pk=inclusion_id, processing_status=ContactList.ProcessingStatus.COMPLETE
        ).exists():
            return 0
        members = list(
            ListMembership.objects.filter(contact_list_id=inclusion_id, contact_id__in=contact_ids).values_list(
                "contact_id", flat=True
            )
        )
        return queue.enqueue(contact_ids=members, reason=Reason.PROPERTY_CHANGED)


def contacts_upsert_from_hubspot(
    results: Iterable[Any], *, client=None, queue_changes: bool = True, partial: bool = False
) -> list[int]:
    """Store contacts HubSpot returned (e.g. after we created or updated them), without a full
    pull. ``queue_changes`` False: our own write, not a HubSpot edit to send to Salesforce;
    ``partial``: the answers carry only the properties written."""
    puller = HubSpotPull(client=client)
    properties = {p.name: p for p in ContactProperty.objects.filter(archived=False)}
    puller.schema = schema_from_properties(properties.values())
    puller.mapped = mapped_properties(load_mappings())
    results = list(results)
    puller._store(results, queue_changes=queue_changes, partial=partial)
    return list(
        Contact.objects.filter(hubspot_id__in=[str(_get(r, "id")) for r in results]).values_list("pk", flat=True)
    )
