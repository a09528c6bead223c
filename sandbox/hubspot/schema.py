"""The HubSpot sandbox's contact property schema and HubSpot's value rules.

Standard properties keep HubSpot's own names *and types*: ``numemployees`` is HubSpot's
enumeration of ranges ("1-5" ... "1000+") and ``annualrevenue`` a string on contacts, as in a
real portal. Custom properties cover every other type a list filter needs: number
(``employee_count``), bool (``newsletter_opt_in``), date (``last_event_date``), datetime
(``trial_started_at``), single select (``industry_segment``) and multiple checkboxes
(``interests``, values joined by ``;``).

Values travel as strings, as in HubSpot. On write they are validated and stored in canonical
form: numbers as given (trimmed), bools ``true``/``false``, dates ``YYYY-MM-DD`` (HubSpot accepts
an epoch-ms midnight UTC or an ISO date), datetimes ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (epoch ms or ISO
8601 accepted), enumerations checked against their options. An empty string clears a value.
Canonical dates and datetimes compare correctly as strings, which the search relies on.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_STRING_LENGTH = 65536

LIFECYCLE_STAGES = [
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
]
LEAD_STATUSES = [
    ("NEW", "New"),
    ("OPEN", "Open"),
    ("IN_PROGRESS", "In Progress"),
    ("OPEN_DEAL", "Open Deal"),
    ("UNQUALIFIED", "Unqualified"),
    ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
    ("CONNECTED", "Connected"),
    ("BAD_TIMING", "Bad Timing"),
]
EMPLOYEE_RANGES = [(v, v) for v in ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")]
INDUSTRY_SEGMENTS = [
    ("software", "Software"),
    ("manufacturing", "Manufacturing"),
    ("retail", "Retail"),
    ("healthcare", "Healthcare"),
    ("financial_services", "Financial services"),
    ("education", "Education"),
    ("public_sector", "Public sector"),
]
INTERESTS = [
    ("product_updates", "Product updates"),
    ("webinars", "Webinars"),
    ("events", "Events"),
    ("case_studies", "Case studies"),
    ("pricing", "Pricing"),
]
BOOL_OPTIONS = [("true", "Yes"), ("false", "No")]

# Properties whose value the API refuses to set (HubSpot: READ_ONLY_VALUE).
READ_ONLY = {"hs_object_id", "lastmodifieddate"}
# Properties kept in their own columns rather than in the JSON document.
COLUMN_PROPERTIES = {"hs_object_id", "createdate", "lastmodifieddate"}
DEFAULT_PROPERTIES = ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname")


@dataclass
class PropertyDef:
    name: str
    label: str
    type: str  # string, number, bool, date, datetime, enumeration
    field_type: str
    group: str = "contactinformation"
    options: list[tuple[str, str]] = field(default_factory=list)
    description: str = ""
    hubspot_defined: bool = True
    calculated: bool = False
    hidden: bool = False
    read_only_value: bool = False
    read_only_definition: bool = True
    has_unique_value: bool = False
    display_order: int = -1
    created_at: str = "2019-08-06T02:41:52.359Z"
    # Options kept outside the definition: "OWNER" fills them with the active owners when the
    # store loads the schema (HubSpot's ``externalOptions`` and ``referencedObjectType``).
    external_options: bool = False
    referenced_object_type: str | None = None

    @property
    def multiple(self) -> bool:
        return self.type == "enumeration" and self.field_type == "checkbox"

    def option_values(self) -> set[str]:
        return {value for value, _label in self.options}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "updatedAt": self.created_at,
            "createdAt": self.created_at,
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "options": [
                {"label": label, "value": value, "displayOrder": index, "hidden": False}
                for index, (value, label) in enumerate(self.options)
            ],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.read_only_definition,
                "readOnlyValue": self.read_only_value,
            },
            "formField": not self.calculated and not self.read_only_value,
            "dataSensitivity": "non_sensitive",
            "archived": False,
        }
        if self.type == "enumeration":
            data["modificationMetadata"]["readOnlyOptions"] = self.hubspot_defined
        if self.referenced_object_type:
            data["referencedObjectType"] = self.referenced_object_type
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PropertyDef:
        meta = data.get("modificationMetadata") or {}
        return cls(
            name=data["name"],
            label=data.get("label") or data["name"],
            type=data["type"],
            field_type=data.get("fieldType") or "text",
            group=data.get("groupName") or "contactinformation",
            options=[(o["value"], o.get("label") or o["value"]) for o in data.get("options") or []],
            description=data.get("description") or "",
            hubspot_defined=bool(data.get("hubspotDefined")),
            calculated=bool(data.get("calculated")),
            hidden=bool(data.get("hidden")),
            read_only_value=bool(meta.get("readOnlyValue")),
            read_only_definition=bool(meta.get("readOnlyDefinition")),
            has_unique_value=bool(data.get("hasUniqueValue")),
            display_order=int(data.get("displayOrder", -1)),
            created_at=data.get("createdAt") or "2019-08-06T02:41:52.359Z",
            external_options=bool(data.get("externalOptions")),
            referenced_object_type=data.get("referencedObjectType") or None,
        )


def _std(name: str, label: str, type_: str = "string", field_type: str = "text", **kw: Any) -> PropertyDef:
    return PropertyDef(name=name, label=label, type=type_, field_type=field_type, **kw)


def _custom(name: str, label: str, type_: str, field_type: str, **kw: Any) -> PropertyDef:
    return PropertyDef(
        name=name,
        label=label,
        type=type_,
        field_type=field_type,
        group="sandbox_custom",
        hubspot_defined=False,
        read_only_definition=False,
        created_at="2024-01-15T09:00:00.000Z",
        **kw,
    )


def owner_property() -> PropertyDef:
    """HubSpot's default "Contact owner": its options are the active owners (an owner's id as the
    value, "First Last" as the label), filled in by the store; see :mod:`sandbox.hubspot.owners`."""
    return _std(
        "hubspot_owner_id",
        "Contact owner",
        "enumeration",
        "select",
        group="sales_properties",
        description=(
            "The owner of a contact. This can be any HubSpot user or Salesforce integration user, "
            "and can be set manually or via Workflows."
        ),
        external_options=True,
        referenced_object_type="OWNER",
    )


def standard_properties() -> list[PropertyDef]:
    """The properties an empty sandbox portal starts with (standard, then custom)."""
    return [
        _std("email", "Email", description="A contact's email address", display_order=3),
        _std("firstname", "First Name", description="A contact's first name", display_order=0),
        _std("lastname", "Last Name", description="A contact's last name", display_order=1),
        _std("company", "Company Name", description="Name of the contact's company."),
        _std("phone", "Phone Number", field_type="phonenumber", description="A contact's primary phone number"),
        _std("jobtitle", "Job Title", description="A contact's job title"),
        _std("city", "City", description="A contact's city of residence"),
        _std("country", "Country/Region", description="The contact's country/region of residence."),
        _std("annualrevenue", "Annual Revenue", group="companyinformation", description="Annual company revenue"),
        _std(
            "lifecyclestage",
            "Lifecycle Stage",
            "enumeration",
            "radio",
            options=LIFECYCLE_STAGES,
            description="The qualification of contacts to sales readiness.",
        ),
        _std(
            "hs_lead_status",
            "Lead Status",
            "enumeration",
            "radio",
            group="sales_properties",
            options=LEAD_STATUSES,
            description="The contact's sales, prospecting or outreach status",
        ),
        owner_property(),
        _std(
            "numemployees",
            "Number of Employees",
            "enumeration",
            "select",
            group="companyinformation",
            options=EMPLOYEE_RANGES,
            description="The number of company employees",
        ),
        _std(
            "createdate",
            "Create Date",
            "datetime",
            "date",
            description="The date that a contact entered the system",
            read_only_value=False,
        ),
        _std(
            "lastmodifieddate",
            "Last Modified Date",
            "datetime",
            "date",
            description="Most recent timestamp of any property update for a contact.",
            calculated=False,
            read_only_value=True,
        ),
        _std(
            "hs_object_id",
            "Record ID",
            "number",
            "number",
            description="The unique ID for this record. This value is set automatically by HubSpot.",
            read_only_value=True,
        ),
        _custom("employee_count", "Employee count", "number", "number", description="Head count of the company."),
        _custom("newsletter_opt_in", "Newsletter opt-in", "bool", "booleancheckbox", options=BOOL_OPTIONS),
        _custom("last_event_date", "Last event date", "date", "date"),
        _custom("trial_started_at", "Trial started at", "datetime", "date"),
        _custom("industry_segment", "Industry segment", "enumeration", "select", options=INDUSTRY_SEGMENTS),
        _custom("interests", "Interests", "enumeration", "checkbox", options=INTERESTS),
    ]


class InvalidValue(ValueError):
    """A property value HubSpot would refuse; ``error`` is HubSpot's code (INVALID_INTEGER...)."""

    def __init__(self, name: str, value: Any, error: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.value = value
        self.error = error
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {
            "isValid": False,
            "message": self.message,
            "error": self.error,
            "name": self.name,
            "localizedErrorMessage": self.message,
        }


def iso_ms(moment: dt.datetime) -> str:
    """HubSpot's timestamp format: ``2019-10-30T03:30:17.883Z``."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_EPOCH = dt.datetime(1970, 1, 1)


def ms_to_iso(ms: int) -> str:
    # Naive arithmetic and isoformat: three times faster than strftime on an aware datetime,
    # and this runs four times per contact in every response.
    moment = _EPOCH + dt.timedelta(milliseconds=ms)
    return moment.isoformat(timespec="milliseconds") + "Z"


def parse_instant(value: str) -> dt.datetime | None:
    """Epoch milliseconds or ISO 8601 (date or date-time) -> aware datetime; None if neither."""
    text = value.strip()
    if re.fullmatch(r"-?\d{1,15}", text):
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def canonical_value(prop: PropertyDef, raw: Any) -> str | None:
    """Validate one value as HubSpot does; the canonical string, or None to clear it."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        value = "true" if raw else "false"
    else:
        value = str(raw)
    if value.strip() == "":
        return None
    kind = prop.type
    if kind == "string":
        if len(value) > MAX_STRING_LENGTH:
            raise InvalidValue(prop.name, value, "INVALID_STRING_LENGTH", f"{prop.name} is too long")
        if prop.name == "email":
            return _check_email(value.strip())
        return value
    if kind == "number":
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidValue(prop.name, value, "INVALID_INTEGER", f"{value} was not a valid number.")
        if not number.is_finite():
            raise InvalidValue(prop.name, value, "INVALID_INTEGER", f"{value} was not a valid number.")
        return value.strip()
    if kind == "bool":
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise InvalidValue(prop.name, value, "INVALID_BOOLEAN", f"{value} was not a valid boolean (true/false).")
        return lowered
    if kind == "date":
        moment = parse_instant(value)
        if moment is None:
            raise InvalidValue(prop.name, value, "INVALID_DATE", f"{value} was not a valid date.")
        if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
            raise InvalidValue(
                prop.name,
                value,
                "INVALID_DATE",
                f"{value} is at {moment.time().isoformat()} UTC; date values must be at midnight UTC.",
            )
        return moment.date().isoformat()
    if kind == "datetime":
        moment = parse_instant(value)
        if moment is None:
            raise InvalidValue(prop.name, value, "INVALID_DATETIME", f"{value} was not a valid datetime.")
        return iso_ms(moment)
    if kind == "enumeration":
        allowed = prop.option_values()
        parts = [part for part in value.split(";") if part != ""] if prop.multiple else [value]
        for part in parts:
            if part not in allowed:
                raise InvalidValue(
                    prop.name,
                    value,
                    "INVALID_OPTION",
                    f"{part} was not one of the allowed options: {sorted(allowed)}",
                )
        return ";".join(parts)
    return value


def _check_email(value: str) -> str:
    # HubSpot refuses what is plainly not an address (no @, spaces, several @, empty parts) but
    # is more lenient than Salesforce (it takes e.g. a domain without a dot, "a..b@x.com").
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or "@" in local or any(c.isspace() for c in value):
        raise InvalidValue("email", value, "INVALID_EMAIL", f"Email address {value} is invalid")
    return value


def sortable_number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
