"""Journey: build an active list in the editor (two groups), see the preview, save, watch it
process to complete with the right size, rename it with the pencil."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from lists.models import ContactList, ContactProperty
from lists.services import list_refresh
from tests.lists.factories import ContactFactory, ContactPropertyFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


@pytest.fixture
def crm(django_user_model):
    django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    ContactPropertyFactory(name="email", label="Email")
    ContactPropertyFactory(name="country", label="Country/Region")
    ContactPropertyFactory(name="numemployees", label="Number of Employees", type=ContactProperty.Type.NUMBER)
    ContactPropertyFactory(
        name="lifecyclestage", label="Lifecycle Stage", enum_values=["subscriber", "lead", "customer"]
    )
    rows = [
        ("France", 500, "lead"),
        ("France", 20, "lead"),
        ("France", 800, "customer"),
        ("Germany", 300, "customer"),
        ("Germany", 10, "subscriber"),
        ("Spain", 1000, "lead"),
    ]
    for i, (country, size, stage) in enumerate(rows):
        ContactFactory(
            email=f"person{i}@example.com",
            properties={
                "email": f"person{i}@example.com",
                "country": country,
                "numemployees": size,
                "lifecyclestage": stage,
            },
        )


def pick_property(page, button, label: str) -> None:
    button.click()
    picker = page.locator(".lp-picker")
    picker.locator(".lp-search").fill(label)
    picker.locator(".lp-option", has_text=label).first.click()


def test_build_preview_save_process_and_rename(live_server, page, staff_login, screenshot, crm):
    staff_login(page, "ops", PASSWORD)
    back_to = "/admin/lists/contactlist/"
    page.goto(f"{live_server.url}/admin/lists/contactlist/add/?next={back_to}")
    expect(page.locator("#list-editor")).to_be_visible()
    expect(page.locator("input[name=processing_type][value=DYNAMIC]")).to_be_checked()
    screenshot(page, "1-empty-editor")

    # Name it with the pencil (top left).
    page.click("#list-rename")
    page.fill(".list-title-input", "Big French or German customers")
    page.keyboard.press("Enter")
    expect(page.locator("#list-title")).to_have_text("Big French or German customers")

    # Group 1: country is France AND employees > 100.
    pick_property(page, page.locator("#list-add-group"), "Country/Region")
    group1 = page.locator('.lf-group[data-group="0"]')
    group1.locator(".lf-filter").nth(0).locator(".lf-value input").fill("France")
    pick_property(page, group1.locator(".lf-add-filter"), "Number of Employees")
    second = group1.locator(".lf-filter").nth(1)
    second.locator(".lf-op").select_option("NUMBER:IS_GREATER_THAN")
    second.locator(".lf-value input").fill("100")

    # Group 2: lifecycle stage is any of customer, and country is Germany.
    pick_property(page, page.locator("#list-add-group"), "Lifecycle Stage")
    group2 = page.locator('.lf-group[data-group="1"]')
    group2.locator(".lf-option", has_text="Customer").locator("input").check()
    pick_property(page, group2.locator(".lf-add-filter"), "Country/Region")
    group2.locator(".lf-filter").nth(1).locator(".lf-value input").fill("Germany")

    # France>100: persons 0 and 2; customer in Germany: person 3.
    expect(page.locator("#list-preview-count")).to_have_attribute("data-total", "3")
    expect(second.locator(".lf-count")).to_have_text(re.compile(r"4 match"))
    expect(page.locator(".lp-contacts li")).to_have_count(3)
    screenshot(page, "2-preview")

    # A mistake is shown next to its filter, before saving.
    second.locator(".lf-value input").fill("")
    expect(second.locator(".lf-error")).to_contain_text("Group 1, filter 2")
    screenshot(page, "3-inline-error")
    second.locator(".lf-value input").fill("100")
    expect(page.locator("#list-preview-count")).to_have_attribute("data-total", "3")

    page.click("#list-save")
    page.wait_for_url(re.compile(r".*/admin/lists/contactlist/$"))
    expect(page.locator("#changelist")).to_contain_text("Big French or German customers")
    expect(page.locator(".list-pill-processing")).to_be_visible()
    screenshot(page, "4-saved-processing")

    contact_list = ContactList.objects.get(name="Big French or German customers")
    assert contact_list.processing_status == ContactList.ProcessingStatus.PROCESSING
    page.goto(f"{live_server.url}/admin/lists/contactlist/{contact_list.pk}/change/")
    expect(page.locator("#list-status-pill")).to_have_text(re.compile("Processing"))
    screenshot(page, "5-change-page-processing")

    # The worker's job, run here while the page polls its status.
    list_refresh(contact_list=contact_list)
    expect(page.locator("#list-status-pill")).to_have_text("Complete", timeout=10000)
    expect(page.locator("#list-status-size")).to_have_text("3 contacts")
    screenshot(page, "6-complete")

    # Rename in place with the pencil: saved at once, no reprocessing.
    page.click("#list-rename")
    page.fill(".list-title-input", "Key accounts FR/DE")
    page.keyboard.press("Enter")
    expect(page.locator("#list-rename-note")).to_have_text("Renamed.")
    screenshot(page, "7-renamed")
    contact_list.refresh_from_db()
    assert contact_list.name == "Key accounts FR/DE"
    assert contact_list.processing_status == ContactList.ProcessingStatus.COMPLETE
    assert contact_list.size == 3
    page.reload()
    expect(page.locator("#list-title")).to_have_text("Key accounts FR/DE")


def test_contact_page_explains_a_list_and_static_lists_take_members(live_server, page, staff_login, screenshot, crm):
    from lists.services import list_create

    base = {"filterBranchType": "OR", "filters": []}
    french_leads = list_create(
        name="French leads",
        processing_type="DYNAMIC",
        filter_branch={
            **base,
            "filterBranches": [
                {
                    "filterBranchType": "AND",
                    "filterBranches": [],
                    "filters": [
                        {
                            "filterType": "PROPERTY",
                            "property": "country",
                            "operation": {
                                "operationType": "STRING",
                                "operator": "IS_EQUAL_TO",
                                "value": "France",
                                "includeObjectsWithNoValueSet": False,
                            },
                        },
                        {
                            "filterType": "PROPERTY",
                            "property": "lifecyclestage",
                            "operation": {
                                "operationType": "ENUMERATION",
                                "operator": "IS_ANY_OF",
                                "values": ["lead"],
                                "includeObjectsWithNoValueSet": False,
                            },
                        },
                    ],
                }
            ],
        },
    )
    list_refresh(contact_list=french_leads)
    list_create(name="Webinar guests", processing_type="MANUAL", filter_branch=None)
    staff_login(page, "ops", PASSWORD)

    # Static list: members come from the contacts page's action.
    page.goto(f"{live_server.url}/admin/lists/contact/?q=person3")
    page.locator("input[name=_selected_action]").first.check()
    page.select_option("select[name=action]", "add_to_static_list")
    page.click("button[name=index]")
    expect(page.locator("#content-main")).to_contain_text("1 contact selected")
    screenshot(page, "1-static-action")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("1 contact added to “Webinar guests”")

    person3 = ContactList.objects.get(name="Webinar guests").members.get()
    page.goto(f"{live_server.url}/admin/lists/contact/{person3.pk}/change/")
    expect(page.locator("#contact-lists")).to_contain_text("Webinar guests")
    page.select_option("#explain-list", label="French leads")
    page.click("button[form=explain-form]")
    expect(page.locator(".explain-table tbody tr")).to_have_count(2)
    expect(page.locator(".explain-verdict")).to_contain_text("is not a member of “French leads”")
    expect(page.locator(".explain-table")).to_contain_text("Germany")
    screenshot(page, "2-explanation")


def test_every_property_type_has_inputs_the_engine_accepts(live_server, page, staff_login, screenshot, crm):
    from lists.selectors import list_preview
    from lists.services import list_create

    ContactPropertyFactory(name="is_vip", label="VIP", type=ContactProperty.Type.BOOL)
    ContactPropertyFactory(name="signup_date", label="Signup date", type=ContactProperty.Type.DATE)
    ContactPropertyFactory(name="last_seen", label="Last seen", type=ContactProperty.Type.DATETIME)
    schema = ContactProperty.objects.schema()
    for i, (vip, signup) in enumerate([("true", "2024-03-01"), ("false", "2023-12-01"), ("true", "2024-06-30")]):
        ContactFactory(
            email=f"typed{i}@example.com",
            raw_properties={
                "email": f"typed{i}@example.com",
                "country": "Spain",
                "numemployees": str(50 * (i + 1)),
                "is_vip": vip,
                "signup_date": signup,
                "last_seen": "2020-01-01T10:00:00Z",
            },
            schema=schema,
        )
    other = list_create(
        name="Everyone with an email",
        processing_type="DYNAMIC",
        filter_branch={
            "filterBranchType": "OR",
            "filters": [],
            "filterBranches": [
                {
                    "filterBranchType": "AND",
                    "filterBranches": [],
                    "filters": [
                        {
                            "filterType": "PROPERTY",
                            "property": "email",
                            "operation": {
                                "operationType": "ALL_PROPERTY",
                                "operator": "IS_KNOWN",
                                "includeObjectsWithNoValueSet": False,
                            },
                        }
                    ],
                }
            ],
        },
    )
    list_refresh(contact_list=other)
    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/lists/contactlist/add/")

    def no_errors():
        expect(page.locator("#list-preview-count")).to_be_visible()
        expect(page.locator(".lf-filter.has-error")).to_have_count(0)

    # Group 1: VIP is yes, signed up after 15 Jan 2024, seen more than 30 days ago, 10-120 employees.
    pick_property(page, page.locator("#list-add-group"), "VIP")
    group = page.locator('.lf-group[data-group="0"]')
    no_errors()
    pick_property(page, group.locator(".lf-add-filter"), "Signup date")
    signup = group.locator(".lf-filter").nth(1)
    signup.locator(".lf-op").select_option("DATETIME:IS_AFTER")
    signup.locator("input[type=date]").fill("2024-01-15")
    no_errors()
    pick_property(page, group.locator(".lf-add-filter"), "Last seen")
    seen = group.locator(".lf-filter").nth(2)
    seen.locator(".lf-op").select_option("ROLLING_DATE_RANGE:IS_MORE_THAN_X_DAYS_AGO")
    seen.locator("input[type=number]").fill("30")
    no_errors()
    pick_property(page, group.locator(".lf-add-filter"), "Number of Employees")
    size = group.locator(".lf-filter").nth(3)
    size.locator(".lf-op").select_option("NUMBER_RANGED:IS_BETWEEN")
    size.locator("input[type=number]").nth(0).fill("10")
    size.locator("input[type=number]").nth(1).fill("120")
    no_errors()

    # Group 2: in another list, and country is any of France / Spain (one value per line).
    pick_property(page, page.locator("#list-add-group"), "List membership")
    group2 = page.locator('.lf-group[data-group="1"]')
    group2.locator(".lf-list").select_option(label="Everyone with an email")
    pick_property(page, group2.locator(".lf-add-filter"), "Country/Region")
    country = group2.locator(".lf-filter").nth(1)
    country.locator(".lf-op").select_option("MULTISTRING:IS_EQUAL_TO")
    country.locator("textarea").fill("France\nSpain")
    no_errors()
    screenshot(page, "typed-inputs")

    branch = json.loads(page.input_value("#id_filter_branch"))
    g1, g2 = (g["filters"] for g in branch["filterBranches"])
    assert g1[0]["operation"] == {
        "operationType": "BOOL",
        "operator": "IS_EQUAL_TO",
        "includeObjectsWithNoValueSet": False,
        "value": True,
    }
    assert g1[1]["operation"]["timestamp"] == 1705276800000  # 2024-01-15T00:00:00Z
    assert g1[2]["operation"]["numberOfDays"] == 30
    assert (g1[3]["operation"]["lowerBound"], g1[3]["operation"]["upperBound"]) == (10, 120)
    assert g2[0] == {"filterType": "IN_LIST", "listId": str(other.pk), "operator": "IN_LIST"}
    assert g2[1]["operation"]["values"] == ["France", "Spain"]

    expected = list_preview(filter_branch=branch).total
    assert expected > 0
    expect(page.locator("#list-preview-count")).to_have_attribute("data-total", str(expected))

    # The JSON door: a definition pasted from HubSpot redraws the editor.
    page.click("#list-json-toggle")
    pasted = {"filterBranchType": "OR", "filters": [], "filterBranches": [branch["filterBranches"][1]]}
    page.fill("#id_filter_branch", json.dumps(pasted))
    expect(page.locator(".lf-group")).to_have_count(1)
    expect(page.locator(".lf-group .lf-filter")).to_have_count(2)


def test_saving_bad_criteria_shows_the_error_and_keeps_the_list(live_server, page, staff_login, screenshot, crm):
    from lists.services import list_create

    stored = {
        "filterBranchType": "OR",
        "filters": [],
        "filterBranches": [
            {
                "filterBranchType": "AND",
                "filterBranches": [],
                "filters": [
                    {
                        "filterType": "PROPERTY",
                        "property": "numemployees",
                        "operation": {
                            "operationType": "NUMBER",
                            "operator": "IS_GREATER_THAN",
                            "value": 100,
                            "includeObjectsWithNoValueSet": False,
                        },
                    }
                ],
            }
        ],
    }
    contact_list = list_create(name="Big companies", processing_type="DYNAMIC", filter_branch=stored)
    list_refresh(contact_list=contact_list)
    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/lists/contactlist/{contact_list.pk}/change/")
    expect(page.locator("#list-preview-count")).to_have_attribute("data-total", "4")

    page.locator(".lf-filter .lf-value input").fill("")
    page.click("#list-save")
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator('.lf-filter[data-group="0"][data-filter="0"] .lf-error')).to_contain_text("Group 1, filter 1")
    screenshot(page, "refused")
    contact_list.refresh_from_db()
    assert contact_list.filter_branch == stored
    assert contact_list.processing_status == ContactList.ProcessingStatus.COMPLETE


def test_lists_page_follows_a_processing_list(live_server, page, staff_login, screenshot, crm):
    from lists.services import list_create

    contact_list = list_create(
        name="Germans",
        processing_type="DYNAMIC",
        filter_branch={
            "filterBranchType": "OR",
            "filters": [],
            "filterBranches": [
                {
                    "filterBranchType": "AND",
                    "filterBranches": [],
                    "filters": [
                        {
                            "filterType": "PROPERTY",
                            "property": "country",
                            "operation": {
                                "operationType": "STRING",
                                "operator": "IS_EQUAL_TO",
                                "value": "germany",
                                "includeObjectsWithNoValueSet": False,
                            },
                        }
                    ],
                }
            ],
        },
    )
    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/lists/contactlist/")
    row = page.locator("#result_list tbody tr", has_text="Germans")
    expect(row.locator(".list-pill")).to_have_text(re.compile("Processing"))
    expect(row.locator(".field-size_label")).to_have_text("—")
    list_refresh(contact_list=contact_list)
    expect(row.locator(".list-pill")).to_have_text("Complete", timeout=10000)
    expect(row.locator(".field-size_label")).to_have_text("2")
    screenshot(page, "lists-page-complete")


def offered(select) -> list[tuple[str, str]]:
    """The (value, text) of each option of a menu, in order."""
    return [tuple(pair) for pair in select.locator("option").evaluate_all("os => os.map(o => [o.value, o.text])")]


def test_the_editor_speaks_french_and_offers_the_engines_operators(
    live_server, page_factory, staff_login, screenshot, crm
):
    from django.utils import translation

    from lists.criteria.catalogue import OPERATOR_CHOICES, operation_types_for

    def menu(property_type: str) -> list[tuple[str, str]]:
        with translation.override("fr"):
            return [
                (f"{kind}:{choice.operator}", str(choice.label))
                for kind in operation_types_for(property_type)
                for choice in OPERATOR_CHOICES[kind]
            ]

    page = page_factory("fr-FR")
    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/lists/contactlist/add/")
    expect(page.locator("#list-add-group")).to_have_text("+ Ajouter un groupe de filtres")
    expect(page.locator(".lf-empty")).to_contain_text("Aucun critère pour l'instant")

    pick_property(page, page.locator("#list-add-group"), "Number of Employees")
    group = page.locator('.lf-group[data-group="0"]')
    expect(group.locator(".lf-group-title")).to_have_text("Groupe 1")
    size = group.locator(".lf-filter").nth(0)
    assert offered(size.locator(".lf-op")) == menu("number")
    size.locator(".lf-op").select_option("NUMBER:IS_GREATER_THAN")
    size.locator(".lf-value input").fill("100")
    pick_property(page, group.locator(".lf-add-filter"), "Country/Region")
    country = group.locator(".lf-filter").nth(1)
    assert offered(country.locator(".lf-op")) == menu("string")
    country.locator(".lf-op").select_option("ALL_PROPERTY:IS_KNOWN")

    # Six contacts, four with more than 100 employees, every one with a country.
    expect(page.locator("#list-preview-count")).to_have_text("4 contacts correspondent")
    expect(size.locator(".lf-count")).to_have_text("4 correspondent à ce filtre")
    expect(group.locator(".lf-and")).to_have_text("et")
    screenshot(page, "fr-editor")
