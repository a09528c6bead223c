"""What a user is told when a connection fails: one of a fixed set of translatable categories,
never the remote side's text nor socket details.

Told apart, "connection refused", "wrong TLS version" and a remote error page would let anyone
who can press Test map ports and read whatever a server answers; a category says what to fix
without that. The whole story (exception chain, remote message, secrets redacted) goes to the
Python log (``logger.warning``) for administrators.

``failure_category(exc)`` walks the exception chain (``__cause__``, ``__context__``, urllib3's
``reason``) to find the network error under a client error.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
from collections.abc import Iterator, Sequence

import requests
import urllib3
from django.utils.translation import gettext as _

from integration.clients.base import (
    NOT_CONFIGURED,
    AuthError,
    ClientError,
    EndpointRefused,
    RateLimited,
    ServiceUnavailable,
)
from integration.endpoints import redact_url_credentials
from integration.log_filters import MASK, _redact_patterns

REFUSED = "refused"
TLS = "tls"
TIMEOUT = "timeout"
AUTH = "auth"
NOT_ENDPOINT = "not_endpoint"
NO_CREDENTIALS = "no_credentials"
LIMIT = "limit"
API_DISABLED = "api_disabled"
UNAVAILABLE = "unavailable"
OTHER = "other"

CATEGORIES = (REFUSED, TLS, TIMEOUT, AUTH, NOT_ENDPOINT, NO_CREDENTIALS, LIMIT, API_DISABLED, UNAVAILABLE, OTHER)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 32:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args):
            if isinstance(linked, BaseException):
                todo.append(linked)


def failure_category(exc: BaseException) -> str:
    chain = list(_chain(exc))

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    if has(ssl.SSLError, ssl.CertificateError, requests.exceptions.SSLError, urllib3.exceptions.SSLError):
        return TLS
    # Before the timeouts: urllib3's NewConnectionError is also a ConnectTimeoutError.
    if has(urllib3.exceptions.NewConnectionError, ConnectionRefusedError, socket.gaierror):
        return REFUSED
    if has(TimeoutError, socket.timeout, urllib3.exceptions.TimeoutError, requests.exceptions.Timeout):
        return TIMEOUT
    if has(json.JSONDecodeError, requests.exceptions.JSONDecodeError):
        return NOT_ENDPOINT
    if has(
        requests.exceptions.ConnectionError,
        urllib3.exceptions.ProtocolError,
        http.client.HTTPException,
        ConnectionError,
    ):
        return REFUSED
    if has(EndpointRefused):
        return NOT_ENDPOINT
    client_error = next((e for e in chain if isinstance(e, ClientError)), None)
    if client_error is None:
        return OTHER
    if client_error.code == NOT_CONFIGURED:
        return NO_CREDENTIALS
    if isinstance(client_error, RateLimited):
        return LIMIT
    if isinstance(client_error, AuthError):
        return API_DISABLED if "API_DISABLED" in str(client_error.code).upper() else AUTH
    if isinstance(client_error, ServiceUnavailable):
        return UNAVAILABLE if client_error.status >= 500 else OTHER
    if 300 <= client_error.status < 500:
        return NOT_ENDPOINT
    return OTHER


def failure_message(category: str, *, service: str) -> str:
    """The sentence shown for ``category``; ``service`` is "Salesforce" or "HubSpot"."""
    # The health page sorts reasons by their words (sync.selectors.suspensions): "authentication",
    # "limit" and "disabled" are kept in the matching sentences.
    messages = {
        REFUSED: _("Could not connect to %(service)s: the connection was refused or the host was not found."),
        TLS: _("The secure connection (TLS) to %(service)s failed: certificate or protocol not accepted."),
        TIMEOUT: _("%(service)s did not answer in time."),
        AUTH: _("Authentication refused by %(service)s: the credentials were not accepted."),
        NOT_ENDPOINT: _("This URL is not a %(service)s API endpoint: its answer was not %(service)s's."),
        NO_CREDENTIALS: _("No credentials are stored for %(service)s: enter them, then connect."),
        LIMIT: _("The %(service)s API request limit is reached."),
        API_DISABLED: _("API access is disabled for this %(service)s user or org."),
        UNAVAILABLE: _("%(service)s is unavailable (server error); try again later."),
        OTHER: _("The connection to %(service)s failed; the details are in the server log."),
    }
    return messages.get(category, messages[OTHER]) % {"service": service}


def describe(exc: BaseException) -> str:
    """The whole chain, for the log (redact it before logging)."""
    parts = []
    for e in _chain(exc):
        status = getattr(e, "status", None)
        parts.append(f"{type(e).__name__}{f' [{status}]' if status else ''}: {e}")
    return " <- ".join(parts)[:4000]


def redact_detail(text: str, hide: Sequence[str] = ()) -> str:
    """``text`` without the known secret values, credential-shaped text or URL credentials."""
    for value in sorted((v for v in hide if v and len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, MASK)
    return redact_url_credentials(_redact_patterns(text))


def failure_report(
    exc: BaseException, *, service: str, logger: logging.Logger, where: str, hide: Sequence[str] = ()
) -> tuple[str, str]:
    """Log the details of ``exc`` (secrets in ``hide`` redacted) and return ``(category, message
    to show)``."""
    category = failure_category(exc)
    logger.warning("%s: %s connection failed (%s): %s", where, service, category, redact_detail(describe(exc), hide))
    return category, failure_message(category, service=service)
