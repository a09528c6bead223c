"""Password-guessing throttling, which Django does not have.

Within ``LOGIN_LOCKOUT_SECONDS`` (15 minutes) of its first attempt, a username may have its
password checked ``LOGIN_FAILURE_LIMIT`` (5) times from one address; after that it is refused
from that address until the window ends, even with the right password. A successful check clears
the count.

Each check is reserved *before* the password is looked at (config/attempts.py: an atomic
counter in Redis or in the database): twenty guesses sent at once cost twenty attempts, and only
the first five are checked. The reservation is made:

- in the authentication backend, so every ``authenticate()`` counts whatever form called it
  (the admin's login form explains a lock: ``ThrottledAdminAuthenticationForm``);
- in the password-change form's check of the old password (``ThrottledPasswordChangeForm``),
  against the same count: a stolen session cannot be used to guess the password either.

Keyed by username *and* address: a guesser gets 5 tries per address per window, and a stranger
elsewhere cannot lock the admin out. Behind a reverse proxy every request comes from the proxy's
address, so the lock becomes per username.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import ngettext

from config.attempts import attempt_store


def failure_limit() -> int:
    return getattr(settings, "LOGIN_FAILURE_LIMIT", 5)


def lockout_seconds() -> int:
    return getattr(settings, "LOGIN_LOCKOUT_SECONDS", 15 * 60)


def _now() -> float:
    return time.time()


def client_address(request: HttpRequest | None) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _key(username: str, address: str) -> str:
    # Hashed: usernames typed at the login form can be anything, keys cannot.
    return hashlib.sha256(f"{username.casefold()}\0{address}".encode()).hexdigest()


@dataclass(frozen=True)
class Reservation:
    allowed: bool  # this attempt may check a password
    locked_for: int  # else: seconds until the window ends


def attempt_reserve(*, username: str, address: str) -> Reservation:
    """Count one password check for ``username`` from ``address`` before it runs."""
    now = _now()
    attempts = attempt_store().reserve(_key(username, address), now=now, window=lockout_seconds())
    if attempts.count <= failure_limit():
        return Reservation(allowed=True, locked_for=0)
    return Reservation(allowed=False, locked_for=max(1, math.ceil(attempts.ends_at - now)))


def locked_for(*, username: str, address: str) -> int:
    """Seconds this username stays locked from this address (0: not locked): every attempt of
    the window is used, failed or still being checked."""
    now = _now()
    attempts = attempt_store().peek(_key(username, address), now=now)
    if attempts is None or attempts.count < failure_limit():
        return 0
    return max(1, math.ceil(attempts.ends_at - now))


def failures_clear(*, username: str, address: str) -> None:
    attempt_store().clear(_key(username, address))


def lock_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Too many failed logins for this username. Try again in %(minutes)d minute.",
        "Too many failed logins for this username. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class ThrottledModelBackend(ModelBackend):
    """Django's username/password backend, reserving each attempt before checking it."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        address = client_address(request)
        if not attempt_reserve(username=username, address=address).allowed:
            # Stops authenticate() here: no other backend is tried and the password is not checked.
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            failures_clear(username=username, address=address)
        return user


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
                self._refuse_if_locked(username)  # this failure, or one beside it, may have used the last attempt
            raise

    def _refuse_if_locked(self, username: str) -> None:
        seconds = locked_for(username=username, address=client_address(self.request))
        if seconds:
            raise ValidationError(lock_message(seconds), code="locked")


class ThrottledPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "Change password" form: the old password is checked only when an attempt
    could be reserved for it, on the same count as the login form's."""

    def __init__(self, user: Any, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        username, address = self.user.get_username(), client_address(self.request)
        reservation = attempt_reserve(username=username, address=address)
        if not reservation.allowed:
            raise ValidationError(lock_message(reservation.locked_for), code="locked")
        if not self.user.check_password(old_password):
            seconds = locked_for(username=username, address=address)
            if seconds:
                raise ValidationError(lock_message(seconds), code="locked")
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        failures_clear(username=username, address=address)
        return old_password
