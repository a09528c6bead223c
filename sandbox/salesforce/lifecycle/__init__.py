"""Salesforce's record lifecycle in the sandbox: Leads converted, records merged, and what was
deleted or updated in a time span (the Get Deleted and Get Updated resources).

- :mod:`.conversion`: ``convert_lead(store, lead_id, contact_id=None)``, the Convert button;
- :mod:`.merge`: ``merge(store, sobject, master_id, loser_ids)``, merge() of up to three records;
- :mod:`.replication`: ``deleted(...)`` and ``updated(...)``, with Salesforce's date checks;
- :mod:`.errors`: ``LifecycleError`` (an ``errorCode`` and a message) for what they refuse.

Conversion and merge are not REST resources (Salesforce offers them in the UI, Apex and SOAP):
the sandbox runs them from its commands (``sandbox_convert_lead``, ``sandbox_merge``) and control
endpoints (``POST /_sandbox/leads/{id}/convert``, ``POST /_sandbox/merge``).
"""

from sandbox.salesforce.lifecycle.conversion import convert_lead
from sandbox.salesforce.lifecycle.errors import LifecycleError
from sandbox.salesforce.lifecycle.merge import merge
from sandbox.salesforce.lifecycle.replication import deleted, updated

__all__ = ["LifecycleError", "convert_lead", "deleted", "merge", "updated"]
