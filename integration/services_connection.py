"""Writes on the connections: connect (OAuth web-server flow, JWT bearer, client credentials,
password, token), test, disconnect, the built-in sandbox, and the field mappings.

Secrets (tokens, refresh tokens, private keys, client secrets, passwords) are stored encrypted by
``EncryptedTextField``; here they are only ever written, sent to the token endpoint, or compared.
They never appear in an audit row, a status reason or a log line: ``redact()`` scrubs the
known values out of any text that came back from a remote service, and ``SecretRedactingFilter``
scrubs anything shaped like a credential from log records.

The OAuth token endpoints are called with ``requests`` directly: they are the login handshake,
not API calls, and the API clients are built from what this module stores.
"""

from __future__ import annotations

import logging
import secrets as pysecrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlparse

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.log_filters import MASK, SecretRedactingFilter, _redact_patterns
from integration.models import (
    ConnectionStatus,
    FieldMapping,
    HubSpotConnection,
    SalesforceConnection,
    SettingChange,
)

logger = logging.getLogger(__name__)

SALESFORCE_SECRETS = ("client_secret", "private_key", "password", "access_token", "refresh_token")
HUBSPOT_SECRETS = ("access_token", "refresh_token", "client_secret")
SALESFORCE_TOKEN_PATH = "/services/oauth2/token"
SALESFORCE_AUTHORIZE_PATH = "/services/oauth2/authorize"
HUBSPOT_AUTHORIZE_URL = "https://app.hubspot.com/oauth/authorize"
HUBSPOT_TOKEN_PATH = "/oauth/v1/token"
HUBSPOT_SCOPES = "crm.objects.contacts.read crm.objects.contacts.write crm.schemas.contacts.read"
TOKEN_TIMEOUT = 20


# --------------------------------------------------------------------------------------------
# Redaction


def redact(text: str, values: list[str] | tuple[str, ...] = ()) -> str:
    """``text`` with every known secret value and anything credential-shaped replaced by a mask."""
    if not text:
        return ""
    for value in sorted((v for v in values if v and len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, MASK)
    return _redact_patterns(text)


logger.addFilter(SecretRedactingFilter())


def _secret_values(connection: SalesforceConnection | HubSpotConnection) -> list[str]:
    names = SALESFORCE_SECRETS if isinstance(connection, SalesforceConnection) else HUBSPOT_SECRETS
    return [getattr(connection, name) for name in names if getattr(connection, name)]


# --------------------------------------------------------------------------------------------
# Settings of a connection (audited; secrets write-only)


def connection_update(
    *,
    connection: SalesforceConnection | HubSpotConnection,
    actor: Any = None,
    changes: dict[str, Any],
    secrets: dict[str, str] | None = None,
) -> list[SettingChange]:
    """Save the connection's settings. A secret is replaced only when a new value is given
    (an empty field keeps the stored one); the audit says a secret changed, never its value."""
    prefix = _prefix(connection)
    with transaction.atomic():
        locked = type(connection).objects.select_for_update().get(pk=connection.pk)
        audit: list[SettingChange] = []
        for name, value in changes.items():
            old = getattr(locked, name)
            if old == value:
                continue
            setattr(locked, name, value)
            audit.append(
                SettingChange(actor=actor, setting=f"{prefix}.{name}", old_value=str(old), new_value=str(value))
            )
        for name, value in (secrets or {}).items():
            if not value or value == getattr(locked, name):
                continue
            setattr(locked, name, value)
            audit.append(
                SettingChange(
                    actor=actor,
                    setting=f"{prefix}.{name}",
                    old_value=_("(set)") if getattr(connection, name) else "",
                    new_value=_("(changed)"),
                )
            )
        if not audit:
            return []
        locked.full_clean()
        locked.save()
        SettingChange.objects.bulk_create(audit)
    connection.refresh_from_db()
    return audit


def _prefix(connection: SalesforceConnection | HubSpotConnection) -> str:
    return "salesforce" if isinstance(connection, SalesforceConnection) else "hubspot"


def _set_status(
    connection: SalesforceConnection | HubSpotConnection, status: str, reason: str = "", *, actor: Any = None
) -> None:
    reason = redact(reason, _secret_values(connection))[:2000]
    old = connection.status
    connection.status = status
    connection.status_reason = reason
    connection.status_changed_at = timezone.now()
    fields = ["status", "status_reason", "status_changed_at", "updated_at"]
    live = (ConnectionStatus.CONNECTED, ConnectionStatus.SANDBOX)
    if (
        isinstance(connection, SalesforceConnection)
        and status in live
        and (old not in live or connection.connected_at is None)
    ):
        connection.connected_at = timezone.now()
        fields.append("connected_at")
    connection.save(update_fields=fields)
    if old != status:
        SettingChange.objects.create(
            actor=actor,
            setting=f"{_prefix(connection)}.status",
            old_value=old,
            new_value=status,
            detail={"reason": reason},
        )


# --------------------------------------------------------------------------------------------
# Salesforce: obtaining tokens


class ConnectError(Exception):
    """Connecting failed; the message is safe to show (secrets redacted)."""


def _login_base(connection: SalesforceConnection) -> str:
    base = (connection.login_url or "https://login.salesforce.com").rstrip("/")
    return base


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
    body = _post_token(
        _login_base(connection) + SALESFORCE_TOKEN_PATH,
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
    _store_salesforce_tokens(connection, body, actor=actor)


# --------------------------------------------------------------------------------------------
# Testing a connection


@dataclass
class ConnectionTestResult:
    ok: bool
    message: str
    api_max: int | None = None
    api_remaining: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def api_used(self) -> int | None:
        if self.api_max is None or self.api_remaining is None:
            return None
        return self.api_max - self.api_remaining


def _failure_status(exc: Exception) -> str:
    from integration.clients.base import RateLimited

    # An org over its daily API limit answers REQUEST_LIMIT_EXCEEDED: the integration is
    # suspended until the limit resets, which is not the same as a broken connection.
    if isinstance(exc, RateLimited):
        return ConnectionStatus.SUSPENDED
    return ConnectionStatus.ERROR


def salesforce_connection_test(*, connection: SalesforceConnection, actor: Any = None) -> ConnectionTestResult:
    """Call ``/limits`` with the stored credentials; record and return the outcome."""
    from integration.clients.salesforce import get_salesforce_client

    try:
        client = get_salesforce_client()
        limits = client.limits()
    except Exception as exc:  # noqa: BLE001 - every failure is reported on the page
        # The client may have stored a new token meanwhile: redact with what is stored now.
        connection.refresh_from_db()
        message = redact(str(getattr(exc, "message", "") or exc) or type(exc).__name__, _secret_values(connection))
        _set_status(connection, _failure_status(exc), message, actor=actor)
        logger.warning("Salesforce connection test failed: %s", message)
        return ConnectionTestResult(ok=False, message=message)
    connection.refresh_from_db()
    daily = (limits or {}).get("DailyApiRequests") or {}
    api_max, api_remaining = _int_or_none(daily.get("Max")), _int_or_none(daily.get("Remaining"))
    usage = getattr(client, "api_usage", None)
    if (api_max is None or api_remaining is None) and usage:
        # No DailyApiRequests in /limits: the Sforce-Limit-Info header of the call says the same.
        api_max, api_remaining = usage[1], usage[1] - usage[0]
    result = ConnectionTestResult(
        ok=True, message=_("Connected: Salesforce answered."), api_max=api_max, api_remaining=api_remaining
    )
    status = (
        ConnectionStatus.SANDBOX
        if connection.environment == SalesforceConnection.Environment.SANDBOX_EMULATOR
        else ConnectionStatus.CONNECTED
    )
    _set_status(connection, status, "", actor=actor)
    return result


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_REQUIRED = {
    SalesforceConnection.AuthMethod.JWT: ("client_id", "username", "private_key"),
    SalesforceConnection.AuthMethod.CLIENT_CREDENTIALS: ("client_id", "client_secret"),
    SalesforceConnection.AuthMethod.PASSWORD: ("client_id", "client_secret", "username", "password"),
    SalesforceConnection.AuthMethod.TOKEN: ("access_token",),
}


def salesforce_connect(*, connection: SalesforceConnection, actor: Any = None) -> ConnectionTestResult:
    """Log in afresh with the configured method (JWT bearer, client credentials, refresh token
    of the web-server flow, password) and test the connection.

    The stored access token is dropped first so the client has to obtain a new one from the
    credentials: a success proves the credentials, not just an old session.
    """
    Method = SalesforceConnection.AuthMethod
    if connection.environment != SalesforceConnection.Environment.SANDBOX_EMULATOR:
        missing = [
            str(SalesforceConnection._meta.get_field(name).verbose_name)
            for name in _REQUIRED.get(connection.auth_method, ())
            if not getattr(connection, name)
        ]
        if missing:
            return ConnectionTestResult(
                ok=False,
                message=_("%(method)s needs: %(fields)s.")
                % {"method": connection.get_auth_method_display(), "fields": ", ".join(missing)},
            )
        if connection.auth_method == Method.OAUTH_WEB and not connection.refresh_token:
            return ConnectionTestResult(
                ok=False, message=_("Use “Log in to Salesforce” to approve the connected app first.")
            )
        if connection.auth_method != Method.TOKEN and connection.access_token:
            connection.access_token = ""
            connection.save(update_fields=["access_token", "updated_at"])
    return salesforce_connection_test(connection=connection, actor=actor)


def _forget_tokens(connection: SalesforceConnection | HubSpotConnection, *, prefix: str, actor: Any) -> None:
    """Forget a connection's tokens (its own settings stay, to reconnect later), audited."""
    with transaction.atomic():
        had = [name for name in ("access_token", "refresh_token") if getattr(connection, name)]
        connection.access_token = ""
        connection.refresh_token = ""
        connection.save(update_fields=["access_token", "refresh_token", "updated_at"])
        for name in had:
            SettingChange.objects.create(
                actor=actor, setting=f"{prefix}.{name}", old_value=_("(set)"), new_value=_("(cleared)")
            )
        _set_status(connection, ConnectionStatus.DISCONNECTED, _("Disconnected by an administrator."), actor=actor)


def salesforce_disconnect(*, connection: SalesforceConnection, actor: Any = None) -> None:
    """Forget the tokens (the connected app's own settings stay, to reconnect later)."""
    _forget_tokens(connection, prefix="salesforce", actor=actor)


def salesforce_use_sandbox(*, connection: SalesforceConnection, actor: Any = None) -> ConnectionTestResult:
    """Point the connection at the built-in Salesforce emulator (token ``sandbox``) and test it."""
    connection_update(
        connection=connection,
        actor=actor,
        changes={
            "environment": SalesforceConnection.Environment.SANDBOX_EMULATOR,
            "instance_url": settings.SANDBOX_SALESFORCE_URL,
            "auth_method": SalesforceConnection.AuthMethod.TOKEN,
        },
        secrets={"access_token": "sandbox"},
    )
    return salesforce_connection_test(connection=connection, actor=actor)


# --------------------------------------------------------------------------------------------
# HubSpot


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
    body = _post_token(
        _hubspot_base(connection) + HUBSPOT_TOKEN_PATH,
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
    secrets = {"access_token": body["access_token"]}
    if body.get("refresh_token"):
        secrets["refresh_token"] = body["refresh_token"]
    connection_update(connection=connection, actor=actor, changes={}, secrets=secrets)


def hubspot_connection_test(*, connection: HubSpotConnection, actor: Any = None) -> ConnectionTestResult:
    """Read the contact property schema with the stored token; record and return the outcome."""
    from integration.clients.hubspot import get_hubspot_client

    try:
        client = get_hubspot_client(fresh=True)
        properties = client.get_properties()
    except Exception as exc:  # noqa: BLE001 - every failure is reported on the page
        connection.refresh_from_db()
        message = redact(str(getattr(exc, "message", "") or exc) or type(exc).__name__, _secret_values(connection))
        _set_status(connection, _failure_status(exc), message, actor=actor)
        logger.warning("HubSpot connection test failed: %s", message)
        return ConnectionTestResult(ok=False, message=message)
    count = len(properties or [])
    status = (
        ConnectionStatus.SANDBOX
        if connection.environment == SalesforceConnection.Environment.SANDBOX_EMULATOR
        else ConnectionStatus.CONNECTED
    )
    _set_status(connection, status, "", actor=actor)
    return ConnectionTestResult(
        ok=True,
        message=_("Connected: HubSpot answered with %(count)s contact properties.") % {"count": count},
        details={"properties": count},
    )


def hubspot_disconnect(*, connection: HubSpotConnection, actor: Any = None) -> None:
    _forget_tokens(connection, prefix="hubspot", actor=actor)


def hubspot_use_sandbox(*, connection: HubSpotConnection, actor: Any = None) -> ConnectionTestResult:
    connection_update(
        connection=connection,
        actor=actor,
        changes={
            "environment": SalesforceConnection.Environment.SANDBOX_EMULATOR,
            "base_url": settings.SANDBOX_HUBSPOT_URL,
            "auth_method": HubSpotConnection.AuthMethod.PRIVATE_APP,
        },
        secrets={"access_token": "sandbox"},
    )
    return hubspot_connection_test(connection=connection, actor=actor)


# --------------------------------------------------------------------------------------------
# Field mappings (audited like every other setting)


def _mapping_label(mapping: FieldMapping) -> str:
    return f"{mapping.hubspot_property} → {mapping.salesforce_object}.{mapping.salesforce_field} ({mapping.rule})"


@transaction.atomic
def field_mapping_save(*, mapping: FieldMapping, actor: Any = None) -> FieldMapping:
    """Create or change a mapping (already validated by the form, checked again here)."""
    old = FieldMapping.objects.filter(pk=mapping.pk).first() if mapping.pk else None
    mapping.full_clean()
    mapping.save()
    SettingChange.objects.create(
        actor=actor,
        setting="field_mapping",
        old_value=_mapping_label(old) if old else "",
        new_value=_mapping_label(mapping),
    )
    return mapping


@transaction.atomic
def field_mapping_delete(*, mapping: FieldMapping, actor: Any = None) -> None:
    label = _mapping_label(mapping)
    mapping.delete()
    SettingChange.objects.create(actor=actor, setting="field_mapping", old_value=label, new_value="")
