"""Reads about the connected app: the inclusion list's candidates and switch impact, the settings row,
Salesforce field types for the mappings.

Every count here is computed in the database (one aggregate query each), never by loading
memberships into Python: an inclusion list can hold hundreds of thousands of contacts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from integration.clients.salesforce import get_salesforce_client
from integration.models import ConnectionStatus, SalesforceConnection, SyncSettings
from lists.models import ContactList, ContactProperty, ListMembership

logger = logging.getLogger(__name__)

# How far back "+ Create inclusion list" looks for the list the user has just saved.
NEW_LIST_WINDOW = timedelta(hours=2)


# --------------------------------------------------------------------------------------------
# The inclusion list


def inclusion_list_choices() -> QuerySet[ContactList]:
    """The lists the "Limit syncs" dropdown offers: active lists only, by name."""
    return ContactList.objects.filter(processing_type=ContactList.ProcessingType.DYNAMIC).order_by("name", "pk")


@dataclass(frozen=True)
class SwitchImpact:
    """What choosing ``contact_list`` instead of the current inclusion list would change."""

    contact_list_id: int | None
    would_start: int
    would_stop: int


def inclusion_switch_impacts(*, current: ContactList | None) -> dict[int | None, SwitchImpact]:
    """The impact of switching from ``current`` to each active list (and to no list), keyed by id.

    One grouped query: for every active list, its member count and how many of its members are
    also in the current list. Contacts that would start syncing are the candidate's members not
    in the current list; those that would stop are the current list's members not in the candidate.
    """
    current_size = ListMembership.objects.filter(contact_list=current).count() if current else 0
    rows = ListMembership.objects.filter(contact_list__processing_type=ContactList.ProcessingType.DYNAMIC)
    if current is not None:
        in_current = ListMembership.objects.filter(contact_list=current, contact_id=OuterRef("contact_id"))
        rows = rows.annotate(shared=Exists(in_current))
        aggregates = {"total": Count("pk"), "overlap": Count("pk", filter=Q(shared=True))}
    else:
        aggregates = {"total": Count("pk")}
    impacts: dict[int | None, SwitchImpact] = {}
    for row in rows.values("contact_list_id").annotate(**aggregates).order_by():
        overlap = row.get("overlap", 0)
        impacts[row["contact_list_id"]] = SwitchImpact(
            contact_list_id=row["contact_list_id"],
            would_start=row["total"] - overlap,
            would_stop=current_size - overlap,
        )
    # Empty lists have no membership rows: everyone in the current list would stop.
    for list_id in inclusion_list_choices().values_list("pk", flat=True):
        impacts.setdefault(list_id, SwitchImpact(contact_list_id=list_id, would_start=0, would_stop=current_size))
    impacts[None] = SwitchImpact(contact_list_id=None, would_start=0, would_stop=current_size)
    return impacts


def switch_impact(*, current: ContactList | None, candidate: ContactList | None) -> SwitchImpact:
    """The impact of switching from ``current`` to ``candidate`` alone (two set differences in SQL)."""
    candidate_id = candidate.pk if candidate else None
    if candidate_id == (current.pk if current else None):
        return SwitchImpact(contact_list_id=candidate_id, would_start=0, would_stop=0)

    def members_not_in(of: ContactList | None, other: ContactList | None) -> int:
        if of is None:
            return 0
        qs = ListMembership.objects.filter(contact_list=of)
        if other is not None:
            qs = qs.exclude(
                Exists(ListMembership.objects.filter(contact_list=other, contact_id=OuterRef("contact_id")))
            )
        return qs.count()

    return SwitchImpact(
        contact_list_id=candidate_id,
        would_start=members_not_in(candidate, current),
        would_stop=members_not_in(current, candidate),
    )


def recently_created_list(*, user: Any, since: datetime | None, list_id: int | None = None) -> ContactList | None:
    """The active list the user has just created from "+ Create inclusion list", if any.

    The list editor returns to ``next`` without saying which list it saved, so the page asks
    for the user's most recent active list created after the moment the link was followed
    (``since``). An explicit ``list_id`` (if the editor ever appends one) wins.
    """
    qs = inclusion_list_choices().filter(created_by=user)
    if list_id is not None:
        return qs.filter(pk=list_id).first()
    if since is None:
        return None
    floor = max(since, timezone.now() - NEW_LIST_WINDOW)
    return qs.filter(created_at__gte=floor).order_by("-created_at", "-pk").first()


# --------------------------------------------------------------------------------------------
# The settings row


def sync_settings() -> SyncSettings:
    return SyncSettings.objects.select_related("inclusion_list").get(pk=SyncSettings.load().pk)


# --------------------------------------------------------------------------------------------
# Field types, for the field mappings


# Types of the standard Lead and Contact fields an integration maps, as Salesforce's describe
# returns them. Used when the org cannot be reached, so mappings can still be checked.
STANDARD_FIELDS: dict[str, dict[str, str]] = {
    "Lead": {
        "Salutation": "picklist",
        "FirstName": "string",
        "LastName": "string",
        "Company": "string",
        "Title": "string",
        "Email": "email",
        "Phone": "phone",
        "MobilePhone": "phone",
        "Fax": "phone",
        "Website": "url",
        "Street": "textarea",
        "City": "string",
        "State": "string",
        "PostalCode": "string",
        "Country": "string",
        "Industry": "picklist",
        "LeadSource": "picklist",
        "Status": "picklist",
        "Rating": "picklist",
        "NumberOfEmployees": "int",
        "AnnualRevenue": "currency",
        "Description": "textarea",
        "HasOptedOutOfEmail": "boolean",
        "DoNotCall": "boolean",
    },
    "Contact": {
        "Salutation": "picklist",
        "FirstName": "string",
        "LastName": "string",
        "Title": "string",
        "Department": "string",
        "Email": "email",
        "Phone": "phone",
        "MobilePhone": "phone",
        "HomePhone": "phone",
        "Fax": "phone",
        "MailingStreet": "textarea",
        "MailingCity": "string",
        "MailingState": "string",
        "MailingPostalCode": "string",
        "MailingCountry": "string",
        "LeadSource": "picklist",
        "Birthdate": "date",
        "Description": "textarea",
        "HasOptedOutOfEmail": "boolean",
        "DoNotCall": "boolean",
    },
}

# Salesforce field types that can hold each HubSpot property type. Anything can go to a text
# field (a yes/no becomes "true"/"false"); free text cannot go to a number, a date, a yes/no
# or a picklist, where Salesforce would refuse most values.
_TEXT = {"string", "textarea", "email", "phone", "url", "encryptedstring"}
COMPATIBLE_TYPES: dict[str, set[str]] = {
    ContactProperty.Type.STRING: _TEXT,
    ContactProperty.Type.NUMBER: _TEXT | {"int", "double", "currency", "percent", "long"},
    ContactProperty.Type.BOOL: _TEXT | {"boolean"},
    ContactProperty.Type.ENUMERATION: _TEXT | {"picklist", "multipicklist", "combobox"},
    ContactProperty.Type.DATE: _TEXT | {"date", "datetime"},
    ContactProperty.Type.DATETIME: _TEXT | {"datetime"},
}

# Salesforce types that are not data a contact sync writes.
NOT_MAPPABLE = {"id", "reference", "address", "location", "base64"}


def salesforce_field_types(*, salesforce_object: str, use_describe: bool = True) -> tuple[dict[str, str], bool]:
    """``({field name: Salesforce type}, from_describe)`` for Lead or Contact.

    Asks the org's describe when a client is available and answers; otherwise the static table
    of standard fields (custom fields then cannot be checked).
    """
    if use_describe and SalesforceConnection.load().status in (
        ConnectionStatus.CONNECTED,
        ConnectionStatus.SANDBOX,
    ):
        # Only a connection that worked is asked: a dead one would stall the page on timeouts.
        described = _describe_fields(salesforce_object)
        if described:
            return described, True
    return dict(STANDARD_FIELDS.get(salesforce_object, {})), False


DESCRIBE_CACHE_SECONDS = 600


def _describe_fields(salesforce_object: str) -> dict[str, str]:
    # Each describe spends an API call of the org's daily allowance: cached for a while.
    connection = SalesforceConnection.load()
    key = f"integration:describe:{connection.instance_url}:{connection.api_version}:{salesforce_object}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        client = get_salesforce_client()
        # A page waits on this: one quick try, no retries with backoff.
        client.max_retries = 0
        client.timeout = 10
        result = client.describe(salesforce_object)
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable": fall back
        logger.info("Salesforce describe of %s unavailable: %s", salesforce_object, type(exc).__name__)
        return {}
    fields = result.get("fields", []) if isinstance(result, dict) else []
    types = {
        f["name"]: f.get("type", "string")
        for f in fields
        if isinstance(f, dict) and f.get("name") and f.get("type") not in NOT_MAPPABLE
    }
    if types:
        cache.set(key, types, DESCRIBE_CACHE_SECONDS)
    return types
