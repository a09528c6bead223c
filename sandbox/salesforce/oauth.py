"""OAuth 2.0 token endpoint of the sandbox: the grant types a connected app uses.

- ``client_credentials`` (client id/secret in the body or HTTP Basic),
- ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (a signed assertion: structure, ``iss``,
  ``sub``, ``aud`` and expiry are checked; the signature too when a public key is registered
  through ``POST /_sandbox/settings {"jwt_public_key": "<PEM>"}``),
- ``refresh_token`` (a refresh token this sandbox issued, or ``sandbox``),
- ``authorization_code`` (web server flow; ``/services/oauth2/authorize`` hands out codes),
- ``password`` (legacy username-password flow).

Errors use Salesforce's OAuth shape: ``{"error": ..., "error_description": ...}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import jwt

from sandbox.salesforce import ids
from sandbox.salesforce.org import INTEGRATION_USER_ID
from sandbox.salesforce.store import SalesforceStore

SANDBOX_TOKEN = "sandbox"
ORG_ID = ids.make_id(ids.KEY_PREFIXES["Organization"], 1)
USER_ID = INTEGRATION_USER_ID  # every token is the integration user's
_SIGNING_SECRET = b"salesforce-sandbox"

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _new_token(kind: str) -> str:
    # Real access tokens are "<org id 15>!<opaque>"; refresh tokens are opaque.
    opaque = secrets.token_urlsafe(72).replace("-", "A").replace("_", "b")
    return f"{ORG_ID[:15]}!{opaque}" if kind == "access" else "5Aep" + opaque[:83]


class TokenService:
    def __init__(self, store: SalesforceStore) -> None:
        self.store = store

    def is_valid(self, token: str) -> bool:
        if token == SANDBOX_TOKEN:
            return True
        row = (
            self.store.read()
            .execute("SELECT expires_at, revoked FROM tokens WHERE token = ? AND kind = 'access'", (token,))
            .fetchone()
        )
        if row is None or row["revoked"]:
            return False
        return row["expires_at"] is None or row["expires_at"] > time.time()

    def expire_all(self) -> int:
        with self.store.write() as conn:
            return conn.execute("UPDATE tokens SET revoked = 1 WHERE kind = 'access' AND revoked = 0").rowcount

    def revoke(self, token: str) -> bool:
        with self.store.write() as conn:
            return conn.execute("UPDATE tokens SET revoked = 1 WHERE token = ?", (token,)).rowcount > 0

    def _issue(
        self, *, instance_url: str, client_id: str, username: str, with_refresh: bool, scope: str = "api"
    ) -> dict[str, Any]:
        now = time.time()
        ttl = int(self.store.settings().get("access_token_ttl_seconds") or 7200)
        access = _new_token("access")
        rows = [(access, "access", client_id, username, now, now + ttl)]
        refresh = _new_token("refresh") if with_refresh else None
        if refresh:
            rows.append((refresh, "refresh", client_id, username, now, None))
        with self.store.write() as conn:
            conn.executemany(
                "INSERT INTO tokens (token, kind, client_id, username, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        issued_at = str(int(now * 1000))
        identity = f"{instance_url}/id/{ORG_ID}/{USER_ID}"
        signature = base64.b64encode(
            hmac.new(_SIGNING_SECRET, (identity + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        body: dict[str, Any] = {
            "access_token": access,
            "signature": signature,
            "scope": scope + (" refresh_token" if refresh else ""),
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
        if refresh:
            body["refresh_token"] = refresh
        return body

    def _check_client(self, client_id: str | None, client_secret: str | None) -> str:
        if not client_id or not client_secret:
            raise OAuthError("invalid_client", "invalid client credentials")
        registered = self.store.settings().get("oauth_clients") or {}
        if registered and registered.get(client_id) != client_secret:
            raise OAuthError("invalid_client", "invalid client credentials")
        return client_id

    def token(self, form: dict[str, str], authorization: str | None, instance_url: str) -> dict[str, Any]:
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        if grant == "client_credentials":
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            if authorization and authorization.lower().startswith("basic "):
                try:
                    decoded = base64.b64decode(authorization[6:].strip()).decode()
                except (ValueError, UnicodeDecodeError):
                    raise OAuthError("invalid_client", "invalid client credentials")
                client_id, _sep, client_secret = decoded.partition(":")
            client = self._check_client(client_id, client_secret)
            return self._issue(instance_url=instance_url, client_id=client, username="integration", with_refresh=False)
        if grant == JWT_GRANT:
            claims = self._check_assertion(form.get("assertion") or "")
            return self._issue(
                instance_url=instance_url, client_id=claims["iss"], username=claims["sub"], with_refresh=False
            )
        if grant == "refresh_token":
            token = form.get("refresh_token") or ""
            row = (
                self.store.read()
                .execute(
                    "SELECT client_id, username, revoked FROM tokens WHERE token = ? AND kind = 'refresh'", (token,)
                )
                .fetchone()
            )
            if token != SANDBOX_TOKEN and (row is None or row["revoked"]):
                raise OAuthError("invalid_grant", "expired access/refresh token")
            client = (row["client_id"] if row else None) or form.get("client_id") or "sandbox"
            username = (row["username"] if row else None) or "integration"
            return self._issue(instance_url=instance_url, client_id=client, username=username, with_refresh=False)
        if grant == "authorization_code":
            if not form.get("code"):
                raise OAuthError("invalid_grant", "invalid authorization code")
            client = self._check_client(form.get("client_id"), form.get("client_secret"))
            return self._issue(instance_url=instance_url, client_id=client, username="admin", with_refresh=True)
        if grant == "password":
            client = self._check_client(form.get("client_id"), form.get("client_secret"))
            if not form.get("username") or not form.get("password"):
                raise OAuthError("invalid_grant", "authentication failure")
            return self._issue(
                instance_url=instance_url, client_id=client, username=form["username"], with_refresh=False
            )
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _check_assertion(self, assertion: str) -> dict[str, Any]:
        if assertion.count(".") != 2:
            raise OAuthError("invalid_grant", "invalid assertion")
        public_key = self.store.settings().get("jwt_public_key") or ""
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("alg") != "RS256":
                raise OAuthError("invalid_grant", "invalid assertion")
            if public_key:
                claims = jwt.decode(
                    assertion,
                    public_key,
                    algorithms=["RS256"],
                    # simple-salesforce sends ``exp`` as a string, which PyJWT refuses: checked below.
                    options={"verify_aud": False, "verify_exp": False},
                )
            else:
                claims = jwt.decode(
                    assertion,
                    options={"verify_signature": False, "verify_exp": False, "verify_aud": False},
                )
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion")
        for claim in ("iss", "sub", "aud", "exp"):
            if not claims.get(claim):
                raise OAuthError("invalid_grant", "invalid assertion")
        try:
            if float(claims["exp"]) < time.time():
                raise OAuthError("invalid_grant", "expired authorization code")
        except (TypeError, ValueError):
            raise OAuthError("invalid_grant", "invalid assertion")
        return claims
