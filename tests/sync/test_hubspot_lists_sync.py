"""A HubSpot list as the inclusion list, and a list made here published to HubSpot: the gate, the
"joined the list" trigger and the alert work as for lists made here, through both emulators."""

from __future__ import annotations

import importlib

import pytest
from django.core import mail
from hubspot.crm.lists.exceptions import NotFoundException

from integration.models import SettingChange, SyncSettings
from lists.models import ContactList
from lists.services import list_create, list_delete, list_refresh, list_update
from sync.alerts import alerts_check, observe
from sync.services import sync_cycle
from sync.services.hubspot_lists import list_publish
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


def salesforce_emails(sandbox) -> set[str]:
    leads = sandbox.soql("SELECT Email FROM Lead")
    contacts = sandbox.soql("SELECT Email FROM Contact")
    return {r["Email"].lower() for r in leads + contacts if r["Email"]}


def hubspot_emails(hs: HubSpotSide, record_ids: set[str]) -> set[str]:
    found = set()
    for rid in record_ids:
        contact = hs.client.crm.contacts.basic_api.get_by_id(rid, properties=["email"])
        found.add(contact.properties["email"].lower())
    return found


@pytest.fixture
def hs(sandbox):
    sandbox.seed(40, seed=5)
    return HubSpotSide(sandbox)


def test_members_of_a_hubspot_list_reach_salesforce_and_nobody_else(sandbox, hs):
    forms = hs.create("Demo requests", "DYNAMIC", or_root(and_branch(FORM_SUBMITTED)))
    # Good emails only: the seed's deliberately broken ones would be refused by Salesforce.
    hs.set_computed_members(forms, ["2", "3", "4", "5", "6"])
    hs.settle()
    pull_all()
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": mirrored(forms)})

    sync_cycle()
    assert salesforce_emails(sandbox) == hubspot_emails(hs, {"2", "3", "4", "5", "6"})

    # HubSpot adds a member: the next cycle mirrors it and sends it ("joined the list").
    hs.set_computed_members(forms, ["2", "3", "4", "5", "6", "10"])
    hs.settle()
    sync_cycle()
    assert salesforce_emails(sandbox) == hubspot_emails(hs, {"2", "3", "4", "5", "6", "10"})


def test_a_deleted_hubspot_inclusion_list_raises_the_alert_and_sends_nobody(sandbox, hs, settings):
    settings.SYNC_ALERT_EMAILS = ["ops@example.com"]
    picked = hs.create("Picked", "MANUAL")
    hs.add(picked, ["2", "3"])
    pull_all()
    SyncSettings.objects.update_or_create(pk=1, defaults={"inclusion_list": mirrored(picked)})
    assert next(o for o in observe() if o.key == "inclusion_list_deleted").ok

    hs.delete(picked)
    mail.outbox.clear()
    sync_cycle()
    assert alerts_check() == ["inclusion_list_deleted"]

    assert salesforce_emails(sandbox) == set()
    alert = next(o for o in observe() if o.key == "inclusion_list_deleted")
    assert not alert.ok and "Picked" in alert.subject
    assert any("deleted in HubSpot" in m.subject for m in mail.outbox)


@pytest.fixture
def run_tasks_now(monkeypatch):
    """The background jobs a publish queues, run at once in this process."""

    def run(func: str, *args, **kwargs):
        module, _sep, name = func.rpartition(".")
        return getattr(importlib.import_module(module), name)(*args)

    monkeypatch.setattr("sync.services.hubspot_lists.async_task", run)
    monkeypatch.setattr("lists.services.edit.async_task", lambda *a, **k: None)


def test_a_published_list_is_in_hubspot_and_follows_edits_made_here(sandbox, hs, run_tasks_now):
    pull_all()
    picked = hs.create("Picked", "MANUAL")
    hs.add(picked, ["1", "2", "3", "4"])
    pull_all()
    local = list_create(
        name="French, picked",
        processing_type="DYNAMIC",
        filter_branch=or_root(
            and_branch(prop("country", "MULTISTRING", "IS_EQUAL_TO", values=["France"]), in_list(mirrored(picked).pk))
        ),
    )
    list_refresh(contact_list=local)

    list_publish(contact_list=local)
    local.refresh_from_db()
    assert local.hubspot_published and local.hubspot_list_id and not local.is_mirrored
    remote = hs.get(local.hubspot_list_id)
    assert remote["name"] == "French, picked"
    filters = remote["filterBranch"]["filterBranches"][0]["filters"]
    assert {f.get("listId") for f in filters if f["filterType"] == "IN_LIST"} == {picked}
    hs.settle()
    assert hs.member_ids(local.hubspot_list_id) == local_member_ids(local)
    assert SettingChange.objects.filter(setting="list_published_to_hubspot").exists()

    list_update(contact_list=local, name="Germans, picked", filter_branch=FRANCE_TO_GERMANY(local, picked))
    remote = hs.get(local.hubspot_list_id)
    assert remote["name"] == "Germans, picked"
    assert remote["filterBranch"]["filterBranches"][0]["filters"][0]["operation"]["values"] == ["Germany"]

    # The next pull leaves a published list alone (it is defined here).
    pull_all()
    local.refresh_from_db()
    assert local.name == "Germans, picked" and local.membership_source == ContactList.MembershipSource.LOCAL

    # Deleted here, it is deleted in HubSpot too (HubSpot can restore it for a while).
    hubspot_id = local.hubspot_list_id
    list_delete(contact_list=local)
    with pytest.raises(NotFoundException):
        hs.get(hubspot_id)


def FRANCE_TO_GERMANY(local: ContactList, picked: str) -> dict:  # noqa: N802 - reads as a constant
    return or_root(
        and_branch(prop("country", "MULTISTRING", "IS_EQUAL_TO", values=["Germany"]), in_list(mirrored(picked).pk))
    )


def test_publishing_refuses_a_list_using_a_list_not_in_hubspot(sandbox, hs, run_tasks_now):
    from django.core.exceptions import ValidationError

    pull_all()
    here_only = list_create(name="Static here", processing_type="MANUAL", filter_branch=None)
    local = list_create(
        name="Uses a local list", processing_type="DYNAMIC", filter_branch=or_root(and_branch(in_list(here_only.pk)))
    )
    with pytest.raises(ValidationError, match="Static here"):
        list_publish(contact_list=local)
    local.refresh_from_db()
    assert not local.hubspot_list_id


def test_a_list_made_in_hubspot_cannot_be_edited_here(sandbox, hs):
    from django.core.exceptions import ValidationError

    france = hs.create("France", "DYNAMIC", FRANCE)
    hs.settle()
    pull_all()
    with pytest.raises(ValidationError, match="lives in HubSpot"):
        list_update(contact_list=mirrored(france), name="Renamed here")
    with pytest.raises(ValidationError, match="already lives in HubSpot"):
        list_publish(contact_list=mirrored(france))
