"""Links to Salesforce records: the org's Lightning URL of a record, and Salesforce's case-safe ids."""

from __future__ import annotations

from django.conf import settings

from integration.models import SalesforceConnection


def salesforce_id_18(value: str) -> str:
    """Salesforce's case-safe 18-character form of a 15-character id (same record)."""
    if len(value) != 15:
        return value
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, char in enumerate(value[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix += alphabet[bits]
    return value + suffix


def salesforce_url(instance_url: str, sobject: str, record_id: str) -> str:
    return f"{instance_url.rstrip('/')}/lightning/r/{sobject}/{record_id}/view"


def salesforce_instance_url() -> str:
    row = SalesforceConnection.objects.filter(pk=1).values("environment", "instance_url").first() or {}
    if row.get("instance_url"):
        return row["instance_url"]
    if not row or row.get("environment") == SalesforceConnection.Environment.SANDBOX_EMULATOR:
        return getattr(settings, "SANDBOX_SALESFORCE_URL", "")
    return ""
