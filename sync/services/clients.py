"""The API clients of one run, and the calls the run made with them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integration.clients.hubspot import HubSpotClient, get_hubspot_client
from integration.clients.salesforce import SalesforceClient, get_salesforce_client


class RunClients:
    """The clients of one run, built on first use (a cycle that never reaches Salesforce does not
    log in to it), and the API calls the run made with them."""

    FACTORIES: dict[str, Callable[[], Any]] = {"hubspot": get_hubspot_client, "salesforce": get_salesforce_client}

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._calls_before: dict[str, int] = {}

    def _client(self, name: str) -> Any:
        if name not in self._clients:
            client = self.FACTORIES[name]()
            self._clients[name], self._calls_before[name] = client, int(client.api_calls)
        return self._clients[name]

    @property
    def hubspot(self) -> HubSpotClient:
        return self._client("hubspot")

    @property
    def salesforce(self) -> SalesforceClient:
        return self._client("salesforce")

    def calls(self) -> dict[str, int]:
        """``{"hubspot_api_calls": n, "salesforce_api_calls": m}`` made by this run so far."""
        return {
            f"{name}_api_calls": int(client.api_calls) - self._calls_before[name] if client else 0
            for name in self.FACTORIES
            for client in [self._clients.get(name)]
        }
