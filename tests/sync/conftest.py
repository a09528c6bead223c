"""The two sandbox emulators, running over real HTTP, with the app pointed at them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from sandbox.hubspot import HubSpotStore
from sandbox.hubspot.seed import seed_contacts
from sandbox.salesforce.testing import running_salesforce_server
from sandbox.testing import running_hubspot, trusting_session


@dataclass
class Sandbox:
    hubspot_url: str
    salesforce_url: str
    cert_path: Path
    hubspot_db: Path
    salesforce_app: object

    def session(self) -> requests.Session:
        return trusting_session(self.cert_path)

    def salesforce(self):
        """simple-salesforce, unmodified, on the emulator: for assertions on what Salesforce holds."""
        from simple_salesforce import Salesforce

        return Salesforce(instance_url=self.salesforce_url, session_id="sandbox", session=self.session())

    def soql(self, query: str) -> list[dict]:
        return self.salesforce().query_all(query)["records"]

    def hubspot(self):
        from hubspot import HubSpot

        return HubSpot(access_token="sandbox", host=self.hubspot_url)

    def seed(self, count: int, seed: int = 1) -> int:
        store = HubSpotStore(self.hubspot_db)
        try:
            return seed_contacts(store, count=count, seed=seed)
        finally:
            store.close()


@pytest.fixture
def sandbox(tmp_path, settings):
    from integration.clients import hubspot as hubspot_client

    hubspot_db = tmp_path / "hubspot" / "hubspot.sqlite3"
    hubspot_db.parent.mkdir(parents=True)
    with running_hubspot(hubspot_db.parent) as hubspot_url, running_salesforce_server(tmp_path / "sf") as sf:
        settings.SANDBOX = True
        settings.SANDBOX_HUBSPOT_URL = hubspot_url
        settings.SANDBOX_SALESFORCE_URL = sf.url
        settings.SANDBOX_SALESFORCE_CERT = str(sf.cert_path)
        hubspot_client._cache.clear()
        yield Sandbox(hubspot_url, sf.url, sf.cert_path, hubspot_db, sf.app)
        hubspot_client._cache.clear()


@pytest.fixture
def inclusion_list():
    """An empty, complete active list named "Members", chosen as the inclusion list."""
    from integration.models import SyncSettings
    from tests.lists.factories import ContactListFactory, ContactPropertyFactory

    ContactPropertyFactory(name="email")
    contact_list = ContactListFactory(name="Members", complete=True)
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": contact_list})
    return contact_list
