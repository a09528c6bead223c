"""Forms of the connected app's settings page.

Secrets are write-only: each has its own form field (``new_<name>``) that is never filled from
the stored value and renders empty; leaving it empty keeps what is stored, unless the connection
is pointed elsewhere (another URL or environment): then the stored secrets are deleted by the
service, and the form says so beforehand (``ENDPOINT_HELP``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from integration.models import FieldMapping, HubSpotConnection, SalesforceConnection, SyncSettings
from integration.selectors import COMPATIBLE_TYPES, NOT_MAPPABLE
from lists.models import ContactList, ContactProperty, SalesforceObject


class SecretInput(forms.PasswordInput):
    """A password box that never renders a value, even after a failed submit."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False)


class SecretTextarea(forms.Textarea):
    """A textarea (for a PEM private key) that never renders a value."""

    def format_value(self, value: Any) -> None:
        return None


class SettingChangesMixin:
    """For a ModelForm whose save goes through an audited service: the model fields changed."""

    def setting_changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.changed_data}


ENDPOINT_HELP = _(
    "Changing it deletes this connection's stored secrets (they were entered for the current endpoint): "
    "type them again in the same save."
)


class SecretFieldsMixin(SettingChangesMixin):
    """Adds a write-only ``new_<name>`` field per secret and reports which secrets are stored.

    The URL fields are vetted by the model (``integration.endpoints``); here they assume
    ``https://`` when typed without a scheme, and say that changing them deletes the secrets."""

    secret_fields: dict[str, tuple[Any, type[forms.Widget]]] = {}
    url_help: dict[str, Any] = {}

    def _add_endpoint_help(self) -> None:
        for name in self.instance.ENDPOINT_FIELDS:
            field = self.fields[name]
            if isinstance(field, forms.URLField):
                field.assume_scheme = "https"
            field.help_text = format_lazy("{} {}", self.url_help.get(name, ""), ENDPOINT_HELP).strip()

    def secret_label(self, name: str) -> Any:
        if name in self.secret_fields:
            return self.secret_fields[name][0]
        return self.instance._meta.get_field(name).verbose_name

    def _add_secret_fields(self) -> None:
        for name, (label, widget) in self.secret_fields.items():
            stored = bool(getattr(self.instance, name))
            self.fields[f"new_{name}"] = forms.CharField(
                label=label,
                required=False,
                strip=True,
                widget=widget(),
                help_text=_("Stored. Leave empty to keep it.") if stored else _("Not set."),
            )

    def new_secrets(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(f"new_{name}", "") for name in self.secret_fields}


class SalesforceConnectionForm(SecretFieldsMixin, forms.ModelForm):
    secret_fields = {
        "client_secret": (_("Consumer secret"), SecretInput),
        "private_key": (_("Private key (PEM, for JWT bearer)"), SecretTextarea),
        "password": (_("Password (and security token)"), SecretInput),
        "access_token": (_("Access token"), SecretInput),
    }

    class Meta:
        model = SalesforceConnection
        fields = [
            "environment",
            "auth_method",
            "login_url",
            "instance_url",
            "allow_custom_endpoint",
            "api_version",
            "client_id",
            "username",
        ]

    url_help = {
        "login_url": _(
            "https://login.salesforce.com, https://test.salesforce.com for a sandbox org, or your My Domain URL "
            "(required for client credentials)."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._add_secret_fields()
        self._add_endpoint_help()
        self.fields["new_private_key"].widget.attrs.update({"rows": 4, "cols": 60, "spellcheck": "false"})

    def clean_new_private_key(self) -> str:
        value = self.cleaned_data.get("new_private_key", "")
        if value and "PRIVATE KEY-----" not in value:
            raise ValidationError(_("Paste the whole PEM private key, from -----BEGIN to -----END."))
        return value


class HubSpotConnectionForm(SecretFieldsMixin, forms.ModelForm):
    secret_fields = {
        "access_token": (_("Private app access token"), SecretInput),
        "client_secret": (_("App client secret"), SecretInput),
    }

    class Meta:
        model = HubSpotConnection
        fields = ["environment", "auth_method", "base_url", "allow_custom_endpoint", "client_id", "portal_id"]

    url_help = {"base_url": _("https://api.hubapi.com, or your data center's API host (api-eu1.hubapi.com).")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._add_secret_fields()
        self._add_endpoint_help()


class InclusionListForm(forms.Form):
    """The "Limit syncs" choice. Any list id is accepted here so that the service, not a generic
    "not a valid choice", says why a static list is refused."""

    inclusion_list = forms.ModelChoiceField(
        label=_("Inclusion list"),
        queryset=ContactList.objects.all(),
        required=False,
        empty_label=_("No inclusion list"),
        error_messages={"invalid_choice": _("This list does not exist (any more).")},
    )


class _SettingsForm(SettingChangesMixin, forms.ModelForm):
    """Validated against the model (``full_clean``), saved by ``sync_settings_update``."""


class HubSpotSideSettingsForm(_SettingsForm):
    class Meta:
        model = SyncSettings
        fields = ["sync_enabled", "dedupe_key", "external_id_field", "polling_interval_minutes"]
        help_texts = {
            "sync_enabled": _(
                "When off, nothing is sent to Salesforce; changes are kept and sent when it is on again."
            ),
            "external_id_field": _("A Salesforce field marked External ID (e.g. HubSpot_Id__c)."),
        }


class SalesforceSideSettingsForm(_SettingsForm):
    # The page shows "Import existing Salesforce records" right after this setting (the import
    # does for existing records what it does for new ones).
    IMPORT_AFTER = "create_hubspot_contacts_from_salesforce"
    # Added after the page was first shipped: a post that does not carry it (a page loaded before
    # the upgrade, a script) keeps what is stored instead of being refused as incomplete.
    KEPT_WHEN_OMITTED = ("salesforce_deletions",)

    class Meta:
        model = SyncSettings
        fields = [
            "salesforce_object_for_new",
            "use_lead_assignment_rules",
            "create_hubspot_contacts_from_salesforce",
            "salesforce_deletions",
            "daily_api_allocation",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            for name in self.KEPT_WHEN_OMITTED:
                if self[name].field.widget.value_omitted_from_data(self.data, self.files, self.add_prefix(name)):
                    del self.fields[name]

    def around_import(self) -> tuple[list[forms.BoundField], list[forms.BoundField]]:
        """The visible fields before the import button (up to ``IMPORT_AFTER``) and after it."""
        fields = self.visible_fields()
        names = [field.name for field in fields]
        cut = names.index(self.IMPORT_AFTER) + 1 if self.IMPORT_AFTER in names else len(fields)
        return fields[:cut], fields[cut:]


def mapping_type_problem(
    *,
    hubspot_type: str | None,
    salesforce_object: str,
    salesforce_field: str,
    field_types: dict[str, str],
    from_describe: bool,
) -> str | None:
    """Why a HubSpot property of ``hubspot_type`` cannot map to ``salesforce_object.salesforce_field``,
    or None when it can (or cannot be checked: a custom field while the org is unreachable)."""
    sf_type = field_types.get(salesforce_field)
    if sf_type is None:
        if not from_describe and salesforce_field.endswith("__c"):
            return None
        return str(_("%(object)s has no field “%(field)s”.")) % {"object": salesforce_object, "field": salesforce_field}
    if sf_type in NOT_MAPPABLE:
        return str(_("%(object)s.%(field)s is a %(type)s field; it cannot be mapped.")) % {
            "object": salesforce_object,
            "field": salesforce_field,
            "type": sf_type,
        }
    if hubspot_type is None:
        return None
    if sf_type not in COMPATIBLE_TYPES.get(hubspot_type, set()):
        return str(
            _(
                "Incompatible types: a HubSpot %(hs_type)s property cannot be stored in "
                "%(object)s.%(field)s, a Salesforce %(sf_type)s field."
            )
        ) % {
            "hs_type": str(ContactProperty.Type(hubspot_type).label).lower(),
            "object": salesforce_object,
            "field": salesforce_field,
            "sf_type": sf_type,
        }
    return None


class FieldMappingForm(forms.ModelForm):
    """A mapping HubSpot property ↔ Salesforce field, refused when the types do not fit.

    ``field_types`` is ``{"Lead": ({field: type}, from_describe), "Contact": (...)}``.
    """

    class Meta:
        model = FieldMapping
        fields = ["hubspot_property", "salesforce_object", "salesforce_field", "rule"]

    def __init__(self, *args: Any, field_types: dict[str, tuple[dict[str, str], bool]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field_types = field_types
        self.property_types = dict(ContactProperty.objects.filter(archived=False).values_list("name", "type"))
        choices = [(name, name) for name in sorted(self.property_types)]
        current = self.instance.hubspot_property if self.instance.pk else None
        if current and current not in self.property_types:
            choices.insert(0, (current, current))
        self.fields["hubspot_property"] = forms.ChoiceField(
            label=_("HubSpot property"), choices=[("", "---------"), *choices]
        )
        self.fields["salesforce_field"].widget.attrs.update({"list": "salesforce-fields", "autocomplete": "off"})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        prop, obj, sf_field = data.get("hubspot_property"), data.get("salesforce_object"), data.get("salesforce_field")
        if not (prop and obj and sf_field):
            return data
        objects = SalesforceObject.values if obj == FieldMapping.Object.BOTH else [obj]
        problems = []
        for name in objects:
            types, from_describe = self.field_types.get(name, ({}, False))
            problem = mapping_type_problem(
                hubspot_type=self.property_types.get(prop),
                salesforce_object=name,
                salesforce_field=sf_field,
                field_types=types,
                from_describe=from_describe,
            )
            if problem:
                problems.append(problem)
        if problems:
            raise ValidationError({"salesforce_field": problems})
        # "both" and a single object would write the same Salesforce field twice.
        clash = FieldMapping.objects.filter(salesforce_field=sf_field, salesforce_object__in=[*objects, "both"])
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(
                {"salesforce_field": _("%(field)s is already mapped for this object.") % {"field": sf_field}}
            )
        return data
