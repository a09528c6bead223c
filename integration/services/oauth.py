"""The OAuth handshakes: where to send the admin's browser, and the exchange of the code for
tokens (stored through the audited ``connection_update``).

The token endpoints are called with ``requests`` directly: they are the login handshake, not API
calls, and the API clients are built from what this stores. Their URLs are vetted first
(:mod:`integration.endpoints`), and so is the instance URL a token response names; a failure is
reported as one of the categories of :mod:`integration.failures`, never in the remote side's words.
"""

from __future__ import annotations

import logging
import re
import secrets as pysecrets
from typing import Any
from urllib.parse import urlencode, urlparse

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from integration import endpoints
from integration.clients.base import AuthError, EndpointRefused, error_for_status
from integration.failures import NOT_ENDPOINT, failure_message, failure_report
from integration.models import HubSpotConnection, SalesforceConnection
from integration.services.connections import _secret_values, connection_update, service_name

logger = logging.getLogger(__name__)

SALESFORCE_TOKEN_PATH = "/services/oauth2/token"
SALESFORCE_AUTHORIZE_PATH = "/services/oauth2/authorize"
HUBSPOT_AUTHORIZE_URL = "https://app.hubspot.com/oauth/authorize"
HUBSPOT_TOKEN_PATH = "/oauth/v1/token"
HUBSPOT_SCOPES = "crm.objects.contacts.read crm.objects.contacts.write crm.schemas.contacts.read"
TOKEN_TIMEOUT = 20


class ConnectError(Exception):
    """Connecting failed; the message is one of the fixed categories, safe to show."""


def _sandbox_url(connection: SalesforceConnection | HubSpotConnection) -> str:
    url = (
        settings.SANDBOX_SALESFORCE_URL
        if isinstance(connection, SalesforceConnection)
        else settings.SANDBOX_HUBSPOT_URL
    )
    return url.rstrip("/")


def _vetted(connection: SalesforceConnection | HubSpotConnection, url: str) -> str:
    """``url`` when this connection's secrets may go there, else ``ValidationError``. The
    built-in sandbox is only ever reached at its own URL (a deployment setting)."""
    if connection.uses_emulator:
        if not endpoints.same_url(url, _sandbox_url(connection)):
            raise ValidationError(_("The built-in sandbox answers at its own URL only."), code="endpoint")
        return _sandbox_url(connection)
    return endpoints.vet_url(url, service=connection.SERVICE, allow_custom=connection.allow_custom_endpoint)


def _login_base(connection: SalesforceConnection) -> str:
    """The connection's login URL, else the deployment's (``SALESFORCE_LOGIN_URL``), as the API
    client uses; the sandbox's own URL for the built-in sandbox. Vetted."""
    if connection.uses_emulator:
        return _sandbox_url(connection)
    return _vetted(connection, connection.login_url or settings.SALESFORCE_LOGIN_URL)


def salesforce_authorize_url(*, connection: SalesforceConnection, redirect_uri: str, state: str) -> str:
    """Where to send the admin's browser to approve the connected app (OAuth web-server flow)."""
    if not connection.client_id:
        raise ValidationError(_("Enter the connected app's consumer key first."))
    query = urlencode(
        {
            "response_type": "code",
            "client_id": connection.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": "api refresh_token",
        }
    )
    return f"{_login_base(connection)}{SALESFORCE_AUTHORIZE_PATH}?{query}"


def new_oauth_state() -> str:
    return pysecrets.token_urlsafe(24)


def _post_token(url: str, data: dict[str, str], *, session: Any, hide: list[str], service: str) -> dict[str, Any]:
    http = session or requests
    try:
        response = http.post(url, data=data, headers={"Accept": "application/json"}, timeout=TOKEN_TIMEOUT)
    except requests.RequestException as exc:
        raise ConnectError(_report(exc, service, hide)) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        code = str(body.get("error", "")) if isinstance(body, dict) else ""
        # For the log only (never shown): the service's own explanation.
        said = str(body.get("error_description", ""))[:500] if isinstance(body, dict) else ""
        if response.status_code == 200 or body is None:
            error: Exception = EndpointRefused("The token endpoint's answer is not an OAuth token response.")
        elif response.status_code in (400, 401, 403) and code:
            # OAuth's token errors (invalid_grant, invalid_client...) are a refused login.
            error = AuthError(
                f"The token endpoint refused the request: {code} {said}", status=response.status_code, code=code
            )
        else:
            error = error_for_status(response.status_code, f"HTTP {response.status_code}", code=code)
        raise ConnectError(_report(error, service, hide + [data.get("code", ""), data.get("assertion", "")]))
    return body


def _report(exc: Exception, service: str, hide: list[str]) -> str:
    return failure_report(exc, service=service, logger=logger, where="OAuth token exchange", hide=hide)[1]


def _exchange_code(
    url: str, connection: SalesforceConnection | HubSpotConnection, code: str, redirect_uri: str, session: Any
) -> dict[str, Any]:
    """The authorization-code grant of the OAuth web-server flow (the same for both services)."""
    return _post_token(
        url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": connection.client_id,
            "client_secret": connection.client_secret,
            "redirect_uri": redirect_uri,
        },
        session=session,
        hide=_secret_values(connection),
        service=service_name(connection),
    )


def _base_or_connect_error(connection: SalesforceConnection | HubSpotConnection, base: Any) -> str:
    try:
        return base(connection)
    except ValidationError as exc:
        raise ConnectError(_report(EndpointRefused(" ".join(exc.messages)), service_name(connection), [])) from None


def _store_salesforce_tokens(connection: SalesforceConnection, body: dict[str, Any], *, actor: Any) -> None:
    """Store the tokens of a token response, and the instance URL it names once vetted (nothing
    is stored when it is refused)."""
    changes: dict[str, Any] = {}
    instance_url = body.get("instance_url")
    if instance_url:
        if not isinstance(instance_url, str):
            raise ConnectError(failure_message(NOT_ENDPOINT, service="Salesforce"))
        try:
            changes["instance_url"] = _vetted(connection, instance_url)
        except ValidationError as exc:
            refused = EndpointRefused(f"The token endpoint named a refused instance URL: {' '.join(exc.messages)}")
            raise ConnectError(_report(refused, "Salesforce", _secret_values(connection))) from None
    identity = body.get("id") or ""
    # The identity URL is .../id/<org id>/<user id>.
    parts = urlparse(str(identity)).path.strip("/").split("/")
    if len(parts) >= 3 and parts[-3] == "id" and re.fullmatch(r"[A-Za-z0-9]{15,18}", parts[-2]):
        changes["org_id"] = parts[-2]
    secrets = {"access_token": str(body["access_token"])}
    if body.get("refresh_token"):
        secrets["refresh_token"] = str(body["refresh_token"])
    connection_update(connection=connection, actor=actor, changes=changes, secrets=secrets, source="token endpoint")


def salesforce_oauth_callback(
    *, connection: SalesforceConnection, code: str, redirect_uri: str, actor: Any = None, session: Any = None
) -> None:
    """Exchange the authorization code for an access token and a refresh token, then test."""
    base = _base_or_connect_error(connection, _login_base)
    body = _exchange_code(base + SALESFORCE_TOKEN_PATH, connection, code, redirect_uri, session)
    _store_salesforce_tokens(connection, body, actor=actor)


def hubspot_authorize_url(*, connection: HubSpotConnection, redirect_uri: str, state: str) -> str:
    if not connection.client_id:
        raise ValidationError(_("Enter the HubSpot app's client ID first."))
    query = urlencode(
        {"client_id": connection.client_id, "redirect_uri": redirect_uri, "scope": HUBSPOT_SCOPES, "state": state}
    )
    return f"{HUBSPOT_AUTHORIZE_URL}?{query}"


def _hubspot_base(connection: HubSpotConnection) -> str:
    if connection.uses_emulator:
        return _sandbox_url(connection)
    return _vetted(connection, connection.base_url or settings.HUBSPOT_BASE_URL)


def hubspot_oauth_callback(
    *, connection: HubSpotConnection, code: str, redirect_uri: str, actor: Any = None, session: Any = None
) -> None:
    base = _base_or_connect_error(connection, _hubspot_base)
    body = _exchange_code(base + HUBSPOT_TOKEN_PATH, connection, code, redirect_uri, session)
    secrets = {"access_token": str(body["access_token"])}
    if body.get("refresh_token"):
        secrets["refresh_token"] = str(body["refresh_token"])
    connection_update(connection=connection, actor=actor, changes={}, secrets=secrets, source="token endpoint")


# What the OAuth ``error`` of a redirect back means (RFC 6749, section 4.1.2.1). Only these fixed
# sentences are shown: the redirect's ``error_description`` (and any other ``error``) is
# whatever the link's author wrote.
_DENIED = ("access_denied",)
_LATER = ("server_error", "temporarily_unavailable")


def oauth_error_message(error: str, *, service: str) -> str:
    """The sentence shown when the provider (or a forged link) sends back ``error``."""
    if error in _DENIED:
        return _("The authorization was declined in %(service)s: nothing was changed.") % {"service": service}
    if error in _LATER:
        return _("%(service)s could not complete the authorization now; try again later.") % {"service": service}
    return _("%(service)s refused the authorization request: check the app's client ID, callback URL and scopes.") % {
        "service": service
    }
