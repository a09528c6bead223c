"""Journey: lists made in HubSpot are imported (``hubspot_lists_pull``), one is picked as the
inclusion list under "Lists in HubSpot", its page says it lives in HubSpot, and after a sync its
members, and nobody else, are in Salesforce."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from integration.models import SyncSettings
from sync.services import sync_cycle
from tests.sync.conftest import sandbox  # noqa: F401 - the emulators, over real HTTP
from tests.sync.hubspot_lists_helpers import (
    FORM_SUBMITTED,
    HubSpotSide,
    and_branch,
    mirrored,
    or_root,
    prop,
    pull_all,
)

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"
MEMBERS = ["2", "3", "4", "5", "6"]


def test_pick_an_imported_hubspot_list_and_sync_its_members(
    live_server,
    page,
    staff_login,
    screenshot,
    sandbox,  # noqa: F811 - the fixture imported above
    django_user_model,
):
    django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    sandbox.seed(40, seed=5)
    hs = HubSpotSide(sandbox)
    demo = hs.create("Requested a demo", "DYNAMIC", or_root(and_branch(FORM_SUBMITTED)))
    hs.set_computed_members(demo, MEMBERS)
    hs.create(
        "France", "DYNAMIC", or_root(and_branch(prop("country", "MULTISTRING", "IS_EQUAL_TO", values=["France"])))
    )
    hs.settle()
    pull_all()  # what the worker does every cycle

    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/lists/contactlist/")
    expect(page.locator(".list-pill-hubspot")).to_have_count(2)
    screenshot(page, "1-lists-from-hubspot")

    page.goto(f"{live_server.url}/admin/integration/salesforce/settings/?tab=sync")
    # The rules under the dropdown are a plain list inside the section (not laid out as a grid).
    section = page.locator("#limit-syncs").bounding_box()
    for item in page.locator("ul.ia-rules li").all():
        box = item.bounding_box()
        assert box["x"] + box["width"] <= section["x"] + section["width"], box
    group = page.locator('#id_inclusion_list optgroup[label="Lists in HubSpot"]')
    expect(group.locator("option")).to_have_count(2)
    with page.expect_navigation():
        page.select_option("#id_inclusion_list", str(mirrored(demo).pk))
    expect(page.locator(".messagelist .success")).to_contain_text("Requested a demo")
    expect(page.locator("#stat-members")).to_have_text(str(len(MEMBERS)))
    screenshot(page, "2-picked-under-lists-in-hubspot")
    assert SyncSettings.load().inclusion_list_id == mirrored(demo).pk

    page.goto(f"{live_server.url}/admin/lists/contactlist/{mirrored(demo).pk}/change/")
    expect(page.locator("#list-hubspot-banner")).to_contain_text("This list lives in HubSpot.")
    expect(page.locator("#list-save")).to_have_count(0)
    screenshot(page, "3-the-list-lives-in-hubspot")

    sync_cycle()

    members = {
        hs.client.crm.contacts.basic_api.get_by_id(rid, properties=["email"]).properties["email"].lower()
        for rid in MEMBERS
    }
    in_salesforce = {
        r["Email"].lower() for r in sandbox.soql("SELECT Email FROM Lead") + sandbox.soql("SELECT Email FROM Contact")
    }
    assert in_salesforce == members

    page.goto(f"{live_server.url}/admin/integration/salesforce/settings/?tab=sync")
    expect(page.locator("#stat-never-synced")).to_have_text("0")
    screenshot(page, "4-members-synced")
    assert re.search(r"Requested a demo", page.locator("#id_inclusion_list").inner_text())
