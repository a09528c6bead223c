"""The HubSpot client's retry policy: urllib3 ``Retry`` on 429 and 5xx for every method, POST
included, honouring ``Retry-After``, with exponential back-off; each retry counted, since each
one spends API quota.
"""

from __future__ import annotations

from typing import Any

from urllib3.util.retry import Retry

from integration.clients.base import ApiCallCounter

RETRY_STATUSES = (429, 500, 502, 503, 504)


class CountingRetry(Retry):
    """A urllib3 ``Retry`` that counts each retried call in an ``ApiCallCounter``."""

    counter: ApiCallCounter | None = None

    def new(self, **kw: Any) -> CountingRetry:
        retry = super().new(**kw)
        retry.counter = self.counter
        return retry

    def increment(self, *args: Any, **kwargs: Any) -> CountingRetry:
        retry = super().increment(*args, **kwargs)  # raises when retries are exhausted
        if self.counter is not None:
            self.counter.increment()
        return retry


def default_retry(counter: ApiCallCounter | None = None, total: int = 5, backoff_factor: float = 0.5) -> CountingRetry:
    retry = CountingRetry(
        total=total,
        connect=total,
        read=2,
        status=total,
        backoff_factor=backoff_factor,
        backoff_max=30,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # POST too: HubSpot's batch and search endpoints are POSTs
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the last 429/5xx to the client, which raises ApiException
    )
    retry.counter = counter
    return retry
