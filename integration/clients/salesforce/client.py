"""``SalesforceClient``: the one Salesforce interface the app uses, the REST calls of
:mod:`~integration.clients.salesforce.rest` (with the lifecycle reads of
:mod:`~integration.clients.salesforce.lifecycle`) and the Bulk API 2.0 jobs of
:mod:`~integration.clients.salesforce.bulk` over one logged-in, counted session.
"""

from __future__ import annotations

from integration.clients.salesforce.bulk import BulkApi
from integration.clients.salesforce.lifecycle import LifecycleApi


class SalesforceClient(LifecycleApi, BulkApi):
    """One client for a real org and for the sandbox emulator: they differ only in base URL,
    credentials and (sandbox) the TLS certificate trusted. Build it with
    ``get_salesforce_client()``; thread-safe enough for one sync run."""
