"""The HubSpot sandbox (CRM v3 contacts and properties). See :mod:`.app` for the endpoints.
``make_app(db_path=None, *, limits=PROFESSIONAL)`` builds the WSGI app, enforcing a Professional
account's rate limits unless given others (``NO_LIMITS``: none); ``HubSpotStore`` is its state
(also used directly by ``sandbox_seed`` and ``sandbox_reset``).
"""

from sandbox.hubspot.app import make_app
from sandbox.hubspot.app.limits import NO_LIMITS, PROFESSIONAL, HubSpotLimits
from sandbox.hubspot.store import HubSpotStore

__all__ = ["NO_LIMITS", "PROFESSIONAL", "HubSpotLimits", "HubSpotStore", "make_app"]
