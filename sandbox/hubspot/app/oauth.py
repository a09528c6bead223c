"""HubSpot's OAuth: ``POST /oauth/v1/token`` (authorization_code and refresh_token grants, any
client id and secret) and ``GET /oauth/v1/access-tokens/{token}``."""

from __future__ import annotations

import uuid

from sandbox.hubspot.app.common import SANDBOX_TOKEN
from sandbox.hubspot.store import HubSpotStore, now_ms
from sandbox.wsgi import HttpError, Request, Response, json_response

TOKEN_FOREVER = 10 * 365 * 24 * 3600


class OAuthHandlers:
    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def oauth_token(self, request: Request) -> Response:
        form = request.form()
        grant = form.get("grant_type", "")
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id or not client_secret:
            return json_response(
                400,
                {
                    "status": "BAD_CLIENT_ID",
                    "message": "missing or unknown client id",
                    "correlationId": str(uuid.uuid4()),
                },
            )
        if grant == "authorization_code":
            if not form.get("code") or not form.get("redirect_uri"):
                return json_response(
                    400,
                    {
                        "status": "BAD_AUTH_CODE",
                        "message": "missing or unknown auth code",
                        "correlationId": str(uuid.uuid4()),
                    },
                )
            return json_response(200, self.store.issue_token(client_id))
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if not refresh or self.store.refresh_known(refresh) is None:
                return json_response(
                    400,
                    {
                        "status": "BAD_REFRESH_TOKEN",
                        "message": "missing or unknown refresh token",
                        "correlationId": str(uuid.uuid4()),
                    },
                )
            return json_response(200, self.store.issue_token(client_id, refresh_token=refresh))
        return json_response(
            400,
            {
                "status": "BAD_GRANT_TYPE",
                "message": f"unsupported grant type {grant!r}",
                "correlationId": str(uuid.uuid4()),
            },
        )

    def token_info(self, request: Request, token: str) -> Response:
        expires = self.store.token_expiry(token)
        if expires is None and token != SANDBOX_TOKEN:
            raise HttpError(404, "Token not found", code="OBJECT_NOT_FOUND")
        expires_in = TOKEN_FOREVER if expires is None else max(0, (expires - now_ms()) // 1000)
        return json_response(
            200,
            {
                "token": token,
                "user": "sandbox@example.com",
                "hub_domain": "sandbox.hubspot.local",
                "scopes": [
                    "oauth",
                    "crm.objects.contacts.read",
                    "crm.objects.contacts.write",
                    "crm.schemas.contacts.read",
                    "crm.objects.owners.read",
                ],
                "hub_id": 1234567,
                "app_id": 1000,
                "expires_in": expires_in,
                "user_id": 1,
                "token_type": "access",
            },
        )
