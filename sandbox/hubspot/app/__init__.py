"""The HubSpot sandbox as a WSGI app: CRM v3 contacts, properties, OAuth, rate limits, faults.

``make_app(db_path=None, *, limits=PROFESSIONAL) -> Router`` (``app.store`` is the
``HubSpotStore``, ``app.lists`` its ``HubSpotLists``, ``app.faults`` the ``FaultInjector``,
``app.limiter`` the ``RateLimiter``).

Endpoints (shaped as ``../shared/specs/hubspot/crm-contacts-v3.json`` and
``crm-properties-v3.json``):

- ``GET/POST /crm/v3/objects/contacts``; ``GET/PATCH/DELETE /crm/v3/objects/contacts/{id}``
  (``idProperty=email`` to address a contact by email);
- ``POST /crm/v3/objects/contacts/search``;
- ``POST /crm/v3/objects/contacts/batch/{read,create,update,upsert,archive}`` (<= 100 inputs);
- ``propertiesWithHistory`` on the list, the get and the batch read: each property's values newest
  first (:mod:`sandbox.hubspot.history`), at most 50 contacts a call then, as HubSpot's;
- ``GET/POST /crm/v3/properties/contacts``, ``GET /crm/v3/properties/contacts/{name}``;
- ``GET /crm/v3/owners/`` (``email``, ``after``, ``limit`` <= 500, ``archived``) and
  ``GET /crm/v3/owners/{ownerId}`` (``idProperty=id|userId``, ``archived``); the active owners are
  the options of ``hubspot_owner_id`` (:mod:`sandbox.hubspot.owners`);
- Lists v3 for contact lists (``/crm/v3/lists/...``: create, fetch, search, rename, filter
  updates, delete and restore, memberships), shaped as ``crm-lists-v3.json``: :mod:`.lists` and
  :mod:`.list_memberships`, over :mod:`sandbox.hubspot.lists`;
- ``POST /oauth/v1/token`` (authorization_code and refresh_token grants; any client id and
  secret) and ``GET /oauth/v1/access-tokens/{token}``;
- the sandbox's ``/_sandbox/`` control endpoints (faults, reset, status), ``POST /_sandbox/owners``
  ``{"email", "firstName", "lastName", "archived"}`` (adds an owner), ``PATCH /_sandbox/owners/{id}``
  ``{"archived": true|false}``, the lists' ``PUT /_sandbox/lists/{id}/memberships`` and
  ``PUT /_sandbox/lists/{id}/processing`` (:mod:`.list_memberships`), and
  ``POST /_sandbox/config`` ``{"rate_limit": {"max": 10, "interval_ms": 10000}}`` (burst
  limit) and/or ``{"search_rate_limit": {"max": 5, "interval_ms": 1000}}`` (HubSpot's separate
  per-second limit on search) and/or ``{"daily_limit": {"max": 650000, "used": 0}}``; ``null``
  switches a limit off; ``{"list_processing_ms": N}``:
  how long a list processes after a definition change (default 0).

Auth: ``Authorization: Bearer sandbox`` or a token issued by ``/oauth/v1/token`` (expires after
30 minutes, as HubSpot's). Errors are HubSpot's ``{"status": "error", "message", "correlationId",
"category"}``. Every authenticated response except search carries ``X-HubSpot-RateLimit-*``
headers. The limits of a Professional account's private app are on by default (:mod:`.limits`:
190 calls / 10 s, search 5 / s, 650,000 a day), each answered by HubSpot's 429 (``policyName``
``TEN_SECONDLY_ROLLING``, ``SECONDLY`` or ``DAILY``); ``make_app(limits=NO_LIMITS)`` switches them
off (the test helpers and the benches that measure the sync rather than a throttle), and
``POST /_sandbox/config`` ``{"daily_limit": {"max": N, "used": M}}`` sets the daily allowance.

Layout: :mod:`.core` (``make_app``: the state, the hooks, the route table and the control
endpoints); the handlers by API in :mod:`.contacts` (one contact at a time, and search),
:mod:`.batch`, :mod:`.properties`, :mod:`.owners` and :mod:`.oauth`; :mod:`.hooks` (faults, auth
and rate limits around every call, counted by :mod:`.limits`); :mod:`.common` (HubSpot's error
shape and the contact look-ups the handlers share).
"""

from sandbox.hubspot.app.core import make_app

__all__ = ["make_app"]
