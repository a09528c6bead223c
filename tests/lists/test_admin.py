"""The lists admin: lists page, list editor (save through services, ?next=), preview and status
endpoints, contact page explanation, static list actions, deletion rules."""

from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integration.models import SyncSettings
from lists.models import ContactList, ContactProperty, ListMembership
from tests.lists.factories import (
    ContactFactory,
    ContactListFactory,
    ContactPropertyFactory,
    filter_branch,
    in_list_filter,
    property_filter,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:lists_contactlist_changelist")
ADD = reverse("admin:lists_contactlist_add")
PREVIEW = reverse("admin:lists_contactlist_preview")


@pytest.fixture
def schema():
    ContactPropertyFactory(name="email", label="Email")
    ContactPropertyFactory(name="country", label="Country")
    ContactPropertyFactory(name="numemployees", label="Number of employees", type=ContactProperty.Type.NUMBER)
    ContactPropertyFactory(name="lifecyclestage", label="Lifecycle stage", enum_values=["lead", "customer"])


@pytest.fixture
def contacts(schema):
    return [
        ContactFactory(
            email="a@fr.example", properties={"email": "a@fr.example", "country": "France", "numemployees": 500}
        ),
        ContactFactory(
            email="b@fr.example", properties={"email": "b@fr.example", "country": "France", "numemployees": 5}
        ),
        ContactFactory(
            email="c@de.example", properties={"email": "c@de.example", "country": "Germany", "numemployees": 900}
        ),
    ]


def france() -> dict:
    return filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="France")])


def post_preview(client, branch, **extra):
    return client.post(PREVIEW, data=json.dumps({"filter_branch": branch, **extra}), content_type="application/json")


# --- lists page ----------------------------------------------------------------------------


def test_lists_page_shows_type_status_size_and_the_inclusion_badge(admin_client, schema):
    inclusion = ContactListFactory(name="Sync these", complete=True, size=42)
    ContactListFactory(name="Newsletter", static=True)
    ContactListFactory(name="Being built")
    ContactListFactory(name="Broken", processing_status=ContactList.ProcessingStatus.FAILED, error="boom")
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": inclusion})

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("list-badge-inclusion") == 1
    assert "Inclusion list" in html
    assert 'class="list-pill list-pill-complete"' in html
    assert 'class="list-pill list-pill-processing"' in html
    assert 'class="list-pill list-pill-failed" title="boom"' in html
    assert "Static" in html and "Active" in html
    assert "42" in html


def test_lists_page_runs_a_constant_number_of_queries(admin_client, schema, django_assert_num_queries):
    inclusion = ContactListFactory(name="Inclusion")
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": inclusion})
    ContactListFactory.create_batch(4)
    admin_client.get(CHANGELIST)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as five:
        assert admin_client.get(CHANGELIST).status_code == 200
    ContactListFactory.create_batch(45)

    # The inclusion badge is a subquery of the page's query, not a lookup per row.
    with django_assert_num_queries(len(five.captured_queries)):
        response = admin_client.get(CHANGELIST)
    html = response.content.decode()
    assert html.count('class="field-list_name"') == 50
    assert html.count("list-badge-inclusion") == 1


# --- the editor: add, ?next=, save through services -------------------------------------------


def test_add_page_from_settings_opens_an_empty_active_list(admin_client, schema):
    target = "/admin/integration/salesforce/settings/"
    response = admin_client.get(ADD, {"next": target})

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.initial["processing_type"] == ContactList.ProcessingType.DYNAMIC
    assert form.initial["filter_branch"] == {"filterBranchType": "OR", "filters": [], "filterBranches": []}
    html = response.content.decode()
    assert f'<input type="hidden" name="next" value="{target}">' in html
    assert 'id="list-editor"' in html and 'id="list-editor-config"' in html
    assert 'id="list-save"' in html and 'id="list-rename"' in html
    config = response.context["editor_config"]
    assert {p["name"] for p in config["schema"]} >= {"email", "country", "numemployees", "lifecyclestage"}
    stage = next(p for p in config["schema"] if p["name"] == "lifecyclestage")
    assert stage["type"] == "enumeration" and {o["value"] for o in stage["options"]} == {"lead", "customer"}


def test_save_creates_a_processing_list_through_the_service_and_returns_to_next(admin_client, schema):
    target = "/admin/integration/salesforce/settings/"
    response = admin_client.post(
        f"{ADD}?next={target}",
        {"name": "French contacts", "processing_type": "DYNAMIC", "filter_branch": json.dumps(france())},
    )

    assert response.status_code == 302
    assert response["Location"] == target
    created = ContactList.objects.get(name="French contacts")
    assert created.filter_branch == france()
    assert created.processing_status == ContactList.ProcessingStatus.PROCESSING
    assert created.created_by is not None
    assert any("may take some time" in str(m) for m in get_messages(response.wsgi_request))


def test_save_without_next_stays_on_the_list_to_watch_it_process(admin_client, schema):
    response = admin_client.post(
        ADD, {"name": "French", "processing_type": "DYNAMIC", "filter_branch": json.dumps(france())}
    )
    created = ContactList.objects.get(name="French")
    assert response["Location"] == reverse("admin:lists_contactlist_change", args=[created.pk])


def test_a_static_list_is_created_without_criteria(admin_client, schema):
    response = admin_client.post(
        ADD, {"name": "Webinar guests", "processing_type": "MANUAL", "filter_branch": json.dumps(france())}
    )
    created = ContactList.objects.get(name="Webinar guests")
    assert response.status_code == 302
    assert created.processing_type == ContactList.ProcessingType.MANUAL
    assert created.filter_branch is None
    assert created.processing_status == ContactList.ProcessingStatus.COMPLETE
    page = admin_client.get(ADD, {"processing_type": "MANUAL"})
    assert page.context["adminform"].form.initial["processing_type"] == "MANUAL"


def test_an_off_site_next_is_refused(admin_client, schema):
    response = admin_client.post(
        f"{ADD}?next=https://evil.example/steal",
        {"name": "French", "processing_type": "DYNAMIC", "filter_branch": json.dumps(france())},
    )
    created = ContactList.objects.get(name="French")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:lists_contactlist_change", args=[created.pk])
    page = admin_client.get(f"{ADD}?next=//evil.example/")
    assert 'name="next"' not in page.content.decode()


def test_saving_bad_criteria_keeps_the_stored_definition_and_names_the_filter(admin_client, schema):
    contact_list = ContactListFactory(name="French", filter_branch=france(), complete=True, size=2)
    bad = filter_branch(
        [property_filter("country", "STRING", "IS_EQUAL_TO", value="France")],
        [property_filter("no_such_property", "STRING", "IS_EQUAL_TO", value="x")],
    )
    response = admin_client.post(
        reverse("admin:lists_contactlist_change", args=[contact_list.pk]),
        {"name": "Renamed too", "filter_branch": json.dumps(bad)},
    )

    assert response.status_code == 400  # the page again, with the messages
    errors = response.context["adminform"].form.errors["filter_branch"]
    assert any("Group 2, filter 1" in e for e in errors)
    assert "Group 2, filter 1" in response.content.decode()
    contact_list.refresh_from_db()
    assert contact_list.filter_branch == france()
    assert contact_list.name == "French"
    assert contact_list.processing_status == ContactList.ProcessingStatus.COMPLETE
    assert contact_list.version == 1


def test_garbage_json_in_the_form_is_a_form_error_not_a_500(admin_client, schema):
    contact_list = ContactListFactory(filter_branch=france())
    response = admin_client.post(
        reverse("admin:lists_contactlist_change", args=[contact_list.pk]),
        {"name": "x", "filter_branch": "{not json"},
    )
    assert response.status_code == 400
    assert response.context["adminform"].form.errors["filter_branch"]


def test_changing_criteria_reprocesses_and_renaming_does_not(admin_client, schema):
    contact_list = ContactListFactory(name="French", filter_branch=france(), complete=True, size=2)
    url = reverse("admin:lists_contactlist_change", args=[contact_list.pk])

    admin_client.post(url, {"name": "Les Français", "filter_branch": json.dumps(france())})
    contact_list.refresh_from_db()
    assert (contact_list.name, contact_list.processing_status, contact_list.version) == ("Les Français", "COMPLETE", 1)

    germany = filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="Germany")])
    admin_client.post(url, {"name": "Germans", "filter_branch": json.dumps(germany)})
    contact_list.refresh_from_db()
    assert (contact_list.name, contact_list.processing_status, contact_list.version) == ("Germans", "PROCESSING", 2)
    assert contact_list.filter_branch == germany


def test_change_page_of_an_active_list_shows_its_status_for_polling(admin_client, schema):
    contact_list = ContactListFactory(filter_branch=france())
    response = admin_client.get(reverse("admin:lists_contactlist_change", args=[contact_list.pk]))
    html = response.content.decode()
    status_url = reverse("admin:lists_contactlist_status", args=[contact_list.pk])
    assert f'data-status-url="{status_url}"' in html
    assert 'data-status="PROCESSING"' in html


def test_static_list_page_has_no_criteria_editor(admin_client, schema):
    contact_list = ContactListFactory(static=True)
    response = admin_client.get(reverse("admin:lists_contactlist_change", args=[contact_list.pk]))
    assert response.status_code == 200
    assert 'id="list-editor"' not in response.content.decode()
    assert "filter_branch" not in response.context["adminform"].form.fields


# --- JSON endpoints ---------------------------------------------------------------------------


def test_preview_counts_members_and_each_filter(admin_client, contacts):
    branch = filter_branch(
        [
            property_filter("country", "STRING", "IS_EQUAL_TO", value="France"),
            property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=100),
        ],
        [property_filter("country", "STRING", "IS_EQUAL_TO", value="Germany")],
    )
    response = post_preview(admin_client, branch)

    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is True
    assert data["total"] == 2
    assert {c["email"] for c in data["contacts"]} == {"a@fr.example", "c@de.example"}
    assert all(c["url"].startswith("/admin/lists/contact/") for c in data["contacts"])
    assert sorted((e["group"], e["filter"], e["count"]) for e in data["perFilter"]) == [
        (0, 0, 2),
        (0, 1, 2),
        (1, 0, 1),
    ]


def test_preview_errors_name_the_group_and_filter(admin_client, contacts):
    branch = filter_branch(
        [property_filter("country", "STRING", "IS_EQUAL_TO", value="France")],
        [
            property_filter("country", "STRING", "IS_EQUAL_TO", value="France"),
            property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value="lots"),
        ],
    )
    data = post_preview(admin_client, branch).json()

    assert data["ok"] is False
    assert any(e["group"] == 1 and e["filter"] == 1 and "Group 2, filter 2" in e["message"] for e in data["errors"])


def test_preview_refuses_a_cycle_through_the_list_being_edited(admin_client, schema):
    edited = ContactListFactory(filter_branch=france())
    other = ContactListFactory(filter_branch=filter_branch([in_list_filter(edited.pk)]))
    data = post_preview(admin_client, filter_branch([in_list_filter(other.pk)]), list_id=str(edited.pk)).json()
    assert data["ok"] is False
    assert data["errors"][0]["group"] == 0


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", b"[]", b"null", b'{"filter_branch": 3}', b'{"filter_branch": []}', b""],
)
def test_preview_never_500s_on_garbage(admin_client, schema, body):
    response = admin_client.post(PREVIEW, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["ok"] is False


@pytest.mark.parametrize(
    "branch",
    [
        {"filterBranchType": "AND", "filters": [], "filterBranches": []},
        {"filterBranchType": "OR", "filters": "x", "filterBranches": [1, "a", None]},
        {"filterBranchType": "OR", "filters": [], "filterBranches": [{"filterBranchType": "AND", "filters": [7]}]},
        filter_branch([{"filterType": "PROPERTY", "property": None, "operation": None}]),
        filter_branch([property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=[1, 2])]),
    ],
)
def test_preview_answers_bad_criteria_with_messages(admin_client, schema, branch):
    response = post_preview(admin_client, branch)
    assert response.status_code == 400
    data = response.json()
    assert data["ok"] is False and data["errors"] and all(e["message"] for e in data["errors"])


def test_preview_is_csrf_protected_and_staff_only(client, admin_user, schema, django_user_model):
    branch = json.dumps({"filter_branch": france()})
    assert client.post(PREVIEW, data=branch, content_type="application/json").status_code == 302  # to login

    strict = client.__class__(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(PREVIEW, data=branch, content_type="application/json").status_code == 403

    clerk = django_user_model.objects.create_user("clerk", password="pw-123456789", is_staff=True)
    client.force_login(clerk)
    assert client.post(PREVIEW, data=branch, content_type="application/json").status_code == 403


def test_preview_rejects_get(admin_client, schema):
    assert admin_client.get(PREVIEW).status_code == 405


def test_status_endpoint(admin_client, schema):
    contact_list = ContactListFactory(
        filter_branch=france(), processing_status=ContactList.ProcessingStatus.FAILED, error="It broke"
    )
    data = admin_client.get(reverse("admin:lists_contactlist_status", args=[contact_list.pk])).json()
    assert data["status"] == "FAILED" and data["statusLabel"] == "Failed" and data["error"] == "It broke"


def test_rename_endpoint_renames_in_place_without_reprocessing(admin_client, schema):
    contact_list = ContactListFactory(name="Old", filter_branch=france(), complete=True)
    url = reverse("admin:lists_contactlist_rename", args=[contact_list.pk])

    response = admin_client.post(url, data=json.dumps({"name": "  New name "}), content_type="application/json")
    assert response.json() == {"ok": True, "name": "New name"}
    contact_list.refresh_from_db()
    assert (contact_list.name, contact_list.processing_status) == ("New name", "COMPLETE")

    assert admin_client.post(url, data=json.dumps({"name": " "}), content_type="application/json").status_code == 400
    assert admin_client.post(url, data=b"{", content_type="application/json").status_code == 400
    contact_list.refresh_from_db()
    assert contact_list.name == "New name"


# --- contacts: page, explanation, static list actions ---------------------------------------------


def test_contact_page_lists_memberships_and_explains_a_list(admin_client, contacts):
    contact = contacts[1]  # France, 5 employees
    big_french = ContactListFactory(
        name="Big French companies",
        complete=True,
        filter_branch=filter_branch(
            [
                property_filter("country", "STRING", "IS_EQUAL_TO", value="France"),
                property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=100),
            ]
        ),
    )
    newsletter = ContactListFactory(name="Newsletter", static=True)
    ListMembership.objects.create(contact_list=newsletter, contact=contact)
    url = reverse("admin:lists_contact_change", args=[contact.pk])

    response = admin_client.get(url, {"explain_list": big_french.pk})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Newsletter" in html
    assert [lst.name for lst in response.context["contact_lists"]] == ["Newsletter"]
    rows = response.context["explanation"]
    assert [row["passed"] for row in rows] == [True, False]
    assert rows[1]["value"] == 5
    assert "explain-failed" in html and "explain-passed" in html
    assert "is not a member" in html


def test_contact_page_explains_a_list_whose_criteria_no_longer_validate(admin_client, contacts):
    stale = ContactListFactory(
        name="Stale",
        complete=True,
        filter_branch=filter_branch([property_filter("numemployees", "NUMBER", "IS_GREATER_THAN", value=1)]),
    )
    ContactProperty.objects.filter(name="numemployees").update(archived=True)
    response = admin_client.get(
        reverse("admin:lists_contact_change", args=[contacts[0].pk]), {"explain_list": stale.pk}
    )
    assert response.status_code == 200
    assert "numemployees" in response.context["explanation_error"]
    assert response.context["explanation"] is None


def test_contact_admin_searches_by_email_name_and_ids(admin_client, contacts):
    contacts[2].salesforce_id = "00Q000000000001AAA"
    contacts[2].save()
    changelist = reverse("admin:lists_contact_changelist")
    for term in ["c@de.example", contacts[2].hubspot_id, "00Q000000000001AAA", contacts[2].lastname]:
        response = admin_client.get(changelist, {"q": term})
        assert response.context["cl"].result_count >= 1, term
        assert contacts[2] in list(response.context["cl"].result_list), term


def test_add_to_static_list_action(admin_client, contacts):
    newsletter = ContactListFactory(name="Newsletter", static=True)
    changelist = reverse("admin:lists_contact_changelist")
    chosen = [str(contacts[0].pk), str(contacts[2].pk)]

    page = admin_client.post(changelist, {"action": "add_to_static_list", "_selected_action": chosen})
    assert page.status_code == 200
    assert "Newsletter" in page.content.decode()
    assert "2 contacts selected" in page.content.decode()

    done = admin_client.post(
        changelist,
        {"action": "add_to_static_list", "_selected_action": chosen, "apply": "1", "contact_list": newsletter.pk},
    )
    assert done.status_code == 302
    assert set(newsletter.memberships.values_list("contact_id", flat=True)) == {contacts[0].pk, contacts[2].pk}
    newsletter.refresh_from_db()
    assert newsletter.size == 2

    admin_client.post(
        changelist,
        {
            "action": "remove_from_static_list",
            "_selected_action": [str(contacts[0].pk)],
            "apply": "1",
            "contact_list": newsletter.pk,
        },
    )
    assert set(newsletter.memberships.values_list("contact_id", flat=True)) == {contacts[2].pk}


def test_the_static_list_action_offers_only_static_lists(admin_client, contacts):
    active = ContactListFactory(name="Active one", filter_branch=france())
    response = admin_client.post(
        reverse("admin:lists_contact_changelist"),
        {
            "action": "add_to_static_list",
            "_selected_action": [str(contacts[0].pk)],
            "apply": "1",
            "contact_list": active.pk,
        },
    )
    assert response.status_code == 200  # the form refuses it and shows the page again
    assert not ListMembership.objects.filter(contact_list=active).exists()


# --- deleting -----------------------------------------------------------------------------------


def test_the_inclusion_list_cannot_be_deleted(admin_client, schema):
    inclusion = ContactListFactory(name="Sync these", filter_branch=france())
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": inclusion})
    url = reverse("admin:lists_contactlist_delete", args=[inclusion.pk])

    for response in (admin_client.get(url), admin_client.post(url, {"post": "yes"})):
        assert response.status_code == 302
        assert any("inclusion list" in str(m) for m in get_messages(response.wsgi_request))
    assert ContactList.objects.filter(pk=inclusion.pk).exists()

    bulk = admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [str(inclusion.pk)], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert ContactList.objects.filter(pk=inclusion.pk).exists()


def test_a_list_used_by_another_cannot_be_deleted(admin_client, schema):
    base = ContactListFactory(name="Base", filter_branch=france())
    ContactListFactory(name="User", filter_branch=filter_branch([in_list_filter(base.pk)]))
    response = admin_client.post(reverse("admin:lists_contactlist_delete", args=[base.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert any("User" in str(m) for m in get_messages(response.wsgi_request))
    assert ContactList.objects.filter(pk=base.pk).exists()


def test_an_unused_list_is_deleted(admin_client, schema):
    contact_list = ContactListFactory(filter_branch=france())
    response = admin_client.post(reverse("admin:lists_contactlist_delete", args=[contact_list.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not ContactList.objects.filter(pk=contact_list.pk).exists()


# --- every admin page renders ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["contactproperty", "contact", "contactlist", "listmembership", "membershipchange"])
def test_changelists_render(admin_client, contacts, name):
    newsletter = ContactListFactory(static=True)
    ListMembership.objects.create(contact_list=newsletter, contact=contacts[0])
    assert admin_client.get(reverse(f"admin:lists_{name}_changelist")).status_code == 200
