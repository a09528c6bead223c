"""Which URLs a connection's secrets may be sent to: the one place that vets an endpoint.

A connection's client secret, private key, password and tokens go to its login, instance or
base URL. Outside the built-in sandbox those URLs must be ``https`` on the service's own
documented domains:

============  ====================================================================================
Salesforce    a subdomain of ``salesforce.com`` (``login.salesforce.com``, ``test.salesforce.com``,
              My Domain ``<name>.my.salesforce.com`` and its ``.sandbox.``, ``.develop.``,
              ``.scratch.``... partitions, legacy instances ``na1.salesforce.com``), of
              ``force.com`` (``<name>.lightning.force.com``) or of ``salesforce-setup.com``.
HubSpot       ``api.hubapi.com``, ``api.hubspot.com`` and the regional ``api-<region>.hubapi.com``
              hosts (``api-na1.hubapi.com``, ``api-eu1.hubapi.com``).
============  ====================================================================================

Sources: Salesforce, "Call Salesforce URLs Within a Package" (My Domain URL formats, partitioned
domains; https://developer.salesforce.com/docs/platform/pkg2-dev/guide/packaging-instanceless-url.html),
"DomainCreator Class" (``MyDomainName.my.salesforce.com``, ``MyDomainName.lightning.force.com``;
https://developer.salesforce.com/docs/platform/apex-ref/references/apex-ref/apex-class-system-domaincreator.html),
"DomainType Enum" (``SETUP_DOMAIN``, served on salesforce-setup.com;
https://developer.salesforce.com/docs/platform/apex-ref/references/apex-ref/apex-enum-system-domaintype.html);
HubSpot, "Routing API traffic" (``api.hubapi.com`` and the per-data-center ``api-na1``/``api-eu1``
hosts; https://product.hubspot.com/blog/routing-api-traffic). Government clouds (``.mil``) are not
in the documentation we could cite: such an org uses the override below.

A connection's ``allow_custom_endpoint`` (off by default, audited) lets a private test server
through: ``http`` or ``https`` on any host. Even then a URL with another scheme (``javascript:``,
``file:``...), with a user name or password in it, or with a query or fragment is refused.

The built-in sandbox is not vetted here: its URLs come from the deployment's settings
(``SANDBOX_SALESFORCE_URL``, ``SANDBOX_HUBSPOT_URL``), never from a form.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SALESFORCE = "salesforce"
HUBSPOT = "hubspot"

SALESFORCE_DOMAINS = ("salesforce.com", "force.com", "salesforce-setup.com")
HUBSPOT_HOSTS = re.compile(r"api(-[a-z]{2,4}[0-9]{1,2})?\.hubapi\.com|api\.hubspot\.com")
# A host name as DNS spells it (lower case after urlsplit), or an IP literal.
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|[0-9a-f]*:[0-9a-f:.]*")
_CREDENTIALS_IN_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]*@")

SERVICE_NAMES = {SALESFORCE: "Salesforce", HUBSPOT: "HubSpot"}


def _is_service_host(host: str, service: str) -> bool:
    if service == SALESFORCE:
        return any(host.endswith("." + domain) for domain in SALESFORCE_DOMAINS)
    return HUBSPOT_HOSTS.fullmatch(host) is not None


def url_problem(url: str, *, service: str, allow_custom: bool = False) -> str | None:
    """Why ``url`` may not receive this service's secrets, or None when it may (or is blank:
    the deployment's own setting applies then)."""
    if not url:
        return None
    if url != url.strip() or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return str(_("The URL contains spaces or control characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return str(_("This is not a valid URL."))
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or (scheme == "http" and not allow_custom):
        return str(_("The URL must start with https://."))
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return str(_("The URL must not contain a user name or password: enter credentials in their own fields."))
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return str(_("The URL must not contain a query (?) or a fragment (#)."))
    host = parts.hostname or ""
    if not host or not _HOST.fullmatch(host) or (port is not None and not 0 < port < 65536):
        return str(_("The URL has no valid host name."))
    if not allow_custom and not _is_service_host(host, service):
        if service == SALESFORCE:
            return str(
                _(
                    "%(host)s is not a Salesforce domain: use login.salesforce.com, test.salesforce.com or your "
                    "My Domain (…my.salesforce.com), or allow a custom endpoint."
                )
                % {"host": host}
            )
        return str(
            _("%(host)s is not a HubSpot API host: use api.hubapi.com (or your region's), or allow a custom endpoint.")
            % {"host": host}
        )
    return None


def vet_url(url: str, *, service: str, allow_custom: bool = False, field: str | None = None) -> str:
    """``url`` without a trailing slash, or ``ValidationError`` (on ``field`` when named)."""
    problem = url_problem(url, service=service, allow_custom=allow_custom)
    if problem:
        raise ValidationError({field: problem} if field else problem, code="endpoint")
    return url.rstrip("/")


def is_vetted(url: str, *, service: str, allow_custom: bool = False) -> bool:
    return bool(url) and url_problem(url, service=service, allow_custom=allow_custom) is None


def same_url(a: str, b: str) -> bool:
    """The same endpoint: equal once scheme and host case and a trailing slash are ignored."""

    def key(url: str) -> tuple[str, str, str]:
        try:
            parts = urlsplit((url or "").strip())
            return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/")
        except ValueError:
            return "", url, ""

    return key(a) == key(b)


def is_https(url: str) -> bool:
    try:
        return urlsplit(url).scheme.lower() == "https" and bool(urlsplit(url).hostname)
    except ValueError:
        return False


def redact_url_credentials(text: str) -> str:
    """``http://user:pass@host`` → ``http://***@host``, anywhere in ``text``."""
    return _CREDENTIALS_IN_URL.sub(r"\1***@", text) if text else text
