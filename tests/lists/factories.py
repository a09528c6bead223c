"""factory-boy factories for the lists app, and small builders of ``filterBranch`` JSON.

``ContactFactory(properties={...})`` takes *typed* values (``{"country": "France",
"numemployees": 50, "interests": ["a", "b"]}``) and adds the folded index the criteria engine
reads (see ``lists.normalize``); ``ContactFactory(raw_properties={...}, schema=...)`` normalises
HubSpot-style strings instead. Either way the stored contact is what the HubSpot pull stores.
"""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from lists.models import Contact, ContactList, ContactProperty, ListMembership
from lists.normalize import normalize_properties, public_properties, with_folded


class ContactPropertyFactory(DjangoModelFactory):
    class Meta:
        model = ContactProperty
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"prop_{n}")
    label = factory.LazyAttribute(lambda o: o.name.replace("_", " ").title())
    type = ContactProperty.Type.STRING
    field_type = factory.LazyAttribute(
        lambda o: {
            "string": "text",
            "number": "number",
            "date": "date",
            "datetime": "date",
            "enumeration": "select",
            "bool": "booleancheckbox",
        }.get(o.type, "text")
    )
    options = factory.LazyAttribute(
        lambda o: [{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}] if o.type == "bool" else []
    )

    class Params:
        # ContactPropertyFactory(enum_values=["a", "b"]) (handled in _adjust_kwargs) makes an
        # enumeration with those options; add multiple=True for a multiple checkbox.
        multiple = factory.Trait(type=ContactProperty.Type.ENUMERATION, field_type="checkbox")

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        values = kwargs.pop("enum_values", None)
        if values is not None:
            kwargs["type"] = ContactProperty.Type.ENUMERATION
            kwargs["options"] = [{"label": str(v).title(), "value": v} for v in values]
            if kwargs.get("field_type") not in ("checkbox", "select", "radio"):
                kwargs["field_type"] = "select"
        return kwargs


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    hubspot_id = factory.Sequence(lambda n: str(100000 + n))
    firstname = factory.Faker("first_name")
    lastname = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.firstname}.{o.lastname}.{o.hubspot_id}@example.com".lower())
    properties = factory.LazyAttribute(lambda o: {"email": o.email, "firstname": o.firstname, "lastname": o.lastname})

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        schema = kwargs.pop("schema", None)
        raw = kwargs.get("raw_properties")
        if raw and schema is not None:
            kwargs["properties"] = normalize_properties(raw, schema)
        else:
            kwargs["properties"] = with_folded(kwargs.get("properties") or {})
            if not raw:
                kwargs["raw_properties"] = {k: _raw(v) for k, v in public_properties(kwargs["properties"]).items()}
        return kwargs


def _raw(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def filter_branch(*groups: list[dict[str, Any]]) -> dict[str, Any]:
    """A root OR branch with one AND group per argument (each a list of filter dicts)."""
    return {
        "filterBranchType": "OR",
        "filters": [],
        "filterBranches": [{"filterBranchType": "AND", "filters": list(g), "filterBranches": []} for g in groups],
    }


def property_filter(prop: str, operation_type: str, operator: str, **operation: Any) -> dict[str, Any]:
    """``property_filter("country", "STRING", "IS_EQUAL_TO", value="France")``."""
    op = {"operationType": operation_type, "operator": operator, "includeObjectsWithNoValueSet": False}
    op.update(operation)
    return {"filterType": "PROPERTY", "property": prop, "operation": op}


def in_list_filter(list_id: int | str, operator: str = "IN_LIST") -> dict[str, Any]:
    return {"filterType": "IN_LIST", "listId": str(list_id), "operator": operator}


class ContactListFactory(DjangoModelFactory):
    """An active list on ``email IS_KNOWN`` by default (make sure the ``email`` property exists
    before ``full_clean()``: ``ContactPropertyFactory(name="email")``); ``static=True`` for a
    static list."""

    class Meta:
        model = ContactList

    name = factory.Sequence(lambda n: f"List {n}")
    processing_type = ContactList.ProcessingType.DYNAMIC
    filter_branch = factory.LazyFunction(lambda: filter_branch([property_filter("email", "ALL_PROPERTY", "IS_KNOWN")]))

    class Params:
        static = factory.Trait(processing_type=ContactList.ProcessingType.MANUAL, filter_branch=None)
        complete = factory.Trait(processing_status=ContactList.ProcessingStatus.COMPLETE)


class ListMembershipFactory(DjangoModelFactory):
    class Meta:
        model = ListMembership

    contact_list = factory.SubFactory(ContactListFactory)
    contact = factory.SubFactory(ContactFactory)
