"""The sObjects the sandbox knows and their fields: Lead, Contact, Account, User, AssignmentRule.

Field names, types, lengths and picklists follow a standard Salesforce org (Enterprise edition),
plus the custom external-id field ``HubSpot_Id__c`` an admin adds for the integration. Leads and
Contacts have their standard fields (name, address, phones, web site, rating, revenue...), with
the compound ``Name`` and ``Address``/``MailingAddress``: no column of their own, computed from
their parts when read, never written (``Field.compound``). The classes
(``Field``, ``SObject``) are in :mod:`sandbox.salesforce.sobject`, re-exported here.

Leads and Contacts have an owner (``OwnerId``, a User, the integration user unless given) and the
fields of Salesforce's lifecycle: a converted Lead names its Contact and Account
(``ConvertedContactId``, ``ConvertedAccountId``, ``ConvertedDate``), a record deleted by a merge
its survivor (``MasterRecordId``). Those are set by conversion and merge only, never by a write.
Users and the assignment rule are the sandbox's to manage (:mod:`sandbox.salesforce.org`): the
API reads them and writes none.
"""

from __future__ import annotations

from dataclasses import replace

from sandbox.salesforce.org import INTEGRATION_USER_ID
from sandbox.salesforce.sobject import EMAIL_RE, SLOW, Field, PicklistValue, SObject

__all__ = ["EMAIL_RE", "OBJECTS", "SLOW", "Field", "PicklistValue", "SObject", "get_object"]

LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)


def _system_fields() -> list[Field]:
    return [
        Field("Id", "Lead ID", "id", 18, nillable=False, createable=False, updateable=False, defaulted_on_create=True),
        Field(
            "IsDeleted",
            "Deleted",
            "boolean",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
        ),
        Field(
            "CreatedDate",
            "Created Date",
            "datetime",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
        ),
        Field(
            "LastModifiedDate",
            "Last Modified Date",
            "datetime",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
        ),
        Field(
            "SystemModstamp",
            "System Modstamp",
            "datetime",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
        ),
    ]


def _picklist(values: tuple[str, ...], default: str | None = None) -> tuple[PicklistValue, ...]:
    return tuple(PicklistValue(value, default=value == default) for value in values)


def _read_only(f: Field) -> Field:
    """``f`` as neither createable nor updateable (set by the sandbox, never by a write)."""
    return replace(f, createable=False, updateable=False)


def _master_record(object_name: str) -> Field:
    """The survivor of the merge that deleted the record."""
    return _read_only(Field("MasterRecordId", "Master Record ID", "reference", 18, reference_to=(object_name,)))


# Required on create (nillable=false) but defaulted: a record no one gives an owner is the
# running user's, the integration user behind the sandbox token.
_OWNER_ID = Field(
    "OwnerId",
    "Owner ID",
    "reference",
    18,
    nillable=False,
    defaulted_on_create=True,
    reference_to=("User",),
    default=INTEGRATION_USER_ID,
)
_HUBSPOT_ID = Field("HubSpot_Id__c", "HubSpot Id", "string", 64, external_id=True, unique=True, custom=True)
_LEAD_SOURCE = Field(
    "LeadSource", "Lead Source", "picklist", 255, picklist=_picklist(LEAD_SOURCES), restricted_picklist=True
)

SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
RATINGS = ("Hot", "Warm", "Cold")


def _name(length: int) -> Field:
    """The compound ``Name`` of a person: first and last name, read-only."""
    return Field(
        "Name", "Full Name", "string", length, nillable=False, createable=False, updateable=False,
        compound=("FirstName", "LastName"),
    )  # fmt: skip


def _address(name: str, label: str, prefix: str = "") -> Field:
    """A compound address of the fields ``{prefix}Street``, ``City``, ``State``, ``PostalCode``,
    ``Country``, read-only."""
    parts = tuple(f"{prefix}{part}" for part in ("Street", "City", "State", "PostalCode", "Country"))
    return Field(name, label, "address", createable=False, updateable=False, compound=parts)


def _address_parts(prefix: str = "", label: str = "") -> tuple[Field, ...]:
    return (
        Field(f"{prefix}Street", f"{label}Street", "textarea", 255),
        Field(f"{prefix}City", f"{label}City", "string", 40),
        Field(f"{prefix}State", f"{label}State/Province", "string", 80),
        Field(f"{prefix}PostalCode", f"{label}Zip/Postal Code", "string", 20),
        Field(f"{prefix}Country", f"{label}Country", "string", 80),
    )


# Lead's standard fields as a real org's describe lists them ("Lead", Object Reference:
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm),
# those of features the sandbox has no use for (Jigsaw, geolocation, individual, photos) left out.
LEAD_FIELDS: tuple[Field, ...] = (
    *_system_fields(),
    Field("Salutation", "Salutation", "picklist", 40, picklist=_picklist(SALUTATIONS)),
    Field("FirstName", "First Name", "string", 40),
    Field("LastName", "Last Name", "string", 80, nillable=False, required=True),
    _name(121),
    Field("Email", "Email", "email", 80),
    Field("Company", "Company", "string", 255, nillable=False, required=True),
    Field("Phone", "Phone", "phone", 40),
    Field("MobilePhone", "Mobile Phone", "phone", 40),
    Field("Fax", "Fax", "phone", 40),
    Field("Title", "Title", "string", 128),
    *_address_parts(),
    _address("Address", "Address"),
    Field("Website", "Website", "url", 255),
    Field("Description", "Description", "textarea", 32000),
    _LEAD_SOURCE,
    Field(
        "Status",
        "Status",
        "picklist",
        255,
        nillable=False,
        defaulted_on_create=True,
        picklist=_picklist(LEAD_STATUSES, default=LEAD_STATUSES[0]),
        restricted_picklist=True,
    ),
    Field("Industry", "Industry", "picklist", 255, picklist=_picklist(INDUSTRIES)),
    Field("Rating", "Rating", "picklist", 255, picklist=_picklist(RATINGS)),
    Field("AnnualRevenue", "Annual Revenue", "currency", digits=18),
    Field("NumberOfEmployees", "Employees", "int", digits=8),
    Field("HasOptedOutOfEmail", "Email Opt Out", "boolean", nillable=False, defaulted_on_create=True, default=False),
    Field(
        "IsConverted",
        "Converted",
        "boolean",
        nillable=False,
        createable=False,
        updateable=False,
        defaulted_on_create=True,
    ),
    _HUBSPOT_ID,
    _OWNER_ID,
    _read_only(Field("ConvertedContactId", "Converted Contact ID", "reference", 18, reference_to=("Contact",))),
    _read_only(Field("ConvertedAccountId", "Converted Account ID", "reference", 18, reference_to=("Account",))),
    _read_only(Field("ConvertedDate", "Converted Date", "date")),
    _master_record("Lead"),
)

# Contact's, likewise ("Contact", Object Reference:
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contact.htm).
CONTACT_FIELDS: tuple[Field, ...] = (
    *_system_fields(),
    Field("AccountId", "Account ID", "reference", 18, reference_to=("Account",)),
    Field("Salutation", "Salutation", "picklist", 40, picklist=_picklist(SALUTATIONS)),
    Field("FirstName", "First Name", "string", 40),
    Field("LastName", "Last Name", "string", 80, nillable=False, required=True),
    _name(121),
    Field("Email", "Email", "email", 80),
    Field("Phone", "Business Phone", "phone", 40),
    Field("MobilePhone", "Mobile Phone", "phone", 40),
    Field("HomePhone", "Home Phone", "phone", 40),
    Field("Fax", "Business Fax", "phone", 40),
    Field("Title", "Title", "string", 128),
    Field("Department", "Department", "string", 80),
    Field("Birthdate", "Birthdate", "date"),
    *_address_parts("Mailing", "Mailing "),
    _address("MailingAddress", "Mailing Address", "Mailing"),
    Field("Description", "Contact Description", "textarea", 32000),
    Field("HasOptedOutOfEmail", "Email Opt Out", "boolean", nillable=False, defaulted_on_create=True, default=False),
    Field("DoNotCall", "Do Not Call", "boolean", nillable=False, defaulted_on_create=True, default=False),
    _LEAD_SOURCE,
    _HUBSPOT_ID,
    _OWNER_ID,
    _master_record("Contact"),
)

ACCOUNT_FIELDS: tuple[Field, ...] = (
    *_system_fields(),
    Field("Name", "Account Name", "string", 255, nillable=False, required=True),
    _OWNER_ID,
    _master_record("Account"),
)

USER_FIELDS: tuple[Field, ...] = tuple(
    map(
        _read_only,
        (
            *_system_fields(),
            Field("Username", "Username", "string", 80, nillable=False),
            Field("Email", "Email", "email", 128, nillable=False),
            Field("FirstName", "First Name", "string", 40),
            Field("LastName", "Last Name", "string", 80, nillable=False),
            Field("Name", "Full Name", "string", 121, nillable=False),
            Field("IsActive", "Active", "boolean", nillable=False, defaulted_on_create=True),
        ),
    )
)

ASSIGNMENT_RULE_FIELDS: tuple[Field, ...] = tuple(
    map(
        _read_only,
        (
            *_system_fields(),
            Field("Name", "Name", "string", 120, nillable=False),
            Field("SobjectType", "Object", "picklist", 40, nillable=False, picklist=_picklist(("Case", "Lead"))),
            Field("Active", "Active", "boolean", nillable=False, defaulted_on_create=True),
        ),
    )
)

OBJECTS: dict[str, SObject] = {
    "lead": SObject("Lead", "Lead", "Leads", LEAD_FIELDS, mergeable=True),
    "contact": SObject("Contact", "Contact", "Contacts", CONTACT_FIELDS, mergeable=True),
    "account": SObject("Account", "Account", "Accounts", ACCOUNT_FIELDS, mergeable=True),
    "user": SObject("User", "User", "Users", USER_FIELDS, createable=False, updateable=False, deletable=False),
    "assignmentrule": SObject(
        "AssignmentRule",
        "Assignment Rule",
        "Assignment Rules",
        ASSIGNMENT_RULE_FIELDS,
        createable=False,
        updateable=False,
        deletable=False,
        replicateable=False,
    ),
}


def get_object(name: str) -> SObject | None:
    """sObject names are case-insensitive in Salesforce."""
    return OBJECTS.get(name.lower())
