"""The app's Salesforce client, over simple-salesforce (with :mod:`integration.clients.hubspot`
the only package importing an API library).

One interface for a real org and for the sandbox emulator; they differ only in base URL,
credentials and (sandbox) the TLS certificate trusted. One module per job:

- :mod:`.factory`: ``get_salesforce_client()`` builds the client from
  ``integration.models.SalesforceConnection`` and settings (sandbox or real org, credentials,
  the pinned sandbox session, storing each refreshed token).
- :mod:`.client`: ``SalesforceClient``, the REST and Bulk APIs over one session.
- :mod:`.session`: login (and login again once on ``INVALID_SESSION_ID``), retries of
  transient failures of idempotent calls, error translation, and the counting of every API
  call (``api_calls``) with the org's usage read from ``Sforce-Limit-Info`` (``api_usage``).
- :mod:`.auth`: ``Credentials`` and ``request_token``: JWT bearer, client credentials, refresh
  token, and the legacy password grant, posted to the org's token endpoint.
- :mod:`.rest`: sObject Collections in chunks of 200 with results in input order, lookups by
  email in SOQL chunks under the URI length limit, paged queries, describe and limits.
- :mod:`.lifecycle`: deleted and merged records, converted Leads, users, the lead assignment rule.
- :mod:`.bulk`: Bulk API 2.0 jobs for large sets: the CSV streamed from a temporary file, the
  job polled at its own pace, results streamed back and matched to the input by key.
- :mod:`.results`, :mod:`.soql`, :mod:`.errors`: per-record results and their parsers, SOQL
  literals, and the errors: ``SalesforceTransientError`` (429, 5xx, ``UNABLE_TO_LOCK_ROW``,
  connection errors), ``SalesforceAuthError``, ``SalesforceLimitError``
  (``REQUEST_LIMIT_EXCEEDED``)..., each a ``SalesforceError`` and also one of the shared
  :mod:`integration.clients.base` errors the sync engine catches.

This package re-exports what callers use; its modules import each other directly.
"""

from integration.clients.salesforce.auth import Credentials, request_token
from integration.clients.salesforce.bulk import BulkResults, BulkUpload
from integration.clients.salesforce.client import SalesforceClient
from integration.clients.salesforce.errors import (
    SalesforceAuthError,
    SalesforceError,
    SalesforceLimitError,
    SalesforceNotFound,
    SalesforceRequestError,
    SalesforceTransientError,
)
from integration.clients.salesforce.factory import get_salesforce_client, sandbox_certificate, sandbox_session
from integration.clients.salesforce.lifecycle import DeletedRecord, SalesforceUser
from integration.clients.salesforce.results import EmailMatch, RecordError, RecordResult
from integration.clients.salesforce.soql import soql_datetime, soql_fields, soql_identifier, soql_quote

__all__ = [
    "BulkResults",
    "BulkUpload",
    "Credentials",
    "DeletedRecord",
    "EmailMatch",
    "RecordError",
    "RecordResult",
    "SalesforceAuthError",
    "SalesforceClient",
    "SalesforceError",
    "SalesforceLimitError",
    "SalesforceNotFound",
    "SalesforceRequestError",
    "SalesforceTransientError",
    "SalesforceUser",
    "get_salesforce_client",
    "request_token",
    "sandbox_certificate",
    "sandbox_session",
    "soql_datetime",
    "soql_fields",
    "soql_identifier",
    "soql_quote",
]
