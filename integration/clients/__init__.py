"""The app's clients of the HubSpot and Salesforce APIs: the only code importing
hubspot-api-client and simple-salesforce, behind one small interface each.

They do more than wrap the libraries: they retry what is worth retrying, log in again or
refresh tokens when a session expires, count every HTTP call (retries included) for the run
reports, translate every failure into one shared error hierarchy, and move large sets in
pages, batches and streamed Bulk API 2.0 jobs.

- :mod:`integration.clients.base`: what both share: ``ApiCallCounter`` and the exception
  hierarchy (``ClientError`` and subclasses, with ``retryable``) the sync engine catches.
- :mod:`integration.clients.hubspot`: ``HubSpotClient`` (contact pages, searches past the
  10,000-result cap, batched writes, urllib3 retries, OAuth refresh) and
  ``get_hubspot_client()``.
- :mod:`integration.clients.salesforce`: ``SalesforceClient`` (OAuth logins and re-login,
  retries, sObject Collections, SOQL lookups, Bulk API 2.0 jobs streamed both ways) and
  ``get_salesforce_client()``.

Real or sandbox is chosen by configuration in the factories; the clients themselves only differ
in base URL and credentials (and, for the Salesforce emulator, the certificate trusted).
"""
