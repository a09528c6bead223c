"""Why the integration is not syncing (the health page's banner and the alerts), with what to do."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from integration.models import ConnectionStatus, HubSpotConnection, SalesforceConnection, SyncSettings
from sync.selectors.usage import ApiUsage


@dataclass
class Suspension:
    system: str
    kind: str  # "auth", "api_disabled", "limit", "other"
    title: str
    reason: str
    advice: str
    link: str = ""


_AUTH = re.compile(r"INVALID_SESSION|INVALID_AUTH|invalid_grant|auth|401|403|expired|token", re.I)
_DISABLED = re.compile(r"API_DISABLED|API is not enabled|disabled", re.I)
_LIMIT = re.compile(r"REQUEST_LIMIT|limit|quota|429|allocation", re.I)


def _kind(reason: str) -> str:
    # Order matters: "API_DISABLED_FOR_ORG" also reads as an authorisation problem.
    if _DISABLED.search(reason):
        return "api_disabled"
    if _LIMIT.search(reason):
        return "limit"
    if _AUTH.search(reason):
        return "auth"
    return "other"


ADVICE = {
    "auth": _(
        "The credentials were refused or have expired. Reconnect on the connected app's settings page; "
        "queued contacts are kept and sync when the connection works again."
    ),
    "api_disabled": _(
        "Salesforce refuses API access for this user or org. Ask your Salesforce administrator to grant the "
        "“API Enabled” permission to the integration user's profile (API access also needs an edition that "
        "includes it), then reconnect."
    ),
    "limit": _(
        "The daily API allocation is used up. Syncs resume on their own as the 24-hour window frees calls; "
        "to resume sooner, raise the daily allocation in the sync settings (or buy more calls from Salesforce)."
    ),
    "other": _("The integration stopped after an error. Check the connection on the connected app's settings page."),
}

TITLES = {
    "auth": _("authentication failed"),
    "api_disabled": _("API access disabled"),
    "limit": _("daily API limit reached"),
    "other": _("connection error"),
}


def connected_app_url() -> str:
    """The connected app's settings page, where a suspended connection is fixed."""
    return reverse("integration:salesforce_settings")


def suspensions(*, usage: ApiUsage | None = None) -> list[Suspension]:
    """Why the integration is not syncing, with what to do, for the health page and the alerts."""
    out: list[Suspension] = []
    settings_link = connected_app_url()
    for model, system in ((SalesforceConnection, "Salesforce"), (HubSpotConnection, "HubSpot")):
        row = model.objects.filter(pk=1).values("status", "status_reason").first()
        if not row or row["status"] not in (ConnectionStatus.SUSPENDED, ConnectionStatus.ERROR):
            continue
        kind = _kind(row["status_reason"] or "")
        out.append(
            Suspension(
                system=system,
                kind=kind,
                title=f"{system}: {TITLES[kind]}",
                reason=row["status_reason"] or "",
                advice=str(ADVICE[kind]),
                link=settings_link,
            )
        )
    if usage is not None and usage.exhausted and not any(s.kind == "limit" for s in out):
        out.append(
            Suspension(
                system="Salesforce",
                kind="limit",
                title=f"Salesforce: {TITLES['limit']}",
                reason=str(
                    _("%(used)s of %(allocation)s calls used in the last 24 hours.")
                    % {"used": usage.used_24h, "allocation": usage.allocation}
                ),
                advice=str(ADVICE["limit"]),
                link=reverse(admin_urlname(SyncSettings._meta, "changelist")),
            )
        )
    return out
