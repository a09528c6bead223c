"""Shared pieces of the API clients: call counting and the errors the sync engine catches.

Every client counts each HTTP call it makes (retries included, since each one spends API
quota) in an ``ApiCallCounter``; a run reads ``client.api_calls`` before and after to record
the calls it used. Errors are translated into ``ClientError`` subclasses so callers never
depend on a library's exception types:

- ``AuthError``: credentials refused or expired (401/403); not retryable without a new login.
- ``RateLimited``: 429 / request limit exceeded; ``retry_after`` seconds when the service says.
- ``NotFound``: 404.
- ``Conflict``: 409 (e.g. HubSpot's duplicate email).
- ``ServiceUnavailable``: 5xx or the connection failed; retryable.
- ``ValidationFailed``: the service refused the input (400).
- ``EndpointRefused``: a URL is not one the connection's secrets may go to
  (:mod:`integration.endpoints`); nothing was sent.
"""

from __future__ import annotations

import threading
from typing import Any

# The ``code`` of an ``AuthError`` that means nothing is configured to log in with.
NOT_CONFIGURED = "NOT_CONFIGURED"


class ApiCallCounter:
    """A thread-safe counter of API calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def increment(self, n: int = 1) -> None:
        with self._lock:
            self._value += n

    @property
    def value(self) -> int:
        return self._value

    def reset(self) -> int:
        """Zero the counter; returns the value it had."""
        with self._lock:
            value, self._value = self._value, 0
            return value

    def __int__(self) -> int:
        return self._value

    def __repr__(self) -> str:
        return f"ApiCallCounter({self._value})"


class ClientError(Exception):
    """An API call failed. ``status`` is the HTTP status (0 when no response), ``code`` the
    service's error code or category, ``body`` the decoded error body when there was one."""

    retryable = False

    def __init__(self, message: str, *, status: int = 0, code: str = "", body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body


class AuthError(ClientError):
    pass


class RateLimited(ClientError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class NotFound(ClientError):
    pass


class Conflict(ClientError):
    pass


class ValidationFailed(ClientError):
    pass


class ServiceUnavailable(ClientError):
    retryable = True


class EndpointRefused(ClientError):
    """A login, instance or base URL failed the vetting of :mod:`integration.endpoints`: no
    request was made to it."""


def error_for_status(
    status: int, message: str, *, code: str = "", body: Any = None, retry_after: float | None = None
) -> ClientError:
    """The ``ClientError`` subclass matching an HTTP status."""
    if status in (401, 403):
        return AuthError(message, status=status, code=code, body=body)
    if status == 429:
        return RateLimited(message, status=status, code=code, body=body, retry_after=retry_after)
    if status == 404:
        return NotFound(message, status=status, code=code, body=body)
    if status == 409:
        return Conflict(message, status=status, code=code, body=body)
    if status == 0 or status >= 500:
        return ServiceUnavailable(message, status=status, code=code, body=body)
    if 400 <= status < 500:
        return ValidationFailed(message, status=status, code=code, body=body)
    return ClientError(message, status=status, code=code, body=body)
