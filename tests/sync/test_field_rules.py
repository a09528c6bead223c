"""Field rules that lose nothing, through real cycles against both emulators: edits on both sides,
clears, the Salesforce rules, and one bad record in a HubSpot batch.

Each test edits as people do (HubSpot through its API, Salesforce through simple-salesforce),
runs the sync cycle, and reads both services back.
"""

from __future__ import annotations

import time

import pytest

from integration.models import FieldMapping, SyncSettings
from integration.services import inclusion_list_set
from lists.models import Contact
from lists.services import list_create, list_refresh
from sync.models import Category, SyncedState, SyncRecord, SyncRun
from sync.services import hubspot_pull, list_resync, push_pending, sync_cycle
from tests.lists.factories import filter_branch, property_filter

pytestmark = pytest.mark.django_db

NO_ASSIGNMENT = {"Sforce-Auto-Assign": "FALSE"}
MEMBERS = filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="France")])


def people(n: int, prefix: str = "ada") -> list[dict]:
    return [
        {
            "email": f"{prefix}{i}@rules.example",
            "firstname": f"Ada{i}",
            "lastname": f"Lovelace{i}",
            "company": f"Engines {i}",
            "phone": f"+33 1 00 00 00 {i:02d}",
            "jobtitle": "CEO",
            "city": "Paris",
            "country": "France",
        }
        for i in range(n)
    ]


class World:
    """HubSpot and Salesforce as people see them, and the sync between them."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.hubspot = sandbox.hubspot().crm.contacts.basic_api
        self.salesforce = sandbox.salesforce()

    def start(self, contacts: list[dict]) -> dict[str, str]:
        """Contacts created in HubSpot, members of the inclusion list, synced once: email → HubSpot id."""
        ids = {c["email"]: self.hubspot.create({"properties": c}).id for c in contacts}
        hubspot_pull()
        contact_list = list_create(name="French", processing_type="DYNAMIC", filter_branch=MEMBERS)
        list_refresh(contact_list=contact_list)
        inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
        self.cycle()
        return ids

    def cycle(self) -> SyncRun:
        run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
        assert run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL), run.error
        return run

    def lead(self, email: str) -> dict:
        rows = self.sandbox.soql(f"SELECT Id, Title, Phone, Company, City, LastName FROM Lead WHERE Email = '{email}'")
        assert len(rows) == 1, rows
        return rows[0]

    def edit_salesforce(self, email: str, **fields) -> None:
        # As a user edits in Salesforce's UI: no assignment rule runs (the API's default runs it).
        self.salesforce.Lead.update(self.lead(email)["Id"], fields, headers=NO_ASSIGNMENT)
        time.sleep(0.05)  # the next edit, on either side, is later

    def edit_hubspot(self, hubspot_id: str, **properties) -> None:
        self.hubspot.update(hubspot_id, {"properties": properties})
        time.sleep(0.05)

    def hubspot_values(self, hubspot_id: str) -> dict:
        return self.hubspot.get_by_id(
            hubspot_id, properties=["jobtitle", "phone", "company", "city", "email"]
        ).properties


@pytest.fixture
def world(sandbox):
    return World(sandbox)


def forget_field_bases(hubspot_id: str) -> None:
    """The contact as it was synced before field bases were kept: what was sent, what was seen
    (its bases come from those, fixed before a cycle's fresh Salesforce values replace them)."""
    state = SyncedState.objects.get(contact__hubspot_id=hubspot_id)
    mapped = set(FieldMapping.objects.values_list("salesforce_field", flat=True))
    state.last_payload = {f: v for f, v in state.salesforce_values.items() if f in mapped}
    state.field_bases = {}
    state.save()


@pytest.mark.parametrize(
    ("cycle_between", "synced_before_bases"),
    [(True, False), (False, False), (False, True)],
    ids=["a cycle between", "no cycle between", "synced before field bases were kept"],
)
def test_an_edit_on_each_side_of_different_fields_reaches_the_other_side_and_loses_nothing(
    world, cycle_between, synced_before_bases
):
    """Sales changes the title in Salesforce; later marketing changes the phone in HubSpot."""
    ada = people(1)[0]
    ids = world.start([ada])
    if synced_before_bases:
        forget_field_bases(ids[ada["email"]])
    world.edit_salesforce(ada["email"], Title="VP Sales")
    if cycle_between:
        world.cycle()
    world.edit_hubspot(ids[ada["email"]], phone="+33 6 12 34 56 78")
    world.cycle()
    world.cycle()

    lead = world.lead(ada["email"])
    assert (lead["Title"], lead["Phone"]) == ("VP Sales", "+33 6 12 34 56 78")
    assert world.hubspot_values(ids[ada["email"]])["jobtitle"] == "VP Sales"


def test_a_value_cleared_in_hubspot_is_cleared_in_salesforce(world):
    ada = people(1)[0]
    ids = world.start([ada])
    world.edit_hubspot(ids[ada["email"]], phone="")
    world.cycle()
    assert world.lead(ada["email"])["Phone"] in (None, "")


def test_a_value_cleared_in_salesforce_is_cleared_in_hubspot(world):
    ada = people(1)[0]
    ids = world.start([ada])
    world.edit_salesforce(ada["email"], Title=None)
    world.cycle()
    assert not world.hubspot_values(ids[ada["email"]]).get("jobtitle")


def test_the_same_field_edited_on_both_sides_goes_to_the_latest_edit_and_the_log_shows_both(world):
    ada, grace = people(2)
    ids = world.start([ada, grace])
    world.edit_hubspot(ids[ada["email"]], jobtitle="CTO in HubSpot")
    world.edit_salesforce(ada["email"], Title="CFO in Salesforce")  # later: Salesforce wins
    world.edit_salesforce(grace["email"], Title="CFO in Salesforce")
    world.edit_hubspot(ids[grace["email"]], jobtitle="CTO in HubSpot")  # later: HubSpot wins
    world.cycle()
    world.cycle()

    assert world.lead(ada["email"])["Title"] == "CFO in Salesforce"
    assert world.hubspot_values(ids[ada["email"]])["jobtitle"] == "CFO in Salesforce"
    assert world.lead(grace["email"])["Title"] == "CTO in HubSpot"
    assert world.hubspot_values(ids[grace["email"]])["jobtitle"] == "CTO in HubSpot"
    logged = [c for r in SyncRecord.objects.filter(conflicts__isnull=False) for c in r.conflicts]
    winners = {(c["hubspot"]["value"], c["salesforce"]["value"], c["winner"]) for c in logged}
    assert winners == {
        ("CTO in HubSpot", "CFO in Salesforce", "salesforce"),
        ("CTO in HubSpot", "CFO in Salesforce", "hubspot"),
    }
    assert all(c["hubspot"]["at"] and c["salesforce"]["at"] for c in logged)
    assert sum(SyncRun.objects.values_list("conflicts", flat=True)) == 2


def test_a_salesforce_rule_puts_salesforce_back_over_a_hubspot_edit(world):
    FieldMapping.objects.filter(hubspot_property="company").update(rule=FieldMapping.Rule.PREFER_SALESFORCE)
    FieldMapping.objects.filter(hubspot_property="city").update(rule=FieldMapping.Rule.ALWAYS_SALESFORCE)
    ada = people(1)[0]
    ids = world.start([ada])
    lead = world.lead(ada["email"])
    assert lead["Company"] == "Engines 0" and lead["City"] is None, "Always use Salesforce: HubSpot never writes"

    world.edit_hubspot(ids[ada["email"]], company="Renamed in HubSpot", city="Lyon")
    world.cycle()
    world.cycle()
    assert world.lead(ada["email"])["Company"] == "Engines 0"
    assert world.hubspot_values(ids[ada["email"]])["company"] == "Engines 0"

    world.edit_salesforce(ada["email"], City="Marseille")
    world.cycle()
    assert world.hubspot_values(ids[ada["email"]])["city"] == "Marseille"
    assert world.lead(ada["email"])["City"] == "Marseille"


def test_one_conflicting_email_in_a_hubspot_batch_updates_every_other_contact(world):
    crowd = people(5, prefix="crowd")
    ids = world.start(crowd)
    taken = world.hubspot.create({"properties": {"email": "taken@rules.example", "country": "Spain"}}).id
    FieldMapping.objects.filter(hubspot_property="email").update(rule=FieldMapping.Rule.TWO_WAY)
    for person in crowd:
        world.edit_salesforce(person["email"], Title="From Salesforce")
    world.edit_salesforce(crowd[2]["email"], Email="taken@rules.example")
    run = world.cycle()

    for person in crowd:
        if person is crowd[2]:
            continue
        assert world.hubspot_values(ids[person["email"]])["jobtitle"] == "From Salesforce"
    refused = SyncRecord.objects.get(run=run, direction=SyncRecord.Direction.TO_HUBSPOT, action="failed")
    assert refused.contact == Contact.objects.get(hubspot_id=ids[crowd[2]["email"]])
    assert refused.category == Category.DUPLICATE, refused.message
    assert str(taken) in refused.message


def test_a_duplicate_salesforce_record_with_the_contacts_email_never_overwrites_it(world):
    ada = people(1)[0]
    ids = world.start([ada])
    duplicate = world.salesforce.Contact.create({"LastName": "Other", "Email": ada["email"], "Title": "Not hers"})
    world.salesforce.Contact.update(duplicate["id"], {"Phone": ""})
    run = world.cycle()

    assert world.hubspot_values(ids[ada["email"]])["jobtitle"] == "CEO"
    assert world.hubspot_values(ids[ada["email"]])["phone"] == ada["phone"]
    skipped = SyncRecord.objects.get(run=run, salesforce_id__startswith=duplicate["id"][:15])
    assert skipped.skip_reason == SyncRecord.SkipReason.OTHER_RECORD


def test_a_new_mapping_rewrites_nothing_until_an_edit_and_a_resync_applies_it(world):
    ada = people(1)[0]
    ada["employee_count"] = "120"
    ids = world.start([ada])
    FieldMapping.objects.create(
        hubspot_property="employee_count", salesforce_field="NumberOfEmployees", salesforce_object="Lead"
    )
    world.cycle()
    lead = world.sandbox.soql(f"SELECT NumberOfEmployees FROM Lead WHERE Email = '{ada['email']}'")[0]
    assert lead["NumberOfEmployees"] is None, "a new mapping is not retroactive"

    contact_list = SyncSettings.load().inclusion_list
    push_pending(run=list_resync(contact_list=contact_list, run_async=False))
    lead = world.sandbox.soql(f"SELECT NumberOfEmployees FROM Lead WHERE Email = '{ada['email']}'")[0]
    assert lead["NumberOfEmployees"] == 120
    assert world.hubspot_values(ids[ada["email"]])["jobtitle"] == "CEO"


def test_a_required_field_kept_back_by_its_rule_is_named_in_the_log_and_nothing_is_invented(world):
    FieldMapping.objects.filter(salesforce_field="LastName").update(rule=FieldMapping.Rule.ALWAYS_SALESFORCE)
    ada = people(1)[0]
    world.start([ada])

    assert world.sandbox.soql(f"SELECT Id FROM Lead WHERE Email = '{ada['email']}'") == []
    failed = SyncRecord.objects.get(direction=SyncRecord.Direction.TO_SALESFORCE, action="failed")
    assert failed.error_code == "REQUIRED_FIELD_MISSING"
    assert "LastName is mapped “Always use Salesforce”: HubSpot never sends it" in failed.message
