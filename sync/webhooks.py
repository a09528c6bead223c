"""HubSpot webhook endpoint: contact events trigger a sync at once (polling stays the fallback).

Requests must carry HubSpot's v3 signature (HMAC-SHA256 of method + URI + body + timestamp with
the app's client secret, base64) and a timestamp no older than five minutes; anything else is
refused before the body is read as JSON. A signed request is accepted once: a copy of it (a
replay) is refused while its timestamp would still be accepted. The body goes through the JSON
guard (``Content-Length``, size, depth, numbers), then each event is read with its types:
a malformed event is refused alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from integration.models import HubSpotConnection
from lists.jsonguard import JsonRefused, body_of, content_length_check, loads
from sync.services import webhook_events_handle, webhook_events_parse, webhook_signature_remember

logger = logging.getLogger(__name__)

MAX_AGE_MS = 5 * 60 * 1000
MAX_BODY = 1024 * 1024
# A batch is an array of flat objects (a merge's ids one level more): room to spare, no more.
MAX_DEPTH = 8
DEBOUNCE_SECONDS = 2


def webhook_secret() -> str:
    return HubSpotConnection.load().client_secret or settings.HUBSPOT_CLIENT_SECRET


def signature_v3(*, secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _refuse(status: int, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"status": "error", "message": message, **extra}, status=status)


@csrf_exempt  # authenticated by HubSpot's signature, not by a browser session
@require_POST
def hubspot_webhook(request: HttpRequest) -> JsonResponse:
    # The body's length first: Django itself reads a malformed Content-Length with int().
    try:
        content_length_check(request, max_bytes=MAX_BODY)
    except JsonRefused as exc:
        return _refuse(exc.status, exc.message)
    secret = webhook_secret()
    if not secret:
        return _refuse(403, gettext("Webhooks are not configured: set the HubSpot app's client secret."))
    signature = request.headers.get("X-HubSpot-Signature-v3", "")
    timestamp = request.headers.get("X-HubSpot-Request-Timestamp", "")
    if not signature or not timestamp:
        return _refuse(401, gettext("Missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp."))
    try:
        sent_at_ms = int(timestamp)
    except ValueError:
        return _refuse(401, gettext("Malformed X-HubSpot-Request-Timestamp."))
    if abs(time.time() * 1000 - sent_at_ms) > MAX_AGE_MS:
        return _refuse(401, gettext("Request timestamp is older than five minutes."))
    try:
        body = body_of(request, max_bytes=MAX_BODY)
    except JsonRefused as exc:
        return _refuse(exc.status, exc.message)
    expected = signature_v3(
        secret=secret, method=request.method, uri=request.build_absolute_uri(), body=body, timestamp=timestamp
    )
    # Bytes: compare_digest refuses str with non-ASCII characters (a header can hold any).
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogatepass")):
        return _refuse(401, gettext("Invalid signature."))
    # Accepted until the timestamp is too old either way; a copy sent within that time is a replay.
    expires_at = datetime.fromtimestamp((sent_at_ms + MAX_AGE_MS) / 1000, tz=UTC)
    if not webhook_signature_remember(signature=signature, expires_at=expires_at):
        return _refuse(409, gettext("This signed request was already received: a replay is refused."))
    try:
        # Nothing from a webhook is stored as text, so any text is read.
        data = loads(body or b"[]", max_bytes=MAX_BODY, max_depth=MAX_DEPTH, storable_text=False)
    except JsonRefused as exc:
        return _refuse(exc.status, exc.message)
    if not isinstance(data, list):
        return _refuse(400, gettext("Body must be a JSON array of events."))
    events, refused = webhook_events_parse(data)
    if refused and not events:
        return _refuse(400, gettext("No event of this batch has the shape HubSpot documents."), refused=refused)
    if refused:
        logger.warning("HubSpot webhook: %s of %s events refused: %s", len(refused), len(data), refused[:5])
    handled = webhook_events_handle(events=events)
    if cache.add("hubspot-webhook-cycle", 1, timeout=DEBOUNCE_SECONDS):
        async_task("sync.tasks.sync_cycle_task", "webhook", task_name="webhook-sync-cycle")
    return JsonResponse({"status": "ok", "events": len(data), "handled": handled, "refused": refused})
