"""The connected app: connections to Salesforce and HubSpot, sync settings, field mappings."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from integration import endpoints
from integration.crypto import EncryptedTextField
from lists.models import ContactList, SalesforceObject

# A Salesforce API name (letters, digits, underscores; a letter first): field names are written
# into SOQL, so nothing else may be stored as one.
salesforce_api_name = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_]{0,79}\Z",
    _("Enter a Salesforce field API name: letters, digits and underscores, starting with a letter."),
)


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    SANDBOX = "sandbox", _("Sandbox")
    ERROR = "error", _("Error")
    SUSPENDED = "suspended", _("Suspended")
    DISCONNECTED = "disconnected", _("Not connected")


class SingletonModel(models.Model):
    """A table with one row (pk=1), loaded with ``load()``."""

    class Meta:
        abstract = True

    @classmethod
    def load(cls):
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class ConnectionMixin:
    """What both connections share: their status when they work, and the vetting of the URLs
    their secrets are sent to (:mod:`integration.endpoints`)."""

    SERVICE = ""
    URL_FIELDS: tuple[str, ...] = ()
    # Changing one of these sends the secrets somewhere else: the stored ones are deleted.
    ENDPOINT_FIELDS: tuple[str, ...] = ()
    SECRET_FIELDS: tuple[str, ...] = ()

    @property
    def working_status(self) -> str:
        """The status this connection has when it works: the built-in sandbox, or connected."""
        if self.environment == SalesforceConnection.Environment.SANDBOX_EMULATOR:
            return ConnectionStatus.SANDBOX
        return ConnectionStatus.CONNECTED

    @property
    def uses_emulator(self) -> bool:
        """Talks to the built-in sandbox (whose URLs are the deployment's settings, not these)."""
        return settings.SANDBOX and self.environment == SalesforceConnection.Environment.SANDBOX_EMULATOR

    def clean(self) -> None:
        super().clean()
        if self.uses_emulator:
            return
        errors = {}
        for name in self.URL_FIELDS:
            problem = endpoints.url_problem(
                getattr(self, name), service=self.SERVICE, allow_custom=self.allow_custom_endpoint
            )
            if problem:
                errors[name] = problem
        if errors:
            raise ValidationError(errors, code="endpoint")


class SalesforceConnection(ConnectionMixin, SingletonModel):
    SERVICE = endpoints.SALESFORCE
    URL_FIELDS = ("login_url", "instance_url")
    ENDPOINT_FIELDS = ("environment", "login_url", "instance_url")
    SECRET_FIELDS = ("client_secret", "private_key", "password", "access_token", "refresh_token")

    class Environment(models.TextChoices):
        SANDBOX_EMULATOR = "emulator", _("Built-in sandbox (demo)")
        PRODUCTION = "production", _("Production org")
        SANDBOX_ORG = "sandbox_org", _("Salesforce sandbox org")

    class AuthMethod(models.TextChoices):
        TOKEN = "token", _("Access token")
        OAUTH_WEB = "oauth_web", _("OAuth (web server flow)")
        JWT = "jwt", _("JWT bearer")
        CLIENT_CREDENTIALS = "client_credentials", _("Client credentials")
        PASSWORD = "password", _("Username and password (legacy)")

    environment = models.CharField(
        _("environment"), max_length=20, choices=Environment.choices, default=Environment.SANDBOX_EMULATOR
    )
    instance_url = models.URLField(_("instance URL"), blank=True)
    login_url = models.URLField(_("login URL"), blank=True, default="https://login.salesforce.com")
    allow_custom_endpoint = models.BooleanField(
        _("allow a custom endpoint"),
        default=False,
        help_text=_(
            "Only for a private test server you control: lets the login and instance URLs point outside "
            "Salesforce's domains, over http too, and this connection's secrets go wherever they point. "
            "Off by default; every change is recorded in the audit log."
        ),
    )
    auth_method = models.CharField(
        _("authentication"), max_length=20, choices=AuthMethod.choices, default=AuthMethod.TOKEN
    )
    api_version = models.CharField(_("API version"), max_length=8, default="59.0")
    client_id = models.CharField(_("consumer key"), max_length=255, blank=True)
    username = models.CharField(_("username"), max_length=255, blank=True)
    client_secret = EncryptedTextField(_("consumer secret"), blank=True)
    private_key = EncryptedTextField(_("private key"), blank=True)
    password = EncryptedTextField(_("password"), blank=True)
    access_token = EncryptedTextField(_("access token"), blank=True)
    refresh_token = EncryptedTextField(_("refresh token"), blank=True)
    org_id = models.CharField(_("organization ID"), max_length=18, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ConnectionStatus.choices, default=ConnectionStatus.DISCONNECTED
    )
    status_reason = models.TextField(_("status reason"), blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    connected_at = models.DateTimeField(_("connected at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Salesforce connection")
        verbose_name_plural = _("Salesforce connection")

    def __str__(self) -> str:
        return f"Salesforce ({self.get_status_display()})"


class HubSpotConnection(ConnectionMixin, SingletonModel):
    SERVICE = endpoints.HUBSPOT
    URL_FIELDS = ("base_url",)
    ENDPOINT_FIELDS = ("environment", "base_url")
    SECRET_FIELDS = ("access_token", "refresh_token", "client_secret")

    class AuthMethod(models.TextChoices):
        PRIVATE_APP = "private_app", _("Private app token")
        OAUTH = "oauth", _("OAuth")

    environment = models.CharField(
        _("environment"),
        max_length=20,
        choices=SalesforceConnection.Environment.choices[:2],
        default=SalesforceConnection.Environment.SANDBOX_EMULATOR,
    )
    base_url = models.URLField(_("API base URL"), blank=True)
    allow_custom_endpoint = models.BooleanField(
        _("allow a custom endpoint"),
        default=False,
        help_text=_(
            "Only for a private test server you control: lets the API base URL point outside HubSpot's "
            "API hosts, over http too, and this connection's secrets go wherever it points. Off by "
            "default; every change is recorded in the audit log."
        ),
    )
    auth_method = models.CharField(
        _("authentication"), max_length=20, choices=AuthMethod.choices, default=AuthMethod.PRIVATE_APP
    )
    access_token = EncryptedTextField(_("access token"), blank=True)
    refresh_token = EncryptedTextField(_("refresh token"), blank=True)
    client_id = models.CharField(_("client ID"), max_length=255, blank=True)
    # The app's client secret also signs webhook requests (signature v3).
    client_secret = EncryptedTextField(_("client secret"), blank=True)
    portal_id = models.CharField(_("portal ID"), max_length=32, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ConnectionStatus.choices, default=ConnectionStatus.DISCONNECTED
    )
    status_reason = models.TextField(_("status reason"), blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("HubSpot connection")
        verbose_name_plural = _("HubSpot connection")

    def __str__(self) -> str:
        return f"HubSpot ({self.get_status_display()})"


class SyncSettings(SingletonModel):
    SalesforceObject = SalesforceObject

    class DedupeKey(models.TextChoices):
        EMAIL = "email", _("Email")
        EXTERNAL_ID = "external_id", _("External ID field")

    class SalesforceDeletions(models.TextChoices):
        """What a Lead or Contact deleted in Salesforce does to its HubSpot contact."""

        KEEP_UNLINKED = "keep_unlinked", _("Keep the HubSpot contact, unlinked; never re-create the record")
        ARCHIVE_IN_HUBSPOT = "archive_in_hubspot", _("Archive the HubSpot contact")
        RECREATE = "recreate", _("Re-create the Salesforce record at the contact's next change")

    inclusion_list = models.ForeignKey(
        ContactList,
        verbose_name=_("inclusion list"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"processing_type": ContactList.ProcessingType.DYNAMIC},
    )
    salesforce_object_for_new = models.CharField(
        _("create new records as"), max_length=10, choices=SalesforceObject.choices, default=SalesforceObject.LEAD
    )
    create_hubspot_contacts_from_salesforce = models.BooleanField(
        _("create HubSpot contacts from new Salesforce records"), default=True
    )
    sync_enabled = models.BooleanField(_("sync enabled"), default=True)
    daily_api_allocation = models.PositiveIntegerField(
        _("daily Salesforce API allocation"),
        default=15000,
        help_text=_("Calls per 24 hours the integration may use. Automatic retries stop at 75 %, syncs at 100 %."),
    )
    dedupe_key = models.CharField(
        _("de-duplication key"), max_length=12, choices=DedupeKey.choices, default=DedupeKey.EMAIL
    )
    external_id_field = models.CharField(
        _("external ID field"), max_length=80, blank=True, validators=[salesforce_api_name]
    )
    polling_interval_minutes = models.PositiveSmallIntegerField(_("polling interval (minutes)"), default=1)
    salesforce_deletions = models.CharField(
        _("when a record is deleted in Salesforce"),
        max_length=20,
        choices=SalesforceDeletions.choices,
        default=SalesforceDeletions.KEEP_UNLINKED,
        help_text=_(
            "A deleted Lead or Contact is never re-created automatically unless you choose so; a manual "
            "resync of the contact may."
        ),
    )
    use_lead_assignment_rules = models.BooleanField(
        _("use the lead assignment rule"),
        default=False,
        help_text=_(
            "New Leads go through the org's active lead assignment rule, whether they are sent one by one "
            "or in Bulk API jobs; when off, no path applies it."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sync settings")
        verbose_name_plural = _("sync settings")

    def __str__(self) -> str:
        return str(_("Sync settings"))

    def clean_fields(self, exclude=None) -> None:
        # The generic "not a valid choice" of limit_choices_to would hide the real reason:
        # clean() checks the inclusion list with a message that says what is wrong.
        super().clean_fields(exclude={*(exclude or ()), "inclusion_list"})

    def clean(self) -> None:
        super().clean()
        if self.inclusion_list_id is not None:
            processing_type = (
                ContactList.objects.filter(pk=self.inclusion_list_id).values_list("processing_type", flat=True).first()
            )
            if processing_type is None:
                raise ValidationError({"inclusion_list": _("This list does not exist (any more).")})
            if processing_type != ContactList.ProcessingType.DYNAMIC:
                raise ValidationError(
                    {"inclusion_list": _("Only active lists can be the inclusion list; this one is static.")}
                )
        if self.dedupe_key == self.DedupeKey.EXTERNAL_ID and not self.external_id_field:
            raise ValidationError({"external_id_field": _("Name the external ID field used to de-duplicate.")})
        if self.polling_interval_minutes < 1:
            raise ValidationError({"polling_interval_minutes": _("Poll at most once a minute.")})


class FieldMapping(models.Model):
    class Object(models.TextChoices):
        # SalesforceObject's two choices, plus both of them.
        LEAD = SalesforceObject.LEAD.value, SalesforceObject.LEAD.label
        CONTACT = SalesforceObject.CONTACT.value, SalesforceObject.CONTACT.label
        BOTH = "both", _("Lead and Contact")

    class Rule(models.TextChoices):
        PREFER_SALESFORCE = "prefer_salesforce", _("Prefer Salesforce unless blank")
        ALWAYS_SALESFORCE = "always_salesforce", _("Always use Salesforce")
        TWO_WAY = "two_way", _("Two-way")
        DONT_SYNC = "dont_sync", _("Don't sync")

    # What each rule does, in one line (HubSpot's knowledge base, "Map HubSpot properties to
    # Salesforce fields"; applied by sync.engine.merge).
    RULE_HELP = {
        Rule.TWO_WAY: _("The most recent value wins, both ways; a value deleted on one side is deleted on the other."),
        Rule.PREFER_SALESFORCE: _(
            "HubSpot fills the Salesforce field only when it is blank; a Salesforce value, or its "
            "deletion, overwrites HubSpot."
        ),
        Rule.ALWAYS_SALESFORCE: _(
            "HubSpot never writes to Salesforce, not even when creating a record; Salesforce's value, or "
            "its deletion, overwrites HubSpot."
        ),
        Rule.DONT_SYNC: _("Nothing passes either way, not even when a record is created."),
    }
    # The rules HubSpot allows for the email, the key records are matched on.
    EMAIL_RULES = (Rule.TWO_WAY, Rule.PREFER_SALESFORCE)

    hubspot_property = models.CharField(_("HubSpot property"), max_length=255)
    salesforce_field = models.CharField(_("Salesforce field"), max_length=80, validators=[salesforce_api_name])
    salesforce_object = models.CharField(
        _("Salesforce object"), max_length=10, choices=Object.choices, default=Object.BOTH
    )
    rule = models.CharField(_("sync rule"), max_length=20, choices=Rule.choices, default=Rule.TWO_WAY)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("field mapping")
        verbose_name_plural = _("field mappings")
        ordering = ["hubspot_property", "salesforce_object"]
        constraints = [
            models.UniqueConstraint(fields=["salesforce_object", "salesforce_field"], name="mapping_unique_sf_field"),
        ]

    def __str__(self) -> str:
        return f"{self.hubspot_property} → {self.salesforce_object}.{self.salesforce_field}"

    def applies_to(self, salesforce_object: str) -> bool:
        return self.salesforce_object in (self.Object.BOTH, salesforce_object)

    @property
    def maps_email(self) -> bool:
        return self.hubspot_property == "email" or self.salesforce_field.lower() == "email"

    def clean(self) -> None:
        if self.maps_email and self.rule not in self.EMAIL_RULES:
            raise ValidationError(
                {
                    "rule": _(
                        "The email can only be mapped Two-way or Prefer Salesforce unless blank, as in HubSpot: "
                        "records are matched on it."
                    )
                }
            )


class SettingChange(models.Model):
    """Audit of every change to the integration's settings and every manual resync."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("who"), on_delete=models.SET_NULL, null=True, blank=True
    )
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    setting = models.CharField(_("setting"), max_length=80, db_index=True)
    old_value = models.TextField(_("from"), blank=True)
    new_value = models.TextField(_("to"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("setting change")
        verbose_name_plural = _("setting changes")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.setting}: {self.old_value} → {self.new_value}"
