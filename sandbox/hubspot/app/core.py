"""``make_app``: the HubSpot sandbox's state, hooks and routes wired into one ``Router``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.faults import FaultInjector, install_control_routes
from sandbox.hubspot.app.batch import BatchHandlers
from sandbox.hubspot.app.common import CONTACT_PATH, error_body, render_error
from sandbox.hubspot.app.contacts import ContactHandlers
from sandbox.hubspot.app.hooks import HubSpotHooks
from sandbox.hubspot.app.limits import PROFESSIONAL, HubSpotLimits, RateLimiter
from sandbox.hubspot.app.list_memberships import add_membership_routes
from sandbox.hubspot.app.lists import add_list_routes
from sandbox.hubspot.app.oauth import OAuthHandlers
from sandbox.hubspot.app.owners import OwnerHandlers
from sandbox.hubspot.app.properties import PropertyHandlers
from sandbox.hubspot.lists.store import HubSpotLists
from sandbox.hubspot.store import HubSpotStore
from sandbox.store import default_db_path
from sandbox.wsgi import Request, Response, Router, json_response


def make_app(db_path: str | Path | None = None, *, limits: HubSpotLimits = PROFESSIONAL) -> Router:
    """The HubSpot emulator; state in ``db_path`` (default ``DATA_DIR/sandbox/hubspot.sqlite3``),
    enforcing ``limits`` (by default a Professional account's: :mod:`.limits`; ``NO_LIMITS`` for none)."""
    if db_path is None:
        db_path = default_db_path("hubspot")
    store = HubSpotStore(db_path)
    lists = HubSpotLists(store)
    faults = FaultInjector()
    limiter = RateLimiter(limits.burst, limits.burst_interval_ms, limits.daily)
    search_limiter = RateLimiter(limits.search, limits.search_interval_ms)
    router = Router(error_renderer=render_error)

    hooks = HubSpotHooks(store, limiter, search_limiter)
    router.before += [faults.hook(hooks.render_fault), hooks.authenticate, hooks.rate_limit_hook]
    router.after.append(hooks.rate_headers)

    def limits() -> dict[str, Any]:
        return {
            "rate_limit": {"max": limiter.max_requests, "interval_ms": limiter.interval_ms},
            "search_rate_limit": {"max": search_limiter.max_requests, "interval_ms": search_limiter.interval_ms},
            "daily_limit": {"max": limiter.daily, "used": limiter.daily_used},
            "throttled": dict(limiter.refused + search_limiter.refused),
        }

    def set_config(request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return json_response(400, error_body(400, "A JSON object is expected."))
        if "list_processing_ms" in body:
            try:
                lists.set_processing_ms(body["list_processing_ms"])
            except ValueError as exc:
                return json_response(400, error_body(400, str(exc)))
        for key, target, default_interval in (
            ("rate_limit", limiter, 10_000),
            ("search_rate_limit", search_limiter, 1_000),
        ):
            if key not in body:
                continue
            config = body[key]
            if config is None:
                target.configure(None, default_interval)
                continue
            try:
                maximum, interval = int(config["max"]), int(config.get("interval_ms", default_interval))
            except (KeyError, TypeError, ValueError):
                return json_response(400, error_body(400, f"{key} needs an integer 'max'."))
            if maximum < 1 or interval < 1:
                return json_response(400, error_body(400, f"{key} needs a 'max' and 'interval_ms' of at least 1."))
            target.configure(maximum, interval)
        if "daily_limit" in body:
            config = body["daily_limit"]
            try:
                if config is None:
                    limiter.configure_daily(None)
                else:
                    used = config.get("used")
                    daily, used = int(config["max"]), None if used is None else int(used)
                    if daily < 1 or (used is not None and used < 0):
                        raise ValueError
                    limiter.configure_daily(daily, used)
            except (AttributeError, KeyError, TypeError, ValueError):
                return json_response(
                    400, error_body(400, "daily_limit needs a positive integer 'max' (and may set 'used', 0 or more).")
                )
        return json_response(200, {**limits(), "list_processing_ms": lists.processing_ms()})

    install_control_routes(
        router,
        faults,
        reset=store.reset,
        status=lambda: {"contacts": store.count(), "archived": store.count(archived=True), **limits()},
    )
    router.add("POST", r"/_sandbox/config", set_config, public=True)
    _add_routes(router, store)
    add_list_routes(router, lists)
    add_membership_routes(router, lists)

    router.store = store  # type: ignore[attr-defined]
    router.lists = lists  # type: ignore[attr-defined]
    router.faults = faults  # type: ignore[attr-defined]
    router.limiter = limiter  # type: ignore[attr-defined]
    return router


def _add_routes(router: Router, store: HubSpotStore) -> None:
    contacts, batch = ContactHandlers(store), BatchHandlers(store)
    properties, oauth, owners = PropertyHandlers(store), OAuthHandlers(store), OwnerHandlers(store)
    r = router
    r.add("GET", CONTACT_PATH, contacts.list_contacts)
    r.add("POST", CONTACT_PATH, contacts.create_contact)
    r.add("GET", CONTACT_PATH + r"/(?P<contact_id>[^/]+)", contacts.get_contact)
    r.add("PATCH", CONTACT_PATH + r"/(?P<contact_id>[^/]+)", contacts.update_contact)
    r.add("DELETE", CONTACT_PATH + r"/(?P<contact_id>[^/]+)", contacts.archive_contact)
    r.add("POST", CONTACT_PATH + r"/search", contacts.search)
    r.add("POST", CONTACT_PATH + r"/batch/read", batch.batch_read)
    r.add("POST", CONTACT_PATH + r"/batch/create", batch.batch_create)
    r.add("POST", CONTACT_PATH + r"/batch/update", batch.batch_update)
    r.add("POST", CONTACT_PATH + r"/batch/upsert", batch.batch_upsert)
    r.add("POST", CONTACT_PATH + r"/batch/archive", batch.batch_archive)
    r.add("GET", r"/crm/v3/properties/contacts", properties.list_properties)
    r.add("GET", r"/crm/v3/properties/contacts/(?P<name>[^/]+)", properties.get_property)
    r.add("DELETE", r"/crm/v3/properties/contacts/(?P<name>[^/]+)", properties.archive_property)
    r.add("POST", r"/crm/v3/properties/contacts", properties.create_property)
    r.add("GET", r"/crm/v3/owners/?", owners.list_owners)
    r.add("GET", r"/crm/v3/owners/(?P<owner_id>[^/]+)", owners.get_owner)
    r.add("POST", r"/_sandbox/owners", owners.create_owner, public=True)
    r.add("PATCH", r"/_sandbox/owners/(?P<owner_id>[^/]+)", owners.update_owner, public=True)
    r.add("POST", r"/oauth/v1/token", oauth.oauth_token, public=True)
    r.add("GET", r"/oauth/v1/access-tokens/(?P<token>[^/]+)", oauth.token_info, public=True)
