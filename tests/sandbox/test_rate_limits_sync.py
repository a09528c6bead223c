"""The product under HubSpot's limits: a first sync against an emulator with a very low burst
limit meets 429s and still brings every contact with an email to Salesforce (the HubSpot client
waits out each 429 and retries)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from sandbox.hubspot import HubSpotLimits
from sandbox.hubspot.seed import seed_contacts
from sandbox.salesforce.testing import running_salesforce_server
from sandbox.testing import running_hubspot_app, trusting_session

# Two calls a second: the pull's pages and the push's reads meet the limit at once.
LOW = HubSpotLimits(burst=2, burst_interval_ms=1_000, search=1, daily=None)


@pytest.mark.django_db(transaction=True)
def test_a_first_sync_under_a_low_burst_limit_meets_429s_and_completes(tmp_path: Path, settings):
    from integration.clients import hubspot as hubspot_client
    from integration.models import SyncSettings
    from integration.services import inclusion_list_set
    from lists.models import Contact
    from lists.services import list_create, list_refresh
    from sync.services import hubspot_pull, list_resync, push_pending
    from tests.lists.factories import filter_branch, property_filter

    with (
        running_hubspot_app(tmp_path / "hubspot", limits=LOW) as (hubspot_url, app),
        running_salesforce_server(tmp_path / "sf") as sf,
    ):
        seed_contacts(app.store, count=450, seed=3)
        settings.SANDBOX = True
        settings.SANDBOX_HUBSPOT_URL = hubspot_url
        settings.SANDBOX_SALESFORCE_URL = sf.url
        settings.SANDBOX_SALESFORCE_CERT = str(sf.cert_path)
        hubspot_client._cache.clear()
        try:
            pulled = hubspot_pull()
            contact_list = list_create(
                name="Everyone with an email",
                processing_type="DYNAMIC",
                filter_branch=filter_branch([property_filter("email", "ALL_PROPERTY", "IS_KNOWN")]),
            )
            list_refresh(contact_list=contact_list)
            inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
            run = push_pending(run=list_resync(contact_list=contact_list, run_async=False))
        finally:
            hubspot_client._cache.clear()
        status = requests.get(f"{hubspot_url}/_sandbox/status", timeout=10).json()
        session = trusting_session(sf.cert_path)
        leads = session.get(
            f"{sf.url}/services/data/v62.0/query",
            params={"q": "SELECT COUNT() FROM Lead"},
            headers={"Authorization": "Bearer sandbox"},
            timeout=30,
        ).json()["totalSize"]

    assert status["throttled"].get("TEN_SECONDLY_ROLLING", 0) > 0  # the limit was met
    assert pulled.status == "succeeded" and Contact.objects.count() == 450
    members = contact_list.memberships.count()
    assert members > 400
    # Every member reached Salesforce or was refused by it for its own data, none lost to a 429.
    assert run.created + run.failed == members and run.created > 0
    assert leads >= run.created
