"""Which URLs an alert channel may post to, on the rules of ``integration.endpoints``.

- A Slack channel posts to an incoming webhook, ``https://hooks.slack.com/services/...``
  (https://api.slack.com/messaging/webhooks: "Your webhook URL will look something like
  https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX").
- A generic webhook posts to any ``https`` URL (incident tools put their key in the path or the
  query, so a query is allowed; a fragment is never sent and is refused).
- Never a user name or password in the URL, never another scheme, never spaces.
- The channel's ``allow_custom_endpoint`` (off by default, audited) lets a private test server
  through, as a connection's does: ``http`` and any host. Nothing else relaxes the rules, not
  even DEBUG: tests deliver to their local server with that flag on.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from integration.endpoints import _HOST

SLACK_HOST = "hooks.slack.com"
SLACK = "slack"


def webhook_url_problem(url: str, *, kind: str, allow_custom: bool = False) -> str | None:
    """Why ``url`` may not receive this channel's alerts, or None when it may."""
    if not url:
        return _("Enter the webhook URL.")
    if url != url.strip() or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return _("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("This is not a valid URL.")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or (scheme == "http" and not allow_custom):
        return _("The URL must start with https://.")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return _("The URL must not contain a user name or password.")
    if parts.fragment or "#" in url:
        return _("The URL must not contain a fragment (#).")
    host = parts.hostname or ""
    if not host or not _HOST.fullmatch(host) or (port is not None and not 0 < port < 65536):
        return _("The URL has no valid host name.")
    slack_url = host == SLACK_HOST and parts.path.startswith("/services/") and port in (None, 443)
    if kind == SLACK and not allow_custom and not slack_url:
        return _(
            "A Slack incoming webhook URL starts with https://hooks.slack.com/services/ (or allow a private test server)."
        )
    return None


def masked(url: str) -> str:
    """What the admin shows of a stored webhook URL: scheme, host and the path's first part."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "…"
    first = parts.path.strip("/").split("/")[0] if parts.path.strip("/") else ""
    return f"{parts.scheme}://{parts.netloc}/{first + '/' if first else ''}…"
