"""Where login attempts are counted: atomic counters with a window, in Redis or in the database.

A password check is *reserved* before it runs: the counter is incremented and read back in one
atomic step, so N requests arriving together see N different counts and only the first
``LOGIN_FAILURE_LIMIT`` of them get to check a password. Counting after the check (as a cache
``get`` then ``incr`` would) lets every parallel guess through before the first is counted.

- Redis (``REDIS_URL`` set, so every web process on every machine shares the count): ``SET NX EX``
  then ``INCR`` in one MULTI/EXEC transaction.
- The database otherwise: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement
  (PostgreSQL, and SQLite since 3.35), which takes the row's lock for the increment.

A window starts at the first attempt and lasts ``LOGIN_LOCKOUT_SECONDS``; attempts refused in it
do not extend it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import redis
from django.conf import settings
from django.db import connection

from config.models import LoginAttempt


@dataclass(frozen=True)
class Attempts:
    count: int  # reserved in the current window, the one just reserved included
    ends_at: float  # when the window ends (epoch seconds)


class AttemptStore(Protocol):
    def reserve(self, key: str, *, now: float, window: int) -> Attempts: ...

    def peek(self, key: str, *, now: float) -> Attempts | None: ...

    def clear(self, key: str) -> None: ...


# The only statement that writes a count. Within one statement every CASE reads the row as it
# was before the update, so an expired window restarts at 1 and a live one goes up by one.
_RESERVE_SQL = """
INSERT INTO config_loginattempt (digest, attempts, window_ends_at) VALUES (%s, 1, %s)
ON CONFLICT (digest) DO UPDATE SET
    attempts = CASE WHEN config_loginattempt.window_ends_at <= %s THEN 1
                    ELSE config_loginattempt.attempts + 1 END,
    window_ends_at = CASE WHEN config_loginattempt.window_ends_at <= %s THEN excluded.window_ends_at
                          ELSE config_loginattempt.window_ends_at END
RETURNING attempts, window_ends_at
"""


class DatabaseStore:
    def reserve(self, key: str, *, now: float, window: int) -> Attempts:
        with connection.cursor() as cursor:
            cursor.execute(_RESERVE_SQL, [key, now + window, now, now])
            count, ends_at = cursor.fetchone()
        if count == 1:
            # A new window: forget the windows that ended (one indexed delete, at most once per
            # username and address per window).
            LoginAttempt.objects.filter(window_ends_at__lte=now).delete()
        return Attempts(count=count, ends_at=ends_at)

    def peek(self, key: str, *, now: float) -> Attempts | None:
        row = LoginAttempt.objects.filter(pk=key, window_ends_at__gt=now).first()
        return Attempts(count=row.attempts, ends_at=row.window_ends_at) if row else None

    def clear(self, key: str) -> None:
        LoginAttempt.objects.filter(pk=key).delete()


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


class RedisStore:
    prefix = "login-attempts:"

    def __init__(self, url: str) -> None:
        self.client = _redis(url)

    def reserve(self, key: str, *, now: float, window: int) -> Attempts:
        name = self.prefix + key
        pipe = self.client.pipeline(transaction=True)
        pipe.set(name, 0, ex=window, nx=True)
        pipe.incr(name)
        pipe.pttl(name)
        _created, count, ttl_ms = pipe.execute()
        if ttl_ms < 0:
            # The key expired between SET and INCR, which then made it without a lifetime.
            self.client.expire(name, window)
            ttl_ms = window * 1000
        return Attempts(count=int(count), ends_at=now + ttl_ms / 1000)

    def peek(self, key: str, *, now: float) -> Attempts | None:
        name = self.prefix + key
        pipe = self.client.pipeline(transaction=True)
        pipe.get(name)
        pipe.pttl(name)
        count, ttl_ms = pipe.execute()
        if count is None or ttl_ms <= 0:
            return None
        return Attempts(count=int(count), ends_at=now + ttl_ms / 1000)

    def clear(self, key: str) -> None:
        self.client.delete(self.prefix + key)


def attempt_store() -> AttemptStore:
    """Redis when the deployment has one (shared by every machine), else the database."""
    url = getattr(settings, "REDIS_URL", "")
    return RedisStore(url) if url else DatabaseStore()
