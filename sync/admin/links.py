"""Links to Salesforce records: the org's Lightning URL of a record, and Salesforce's case-safe ids.

A link is only ever built on a vetted ``https`` instance URL (:mod:`integration.endpoints`): the
instance URL is stored from a token endpoint's answer, and an ``href`` of ``javascript:`` or of
someone else's site must never reach a page.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings

from integration import endpoints
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
    """The record's Lightning page, or "" when ``instance_url`` is not an https URL."""
    if not endpoints.is_https(instance_url):
        return ""
    return f"{instance_url.rstrip('/')}/lightning/r/{quote(sobject, safe='')}/{quote(record_id, safe='')}/view"


def _link_base(url: str, *, allow_custom: bool, sandbox: str) -> bool:
    if not endpoints.is_https(url):
        return False
    if sandbox and endpoints.same_url(url, sandbox):
        return True
    return endpoints.is_vetted(url, service=endpoints.SALESFORCE, allow_custom=allow_custom)


def salesforce_instance_url() -> str:
    """The instance URL record links are built on: the stored one when it is a vetted https URL,
    else the built-in sandbox's (when in use), else "" (no links)."""
    row = (
        SalesforceConnection.objects.filter(pk=1).values("environment", "instance_url", "allow_custom_endpoint").first()
        or {}
    )
    sandbox = getattr(settings, "SANDBOX_SALESFORCE_URL", "")
    url = row.get("instance_url") or ""
    if url and _link_base(url, allow_custom=row.get("allow_custom_endpoint", False), sandbox=sandbox):
        return url
    if not row or row.get("environment") == SalesforceConnection.Environment.SANDBOX_EMULATOR:
        return sandbox if endpoints.is_https(sandbox) else ""
    return ""
