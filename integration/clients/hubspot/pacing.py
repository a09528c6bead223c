"""Keep this process's HubSpot calls within HubSpot's rate limits, before HubSpot has to say 429.

HubSpot limits a private app of a Professional or Enterprise account to 190 calls per 10 seconds
(burst) and its CRM search endpoints to 5 requests per second
(https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details). A 429 is still
retried (``retry.py``), but a large pull that leans on 429s loses whole seconds to back-off and
spends calls on refusals; pacing sends each call when the window has room.

``HUBSPOT_CALLS_PER_10_SECONDS`` (default 180, leaving room for other tools on the same app) and
``HUBSPOT_SEARCHES_PER_SECOND`` (default 4) set the pace; 0 switches pacing off (tests and
benches against an emulator whose limits are off). The window is this process's: with several
workers, give each its share.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from django.conf import settings


class Pacer:
    """At most ``calls`` calls in any window of ``seconds`` (thread-safe; callers wait their turn)."""

    def __init__(
        self,
        calls: int,
        seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.calls, self.seconds = calls, seconds
        self._clock, self._sleep = clock, sleep
        self._sent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def wait(self) -> None:
        if self.calls <= 0:
            return
        with self._lock:
            now = self._clock()
            while self._sent and self._sent[0] <= now - self.seconds:
                self._sent.popleft()
            if len(self._sent) >= self.calls:
                delay = self._sent[0] + self.seconds - now
                if delay > 0:
                    self._sleep(delay)
                    self.waited += delay
                self._sent.popleft()
            self._sent.append(self._clock())


_pacers: dict[str, Pacer] = {}
_pacers_lock = threading.Lock()


def pacer(kind: str) -> Pacer:
    """The process's pacer for ``"calls"`` (every call) or ``"search"`` (CRM searches)."""
    calls, seconds = (
        (int(getattr(settings, "HUBSPOT_CALLS_PER_10_SECONDS", 180)), 10.0)
        if kind == "calls"
        else (int(getattr(settings, "HUBSPOT_SEARCHES_PER_SECOND", 4)), 1.0)
    )
    with _pacers_lock:
        current = _pacers.get(kind)
        if current is None or current.calls != calls:
            current = _pacers[kind] = Pacer(calls, seconds)
        return current
