"""A Lead converted as Salesforce's Convert button does ("convertLead()", SOAP API Developer Guide:
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_convertlead.htm).

``convert_lead(store, lead_id)`` makes an Account (``Name`` = the Lead's Company, its owner the
Lead's) and a Contact from the Lead, in one transaction:

==================  ==================
Lead                Contact
==================  ==================
FirstName           FirstName
LastName            LastName
Email               Email
Phone               Phone
Title               Title
City                MailingCity
Country             MailingCountry
LeadSource          LeadSource
OwnerId             OwnerId
custom fields       the Contact's custom field of the same name (``HubSpot_Id__c``), as an
                    admin maps them ("LeadConvertSettings", Metadata API)
==================  ==================

With ``contact_id``, the Lead is merged into that Contact instead: "only empty fields in the
target object are overwritten", so its values stay and its blanks are filled from the Lead; its
Account is the conversion's (a new one when it has none). The Lead then reads ``IsConverted``,
``ConvertedContactId``, ``ConvertedAccountId``, ``ConvertedDate`` (today, UTC) and the status
``Closed - Converted``, and is never written again (``CANNOT_UPDATE_CONVERTED_LEAD``).
"""

from __future__ import annotations

from typing import Any

from sandbox.salesforce.lifecycle.errors import LifecycleError, read_live
from sandbox.salesforce.records import ALLOW_DUPLICATE_SAVE, RecordResult, RecordService
from sandbox.salesforce.schema import OBJECTS
from sandbox.salesforce.store import SalesforceStore, format_datetime, today, utc_now

LEAD, CONTACT, ACCOUNT = OBJECTS["lead"], OBJECTS["contact"], OBJECTS["account"]
CONVERTED_STATUS = "Closed - Converted"

# The standard mapping of Lead fields to Contact fields.
STANDARD_MAPPING = (
    ("Salutation", "Salutation"),
    ("FirstName", "FirstName"),
    ("LastName", "LastName"),
    ("Email", "Email"),
    ("Phone", "Phone"),
    ("Title", "Title"),
    ("MobilePhone", "MobilePhone"),
    ("Fax", "Fax"),
    ("Street", "MailingStreet"),
    ("City", "MailingCity"),
    ("State", "MailingState"),
    ("PostalCode", "MailingPostalCode"),
    ("Country", "MailingCountry"),
    ("Description", "Description"),
    ("LeadSource", "LeadSource"),
    ("OwnerId", "OwnerId"),
)
CONTACT_MAPPING = STANDARD_MAPPING + tuple(
    (f.name, f.name) for f in LEAD.fields if f.custom and f.name in CONTACT.by_name
)


def _saved(result: RecordResult, what: str) -> str:
    if not result.success or result.id is None:
        error = result.errors[0]
        raise LifecycleError(error.code, f"The {what} could not be saved: {error.message}")
    return result.id


def _lead(records: RecordService, lead_id: str) -> Any:
    lead = read_live(records, LEAD, lead_id, "Lead")
    if lead["IsConverted"]:
        raise LifecycleError(
            "CANNOT_UPDATE_CONVERTED_LEAD",
            f"Lead {lead['Id']} is already converted (to Contact {lead['ConvertedContactId']}): "
            "cannot reference converted lead",
        )
    return lead


def _account(records: RecordService, lead: Any, contact: Any) -> str:
    """The conversion's Account: the Contact's, else a new one named after the Lead's Company."""
    if contact is not None and contact["AccountId"] is not None:
        rows = records.rows_by_ids(ACCOUNT, [contact["AccountId"]])
        found = rows.get(contact["AccountId"])
        if found is not None and not found["IsDeleted"]:
            return found["Id"]
    created = records.create(ACCOUNT, [{"Name": lead["Company"], "OwnerId": lead["OwnerId"]}])[0]
    return _saved(created, "Account")


def convert_lead(store: SalesforceStore, lead_id: str, contact_id: str | None = None) -> dict[str, str]:
    """Convert the Lead ``lead_id`` into a new Contact and Account, or into the Contact
    ``contact_id``; returns ``{"leadId", "contactId", "accountId"}``. ``LifecycleError`` for an
    unknown, deleted or converted Lead, or a Contact that is not there."""
    records = RecordService(store)
    allowed = ALLOW_DUPLICATE_SAVE.set(True)  # the Convert button saves past duplicate alerts
    try:
        with store.write() as conn:
            lead = _lead(records, lead_id)
            contact = None if contact_id is None else read_live(records, CONTACT, contact_id, "Contact")
            account_id = _account(records, lead, contact)
            if contact is None:
                values = {target: lead[source] for source, target in CONTACT_MAPPING if lead[source] is not None}
                values["AccountId"] = account_id
                new_contact = _saved(records.create(CONTACT, [values])[0], "Contact")
            else:
                values = {
                    target: lead[source]
                    for source, target in CONTACT_MAPPING
                    if contact[target] is None and lead[source] is not None
                }
                if contact["AccountId"] is None:
                    values["AccountId"] = account_id
                # Written even with nothing to fill: the Contact's LastModifiedDate moves.
                new_contact = _saved(records.update(CONTACT, [{**values, "Id": contact["Id"]}])[0], "Contact")
            now = format_datetime(utc_now())
            conn.execute(
                'UPDATE "Lead" SET "IsConverted" = 1, "ConvertedContactId" = ?, "ConvertedAccountId" = ?, '
                '"ConvertedDate" = ?, "Status" = ?, "LastModifiedDate" = ?, "SystemModstamp" = ? WHERE "Id" = ?',
                (new_contact, account_id, today(), CONVERTED_STATUS, now, now, lead["Id"]),
            )
            store.lookups.written(conn, LEAD.name, now, [lead["Id"]])
    finally:
        ALLOW_DUPLICATE_SAVE.reset(allowed)
    return {"leadId": lead["Id"], "contactId": new_contact, "accountId": account_id}
