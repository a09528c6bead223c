"""The Salesforce sandbox: REST API v59.0+, sObject Collections, SOQL, Bulk API 2.0 and OAuth.

``make_app(db_path)`` returns the WSGI app, ``reset(db_path)`` empties its state; tests and
benches start it over TLS with :func:`integration.sandbox.salesforce.testing.running_salesforce`.
"""

from integration.sandbox.salesforce.app import SalesforceSandbox, make_app, reset

__all__ = ["SalesforceSandbox", "make_app", "reset"]
