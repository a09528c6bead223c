"""The HubSpot sandbox (CRM v3 contacts and properties). See :mod:`.app` for the endpoints.

``make_app(db_path=None, *, rate_limit=None)`` builds the WSGI app; ``HubSpotStore`` is its
state (also used directly by ``sandbox_seed`` and ``sandbox_reset``).
"""

from sandbox.hubspot.app import make_app
from sandbox.hubspot.store import HubSpotStore

__all__ = ["HubSpotStore", "make_app"]
