"""HubSpot's rate limits, counted in memory: the burst limit per app, search's own per-second
limit, and the daily allowance.

By default the emulator enforces what HubSpot documents for a private app installed in a
Professional account (``PROFESSIONAL``):

- burst: 190 requests per 10 seconds, and daily: 650,000 requests (Enterprise: 1,000,000), per
  "Increasing our API limits", https://developers.hubspot.com/changelog/increasing-our-api-limits
  and the table in "API usage guidelines and limits",
  https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines;
- the CRM search endpoints: 5 requests per second per account (same page, "Search API"; they
  were 4 before, https://developers.hubspot.com/changelog/crm-search-api-rate-limit-increase).

``NO_LIMITS`` switches all three off (tests and benches that measure the sync, not a throttle).
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

BURST_LIMIT = 190
BURST_INTERVAL_MS = 10_000
SEARCH_LIMIT = 5
SEARCH_INTERVAL_MS = 1_000
DAILY_LIMIT = 650_000

# HubSpot's policy names in a 429's body (``policyName``).
TEN_SECONDLY_ROLLING = "TEN_SECONDLY_ROLLING"
SECONDLY = "SECONDLY"
DAILY = "DAILY"


@dataclass(frozen=True)
class HubSpotLimits:
    """The limits one emulator enforces; ``None`` switches that limit off."""

    burst: int | None = BURST_LIMIT
    burst_interval_ms: int = BURST_INTERVAL_MS
    search: int | None = SEARCH_LIMIT
    search_interval_ms: int = SEARCH_INTERVAL_MS
    daily: int | None = DAILY_LIMIT

    def __post_init__(self) -> None:
        for name in ("burst", "search", "daily"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"The {name} limit must be at least 1 (or None for no limit).")
        if self.burst_interval_ms < 1 or self.search_interval_ms < 1:
            raise ValueError("A limit's interval must be at least 1 ms.")


PROFESSIONAL = HubSpotLimits()
NO_LIMITS = HubSpotLimits(burst=None, search=None, daily=None)


class RateLimiter:
    """A burst limit (calls per rolling interval) and, optionally, a daily allowance, counted in
    memory for this process. The daily count restarts at midnight UTC (HubSpot's restarts at
    midnight in the account's time zone)."""

    def __init__(self, max_requests: int | None = None, interval_ms: int = 10_000, daily: int | None = None) -> None:
        self._lock = threading.Lock()
        self._hits: collections.deque[float] = collections.deque()
        self.configure(max_requests, interval_ms)
        self.daily = daily
        self._day = time.gmtime().tm_yday
        self._daily_used = 0
        # Calls refused, by policy: how often a client met the limits (the emulator's status).
        self.refused: collections.Counter[str] = collections.Counter()

    def configure(self, max_requests: int | None, interval_ms: int = 10_000) -> None:
        with self._lock:
            self.max_requests = max_requests
            self.interval_ms = interval_ms
            self._hits.clear()

    def configure_daily(self, daily: int | None, used: int | None = None) -> None:
        with self._lock:
            self.daily = daily
            if used is not None:
                self._daily_used = used

    @property
    def daily_used(self) -> int:
        return self._daily_used

    def hit(self, policy: str = TEN_SECONDLY_ROLLING) -> tuple[str | None, dict[str, str]]:
        """Count one call: (the policy that refused it, or ``None``; headers describing the limits).
        ``policy`` names this limiter's interval limit (``SECONDLY`` for search's)."""
        now = time.monotonic()
        with self._lock:
            if time.gmtime().tm_yday != self._day:
                self._day, self._daily_used = time.gmtime().tm_yday, 0
            window = self.interval_ms / 1000
            while self._hits and self._hits[0] <= now - window:
                self._hits.popleft()
            limit = self.max_requests
            refused = None
            if self.daily is not None and self._daily_used >= self.daily:
                refused = DAILY
            elif limit is not None and len(self._hits) >= limit:
                refused = policy
            if refused is None:
                self._hits.append(now)
                self._daily_used += 1
            else:
                self.refused[refused] += 1
            shown_max = limit if limit is not None else 100_000
            shown_daily = self.daily if self.daily is not None else DAILY_LIMIT
            headers = {
                "X-HubSpot-RateLimit-Daily": str(shown_daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(shown_daily - self._daily_used, 0)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
                "X-HubSpot-RateLimit-Max": str(shown_max),
                "X-HubSpot-RateLimit-Remaining": str(max(shown_max - len(self._hits), 0)),
            }
            if refused == policy:
                retry_in = self._hits[0] + window - now
                headers["Retry-After"] = str(max(1, int(retry_in + 0.999)))
            return refused, headers
