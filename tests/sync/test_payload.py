"""Field mapping rules in each direction."""

from __future__ import annotations

from sync.engine.payload import MappingRule, already_in_salesforce, fingerprint, inbound_changes, outbound_payload


def rules(rule: str) -> list[MappingRule]:
    return [
        MappingRule("email", "Email", "both", "two_way"),
        MappingRule("company", "Company", "Lead", rule),
        MappingRule("city", "MailingCity", "Contact", rule),
    ]


RAW = {"email": "ada@example.com", "company": "Analytical", "city": "London", "phone": ""}


def test_create_sends_every_mapped_value_for_the_object_and_never_blanks():
    assert outbound_payload(
        raw_properties=RAW, mappings=rules("dont_sync"), salesforce_object="Lead", creating=True
    ) == {
        "Email": "ada@example.com",
        "Company": "Analytical",
    }
    assert outbound_payload(
        raw_properties=RAW, mappings=rules("two_way"), salesforce_object="Contact", creating=True
    ) == {"Email": "ada@example.com", "MailingCity": "London"}


def test_update_rules():
    def upd(rule, sf_values=None):
        return outbound_payload(
            raw_properties=RAW,
            mappings=rules(rule),
            salesforce_object="Lead",
            creating=False,
            salesforce_values=sf_values,
        )

    assert upd("two_way") == {"Email": "ada@example.com", "Company": "Analytical"}
    assert upd("always_salesforce") == {"Email": "ada@example.com"}
    assert upd("dont_sync") == {"Email": "ada@example.com"}
    assert upd("prefer_salesforce") == {"Email": "ada@example.com"}  # unknown Salesforce value
    assert upd("prefer_salesforce", {"Company": ""}) == {"Email": "ada@example.com", "Company": "Analytical"}
    assert upd("prefer_salesforce", {"Company": "Acme"}) == {"Email": "ada@example.com"}


def test_inbound_changes_follow_the_rules():
    record = {"Email": "ada@example.com", "Company": "Acme", "MailingCity": None}
    raw = {"email": "ada@example.com", "company": "Analytical"}

    def inbound(rule):
        return inbound_changes(
            salesforce_record=record, raw_properties=raw, mappings=rules(rule), salesforce_object="Lead"
        )

    assert inbound("two_way") == {"company": "Acme"}
    assert inbound("prefer_salesforce") == {"company": "Acme"}
    assert inbound("always_salesforce") == {"company": "Acme"}
    assert inbound("dont_sync") == {}


def test_fingerprint_and_echo_detection():
    assert fingerprint("Lead", {"a": "1", "b": "2"}) == fingerprint("Lead", {"b": "2", "a": "1"})
    assert fingerprint("Lead", {"a": "1"}) != fingerprint("Contact", {"a": "1"})
    assert already_in_salesforce({"Email": "x@y.z"}, {"Email": "x@y.z", "Id": "1"})
    assert not already_in_salesforce({"Email": "x@y.z"}, {"Email": "other@y.z"})
    assert not already_in_salesforce({"Email": "x@y.z"}, None)
