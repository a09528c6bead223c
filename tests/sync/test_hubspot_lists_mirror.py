"""HubSpot's own lists mirrored here: created through the emulator's Lists API with the unmodified
hubspot-api-client, pulled by ``hubspot_lists_pull``, and checked against the API's own answers
(names, types, definitions, members) before and after edits, filter updates, membership adds and
removes, renames and deletions."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from lists.models import ContactList
from sync.engine.gate import Gate
from sync.models import SyncRecord
from tests.sync.hubspot_lists_helpers import (
    FORM_SUBMITTED,
    HubSpotSide,
    and_branch,
    in_list,
    local_member_ids,
    mirrored,
    or_root,
    prop,
    pull_all,
)

pytestmark = pytest.mark.django_db(transaction=True)

FRANCE = or_root(and_branch(prop("country", "MULTISTRING", "IS_EQUAL_TO", values=["France"])))
CUSTOMERS = or_root(and_branch(prop("lifecyclestage", "ENUMERATION", "IS_ANY_OF", values=["customer"])))


@pytest.fixture
def hs(sandbox):
    sandbox.seed(80, seed=3)
    return HubSpotSide(sandbox)


def assert_mirrors(hs: HubSpotSide, list_id: str) -> ContactList:
    """The list here says what HubSpot's API says: name, type, definition, members."""
    remote = hs.get(list_id)
    here = mirrored(list_id)
    assert here.name == remote["name"]
    assert here.hubspot_processing_type == remote["processingType"]
    expected_type = "DYNAMIC" if remote["processingType"] == "DYNAMIC" else "MANUAL"
    assert here.processing_type == expected_type
    assert here.hubspot_filter_branch == remote.get("filterBranch")
    assert here.hubspot_list_version == remote["listVersion"]
    assert here.processing_status == ContactList.ProcessingStatus.COMPLETE
    assert local_member_ids(here) == hs.member_ids(list_id)
    assert here.size == len(hs.member_ids(list_id))
    return here


def test_every_kind_of_hubspot_list_is_mirrored_with_its_definition_and_members(hs):
    france = hs.create("France", "DYNAMIC", FRANCE)
    forms = hs.create("Filled out the demo form", "DYNAMIC", or_root(and_branch(FORM_SUBMITTED)))
    hand_picked = hs.create("Hand-picked", "MANUAL")
    snapshot = hs.create("Customers at launch", "SNAPSHOT", CUSTOMERS)
    hs.add(hand_picked, ["1", "2", "3"])
    hs.set_computed_members(forms, ["4", "5", "6", "7"])
    hs.settle()

    pull_all()

    here = assert_mirrors(hs, france)
    assert here.membership_source == ContactList.MembershipSource.LOCAL
    assert here.filter_branch is not None  # evaluated here
    assert 0 < here.size < 80
    here = assert_mirrors(hs, forms)
    assert here.membership_source == ContactList.MembershipSource.HUBSPOT
    assert here.filter_branch is None and here.size == 4
    assert assert_mirrors(hs, hand_picked).membership_source == ContactList.MembershipSource.HUBSPOT
    snap = assert_mirrors(hs, snapshot)
    assert snap.hubspot_processing_type == "SNAPSHOT" and not snap.is_active_list
    assert all(cl.is_mirrored for cl in ContactList.objects.exclude(hubspot_list_id=""))


def test_edits_in_hubspot_are_followed(hs):
    france = hs.create("France", "DYNAMIC", FRANCE)
    forms = hs.create("Webinar attendees", "DYNAMIC", or_root(and_branch(FORM_SUBMITTED)))
    hand_picked = hs.create("Hand-picked", "MANUAL")
    doomed = hs.create("To be deleted", "MANUAL")
    hs.add(hand_picked, ["1", "2", "3"])
    hs.set_computed_members(forms, ["4", "5"])
    hs.settle()
    pull_all()
    before = mirrored(france).version
    outsider = next(rid for rid in map(str, range(1, 81)) if rid not in hs.member_ids(france))

    hs.update_contact(outsider, country="France")  # joins the DYNAMIC list
    hs.add(hand_picked, ["10", "11"])
    hs.remove(hand_picked, ["1"])
    hs.set_computed_members(forms, ["5", "6", "7"])
    hs.rename(hand_picked, "Hand-picked (renamed)")
    hs.delete(doomed)
    hs.settle()
    pull_all()

    assert outsider in local_member_ids(assert_mirrors(hs, france))
    assert mirrored(france).version == before  # same definition: nothing recomputed in full
    assert local_member_ids(assert_mirrors(hs, hand_picked)) == {"2", "3", "10", "11"}
    assert mirrored(hand_picked).name == "Hand-picked (renamed)"
    assert local_member_ids(assert_mirrors(hs, forms)) == {"5", "6", "7"}
    gone = mirrored(doomed)
    assert gone.hubspot_deleted_at is not None
    assert gone.processing_status == ContactList.ProcessingStatus.FAILED

    # New filters in HubSpot: the definition here follows and the members are recomputed.
    hs.update_filters(france, or_root(and_branch(prop("country", "MULTISTRING", "IS_EQUAL_TO", values=["Germany"]))))
    hs.settle()
    pull_all()
    here = assert_mirrors(hs, france)
    assert here.version > before
    assert here.filter_branch["filterBranches"][0]["filters"][0]["operation"]["values"] == ["Germany"]

    hs.restore(doomed)
    hs.settle()
    pull_all()
    restored = assert_mirrors(hs, doomed)
    assert restored.hubspot_deleted_at is None


def test_in_list_filters_are_translated_to_the_mirrored_lists(hs):
    france = hs.create("France", "DYNAMIC", FRANCE)
    picked = hs.create("Picked", "MANUAL")
    hs.add(picked, [str(i) for i in range(1, 41)])
    both = hs.create("Picked in France", "DYNAMIC", or_root(and_branch(in_list(france), in_list(picked))))
    not_picked = hs.create(
        "French, not picked", "DYNAMIC", or_root(and_branch(in_list(france), in_list(picked, "NOT_IN_LIST")))
    )
    hs.settle()
    pull_all()

    for list_id in (both, not_picked):
        here = assert_mirrors(hs, list_id)
        assert here.membership_source == ContactList.MembershipSource.LOCAL
        ids = {f["listId"] for f in here.filter_branch["filterBranches"][0]["filters"]}
        assert ids == {str(mirrored(france).pk), str(mirrored(picked).pk)}

    # A member added by hand in HubSpot reaches the lists evaluated here that use it.
    french = sorted(hs.member_ids(france) - hs.member_ids(picked), key=int)
    hs.add(picked, french[:1])
    hs.settle()
    pull_all()
    assert_mirrors(hs, both)
    assert_mirrors(hs, not_picked)


def test_a_pull_with_nothing_changed_costs_one_search_call(hs, sandbox):
    hs.create("France", "DYNAMIC", FRANCE)
    picked = hs.create("Picked", "MANUAL")
    hs.add(picked, ["1", "2"])
    hs.settle()
    pull_all()
    from sync.services.hubspot_lists import hubspot_lists_pull

    run, result = hubspot_lists_pull()
    assert result.seen == 2 and result.memberships_read == 0
    assert run.hubspot_api_calls == 1


def test_a_list_hubspot_is_still_processing_gates_nobody_in(hs):
    from integration.models import SyncSettings

    forms = hs.create("Still processing", "DYNAMIC", or_root(and_branch(FORM_SUBMITTED)))
    hs.set_computed_members(forms, ["1", "2"])
    hs.hold(forms)
    pull_all()
    here = mirrored(forms)
    assert here.processing_status == ContactList.ProcessingStatus.PROCESSING
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": here})
    assert Gate.current().closed_reason == SyncRecord.SkipReason.LIST_NOT_READY

    hs.hold(forms, False)
    hs.settle()
    pull_all()
    assert Gate.current().is_open
    assert local_member_ids(mirrored(forms)) == {"1", "2"}


def test_a_deleted_hubspot_inclusion_list_gates_nobody_in(hs):
    from integration.models import SyncSettings

    france = hs.create("France", "DYNAMIC", FRANCE)
    hs.settle()
    pull_all()
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": mirrored(france)})
    assert Gate.current().is_open

    hs.delete(france)
    pull_all()

    gate = Gate.current()
    assert gate.closed_reason == SyncRecord.SkipReason.LIST_NOT_READY
    assert gate.members(set(mirrored(france).memberships.values_list("contact_id", flat=True))) == set()


def test_the_command_reports_what_it_mirrored(hs, capsys):
    from sync.services import hubspot_pull

    picked = hs.create("Picked", "MANUAL")
    hs.add(picked, ["1", "2", "3"])
    hubspot_pull()
    call_command("hubspot_lists_pull")
    out = capsys.readouterr().out
    assert "1 HubSpot list(s): 1 new" in out
    assert "(3 joined, 0 left)" in out
    assert mirrored(picked).size == 3
