"""Writes on the connections: their settings (secrets write-only), tests, connect, disconnect,
and the built-in sandbox.

Secrets (tokens, refresh tokens, private keys, client secrets, passwords) are stored encrypted by
``EncryptedTextField``; here they are only ever written, sent to the service, or compared. They
never appear in an audit row, a status reason or a log line: ``redact()`` scrubs the known values
out of any text that came back from a remote service, and ``SecretRedactingFilter`` scrubs
anything shaped like a credential from log records.

Secrets are bound to the endpoint they were entered for: ``connection_update`` deletes the stored
ones when the login, instance or base URL (or the environment) changes, unless new ones come
with the change; the URLs themselves are vetted by the model (:mod:`integration.endpoints`).
A failed test or connect is reported as one of the categories of :mod:`integration.failures`,
never with the remote side's words; the details go to this module's log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integration import endpoints
from integration.clients.base import RateLimited
from integration.clients.hubspot import get_hubspot_client
from integration.clients.salesforce import get_salesforce_client
from integration.failures import failure_report
from integration.log_filters import MASK, SecretRedactingFilter, _redact_patterns
from integration.models import ConnectionStatus, HubSpotConnection, SalesforceConnection, SettingChange
from integration.services.audit import changes_apply

logger = logging.getLogger(__name__)

SALESFORCE_SECRETS = SalesforceConnection.SECRET_FIELDS
HUBSPOT_SECRETS = HubSpotConnection.SECRET_FIELDS
# The audit ``detail`` of a secret deleted because its connection now points elsewhere.
ENDPOINT_CHANGED = "endpoint_changed"


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
    source: str = "",
) -> list[SettingChange]:
    """Save the connection's settings. A secret is replaced only when a new value is given
    (an empty field keeps the stored one); the audit says a secret changed, never its value.

    Secrets are bound to their endpoint: when ``changes`` moves the connection to another
    environment or login, instance or base URL, every stored secret not given anew in
    ``secrets`` is deleted (audited "(cleared)" with ``detail["reason"] == ENDPOINT_CHANGED``).
    ``source`` names where a change comes from when it is not a person (``"token endpoint"``:
    the instance URL a vetted login endpoint answered): such a change keeps the secrets.
    """
    prefix = _prefix(connection)
    secrets = secrets or {}
    detail = {"source": source} if source else {}
    with transaction.atomic():
        locked = type(connection).objects.select_for_update().get(pk=connection.pk)
        moved = not source and any(
            name in changes and not _same_endpoint(name, getattr(locked, name), changes[name])
            for name in locked.ENDPOINT_FIELDS
        )
        audit = changes_apply(locked, changes, actor=actor, prefix=f"{prefix}.", detail=detail)
        for name, value in secrets.items():
            if not value or value == getattr(locked, name):
                continue
            setattr(locked, name, value)
            audit.append(
                SettingChange(
                    actor=actor,
                    setting=f"{prefix}.{name}",
                    old_value=_("(set)") if getattr(connection, name) else "",
                    new_value=_("(changed)"),
                    detail=detail,
                )
            )
        if moved:
            for name in locked.SECRET_FIELDS:
                if secrets.get(name) or not getattr(locked, name):
                    continue
                setattr(locked, name, "")
                audit.append(
                    SettingChange(
                        actor=actor,
                        setting=f"{prefix}.{name}",
                        old_value=_("(set)"),
                        new_value=_("(cleared)"),
                        detail={"reason": ENDPOINT_CHANGED},
                    )
                )
        if not audit:
            return []
        locked.full_clean()
        locked.save()
        SettingChange.objects.bulk_create(audit)
    connection.refresh_from_db()
    return audit


def secrets_cleared(audit: list[SettingChange]) -> list[str]:
    """The secrets ``connection_update`` deleted because the endpoint changed (their names)."""
    return [row.setting.split(".", 1)[-1] for row in audit if row.detail.get("reason") == ENDPOINT_CHANGED]


def _same_endpoint(name: str, old: Any, new: Any) -> bool:
    if name == "environment":
        return old == new
    return endpoints.same_url(str(old or ""), str(new or ""))


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
    # An org over its daily API limit answers REQUEST_LIMIT_EXCEEDED: the integration is
    # suspended until the limit resets, which is not the same as a broken connection.
    if isinstance(exc, RateLimited):
        return ConnectionStatus.SUSPENDED
    return ConnectionStatus.ERROR


def salesforce_connection_test(*, connection: SalesforceConnection, actor: Any = None) -> ConnectionTestResult:
    """Call ``/limits`` with the stored credentials; record and return the outcome."""
    try:
        client = get_salesforce_client()
        limits = client.limits()
    except Exception as exc:  # noqa: BLE001 - every failure is reported on the page
        return _test_failed(connection, exc, actor=actor)
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
    _set_status(connection, connection.working_status, "", actor=actor)
    return result


def _test_failed(
    connection: SalesforceConnection | HubSpotConnection, exc: Exception, *, actor: Any
) -> ConnectionTestResult:
    """Record a failed test on the connection: its category only (the details are logged, every
    secret redacted)."""
    # The client may have stored a new token meanwhile: redact with what is stored now.
    connection.refresh_from_db()
    _category, message = failure_report(
        exc,
        service=service_name(connection),
        logger=logger,
        where="connection test",
        hide=_secret_values(connection),
    )
    _set_status(connection, _failure_status(exc), message, actor=actor)
    return ConnectionTestResult(ok=False, message=message)


def service_name(connection: SalesforceConnection | HubSpotConnection) -> str:
    return endpoints.SERVICE_NAMES[connection.SERVICE]


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


# How each connection authenticates with a bare token.
_TOKEN_METHOD = {
    SalesforceConnection: SalesforceConnection.AuthMethod.TOKEN,
    HubSpotConnection: HubSpotConnection.AuthMethod.PRIVATE_APP,
}


def _point_at_sandbox(connection: SalesforceConnection | HubSpotConnection, *, actor: Any, **url: str) -> None:
    """Point the connection at the built-in emulator: its URL, token authentication, token ``sandbox``."""
    connection_update(
        connection=connection,
        actor=actor,
        changes={
            "environment": SalesforceConnection.Environment.SANDBOX_EMULATOR,
            **url,
            "auth_method": _TOKEN_METHOD[type(connection)],
        },
        secrets={"access_token": "sandbox"},
    )


def salesforce_use_sandbox(*, connection: SalesforceConnection, actor: Any = None) -> ConnectionTestResult:
    """Point the connection at the built-in Salesforce emulator (token ``sandbox``) and test it."""
    _point_at_sandbox(connection, actor=actor, instance_url=settings.SANDBOX_SALESFORCE_URL)
    return salesforce_connection_test(connection=connection, actor=actor)


# --------------------------------------------------------------------------------------------
# HubSpot


def hubspot_connection_test(*, connection: HubSpotConnection, actor: Any = None) -> ConnectionTestResult:
    """Read the contact property schema with the stored token; record and return the outcome."""
    try:
        client = get_hubspot_client(fresh=True)
        properties = client.get_properties()
    except Exception as exc:  # noqa: BLE001 - every failure is reported on the page
        return _test_failed(connection, exc, actor=actor)
    count = len(properties or [])
    _set_status(connection, connection.working_status, "", actor=actor)
    return ConnectionTestResult(
        ok=True,
        message=_("Connected: HubSpot answered with %(count)s contact properties.") % {"count": count},
        details={"properties": count},
    )


def hubspot_connect(*, connection: HubSpotConnection, actor: Any = None) -> ConnectionTestResult:
    """A private-app token has nothing to log in with: connecting is testing it."""
    return hubspot_connection_test(connection=connection, actor=actor)


def hubspot_disconnect(*, connection: HubSpotConnection, actor: Any = None) -> None:
    _forget_tokens(connection, prefix="hubspot", actor=actor)


def hubspot_use_sandbox(*, connection: HubSpotConnection, actor: Any = None) -> ConnectionTestResult:
    """Point the connection at the built-in HubSpot emulator (token ``sandbox``) and test it."""
    _point_at_sandbox(connection, actor=actor, base_url=settings.SANDBOX_HUBSPOT_URL)
    return hubspot_connection_test(connection=connection, actor=actor)
