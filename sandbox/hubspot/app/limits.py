"""HubSpot's rate limits, counted in memory: the burst limit per app and the daily allowance."""

from __future__ import annotations

import collections
import threading
import time

DAILY_LIMIT = 1_000_000


class RateLimiter:
    """HubSpot's burst (per interval) and daily limits, counted in memory for this process."""

    def __init__(self, max_requests: int | None = None, interval_ms: int = 10_000, daily: int = DAILY_LIMIT) -> None:
        self._lock = threading.Lock()
        self._hits: collections.deque[float] = collections.deque()
        self.configure(max_requests, interval_ms)
        self.daily = daily
        self._day = time.gmtime().tm_yday
        self._daily_used = 0

    def configure(self, max_requests: int | None, interval_ms: int = 10_000) -> None:
        with self._lock:
            self.max_requests = max_requests
            self.interval_ms = interval_ms
            self._hits.clear()

    def hit(self) -> tuple[bool, dict[str, str]]:
        """Count one call; (allowed, headers describing the limits after it)."""
        now = time.monotonic()
        with self._lock:
            if time.gmtime().tm_yday != self._day:
                self._day, self._daily_used = time.gmtime().tm_yday, 0
            window = self.interval_ms / 1000
            while self._hits and self._hits[0] <= now - window:
                self._hits.popleft()
            limit = self.max_requests
            allowed = limit is None or len(self._hits) < limit
            if allowed:
                self._hits.append(now)
                self._daily_used += 1
            shown_max = limit if limit is not None else 100_000
            headers = {
                "X-HubSpot-RateLimit-Daily": str(self.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(self.daily - self._daily_used, 0)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
                "X-HubSpot-RateLimit-Max": str(shown_max),
                "X-HubSpot-RateLimit-Remaining": str(max(shown_max - len(self._hits), 0)),
            }
            if not allowed:
                retry_in = self._hits[0] + window - now
                headers["Retry-After"] = str(max(1, int(retry_in + 0.999)))
            return allowed, headers
