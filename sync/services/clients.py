"""The API clients of one run, and the calls the run made with them."""

from __future__ import annotations

from integration.clients.hubspot import HubSpotClient, get_hubspot_client
from integration.clients.salesforce import SalesforceClient, get_salesforce_client


class RunClients:
    """The clients of one run, and the API calls the run made with them."""

    def __init__(self) -> None:
        # Built on first use: a cycle that never reaches Salesforce does not log in to it.
        self._hubspot: HubSpotClient | None = None
        self._salesforce: SalesforceClient | None = None
        self._hs0 = self._sf0 = 0

    @property
    def hubspot(self):
        if self._hubspot is None:
            self._hubspot = get_hubspot_client()
            self._hs0 = int(self._hubspot.api_calls)
        return self._hubspot

    @property
    def salesforce(self):
        if self._salesforce is None:
            self._salesforce = get_salesforce_client()
            self._sf0 = int(self._salesforce.api_calls)
        return self._salesforce

    def calls(self) -> dict[str, int]:
        return {
            "hubspot_api_calls": int(self._hubspot.api_calls) - self._hs0 if self._hubspot else 0,
            "salesforce_api_calls": int(self._salesforce.api_calls) - self._sf0 if self._salesforce else 0,
        }
