"""Building the configured ``SalesforceClient`` from ``integration.models.SalesforceConnection``
and settings: the sandbox emulator (with a session that trusts its certificate) or a real org,
its ``Credentials``, and the hook that stores each new access token on the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter

from integration import endpoints
from integration.clients.base import NOT_CONFIGURED, EndpointRefused
from integration.clients.salesforce.auth import Credentials
from integration.clients.salesforce.client import SalesforceClient
from integration.clients.salesforce.errors import SalesforceAuthError
from integration.clients.salesforce.session import DEFAULT_API_VERSION
from integration.models import SalesforceConnection, SettingChange

SANDBOX_TOKEN = "sandbox"


def sandbox_certificate() -> Path:
    """The sandbox emulator's self-signed certificate (setting ``SANDBOX_SALESFORCE_CERT``)."""
    return Path(settings.SANDBOX_SALESFORCE_CERT)


class _PinnedCertificateAdapter(HTTPAdapter):
    """Verifies every https request against one certificate file.

    ``session.verify`` alone is not enough: ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``) in the
    environment overrides it (requests merges the environment's settings last); the adapter sees
    the final ``verify``.
    """

    def __init__(self, cafile: str) -> None:
        super().__init__()
        self.cafile = cafile

    def send(self, request: Any, **kwargs: Any) -> Any:
        kwargs["verify"] = self.cafile
        return super().send(request, **kwargs)


def sandbox_session(cert_path: str | Path) -> requests.Session:
    """A session that trusts the sandbox certificate (and only adds that)."""
    session = requests.Session()
    session.verify = str(cert_path)
    session.mount("https://", _PinnedCertificateAdapter(str(cert_path)))
    return session


def get_salesforce_client(*, session: requests.Session | None = None) -> SalesforceClient:
    """The configured client: the sandbox emulator or a real org, per ``SalesforceConnection``.

    A real org's login and instance URLs pass :mod:`integration.endpoints` before anything is
    sent (``EndpointRefused`` otherwise), and so does every instance URL a token endpoint names."""
    connection = SalesforceConnection.load()
    version = connection.api_version or getattr(settings, "SALESFORCE_API_VERSION", DEFAULT_API_VERSION)
    # With SANDBOX=false the emulator is never used: a deployment configured only through the
    # SALESFORCE_* environment reaches its org without touching the connection page.
    if connection.uses_emulator:
        # The emulator's URL is the deployment's setting, never the row's: a URL typed on the
        # page must not receive what is stored for the emulator.
        instance_url = settings.SANDBOX_SALESFORCE_URL.rstrip("/")
        session = session or sandbox_session(sandbox_certificate())
        token = connection.access_token or SANDBOX_TOKEN
        credentials = _credentials(connection, instance_url, instance_url=instance_url)
        if credentials.method == "token":
            # The sandbox always accepts its own token: "logging in again" is using it again.
            credentials = Credentials(method="refresh_token", login_url=instance_url, refresh_token=SANDBOX_TOKEN)
        return SalesforceClient(
            instance_url=instance_url,
            access_token=token,
            credentials=credentials,
            api_version=version,
            session=session,
            on_token=_token_saver(),
            vet_instance_url=_same_origin_as(instance_url),
        )
    allow_custom = connection.allow_custom_endpoint
    instance_url = _vetted(connection.instance_url or settings.SALESFORCE_INSTANCE_URL, allow_custom)
    login_url = _vetted(connection.login_url or settings.SALESFORCE_LOGIN_URL, allow_custom)
    # The deployment's own secrets (SALESFORCE_*) were entered for Salesforce: never for a
    # custom endpoint.
    credentials = _credentials(connection, login_url, instance_url=instance_url, deployment_secrets=not allow_custom)
    if not instance_url and credentials.method == "token":
        raise SalesforceAuthError(
            _("Salesforce is not connected: no instance URL and no credentials."), code=NOT_CONFIGURED
        )
    if credentials.method == "token" and not connection.access_token:
        raise SalesforceAuthError(_("Salesforce is not connected: no access token."), code=NOT_CONFIGURED)
    if not all(getattr(credentials, name) for name in _NEEDED.get(credentials.method, ())):
        # Deleted with a change of endpoint, or never entered: nothing to log in with, so
        # nothing is sent at all.
        raise SalesforceAuthError(_("Salesforce is not connected: a secret is missing."), code=NOT_CONFIGURED)
    return SalesforceClient(
        instance_url=instance_url or credentials.login_url,
        access_token=connection.access_token,
        credentials=credentials,
        api_version=version,
        session=session,
        on_token=_token_saver(),
        vet_instance_url=lambda url: _vetted(url, allow_custom),
    )


# The secrets each login needs (``Credentials`` fields).
_NEEDED = {
    "jwt": ("private_key",),
    "client_credentials": ("client_secret",),
    "password": ("client_secret", "password"),
    "refresh_token": ("refresh_token",),
}


def _vetted(url: str, allow_custom: bool) -> str:
    problem = endpoints.url_problem(url, service=endpoints.SALESFORCE, allow_custom=allow_custom)
    if problem:
        raise EndpointRefused(problem, code="ENDPOINT_REFUSED")
    return url.rstrip("/")


def _same_origin_as(base: str) -> Callable[[str], str]:
    def vet(url: str) -> str:
        if not endpoints.same_url(url, base):
            raise EndpointRefused(_("The emulator named another instance URL."), code="ENDPOINT_REFUSED")
        return base

    return vet


def _credentials(connection: Any, login_url: str, *, instance_url: str, deployment_secrets: bool = True) -> Credentials:
    """The credentials to log in with at ``login_url`` (client credentials: at ``instance_url``,
    both already vetted); ``deployment_secrets``: fall back to the SALESFORCE_* settings."""
    Method = SalesforceConnection.AuthMethod
    client_id = connection.client_id or settings.SALESFORCE_CLIENT_ID
    client_secret = connection.client_secret or (settings.SALESFORCE_CLIENT_SECRET if deployment_secrets else "")
    username = connection.username or settings.SALESFORCE_USERNAME
    login_url = login_url.rstrip("/")
    method = connection.auth_method
    if not connection.client_id and settings.SALESFORCE_AUTH_METHOD:
        method = settings.SALESFORCE_AUTH_METHOD  # configured by the environment alone
    if method == Method.JWT:
        private_key = connection.private_key
        if not private_key and deployment_secrets and settings.SALESFORCE_PRIVATE_KEY_FILE:
            private_key = Path(settings.SALESFORCE_PRIVATE_KEY_FILE).read_text()
        return Credentials(
            method="jwt", login_url=login_url, client_id=client_id, username=username, private_key=private_key
        )
    if method == Method.CLIENT_CREDENTIALS:
        # The client credentials flow must go to the org's My Domain, i.e. its instance URL.
        domain = (instance_url or login_url).rstrip("/")
        return Credentials(
            method="client_credentials", login_url=domain, client_id=client_id, client_secret=client_secret
        )
    refresh_token = connection.refresh_token or (settings.SALESFORCE_REFRESH_TOKEN if deployment_secrets else "")
    if refresh_token and method != Method.PASSWORD:
        return Credentials(
            method="refresh_token",
            login_url=login_url,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
        )
    if method == Method.PASSWORD:
        return Credentials(
            method="password",
            login_url=login_url,
            client_id=client_id,
            client_secret=client_secret,
            username=username,
            password=connection.password,
        )
    return Credentials(method="token", login_url=login_url, access_token=connection.access_token)


def _token_saver() -> Callable[[str, str], None]:
    """Stores each new access token; an instance URL the token endpoint names (vetted by the
    session before use) is stored too, and its change audited."""

    def save(token: str, instance_url: str) -> None:
        with transaction.atomic():
            connection = SalesforceConnection.load()
            connection.access_token = token
            fields = ["access_token", "updated_at"]
            if instance_url and not endpoints.same_url(instance_url, connection.instance_url):
                SettingChange.objects.create(
                    setting="salesforce.instance_url",
                    old_value=endpoints.redact_url_credentials(connection.instance_url),
                    new_value=endpoints.redact_url_credentials(instance_url),
                    detail={"source": "token endpoint"},
                )
                connection.instance_url = instance_url
                fields.append("instance_url")
            connection.save(update_fields=fields)

    return save
