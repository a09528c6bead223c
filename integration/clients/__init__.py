"""Thin clients over hubspot-api-client and simple-salesforce: the only modules importing them.

- :mod:`integration.clients.base`: what both share: ``ApiCallCounter`` and the exception
  hierarchy (``ClientError`` and subclasses) the sync engine catches.
- :mod:`integration.clients.hubspot`: ``HubSpotClient`` and ``get_hubspot_client()``.
- :mod:`integration.clients.salesforce`: the Salesforce client and its factory.

Real or sandbox is chosen by configuration in the factories; the clients themselves only differ
in base URL and credentials.
"""
