"""``GET /metrics``: the sync's figures in Prometheus's text format (sync/metrics.py computes
them at each scrape, in a registry made for that scrape: no global, mutable counters).

Only when the deployment sets ``METRICS_TOKEN``: without it the URL does not exist (404), with
it a scrape must send ``Authorization: Bearer <token>`` (compared in constant time), else 401.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from sync.metrics import SyncCollector

logger = logging.getLogger(__name__)


def metrics_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(SyncCollector())
    return registry


def bearer_token_matches(request: HttpRequest, token: str) -> bool:
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    # Bytes: compare_digest refuses str with non-ASCII characters (a header can hold any).
    given_bytes = given.strip().encode("utf-8", "surrogatepass")
    return scheme.lower() == "bearer" and hmac.compare_digest(given_bytes, token.encode())


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    if not bearer_token_matches(request, token):
        response = HttpResponse(
            gettext("A bearer token is required: Authorization: Bearer <METRICS_TOKEN>."),
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    try:
        body = generate_latest(metrics_registry())
    except DatabaseError:
        logger.exception("metrics: the database did not answer")
        return HttpResponse(
            gettext("The database did not answer: no metrics."), status=503, content_type="text/plain; charset=utf-8"
        )
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
