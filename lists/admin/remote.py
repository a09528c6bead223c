"""What the list page shows about HubSpot: where the list lives, where its members come from,
and the Publish button (its view is the layer above's, found through ``lists.remote``)."""

from __future__ import annotations

import json
from typing import Any

from django.urls import NoReverseMatch, reverse

from lists.models import ContactList
from lists.remote import remote_lists


def hubspot_context(contact_list: ContactList | None) -> dict[str, Any]:
    if contact_list is None:
        return {}
    remote = remote_lists()
    publish_url = ""
    if remote is not None and contact_list.evaluated_here and not contact_list.is_mirrored:
        try:
            publish_url = reverse(remote.publish_url_name, kwargs={"pk": contact_list.pk})
        except NoReverseMatch:
            publish_url = ""
    definition = contact_list.hubspot_filter_branch
    return {
        "mirrored": contact_list.is_mirrored,
        "published": contact_list.hubspot_published,
        "list_id": contact_list.hubspot_list_id,
        "deleted": contact_list.hubspot_deleted_at,
        "from_hubspot": contact_list.membership_source == ContactList.MembershipSource.HUBSPOT,
        "type": contact_list.get_hubspot_processing_type_display() if contact_list.hubspot_processing_type else "",
        "definition": json.dumps(definition, indent=2, ensure_ascii=False) if definition else "",
        "link": remote.list_url(contact_list) if remote is not None and contact_list.hubspot_list_id else "",
        "publish_url": publish_url,
    }
