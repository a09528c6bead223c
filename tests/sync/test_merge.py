"""HubSpot's four sync rules, field by field: the three-way merge against an independent model.

The model below is written from HubSpot's knowledge-base wording, one sentence per branch, and
shares no code with ``sync.engine.merge``; hypothesis drives both with any base, any values on
either side (blanks included) and any times, and they must agree on what is written where.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.engine.fields import field_key, plan_contact
from sync.engine.merge import (
    ALWAYS_SALESFORCE,
    DONT_SYNC,
    PREFER_SALESFORCE,
    RULES,
    TWO_WAY,
    Base,
    canonical,
    decide,
)
from sync.engine.payload import MappingRule

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def model(rule, base, hubspot, salesforce, hubspot_at, salesforce_at, first_sync, first_winner=None):
    """``(to_salesforce, to_hubspot)`` as HubSpot documents the rules (None: nothing written).

    - Don't sync: data never passes either way.
    - A mapping added after the contact synced (no base, not a first sync) rewrites nothing, and
      neither does a field nobody changed since both sides last agreed (even to differ).
    - Two-way: a field changed on one side goes to the other; changed on both, the most recent
      value wins (equal or unknown times: Salesforce); on a first sync a blank side is filled and,
      where both hold a value, the side starting the sync wins (or the most recent).
    - Prefer Salesforce unless blank: a Salesforce value always overwrites HubSpot's; a value
      deleted in Salesforce is deleted in HubSpot; HubSpot fills a Salesforce field that is blank.
    - Always use Salesforce: the same, except that HubSpot never fills anything.
    """
    if rule == DONT_SYNC:
        return None, None
    if base is None and not first_sync:
        return None, None
    if base is not None and (hubspot, salesforce) == (base.hubspot, base.salesforce):
        return None, None  # nobody changed anything since they last agreed
    if rule == TWO_WAY:
        if hubspot == salesforce:
            return None, None
        hubspot_moved = base is None or hubspot != base.hubspot
        salesforce_moved = base is None or salesforce != base.salesforce
        if hubspot_moved != salesforce_moved:
            return (hubspot, None) if hubspot_moved else (None, salesforce)
        if base is None and "" in (hubspot, salesforce):
            return (hubspot, None) if hubspot else (None, salesforce)
        if base is None and first_winner:
            return (hubspot, None) if first_winner == "hubspot" else (None, salesforce)
        hubspot_newer = hubspot_at is not None and (salesforce_at is None or hubspot_at > salesforce_at)
        return (hubspot, None) if hubspot_newer else (None, salesforce)
    if salesforce != "":
        return (None, salesforce) if salesforce != hubspot else (None, None)
    deleted_in_salesforce = base is not None and base.salesforce not in (None, "")
    if deleted_in_salesforce:
        return (None, "") if hubspot != "" else (None, None)
    if rule == PREFER_SALESFORCE and hubspot != "":
        return hubspot, None
    return None, None


values = st.sampled_from(["", "Ada", "Grace", "CEO"])
moments = st.one_of(st.none(), st.integers(0, 3).map(lambda n: T0 + timedelta(minutes=n)))
bases = st.one_of(st.none(), st.builds(Base, values, values))


winners = st.sampled_from([None, "hubspot", "salesforce"])


@settings(max_examples=500)
@given(st.sampled_from(RULES), bases, values, values, moments, moments, st.booleans(), winners)
def test_the_merge_writes_what_the_documented_rules_say(rule, base, hubspot, salesforce, hs_at, sf_at, first, winner):
    decision = decide(
        rule,
        base=base,
        hubspot=hubspot,
        salesforce=salesforce,
        hubspot_at=hs_at,
        salesforce_at=sf_at,
        first_sync=first,
        first_sync_winner=winner,
    )
    expected = model(rule, base, hubspot, salesforce, hs_at, sf_at, first, winner)
    assert (decision.to_salesforce, decision.to_hubspot) == expected


@settings(max_examples=400)
@given(st.sampled_from(RULES), bases, values, values, moments, moments, st.booleans())
def test_after_the_writes_both_sides_agree_and_nothing_more_is_written(
    rule, base, hubspot, salesforce, hs_at, sf_at, first
):
    decision = decide(
        rule, base=base, hubspot=hubspot, salesforce=salesforce, hubspot_at=hs_at, salesforce_at=sf_at, first_sync=first
    )
    hubspot_now = decision.to_hubspot if decision.to_hubspot is not None else hubspot
    salesforce_now = decision.to_salesforce if decision.to_salesforce is not None else salesforce
    again = decide(rule, base=decision.base, hubspot=hubspot_now, salesforce=salesforce_now)
    # The next cycle, with no edit in between, writes nothing: no echo, no ping-pong.
    assert not again.writes


def test_a_change_on_one_side_travels_and_a_blank_is_a_change():
    agreed = Base("CEO", "CEO")
    assert decide(TWO_WAY, base=agreed, hubspot="CTO", salesforce="CEO").to_salesforce == "CTO"
    assert decide(TWO_WAY, base=agreed, hubspot="CEO", salesforce="CFO").to_hubspot == "CFO"
    assert decide(TWO_WAY, base=agreed, hubspot="", salesforce="CEO").to_salesforce == ""
    assert decide(TWO_WAY, base=agreed, hubspot="CEO", salesforce=None).to_hubspot == ""


def test_both_sides_changed_the_most_recent_wins_and_the_conflict_says_so():
    agreed = Base("CEO", "CEO")
    later = decide(
        TWO_WAY, base=agreed, hubspot="CTO", salesforce="CFO", hubspot_at=T0, salesforce_at=T0 + timedelta(1)
    )
    assert later.to_hubspot == "CFO" and later.conflict.winner == "salesforce"
    assert (later.conflict.hubspot_value, later.conflict.salesforce_value) == ("CTO", "CFO")
    earlier = decide(
        TWO_WAY, base=agreed, hubspot="CTO", salesforce="CFO", hubspot_at=T0 + timedelta(1), salesforce_at=T0
    )
    assert earlier.to_salesforce == "CTO" and earlier.conflict.winner == "hubspot"
    tie = decide(TWO_WAY, base=agreed, hubspot="CTO", salesforce="CFO", hubspot_at=T0, salesforce_at=T0)
    assert tie.to_hubspot == "CFO", "equal times: Salesforce wins"


def test_the_salesforce_rules_overwrite_hubspot_edits_and_delete_what_salesforce_deletes():
    agreed = Base("Acme", "Acme")
    for rule in (PREFER_SALESFORCE, ALWAYS_SALESFORCE):
        assert decide(rule, base=agreed, hubspot="Edited in HubSpot", salesforce="Acme").to_hubspot == "Acme"
        assert decide(rule, base=agreed, hubspot="Acme", salesforce="").to_hubspot == ""
    blank = Base("", "")
    assert decide(PREFER_SALESFORCE, base=blank, hubspot="Acme", salesforce="").to_salesforce == "Acme"
    assert not decide(ALWAYS_SALESFORCE, base=blank, hubspot="Acme", salesforce="").writes


def test_a_new_mapping_rewrites_nothing_until_a_side_changes_or_a_resync():
    quiet = decide(TWO_WAY, base=None, hubspot="Paris", salesforce="London")
    assert not quiet.writes and quiet.base == Base("Paris", "London")
    assert decide(TWO_WAY, base=quiet.base, hubspot="Lyon", salesforce="London").to_salesforce == "Lyon"
    resync = decide(TWO_WAY, base=None, hubspot="Paris", salesforce="", first_sync=True)
    assert resync.to_salesforce == "Paris"


def test_an_unread_salesforce_value_is_never_erased():
    assert (
        decide(
            TWO_WAY, base=None, hubspot="Paris", salesforce=None, salesforce_known=False, first_sync=True
        ).to_salesforce
        == "Paris"
    )
    assert not decide(TWO_WAY, base=Base("Paris", "Paris"), hubspot="", salesforce=None, salesforce_known=False).writes
    assert not decide(
        PREFER_SALESFORCE, base=None, hubspot="Paris", salesforce=None, salesforce_known=False, first_sync=True
    ).writes


def test_both_services_spellings_of_one_value_agree():
    assert canonical(100.0) == canonical("100") == "100"
    assert canonical(True) == canonical("true") == "true"
    assert canonical(None) == canonical("  ") == ""
    assert canonical("0612345678") == "0612345678"  # a phone number, not a number
    assert not decide(TWO_WAY, base=Base("100", "100"), hubspot="100", salesforce=100.0).writes


def test_a_contact_plan_sends_only_what_changed_each_way():
    mappings = [
        MappingRule("jobtitle", "Title", "both", TWO_WAY),
        MappingRule("phone", "Phone", "both", TWO_WAY),
        MappingRule("company", "Company", "Lead", ALWAYS_SALESFORCE),
    ]
    agreed = {field_key(m): Base(v, v) for m, v in zip(mappings, ["CEO", "111", "Acme"], strict=True)}
    plan = plan_contact(
        mappings=mappings,
        salesforce_object="Lead",
        hubspot={"jobtitle": "CEO", "phone": "222", "company": "Acme Corp"},
        salesforce={"Title": "CTO", "Phone": "111", "Company": "Acme"},
        bases=agreed,
        first_sync=False,
    )
    assert plan.to_salesforce == {"Phone": "222"}
    assert plan.to_hubspot == {"jobtitle": "CTO", "company": "Acme"}
    assert not plan.conflicts
