"""HubSpot webhook endpoint: contact events trigger a sync at once (polling stays the fallback).

Requests must carry HubSpot's v3 signature (HMAC-SHA256 of method + URI + body + timestamp with
the app's client secret, base64) and a timestamp no older than five minutes; anything else is
refused before the body is read as JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from integration.models import HubSpotConnection
from sync.services import webhook_events_handle

logger = logging.getLogger(__name__)

MAX_AGE_MS = 5 * 60 * 1000
MAX_BODY = 1024 * 1024
DEBOUNCE_SECONDS = 2


def webhook_secret() -> str:
    return HubSpotConnection.load().client_secret or settings.HUBSPOT_CLIENT_SECRET


def signature_v3(*, secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _refuse(status: int, message: str) -> JsonResponse:
    return JsonResponse({"status": "error", "message": message}, status=status)


@csrf_exempt  # authenticated by HubSpot's signature, not by a browser session
@require_POST
def hubspot_webhook(request: HttpRequest) -> JsonResponse:
    secret = webhook_secret()
    if not secret:
        return _refuse(403, "Webhooks are not configured: set the HubSpot app's client secret.")
    signature = request.headers.get("X-HubSpot-Signature-v3", "")
    timestamp = request.headers.get("X-HubSpot-Request-Timestamp", "")
    if not signature or not timestamp:
        return _refuse(401, "Missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp.")
    try:
        age = abs(time.time() * 1000 - int(timestamp))
    except ValueError:
        return _refuse(401, "Malformed X-HubSpot-Request-Timestamp.")
    if age > MAX_AGE_MS:
        return _refuse(401, "Request timestamp is older than five minutes.")
    length = int(request.headers.get("Content-Length") or 0)
    if length > MAX_BODY:
        return _refuse(413, "Request body too large.")
    body = request.body
    expected = signature_v3(
        secret=secret, method=request.method, uri=request.build_absolute_uri(), body=body, timestamp=timestamp
    )
    if not hmac.compare_digest(expected, signature):
        return _refuse(401, "Invalid signature.")
    try:
        events = json.loads(body or b"[]")
    except (ValueError, UnicodeDecodeError):
        return _refuse(400, "Body is not JSON.")
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return _refuse(400, "Body must be a JSON array of events.")
    handled = webhook_events_handle(events=events)
    if cache.add("hubspot-webhook-cycle", 1, timeout=DEBOUNCE_SECONDS):
        async_task("sync.tasks.sync_cycle_task", "webhook", task_name="webhook-sync-cycle")
    return JsonResponse({"status": "ok", "events": len(events), "handled": handled})
