"""Logging in to Salesforce: the ``Credentials`` of a connection and ``request_token``, which
posts them to the org's OAuth token endpoint.

JWT bearer, client credentials and refresh token are the supported grants; username-password
(the OAuth password grant) only as legacy. simple-salesforce's own logins build
``https://<domain>.salesforce.com`` URLs and SOAP calls, and it only refreshes sessions it logged
in itself, so the client obtains the token here and hands simple-salesforce the session id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
import requests
from django.utils.translation import gettext as _

from integration.clients.salesforce.errors import SalesforceAuthError, SalesforceTransientError

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Credentials:
    """How to obtain an access token. ``method``: jwt, client_credentials, refresh_token,
    password, or token (a fixed access token: nothing to log in with)."""

    method: str
    login_url: str = "https://login.salesforce.com"
    client_id: str = ""
    client_secret: str = ""
    username: str = ""
    password: str = ""
    private_key: str = ""
    refresh_token: str = ""
    access_token: str = ""
    audience: str = ""


def request_token(credentials: Credentials, session: requests.Session, timeout: float = 30) -> tuple[str, str]:
    """Obtain ``(access_token, instance_url)`` from the org's OAuth token endpoint."""
    method = credentials.method
    base = credentials.login_url.rstrip("/")
    data: dict[str, str]
    auth = None
    if method == "jwt":
        claims = {
            "iss": credentials.client_id,
            "sub": credentials.username,
            "aud": credentials.audience or base,
            "exp": int(time.time()) + 180,
        }
        try:
            assertion = jwt.encode(claims, credentials.private_key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            # The library's message may quote key material: never pass it on.
            raise SalesforceAuthError(
                _("The private key could not sign the JWT (%(kind)s).") % {"kind": type(exc).__name__}
            ) from None
        data = {"grant_type": JWT_GRANT, "assertion": assertion}
    elif method == "client_credentials":
        data = {"grant_type": "client_credentials"}
        auth = (credentials.client_id, credentials.client_secret)
    elif method == "refresh_token":
        data = {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token}
        if credentials.client_id:
            data["client_id"] = credentials.client_id
        if credentials.client_secret:
            data["client_secret"] = credentials.client_secret
    elif method == "password":
        data = {
            "grant_type": "password",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "username": credentials.username,
            "password": credentials.password,
        }
    else:
        raise SalesforceAuthError(_("No way to log in with the “%(method)s” method.") % {"method": method})
    try:
        response = session.post(
            base + "/services/oauth2/token",
            data=data,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise SalesforceTransientError(
            _("Could not reach the Salesforce token endpoint (%(kind)s).") % {"kind": type(exc).__name__}
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500:
        raise SalesforceTransientError(
            _("The token endpoint answered HTTP %(status)s.") % {"status": response.status_code},
            status=response.status_code,
        )
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        error = body.get("error", "") if isinstance(body, dict) else ""
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        raise SalesforceAuthError(
            (
                _("Salesforce refused the login (%(error)s): %(description)s")
                % {"error": error or response.status_code, "description": description}
            ).strip(),
            status=response.status_code,
            code=error,
            body=body,
        )
    return body["access_token"], (body.get("instance_url") or "").rstrip("/")
