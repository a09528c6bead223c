"""Login throttling, which Django does not have.

After ``LOGIN_FAILURE_LIMIT`` (5) wrong passwords for one username from one address within
``LOGIN_LOCKOUT_SECONDS`` (15 minutes), that username is refused from that address for
``LOGIN_LOCKOUT_SECONDS``, even with the right password; a successful login clears the count.

Enforced in the authentication backend, so every ``authenticate()`` counts whatever form called
it, and explained on the admin's login form (``ThrottledAdminAuthenticationForm``). Keyed by
username *and* address: a guesser gets 5 tries per address per 15 minutes, and a stranger
elsewhere cannot lock the admin out. Behind a reverse proxy every request comes from the proxy's
address, so the lock becomes per username.

The counts live in the ``login_throttle`` cache (``settings.CACHES``), shared by every web
process: Redis when ``REDIS_URL`` is set, else files in ``DATA_DIR``.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.core.cache import BaseCache, caches
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import ngettext

CACHE_ALIAS = "login_throttle"


def failure_limit() -> int:
    return getattr(settings, "LOGIN_FAILURE_LIMIT", 5)


def lockout_seconds() -> int:
    return getattr(settings, "LOGIN_LOCKOUT_SECONDS", 15 * 60)


def _now() -> float:
    return time.time()


def _cache() -> BaseCache:
    return caches[CACHE_ALIAS if CACHE_ALIAS in settings.CACHES else "default"]


def client_address(request: HttpRequest | None) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _key(username: str, address: str) -> str:
    # Hashed: usernames typed at the login form can be anything, cache keys cannot.
    digest = hashlib.sha256(f"{username.casefold()}\0{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


def locked_for(*, username: str, address: str) -> int:
    """Seconds this username stays locked from this address (0: not locked)."""
    until = _cache().get(_key(username, address) + ":locked")
    return max(0, math.ceil(until - _now())) if until else 0


def failure_record(*, username: str, address: str) -> int:
    """Count a wrong password; returns the seconds of the lock it started (0: none yet)."""
    cache, key, window = _cache(), _key(username, address), lockout_seconds()
    # add + incr: concurrent guesses are all counted (incr is atomic in Redis and in memory).
    cache.add(key, 0, timeout=window)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        failures = 1
    if failures < failure_limit():
        return 0
    cache.set(key + ":locked", _now() + window, timeout=window)
    cache.delete(key)
    return window


def failures_clear(*, username: str, address: str) -> None:
    key = _key(username, address)
    _cache().delete_many([key, key + ":locked"])


class ThrottledModelBackend(ModelBackend):
    """Django's username/password backend, refusing a locked username before checking it."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if username is None:
            username = kwargs.get(self._username_field())
        if username is None or password is None:
            return None
        address = client_address(request)
        if locked_for(username=username, address=address):
            # Stops authenticate() here: no other backend is tried and the password is not checked.
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            failure_record(username=username, address=address)
        else:
            failures_clear(username=username, address=address)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, saying why a locked username is refused and for how long."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username and self.cleaned_data.get("password"):
            self._refuse_if_locked(username)
        try:
            return super().clean()
        except ValidationError:
            if username:
                self._refuse_if_locked(username)  # this failure may be the one that locked it
            raise

    def _refuse_if_locked(self, username: str) -> None:
        seconds = locked_for(username=username, address=client_address(self.request))
        if seconds:
            minutes = math.ceil(seconds / 60)
            raise ValidationError(
                ngettext(
                    "Too many failed logins for this username. Try again in %(minutes)d minute.",
                    "Too many failed logins for this username. Try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                code="locked",
            )
