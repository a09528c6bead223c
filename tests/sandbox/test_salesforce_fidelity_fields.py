"""Lead and Contact carry the standard fields a real org's describe lists, through the unmodified
simple-salesforce over real HTTPS: written, read, queried and converted; the compound ``Name`` and
``Address`` are computed from their parts and refused on every write path."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox.salesforce_helpers import error_of, ingest_job, lead

LEAD_STANDARD = [
    "Id", "IsDeleted", "Salutation", "FirstName", "LastName", "Name", "Title", "Company", "Street", "City",
    "State", "PostalCode", "Country", "Address", "Phone", "MobilePhone", "Email", "Website", "Description",
    "LeadSource", "Status", "Industry", "Rating", "AnnualRevenue", "NumberOfEmployees", "OwnerId", "IsConverted",
    "ConvertedDate", "ConvertedContactId", "ConvertedAccountId", "CreatedDate", "LastModifiedDate",
    "SystemModstamp", "MasterRecordId",
]  # fmt: skip
CONTACT_STANDARD = [
    "Id", "IsDeleted", "AccountId", "Salutation", "FirstName", "LastName", "Name", "MailingStreet", "MailingCity",
    "MailingState", "MailingPostalCode", "MailingCountry", "MailingAddress", "Phone", "MobilePhone", "Email",
    "Title", "Department", "Birthdate", "Description", "LeadSource", "OwnerId", "CreatedDate", "LastModifiedDate",
    "SystemModstamp", "MasterRecordId",
]  # fmt: skip
UNWRITABLE = "INVALID_FIELD_FOR_INSERT_UPDATE"


class TestDescribe:
    @pytest.mark.parametrize(("sobject", "expected"), [("Lead", LEAD_STANDARD), ("Contact", CONTACT_STANDARD)])
    def test_describe_lists_the_standard_fields(self, sf, sobject, expected):
        fields = {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}
        assert set(expected) <= set(fields)
        assert fields["HubSpot_Id__c"]["custom"] and fields["HubSpot_Id__c"]["externalId"]
        assert all(set(f) == set(fields["Id"]) for f in fields.values())  # one shape for every field

    def test_compound_fields_are_read_only_and_name_their_parts(self, sf):
        fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
        assert fields["Name"]["nameField"] and not fields["Name"]["createable"] and not fields["Name"]["updateable"]
        assert fields["Address"]["type"] == "address" and not fields["Address"]["filterable"]
        assert not fields["Address"]["createable"] and not fields["Address"]["updateable"]
        assert {n for n, f in fields.items() if f["compoundFieldName"] == "Address"} == {
            "Street", "City", "State", "PostalCode", "Country",
        }  # fmt: skip
        assert {n for n, f in fields.items() if f["compoundFieldName"] == "Name"} == {"FirstName", "LastName"}
        assert fields["AnnualRevenue"]["type"] == "currency" and fields["AnnualRevenue"]["soapType"] == "xsd:double"
        contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
        assert contact["MailingAddress"]["type"] == "address" and contact["Birthdate"]["type"] == "date"
        assert contact["MailingStreet"]["compoundFieldName"] == "MailingAddress"


class TestStandardValues:
    def test_standard_fields_are_written_and_read_back(self, sf):
        values = {
            "Salutation": "Dr.", "Street": "1 Main St\nSuite 2", "State": "CA", "PostalCode": "94105",
            "Website": "https://example.com", "Description": "x" * 5000, "Rating": "Hot", "AnnualRevenue": 1250000.5,
            "MobilePhone": "+1 555 0100", "City": "San Francisco", "Country": "USA",
        }  # fmt: skip
        created = sf.Lead.create(lead(1, **values))["id"]
        record = sf.Lead.get(created)
        assert {k: record[k] for k in values} == values
        assert record["Name"] == "F1 L1"
        assert record["Address"] == {
            "street": "1 Main St\nSuite 2", "city": "San Francisco", "state": "CA", "postalCode": "94105",
            "country": "USA", "geocodeAccuracy": None, "latitude": None, "longitude": None,
        }  # fmt: skip

    def test_compound_values_follow_their_parts(self, sf):
        created = sf.Lead.create({"LastName": "Solo", "Company": "Acme"})["id"]
        record = sf.Lead.get(created)
        assert record["Name"] == "Solo" and record["Address"] is None
        sf.Lead.update(created, {"FirstName": "Han", "City": "Mos Eisley"})
        record = sf.Lead.get(created)
        assert record["Name"] == "Han Solo" and record["Address"]["city"] == "Mos Eisley"

    def test_contact_mailing_address_birthdate_and_department(self, sf):
        created = sf.Contact.create(
            {"LastName": "C", "MailingStreet": "2 Rue", "MailingPostalCode": "75001", "Birthdate": "1990-02-28",
             "Department": "Sales"}
        )["id"]  # fmt: skip
        record = sf.Contact.get(created)
        assert record["MailingAddress"]["street"] == "2 Rue" and record["MailingAddress"]["postalCode"] == "75001"
        assert record["Birthdate"] == "1990-02-28" and record["Department"] == "Sales" and record["Name"] == "C"

    @pytest.mark.parametrize(
        ("sobject", "values"),
        [
            ("Lead", {"AnnualRevenue": "lots"}),
            ("Lead", {"AnnualRevenue": True}),
            ("Contact", {"Birthdate": "28/02/1990"}),
            ("Contact", {"Birthdate": "1990-02-30"}),
            ("Contact", {"Birthdate": 19900228}),
        ],
    )
    def test_a_value_of_the_wrong_type_is_refused(self, sf, sobject, values):
        base = lead(1) if sobject == "Lead" else {"LastName": "C"}
        with pytest.raises(SalesforceMalformedRequest) as exc:
            getattr(sf, sobject).create({**base, **values})
        assert error_of(exc)["errorCode"] == "JSON_PARSER_ERROR"

    def test_a_rating_outside_the_picklist_is_kept_as_salesforce_keeps_an_unrestricted_one(self, sf):
        created = sf.Lead.create(lead(1, Rating="Lukewarm"))["id"]
        assert sf.Lead.get(created)["Rating"] == "Lukewarm"


class TestCompoundWritesRefused:
    @pytest.mark.parametrize(("field", "value"), [("Name", "A B"), ("Address", {"city": "Paris"})])
    def test_rest_create_and_update_refuse_a_compound_field(self, sf, field, value):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.create(lead(1, **{field: value}))
        assert error_of(exc)["errorCode"] == UNWRITABLE and error_of(exc)["fields"] == [field]
        created = sf.Lead.create(lead(2))["id"]
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Lead.update(created, {field: value})
        assert error_of(exc)["errorCode"] == UNWRITABLE

    def test_collections_refuse_the_record_and_save_the_others(self, sf):
        records = [
            {"attributes": {"type": "Lead"}, **lead(1, Name="X Y")},
            {"attributes": {"type": "Contact"}, "LastName": "C", "MailingAddress": {"city": "Paris"}},
            {"attributes": {"type": "Lead"}, **lead(3)},
        ]
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
        assert [r["success"] for r in results] == [False, False, True]
        assert results[0]["errors"][0]["statusCode"] == UNWRITABLE

    def test_bulk_rows_setting_name_fail(self, server, sf):
        outcome = ingest_job(server, {"object": "Lead", "operation": "insert"}, "LastName,Company,Name\nA,Acme,A B\n")
        assert outcome["successful"] == [] and UNWRITABLE in outcome["failed"][0]["sf__Error"]
        data = "LastName,Company,Street,AnnualRevenue,Rating\nA,Acme,1 Main,1000,Warm\n"
        outcome = ingest_job(server, {"object": "Lead", "operation": "insert"}, data)
        assert len(outcome["successful"]) == 1, outcome
        (record,) = sf.query("SELECT Name, Street, AnnualRevenue, Rating FROM Lead WHERE Street = '1 Main'")["records"]
        assert (record["Name"], record["AnnualRevenue"], record["Rating"]) == ("A", 1000.0, "Warm")


class TestQueryingStandardFields:
    def test_name_is_filtered_and_sorted_like_text(self, sf):
        for first, last in (("Ada", "Lovelace"), ("Alan", "Turing"), (None, "Hopper")):
            names = {"FirstName": first, "LastName": last} if first else {"LastName": last}
            sf.Lead.create({**names, "Company": "C"})
        found = sf.query("SELECT Name FROM Lead WHERE Name = 'ada lovelace'")["records"]
        assert [r["Name"] for r in found] == ["Ada Lovelace"]
        ordered = sf.query("SELECT Name FROM Lead WHERE Name LIKE 'A%' OR Name = 'Hopper' ORDER BY Name DESC")
        assert [r["Name"] for r in ordered["records"]] == ["Hopper", "Alan Turing", "Ada Lovelace"]

    @pytest.mark.parametrize(
        "text",
        [
            "SELECT Id FROM Lead WHERE Address = null",
            "SELECT Id FROM Lead ORDER BY Address",
            "SELECT Address, COUNT(Id) FROM Lead GROUP BY Address",
            "SELECT Id FROM Contact WHERE MailingAddress != null",
        ],
    )
    def test_a_compound_address_cannot_be_filtered_sorted_or_grouped(self, sf, text):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query(text)
        assert error_of(exc)["errorCode"] == "INVALID_FIELD"

    def test_standard_fields_are_selected_and_filtered(self, sf):
        sf.Lead.create(lead(1, Website="https://a.example", State="NY", AnnualRevenue=10))
        sf.Lead.create(lead(2, Website="https://b.example", State="CA", AnnualRevenue=20.5))
        found = sf.query("SELECT Website, OwnerId, State FROM Lead WHERE AnnualRevenue > 10.1 AND State != 'NY'")
        assert [(r["Website"], r["State"]) for r in found["records"]] == [("https://b.example", "CA")]
        assert found["records"][0]["OwnerId"].startswith("005")


def test_conversion_carries_the_address_and_the_new_fields_to_the_contact(sf, control):
    created = sf.Lead.create(
        lead(1, Salutation="Ms.", Street="5 Elm", State="TX", PostalCode="73301", MobilePhone="555", City="Austin")
    )["id"]
    converted = control(f"/_sandbox/leads/{created}/convert", {}).json()
    contact = sf.Contact.get(converted["contactId"])
    assert (contact["Salutation"], contact["MailingStreet"], contact["MailingState"]) == ("Ms.", "5 Elm", "TX")
    assert contact["MailingAddress"]["postalCode"] == "73301" and contact["MobilePhone"] == "555"
