"""The OAuth endpoints: token (every grant of ``TokenService``), revoke, authorize and userinfo."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from sandbox.salesforce.app.common import instance_url
from sandbox.salesforce.oauth import ORG_ID, USER_ID, OAuthError, TokenService
from sandbox.salesforce.org import DEFAULT_USERS
from sandbox.wsgi import Request, Response, empty_response, json_response

INTEGRATION_USER = DEFAULT_USERS[0]


class OAuthHandlers:
    """``/services/oauth2/*`` and the identity URL (``/id/<org>/<user>``)."""

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens

    def oauth_token(self, request: Request) -> Response:
        form = request.form()
        if not form and request.query:
            form = {key: values[-1] for key, values in request.query.items()}
        try:
            body = self.tokens.token(form, request.header("Authorization"), instance_url(request))
        except OAuthError as exc:
            return json_response(exc.status, exc.body())
        return json_response(200, body)

    def oauth_revoke(self, request: Request) -> Response:
        token = request.form().get("token") or request.arg("token") or ""
        if not self.tokens.revoke(token):
            return json_response(
                400, {"error": "unsupported_token_type", "error_description": "this token type is not supported"}
            )
        return empty_response(200)

    def oauth_authorize(self, request: Request) -> Response:
        redirect_uri = request.arg("redirect_uri")
        if not redirect_uri or request.arg("response_type") != "code" or not request.arg("client_id"):
            return json_response(400, {"error": "invalid_request", "error_description": "missing required parameter"})
        params = {"code": "aPrx" + secrets.token_urlsafe(24)}
        if request.arg("state"):
            params["state"] = request.arg("state") or ""
        separator = "&" if "?" in redirect_uri else "?"
        return Response(status=302, body=b"", headers=[("Location", redirect_uri + separator + urlencode(params))])

    def userinfo(self, request: Request, org: str = "", user: str = "") -> Response:
        base = instance_url(request)
        return json_response(
            200,
            {
                "id": f"{base}/id/{ORG_ID}/{USER_ID}",
                "user_id": USER_ID,
                "organization_id": ORG_ID,
                # The integration user of the org's users (``org``): the User record behind the token.
                "username": INTEGRATION_USER.email,
                "email": INTEGRATION_USER.email,
                "display_name": INTEGRATION_USER.name,
                "urls": {
                    "rest": f"{base}/services/data/v{{version}}/",
                    "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                },
            },
        )
