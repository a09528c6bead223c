"""The app's HubSpot client, over hubspot-api-client (with :mod:`integration.clients.salesforce`
the only package importing an API library), and its factory.

``get_hubspot_client()`` (here) picks the sandbox emulator or the real API from configuration
and returns a cached ``HubSpotClient``; the client itself only knows a base URL and a token.

- :mod:`.client`: ``HubSpotClient``: paged and searched reads, batched writes, call counting,
  error translation, the OAuth token refreshed once on expiry.
- :mod:`.records`: ``HubSpotContact`` (with ``history``: ``PropertyValue``s), ``ContactPage``,
  ``BatchResult``, ``UpsertResult``, decoded from HubSpot's JSON, and the encoding of values as
  HubSpot's strings.
- :mod:`.isolation`: a batch HubSpot refuses for one bad record split until the others go
  through; each refused record a ``RecordError`` with an ``ErrorCategory``.
- :mod:`.retry`: ``default_retry()``, the urllib3 retry policy (429 and 5xx, POST included,
  ``Retry-After`` honoured), counting each retry.

The factory lives in this ``__init__`` (as django-q2's ``get_broker()`` does) and passes the
retry policy to the clients it builds, so ``default_retry`` here is the one place that decides
it (tests shorten it by replacing this name). The modules never import this package's
``__init__``, only each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.conf import settings
from hubspot import HubSpot
from hubspot.oauth.exceptions import ApiException as OAuthApiException

from integration import endpoints
from integration.clients.base import NOT_CONFIGURED, AuthError, EndpointRefused
from integration.clients.hubspot.client import HubSpotClient, HubSpotOwner
from integration.clients.hubspot.isolation import ErrorCategory, RecordError, category_for_status
from integration.clients.hubspot.records import BatchResult, ContactPage, HubSpotContact, PropertyValue, UpsertResult
from integration.clients.hubspot.retry import CountingRetry, default_retry
from integration.models import HubSpotConnection

__all__ = [
    "BatchResult",
    "ContactPage",
    "CountingRetry",
    "ErrorCategory",
    "HubSpotClient",
    "HubSpotOwner",
    "HubSpotContact",
    "PropertyValue",
    "RecordError",
    "UpsertResult",
    "category_for_status",
    "default_retry",
    "get_hubspot_client",
]

SANDBOX_TOKEN = "sandbox"

_cache: dict[tuple[str, str], HubSpotClient] = {}
_cache_lock = threading.Lock()


def get_hubspot_client(*, fresh: bool = False, interactive: bool = False) -> HubSpotClient:
    """The configured HubSpot client: the sandbox when ``settings.SANDBOX`` and the connection's
    environment is the built-in emulator, the real API otherwise (the connection's base URL and
    token, falling back to the ``HUBSPOT_*`` settings). Cached per URL and token.

    The real API's base URL passes :mod:`integration.endpoints` first (``EndpointRefused``
    otherwise: nothing is sent); the deployment's ``HUBSPOT_ACCESS_TOKEN`` never goes to a
    custom endpoint. ``interactive``: a client for a request a person waits on (not cached, one
    retry)."""
    connection = HubSpotConnection.load()
    refresh: Callable[[], str] | None = None
    if connection.uses_emulator:
        base_url, token = settings.SANDBOX_HUBSPOT_URL, SANDBOX_TOKEN
    else:
        base_url = connection.base_url or settings.HUBSPOT_BASE_URL
        allow_custom = connection.allow_custom_endpoint
        problem = endpoints.url_problem(base_url, service=endpoints.HUBSPOT, allow_custom=allow_custom)
        if problem:
            raise EndpointRefused(problem, code="ENDPOINT_REFUSED")
        token = connection.access_token or ("" if allow_custom else settings.HUBSPOT_ACCESS_TOKEN)
        if not token:
            raise AuthError(
                "No HubSpot access token is configured (connection page or HUBSPOT_ACCESS_TOKEN).",
                code=NOT_CONFIGURED,
            )
        if connection.auth_method == HubSpotConnection.AuthMethod.OAUTH and connection.refresh_token:
            refresh = _oauth_refresher(base_url, connection.pk)
    if interactive:
        # A person is waiting on the page: one retry, not the background jobs' five (15 s of
        # back-off when HubSpot cannot be reached).
        return HubSpotClient(base_url=base_url, access_token=token, retry=default_retry(total=1), refresh=refresh)
    key = (base_url, token)
    with _cache_lock:
        if fresh or key not in _cache:
            _cache[key] = HubSpotClient(base_url=base_url, access_token=token, retry=default_retry(), refresh=refresh)
        return _cache[key]


def _oauth_refresher(base_url: str, connection_pk: int) -> Callable[[], str]:
    """Refreshes the connection's OAuth token through HubSpot's token endpoint and stores it."""

    def refresh() -> str:
        connection = HubSpotConnection.objects.get(pk=connection_pk)
        tokens_api = HubSpot(host=base_url.rstrip("/")).oauth.tokens_api
        try:
            token = tokens_api.create(
                grant_type="refresh_token",
                client_id=connection.client_id,
                client_secret=connection.client_secret,
                refresh_token=connection.refresh_token,
            )
        except OAuthApiException as exc:
            raise AuthError(f"HubSpot refused to refresh the token: {exc.body!r}", status=exc.status or 0) from exc
        connection.access_token = token.access_token
        connection.refresh_token = token.refresh_token or connection.refresh_token
        connection.save(update_fields=["access_token", "refresh_token", "updated_at"])
        return token.access_token

    return refresh
