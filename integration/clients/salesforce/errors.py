"""The Salesforce errors: each is a ``SalesforceError`` and also the shared
:mod:`integration.clients.base` error the sync engine catches, so callers never see
simple-salesforce's or requests' exceptions.

``SalesforceSession._translate`` maps a failed call onto them: ``REQUEST_LIMIT_EXCEEDED`` is
``SalesforceLimitError``; 401 and ``INVALID_SESSION_ID`` are ``SalesforceAuthError``; 429, 5xx,
``TRANSIENT_CODES`` and connection errors are ``SalesforceTransientError``; 403 is an auth error,
404 ``SalesforceNotFound``, any other 4xx ``SalesforceRequestError``.
"""

from __future__ import annotations

from integration.clients.base import (
    AuthError,
    ClientError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)

# Error codes Salesforce answers when trying again later may work.
TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT"})


class SalesforceError(ClientError):
    """A Salesforce call failed; ``code`` is Salesforce's ``errorCode`` when it sent one."""


class SalesforceTransientError(SalesforceError, ServiceUnavailable):
    """Worth retrying later: 429, 5xx, ``UNABLE_TO_LOCK_ROW``, connection errors."""


class SalesforceAuthError(SalesforceError, AuthError):
    """Credentials refused or session invalid and no way to log in again."""


class SalesforceLimitError(SalesforceError, RateLimited):
    """``REQUEST_LIMIT_EXCEEDED``: the org's API allowance is spent."""


class SalesforceNotFound(SalesforceError, NotFound):
    pass


class SalesforceRequestError(SalesforceError, ValidationFailed):
    """Salesforce refused the request itself (malformed query, bad field, too many records)."""
