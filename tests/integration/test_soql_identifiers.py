"""Names people type (mapped Salesforce fields, the external ID field) are written into SOQL:
only Salesforce API names get there, refused at input and again by the client."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from integration.clients.salesforce.soql import soql_fields, soql_identifier
from integration.models import FieldMapping, SyncSettings

pytestmark = pytest.mark.django_db

INJECTIONS = ["Email FROM User --", "Name, (SELECT Id FROM Users)", "x' OR Id != '", "1Field", "Title__c;DROP", ""]


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_mapping_to_anything_but_an_api_name_is_refused_with_a_message(name):
    mapping = FieldMapping(hubspot_property="jobtitle", salesforce_field=name, salesforce_object="Lead")
    with pytest.raises(ValidationError) as refused:
        mapping.full_clean()
    assert "salesforce_field" in refused.value.message_dict


@pytest.mark.parametrize("name", INJECTIONS[:-1])
def test_an_external_id_field_that_is_not_an_api_name_is_refused(name):
    settings = SyncSettings(dedupe_key=SyncSettings.DedupeKey.EXTERNAL_ID, external_id_field=name)
    with pytest.raises(ValidationError) as refused:
        settings.full_clean()
    assert "external_id_field" in refused.value.message_dict


@pytest.mark.parametrize("name", INJECTIONS)
def test_the_client_writes_no_name_into_soql_that_is_not_an_api_name(name):
    with pytest.raises(ValueError):
        soql_identifier(name)
    with pytest.raises(ValueError):
        soql_fields(["Id", name])


def test_api_names_pass():
    assert soql_fields(["Id", "HubSpot_Id__c", "ns__Score__c", "MailingCountry"]) == (
        "Id, HubSpot_Id__c, ns__Score__c, MailingCountry"
    )
