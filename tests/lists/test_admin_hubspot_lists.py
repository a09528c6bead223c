"""The pages of lists made in HubSpot: read-only here with a banner saying where they live and
where their members come from; Publish to HubSpot on a list made here; the lists page says where
each list was made; the inclusion list's dropdown groups "Lists in HubSpot" and "Lists made here"."""

from __future__ import annotations

import pytest
from django.utils import timezone

from lists.models import ContactList
from tests.lists.factories import ContactListFactory, ContactPropertyFactory

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/admin/integration/salesforce/settings/"


@pytest.fixture
def lists_here_and_in_hubspot():
    ContactPropertyFactory(name="email")
    mirrored = ContactListFactory(
        name="Webinar attendees",
        complete=True,
        filter_branch=None,
        hubspot_list_id="42",
        membership_source=ContactList.MembershipSource.HUBSPOT,
        hubspot_processing_type="DYNAMIC",
        hubspot_filter_branch={"filterBranchType": "OR", "filters": [], "filterBranches": []},
    )
    made_here = ContactListFactory(name="Made here", complete=True)
    return mirrored, made_here


def test_a_list_made_in_hubspot_is_read_only_with_a_banner(admin_client, lists_here_and_in_hubspot):
    mirrored, _made_here = lists_here_and_in_hubspot
    page = admin_client.get(f"/admin/lists/contactlist/{mirrored.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "This list lives in HubSpot." in html
    assert "HubSpot list 42" in html
    assert "as HubSpot computes them" in html
    assert 'id="list-save"' not in html and 'id="list-rename"' not in html
    assert 'id="list-hubspot-definition"' in html and 'id="list-editor"' not in html

    # Neither a post of the form nor the rename endpoint changes it.
    admin_client.post(f"/admin/lists/contactlist/{mirrored.pk}/change/", {"name": "Changed here"})
    renamed = admin_client.post(
        f"/admin/lists/contactlist/{mirrored.pk}/rename/", {"name": "x"}, content_type="application/json"
    )
    assert renamed.status_code == 403
    mirrored.refresh_from_db()
    assert mirrored.name == "Webinar attendees"
    # Nor can it be deleted here while it exists in HubSpot (it would come back).
    assert admin_client.post(f"/admin/lists/contactlist/{mirrored.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_list_deleted_in_hubspot_says_so_and_can_be_deleted_here(admin_client, lists_here_and_in_hubspot):
    mirrored, _made_here = lists_here_and_in_hubspot
    ContactList.objects.filter(pk=mirrored.pk).update(hubspot_deleted_at=timezone.now())
    html = admin_client.get(f"/admin/lists/contactlist/{mirrored.pk}/change/").content.decode()
    assert "This list was deleted in HubSpot." in html
    admin_client.post(f"/admin/lists/contactlist/{mirrored.pk}/delete/", {"post": "yes"})
    assert not ContactList.objects.filter(pk=mirrored.pk).exists()


def test_a_list_made_here_offers_publish_to_hubspot(admin_client, lists_here_and_in_hubspot):
    _mirrored, made_here = lists_here_and_in_hubspot
    html = admin_client.get(f"/admin/lists/contactlist/{made_here.pk}/change/").content.decode()
    assert "Publish to HubSpot" in html
    assert f'action="/admin/sync/lists/{made_here.pk}/publish/"' in html


def test_the_lists_page_says_where_each_list_was_made(admin_client, lists_here_and_in_hubspot):
    html = admin_client.get("/admin/lists/contactlist/").content.decode()
    assert "list-pill-hubspot" in html
    only_hubspot = admin_client.get("/admin/lists/contactlist/?origin=hubspot").content.decode()
    assert "Webinar attendees" in only_hubspot and "Made here" not in only_hubspot


def test_the_inclusion_dropdown_groups_hubspot_lists_and_lists_made_here(admin_client, lists_here_and_in_hubspot):
    mirrored, made_here = lists_here_and_in_hubspot
    html = admin_client.get(SETTINGS_URL + "?tab=sync").content.decode()
    hubspot_group = html.index('<optgroup label="Lists in HubSpot">')
    here_group = html.index('<optgroup label="Lists made here">')
    assert hubspot_group < html.index(f'value="{mirrored.pk}"') < here_group < html.index(f'value="{made_here.pk}"')


def test_the_dropdown_groups_are_in_french(admin_client, lists_here_and_in_hubspot):
    html = admin_client.get(SETTINGS_URL + "?tab=sync", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<optgroup label="Listes dans HubSpot">' in html


def test_a_contact_page_says_a_hubspot_membership_is_hubspots(admin_client, lists_here_and_in_hubspot):
    from tests.lists.factories import ContactFactory, ListMembershipFactory

    mirrored, _made_here = lists_here_and_in_hubspot
    contact = ContactFactory(properties={"email": "member@example.com"})
    ListMembershipFactory(contact_list=mirrored, contact=contact)
    html = admin_client.get(f"/admin/lists/contact/{contact.pk}/change/?explain_list={mirrored.pk}").content.decode()
    assert "the membership shown is HubSpot&#x27;s" in html or "the membership shown is HubSpot's" in html


def test_publishing_while_hubspot_cannot_be_reached_says_so_and_links_nothing(
    admin_client, lists_here_and_in_hubspot, settings
):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings.SANDBOX = True
    settings.SANDBOX_HUBSPOT_URL = f"http://127.0.0.1:{closed_port}"
    _mirrored, made_here = lists_here_and_in_hubspot
    response = admin_client.post(f"/admin/sync/lists/{made_here.pk}/publish/", follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and shown[0].startswith("HubSpot refused the list: "), shown
    made_here.refresh_from_db()
    assert not made_here.hubspot_list_id and not made_here.hubspot_published
