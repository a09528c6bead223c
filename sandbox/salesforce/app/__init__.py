"""The Salesforce sandbox as a WSGI app: REST API v59.0+, Bulk API 2.0 ingest, OAuth.

``make_app(db_path)`` returns the ``SalesforceSandbox`` (:mod:`.core`: services, hooks, the route
table and the ``/_sandbox/`` control endpoints); the handlers are grouped by the API they answer:

- :mod:`.meta`: ``GET /services/data/``, ``V/``, ``V/limits``;
- :mod:`.auth`: ``/services/oauth2/*`` and the identity URL;
- :mod:`.sobjects`: ``V/sobjects`` one record at a time, by id or by external id;
- :mod:`.composite`: ``V/composite/sobjects`` (sObject Collections, the sync's push) and the
  retrieve of ``V/composite/sobjects/{object}`` by GET or POST;
- :mod:`.query`: ``V/query`` and ``V/queryAll`` with query locators;
- :mod:`.ingest`: ``V/jobs/ingest`` (Bulk API 2.0);
- :mod:`.bulk_query`: ``V/jobs/query`` (Bulk API 2.0 query jobs, CSV results with locators);
- :mod:`.lifecycle`: Get Deleted, Get Updated, and the control endpoints for users, conversion
  and merges;
- :mod:`.common`: Salesforce's error shape and the request checks they share.
"""

from sandbox.salesforce.app.core import SalesforceSandbox, make_app, reset

__all__ = ["SalesforceSandbox", "make_app", "reset"]
