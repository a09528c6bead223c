"""What runs before every authenticated call: faults rendered as HubSpot's errors, the bearer
token check, then the rate limits (search has its own per-second limit and no rate headers)."""

from __future__ import annotations

from typing import Any

from sandbox.faults import DOWN, EXPIRED_SESSION, RATE_LIMIT, SERVER_ERROR, UNABLE_TO_LOCK_ROW, Fault
from sandbox.hubspot.app.common import CATEGORIES, SANDBOX_TOKEN, error_body
from sandbox.hubspot.app.limits import SECONDLY, TEN_SECONDLY_ROLLING, RateLimiter
from sandbox.hubspot.store import HubSpotStore, now_ms
from sandbox.wsgi import HttpError, Request, Response, json_response


def _crm_search(path: str) -> bool:
    """The CRM search endpoints (``/crm/v3/objects/{type}/search``), which have their own limit;
    the Lists API's search (``/crm/v3/lists/search``) counts as any other call."""
    return path.startswith("/crm/v3/objects/") and path.endswith("/search")


def _rate_limited(policy: str) -> dict[str, Any]:
    """HubSpot's 429 body for the ``policy`` limit (``TEN_SECONDLY_ROLLING``, search's ``SECONDLY``
    or ``DAILY``), as "API usage guidelines and limits" shows it ("Error responses"):
    https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines"""
    return error_body(
        429,
        f"You have reached your {policy.lower()} limit.",
        "RATE_LIMITS",
        errorType="RATE_LIMIT",
        policyName=policy,
        groupName="sandbox",
    )


class HubSpotHooks:
    """Before each call: the fault hook (rendering with ``render_fault``), ``authenticate``, then
    ``rate_limit_hook``; after it, ``rate_headers``."""

    def __init__(self, store: HubSpotStore, limiter: RateLimiter, search_limiter: RateLimiter) -> None:
        self.store = store
        self.limiter = limiter
        self.search_limiter = search_limiter

    def render_fault(self, request: Request, fault: Fault) -> Response:
        if fault.kind == RATE_LIMIT:
            headers = [
                ("X-HubSpot-RateLimit-Max", str(self.limiter.max_requests or 100)),
                ("X-HubSpot-RateLimit-Remaining", "0"),
                ("X-HubSpot-RateLimit-Interval-Milliseconds", str(self.limiter.interval_ms)),
            ]
            if fault.params.get("retry_after"):
                headers.append(("Retry-After", fault.params["retry_after"]))
            return json_response(429, _rate_limited(TEN_SECONDLY_ROLLING), headers)
        if fault.kind == EXPIRED_SESSION:
            return json_response(
                401,
                error_body(
                    401, "The OAuth token used to make this call expired 5 minute(s) ago.", "EXPIRED_AUTHENTICATION"
                ),
            )
        if fault.kind == DOWN:
            return json_response(503, error_body(503, "Service Unavailable", "SERVICE_UNAVAILABLE"))
        if fault.kind == UNABLE_TO_LOCK_ROW:
            # HubSpot has no lock error of its own; contention surfaces as a transient 5xx.
            return json_response(
                500, error_body(500, "The record is being updated by another request; retry.", "INTERNAL_ERROR")
            )
        if fault.kind == SERVER_ERROR:
            status = int(fault.params.get("status") or 500)
            return json_response(status, error_body(status, "internal error", CATEGORIES.get(status, "INTERNAL_ERROR")))
        raise HttpError(400, f"Fault {fault.kind} is not supported here.", code="VALIDATION_ERROR")

    def authenticate(self, request: Request) -> Response | None:
        header = request.header("Authorization") or ""
        scheme, _sep, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HttpError(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                code="INVALID_AUTHENTICATION",
            )
        if token == SANDBOX_TOKEN:
            return None
        owner = self.store.token_owner(token)
        if owner is None:
            raise HttpError(401, "The OAuth token used to make this call is invalid.", code="INVALID_AUTHENTICATION")
        expires, request.state["app_id"] = owner
        if expires < now_ms():
            minutes = max(1, (now_ms() - expires) // 60_000)
            raise HttpError(
                401,
                f"The OAuth token used to make this call expired {minutes} minute(s) ago.",
                code="EXPIRED_AUTHENTICATION",
            )
        return None

    def rate_limit_hook(self, request: Request) -> Response | None:
        if request.method == "POST" and _crm_search(request.path):
            # Search has its own per-second limit and answers 429 without rate-limit headers.
            search_refused, _headers = self.search_limiter.hit(SECONDLY)
            if search_refused is not None:
                return json_response(429, _rate_limited(SECONDLY))
        refused, headers = self.limiter.hit()
        request.state["rate_headers"] = headers
        if refused is not None:
            return json_response(429, _rate_limited(refused), list(headers.items()))
        return None

    def rate_headers(self, request: Request, response: Response) -> None:
        headers = request.state.get("rate_headers")
        if not headers or _crm_search(request.path):
            return  # HubSpot's search endpoints do not send the rate-limit headers
        for name, value in headers.items():
            if response.header(name) is None:
                response.set_header(name, value)
