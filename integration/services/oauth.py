"""The OAuth handshakes: where to send the admin's browser, and the exchange of the code for
tokens (stored through the audited ``connection_update``).

The token endpoints are called with ``requests`` directly: they are the login handshake, not API
calls, and the API clients are built from what this stores.
"""

from __future__ import annotations

import secrets as pysecrets
from typing import Any
from urllib.parse import urlencode, urlparse

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from integration.models import HubSpotConnection, SalesforceConnection
from integration.services.connections import _secret_values, connection_update, redact

SALESFORCE_TOKEN_PATH = "/services/oauth2/token"
SALESFORCE_AUTHORIZE_PATH = "/services/oauth2/authorize"
HUBSPOT_AUTHORIZE_URL = "https://app.hubspot.com/oauth/authorize"
HUBSPOT_TOKEN_PATH = "/oauth/v1/token"
HUBSPOT_SCOPES = "crm.objects.contacts.read crm.objects.contacts.write crm.schemas.contacts.read"
TOKEN_TIMEOUT = 20


class ConnectError(Exception):
    """Connecting failed; the message is safe to show (secrets redacted)."""


def _login_base(connection: SalesforceConnection) -> str:
    """The connection's login URL, else the deployment's (``SALESFORCE_LOGIN_URL``), as the API
    client uses."""
    return (connection.login_url or settings.SALESFORCE_LOGIN_URL).rstrip("/")


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


def _post_token(url: str, data: dict[str, str], *, session: Any, hide: list[str]) -> dict[str, Any]:
    http = session or requests
    try:
        response = http.post(url, data=data, headers={"Accept": "application/json"}, timeout=TOKEN_TIMEOUT)
    except requests.RequestException as exc:
        raise ConnectError(redact(_("Could not reach %(url)s: %(error)s") % {"url": url, "error": exc}, hide))
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        detail = ""
        if isinstance(body, dict):
            detail = " ".join(str(body.get(k, "")) for k in ("error", "error_description", "message")).strip()
        raise ConnectError(
            redact(
                _("The token endpoint refused the request (HTTP %(status)s): %(detail)s")
                % {"status": response.status_code, "detail": detail or response.reason},
                hide + [data.get("code", ""), data.get("assertion", "")],
            )
        )
    return body


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
    )


def _store_salesforce_tokens(connection: SalesforceConnection, body: dict[str, Any], *, actor: Any) -> None:
    changes: dict[str, Any] = {}
    if body.get("instance_url"):
        changes["instance_url"] = body["instance_url"].rstrip("/")
    identity = body.get("id") or ""
    # The identity URL is .../id/<org id>/<user id>.
    parts = urlparse(identity).path.strip("/").split("/")
    if len(parts) >= 3 and parts[-3] == "id":
        changes["org_id"] = parts[-2][:18]
    secrets = {"access_token": body["access_token"]}
    if body.get("refresh_token"):
        secrets["refresh_token"] = body["refresh_token"]
    connection_update(connection=connection, actor=actor, changes=changes, secrets=secrets)


def salesforce_oauth_callback(
    *, connection: SalesforceConnection, code: str, redirect_uri: str, actor: Any = None, session: Any = None
) -> None:
    """Exchange the authorization code for an access token and a refresh token, then test."""
    body = _exchange_code(_login_base(connection) + SALESFORCE_TOKEN_PATH, connection, code, redirect_uri, session)
    _store_salesforce_tokens(connection, body, actor=actor)


def hubspot_authorize_url(*, connection: HubSpotConnection, redirect_uri: str, state: str) -> str:
    if not connection.client_id:
        raise ValidationError(_("Enter the HubSpot app's client ID first."))
    query = urlencode(
        {"client_id": connection.client_id, "redirect_uri": redirect_uri, "scope": HUBSPOT_SCOPES, "state": state}
    )
    return f"{HUBSPOT_AUTHORIZE_URL}?{query}"


def _hubspot_base(connection: HubSpotConnection) -> str:
    return (connection.base_url or settings.HUBSPOT_BASE_URL).rstrip("/")


def hubspot_oauth_callback(
    *, connection: HubSpotConnection, code: str, redirect_uri: str, actor: Any = None, session: Any = None
) -> None:
    body = _exchange_code(_hubspot_base(connection) + HUBSPOT_TOKEN_PATH, connection, code, redirect_uri, session)
    secrets = {"access_token": body["access_token"]}
    if body.get("refresh_token"):
        secrets["refresh_token"] = body["refresh_token"]
    connection_update(connection=connection, actor=actor, changes={}, secrets=secrets)
