"""What an sObject and its fields are: ``Field`` (type, length, flags, the write path's shortcut)
and ``SObject`` (its fields, precomputed lookups, describe metadata). The objects themselves are in
:mod:`sandbox.salesforce.schema`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sandbox.salesforce.ids import KEY_PREFIXES

# Salesforce's check is lenient (it accepts most RFC 5322 local parts) but needs one @ and a
# dotted domain; spaces, double dots and a missing TLD are refused.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    # \Z, not $: "$" also matches before a final newline, which Salesforce refuses.
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z"
)


class _Slow:
    """Returned by a field's ``fast_value`` when the value needs the full validation."""

    def __repr__(self) -> str:
        return "SLOW"


SLOW: Any = _Slow()


@dataclass(frozen=True)
class PicklistValue:
    value: str
    default: bool = False

    def describe(self) -> dict:
        return {
            "active": True,
            "defaultValue": self.default,
            "label": self.value,
            "validFor": None,
            "value": self.value,
        }


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str  # Salesforce field type: id, string, email, phone, picklist, int, date, datetime, boolean, reference
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    picklist: tuple[PicklistValue, ...] = ()
    restricted_picklist: bool = False
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    reference_to: tuple[str, ...] = ()
    digits: int = 0
    # Required on create in the UI and the API (Salesforce marks these nillable=false).
    required: bool = False
    # The value a create leaves out gets (a picklist's default is its default value).
    default: Any = None
    # A compound field (``Name``, ``Address``): no column of its own, read-only, its value made of
    # these fields' ("Compound Fields", Object Reference:
    # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/compound_fields.htm).
    compound: tuple[str, ...] = ()

    @cached_property
    def is_text(self) -> bool:
        return self.type in ("string", "email", "phone", "picklist", "textarea", "url", "id", "reference")

    @cached_property
    def picklist_values(self) -> frozenset[str]:
        return frozenset(p.value for p in self.picklist)

    @cached_property
    def default_value(self) -> Any:
        if self.default is not None:
            return self.default
        for value in self.picklist:
            if value.default:
                return value.value
        return None

    @cached_property
    def text_limit(self) -> int | None:
        """For a freely writable plain text field, the longest value ``fast_value`` passes
        through unchanged (any non-empty string up to it); ``None`` for other fields."""
        if not (self.createable and self.updateable):
            return None
        if self.type in ("string", "phone", "textarea", "url") or (
            self.type == "picklist" and not self.restricted_picklist
        ):
            return self.length or 1 << 62
        return None

    @cached_property
    def fast_value(self) -> Callable[[Any], Any] | None:
        """The stored value of a plain, valid JSON value of this field, or ``SLOW``.

        The hot path of bulk writes: it accepts only values that the full validation in
        ``records`` (coercion, then ``check_value``) would store unchanged or convert trivially,
        and hands everything else (errors included) back to it. ``None`` for fields that are not
        freely writable (their errors depend on create vs update) or have no shortcut.
        """
        if not (self.createable and self.updateable) or self.type in ("id", "reference", "date", "datetime"):
            return None
        limit = self.length or 1 << 62
        if self.text_limit is not None:
            return lambda raw: raw if type(raw) is str and raw and len(raw) <= limit else SLOW
        if self.type == "email":
            match = EMAIL_RE.match
            return lambda raw: raw if type(raw) is str and raw and len(raw) <= limit and match(raw) else SLOW
        if self.type == "picklist":
            allowed = frozenset(v for v in self.picklist_values if v and len(v) <= limit)
            return lambda raw: raw if type(raw) is str and raw in allowed else SLOW
        if self.type == "int":
            bound = 10**self.digits if self.digits else 1 << 62
            return lambda raw: raw if type(raw) is int and -bound < raw < bound else SLOW
        if self.type == "boolean":
            return lambda raw: int(raw) if type(raw) is bool else SLOW
        return None

    def compound_value(self, row: Any) -> Any:
        """The value of this compound field for a stored ``row``: a name is its parts joined by a
        space (``FirstName LastName``), an address the object Salesforce answers (null when every
        part is null)."""
        if self.type == "address":
            parts = [row[name] for name in self.compound]
            if all(part is None for part in parts):
                return None
            keys = ("street", "city", "state", "postalCode", "country")
            return {
                **dict(zip(keys, parts, strict=True)),
                "geocodeAccuracy": None,
                "latitude": None,
                "longitude": None,
            }
        return " ".join(str(row[name]) for name in self.compound if row[name]) or None

    def describe(self) -> dict:
        soap_types = {
            "id": "tns:ID",
            "reference": "tns:ID",
            "int": "xsd:int",
            "date": "xsd:date",
            "datetime": "xsd:dateTime",
            "boolean": "xsd:boolean",
            "double": "xsd:double",
            "currency": "xsd:double",
            "address": "urn:address",
        }
        return {
            "aggregatable": self.type not in ("boolean",),
            "autoNumber": False,
            "byteLength": self.length * 3,
            "calculated": False,
            "caseSensitive": False,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.type == "boolean" and False or None,
            "defaultedOnCreate": self.defaulted_on_create,
            "digits": self.digits,
            "externalId": self.external_id,
            "filterable": self.type != "address",
            "groupable": self.type not in ("datetime", "address", "textarea", "double", "currency"),
            "idLookup": self.type == "id" or self.type == "email" or self.external_id,
            "label": self.label,
            "length": self.length,
            "name": self.name,
            "nameField": self.name == "Name",
            "nillable": self.nillable,
            "permissionable": self.nillable and self.type != "id",
            "picklistValues": [value.describe() for value in self.picklist],
            "precision": self.digits if self.type in ("double", "currency") else 0,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.name[:-2] if self.type == "reference" else None,
            "restrictedPicklist": self.restricted_picklist,
            "scale": 0,
            "soapType": soap_types.get(self.type, "xsd:string"),
            "sortable": self.type not in ("address", "textarea"),
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
        }


@dataclass
class SObject:
    name: str
    label: str
    label_plural: str
    fields: tuple[Field, ...]
    # What the API may do with its records (``describe``); the sandbox's users and assignment
    # rules are its own to manage (``/_sandbox/users``, settings), never written through the API.
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    # merge() takes Leads, Contacts and Accounts only ("merge()", SOAP API Developer Guide:
    # https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge.htm).
    mergeable: bool = False
    # Get Updated / Get Deleted answer for replicateable objects.
    replicateable: bool = True
    # The fields with a column of their own (every one but the compound fields).
    stored_fields: tuple[Field, ...] = field(init=False)
    by_lower: dict[str, Field] = field(init=False)
    by_name: dict[str, Field] = field(init=False)
    required_names: tuple[str, ...] = field(init=False)
    # Precomputed once for the write path (see ``records``).
    fast_values: dict[str, Callable[[Any], Any]] = field(init=False)
    create_defaults: tuple[tuple[str, Any], ...] = field(init=False)
    writable_names: tuple[str, ...] = field(init=False)
    _shortcuts: dict[str | None, tuple[dict[str, int], dict[str, Callable[[Any], Any]]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.stored_fields = tuple(f for f in self.fields if not f.compound)
        self.by_lower = {f.name.lower(): f for f in self.fields}
        self.by_name = {f.name: f for f in self.fields}
        self.required_names = tuple(f.name for f in self.fields if not f.nillable and f.createable)
        self.fast_values = {f.name: f.fast_value for f in self.fields if f.fast_value is not None}
        self.create_defaults = tuple(
            (f.name, f.default_value) for f in self.fields if f.defaulted_on_create and f.default_value is not None
        )
        self.writable_names = tuple(f.name for f in self.fields if f.createable)
        self._shortcuts = {}

    def shortcuts(self, key_name: str | None) -> tuple[dict[str, int], dict[str, Callable[[Any], Any]]]:
        """The write path's per-field shortcuts, leaving out the upsert key ``key_name``:
        ``{name: Field.text_limit}`` (checked inline, no call) and ``{name: Field.fast_value}``."""
        found = self._shortcuts.get(key_name)
        if found is None:
            text_limits = {f.name: f.text_limit for f in self.fields if f.text_limit is not None and f.name != key_name}
            fast_values = {name: fast for name, fast in self.fast_values.items() if name != key_name}
            found = self._shortcuts[key_name] = (text_limits, fast_values)
        return found

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES[self.name]

    def field(self, name: str) -> Field | None:
        """Field names are case-insensitive in Salesforce."""
        return self.by_name.get(name) or self.by_lower.get(name.lower())

    @property
    def required_fields(self) -> list[Field]:
        return [f for f in self.fields if f.required]

    @property
    def external_id_fields(self) -> list[Field]:
        return [f for f in self.fields if f.external_id]

    def urls(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "compactLayouts": f"{base}/describe/compactLayouts",
            "rowTemplate": f"{base}/{{ID}}",
            "approvalLayouts": f"{base}/describe/approvalLayouts",
            "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
            "listviews": f"{base}/listviews",
            "describe": f"{base}/describe",
            "quickActions": f"{base}/quickActions",
            "layouts": f"{base}/describe/layouts",
            "sobject": base,
        }

    def describe_basic(self, version: str) -> dict:
        return {
            "activateable": False,
            "createable": self.createable,
            "custom": False,
            "customSetting": False,
            "deletable": self.deletable,
            "deprecatedAndHidden": False,
            "feedEnabled": True,
            "hasSubtypes": False,
            "isSubtype": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": True,
            "mergeable": self.mergeable,
            "mruEnabled": True,
            "name": self.name,
            "queryable": True,
            "replicateable": self.replicateable,
            "retrieveable": True,
            "searchable": True,
            "triggerable": True,
            "undeletable": self.deletable,
            "updateable": self.updateable,
            "urls": self.urls(version),
        }

    def describe(self, version: str) -> dict:
        fields = []
        part_of = {part: f.name for f in self.fields for part in f.compound}
        for f in self.fields:
            data = f.describe()
            data["compoundFieldName"] = part_of.get(f.name)
            if f.name == "Id":
                data["label"] = f"{self.label} ID"
            fields.append(data)
        return {
            **self.describe_basic(version),
            "childRelationships": [],
            "compactLayoutable": True,
            "fields": fields,
            "listviewable": None,
            "lookupLayoutable": None,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [],
            "searchLayoutable": True,
            "supportedScopes": [{"label": f"All {self.label_plural.lower()}", "name": "everything"}],
            "actionOverrides": [],
        }
