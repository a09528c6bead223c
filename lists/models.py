"""Contacts mirrored from HubSpot, their property schema, and lists of contacts."""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from lists.criteria import check_filter_branch, load_list_graph, load_schema
from lists.normalize import PropertySpec


class ContactPropertyQuerySet(models.QuerySet):
    def schema(self) -> dict[str, PropertySpec]:
        """The property schema the criteria are validated against: the non-archived properties."""
        return load_schema(self.filter(archived=False).only("name", "type", "field_type", "options", "label"))


class ContactListQuerySet(models.QuerySet):
    def evaluated_here(self) -> ContactListQuerySet:
        """Active lists whose membership is computed here (not mirrored from HubSpot's)."""
        return self.filter(processing_type="DYNAMIC", membership_source="local")

    def list_graph(self) -> dict[int, set[int]]:
        """Every list id -> the list ids its stored criteria reference (the criteria's cycle check)."""
        return load_list_graph(self.values_list("pk", "filter_branch"))


class ContactProperty(models.Model):
    """One HubSpot contact property: the schema the criteria are validated against."""

    class Type(models.TextChoices):
        STRING = "string", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        DATETIME = "datetime", _("Date and time")
        ENUMERATION = "enumeration", _("Enumeration")
        BOOL = "bool", _("Yes/no")

    name = models.CharField(_("internal name"), max_length=255, unique=True)
    label = models.CharField(_("label"), max_length=255, blank=True)
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.STRING)
    # HubSpot's fieldType: text, textarea, number, date, select, radio, checkbox,
    # booleancheckbox... "checkbox" on an enumeration means several values (a;b).
    field_type = models.CharField(_("field type"), max_length=40, blank=True)
    options = models.JSONField(_("options"), default=list, blank=True)
    group_name = models.CharField(_("group"), max_length=255, blank=True)
    hidden = models.BooleanField(_("hidden"), default=False)
    calculated = models.BooleanField(_("calculated"), default=False)
    archived = models.BooleanField(_("archived"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ContactPropertyQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact property")
        verbose_name_plural = _("contact properties")
        ordering = ["label", "name"]

    def __str__(self) -> str:
        return self.label or self.name

    @property
    def is_multiple(self) -> bool:
        return self.type == self.Type.ENUMERATION and self.field_type == "checkbox"


class SalesforceObject(models.TextChoices):
    """The two Salesforce objects a contact syncs with: the one choice of Lead or Contact, used by
    the contact's link, the setting for new records and the field mappings."""

    LEAD = "Lead", _("Lead")
    CONTACT = "Contact", _("Contact")


class Contact(models.Model):
    """A HubSpot contact as last pulled.

    ``properties`` holds normalised, typed values (numbers as numbers, booleans as booleans,
    dates and datetimes as epoch milliseconds, multiple-checkbox enumerations as lists);
    ``raw_properties`` the strings exactly as HubSpot sent them. A property with no value is
    absent from ``properties``.
    """

    SalesforceObject = SalesforceObject

    hubspot_id = models.CharField(_("HubSpot ID"), max_length=64, unique=True)
    email = models.CharField(_("email"), max_length=254, blank=True, default="")
    firstname = models.CharField(_("first name"), max_length=255, blank=True, default="")
    lastname = models.CharField(_("last name"), max_length=255, blank=True, default="")
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    raw_properties = models.JSONField(_("raw properties"), default=dict, blank=True)
    hubspot_created_at = models.DateTimeField(_("created in HubSpot"), null=True, blank=True)
    hubspot_updated_at = models.DateTimeField(_("last modified in HubSpot"), null=True, blank=True)
    archived = models.BooleanField(_("archived in HubSpot"), default=False)
    salesforce_id = models.CharField(_("Salesforce ID"), max_length=18, blank=True, default="")
    salesforce_object = models.CharField(
        _("Salesforce object"), max_length=10, choices=SalesforceObject.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(_("mirrored at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-hubspot_updated_at", "-id"]
        indexes = [
            models.Index(Lower("email"), name="contact_email_ci"),
            models.Index(fields=["salesforce_id"], name="contact_salesforce_id"),
            models.Index(fields=["hubspot_updated_at"], name="contact_hs_updated"),
            # A list refresh re-checks the contacts saved while it computed (lists.services).
            models.Index(fields=["updated_at"], name="contact_updated"),
        ]

    def __str__(self) -> str:
        name = f"{self.firstname} {self.lastname}".strip()
        return name or self.email or f"#{self.hubspot_id}"


class ContactList(models.Model):
    """An active (criteria-based) or static (hand-picked) list of contacts."""

    class ProcessingType(models.TextChoices):
        DYNAMIC = "DYNAMIC", _("Active")
        MANUAL = "MANUAL", _("Static")

    class ProcessingStatus(models.TextChoices):
        PROCESSING = "PROCESSING", _("Processing")
        COMPLETE = "COMPLETE", _("Complete")
        FAILED = "FAILED", _("Failed")

    class MembershipSource(models.TextChoices):
        LOCAL = "local", _("Evaluated here")
        HUBSPOT = "hubspot", _("HubSpot's membership")

    class HubSpotProcessingType(models.TextChoices):
        DYNAMIC = "DYNAMIC", _("Active")
        MANUAL = "MANUAL", _("Static")
        SNAPSHOT = "SNAPSHOT", _("Static (snapshot)")

    name = models.CharField(_("name"), max_length=255)
    processing_type = models.CharField(
        _("type"), max_length=10, choices=ProcessingType.choices, default=ProcessingType.DYNAMIC
    )
    filter_branch = models.JSONField(_("criteria"), null=True, blank=True)
    processing_status = models.CharField(
        _("status"), max_length=12, choices=ProcessingStatus.choices, default=ProcessingStatus.PROCESSING
    )
    size = models.PositiveIntegerField(_("size"), default=0)
    error = models.TextField(_("error"), blank=True, default="")
    # Bumped on every change of criteria: a refresh only publishes if the version it
    # computed is still current.
    version = models.PositiveIntegerField(_("version"), default=1)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last change"), auto_now=True)
    members = models.ManyToManyField(Contact, through="ListMembership", related_name="lists")

    # Lists in HubSpot (Lists v3). ``hubspot_list_id`` is blank for a list made here and never
    # published. A mirrored list (made in HubSpot) is read-only here; a published one (made here,
    # ``hubspot_published``) is defined here and its definition pushed to HubSpot.
    hubspot_list_id = models.CharField(_("HubSpot list ID"), max_length=32, blank=True, default="")
    hubspot_published = models.BooleanField(_("published to HubSpot from here"), default=False)
    membership_source = models.CharField(
        _("membership"), max_length=8, choices=MembershipSource.choices, default=MembershipSource.LOCAL
    )
    hubspot_processing_type = models.CharField(
        _("type in HubSpot"), max_length=10, choices=HubSpotProcessingType.choices, blank=True, default=""
    )
    # HubSpot's filterBranch as HubSpot answered it (HubSpot's list ids in IN_LIST filters);
    # ``filter_branch`` holds the same criteria with this product's list ids when every filter is
    # evaluated here, and nothing when HubSpot's membership is mirrored instead.
    hubspot_filter_branch = models.JSONField(_("definition in HubSpot"), null=True, blank=True)
    hubspot_list_version = models.PositiveIntegerField(_("version in HubSpot"), null=True, blank=True)
    hubspot_processing_status = models.CharField(_("status in HubSpot"), max_length=12, blank=True, default="")
    # What the membership mirrored last was read at: size and last add/remove times, as search says.
    hubspot_members_mark = models.CharField(_("membership read at"), max_length=100, blank=True, default="")
    hubspot_deleted_at = models.DateTimeField(_("deleted in HubSpot at"), null=True, blank=True)
    hubspot_pulled_at = models.DateTimeField(_("read from HubSpot at"), null=True, blank=True)

    objects = ContactListQuerySet.as_manager()

    class Meta:
        verbose_name = _("list")
        verbose_name_plural = _("lists")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(processing_type="DYNAMIC") | models.Q(filter_branch__isnull=True),
                name="contactlist_static_has_no_criteria",
            ),
            models.UniqueConstraint(
                fields=["hubspot_list_id"],
                condition=~models.Q(hubspot_list_id=""),
                name="contactlist_hubspot_list_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active_list(self) -> bool:
        return self.processing_type == self.ProcessingType.DYNAMIC

    @property
    def is_mirrored(self) -> bool:
        """Made in HubSpot: read-only here, followed by ``hubspot_lists_pull``."""
        return bool(self.hubspot_list_id) and not self.hubspot_published

    @property
    def evaluated_here(self) -> bool:
        """An active list whose membership this product computes from its criteria."""
        return self.is_active_list and self.membership_source == self.MembershipSource.LOCAL

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        # clean() checks filter_branch whole (the criteria's JSON guard, then the engine).
        # Django's own JSONField check serialises the value with json.dumps first, which
        # recurses: on a hostile value it would raise RecursionError instead of refusing it.
        super().clean_fields(exclude={*(exclude or ()), "filter_branch"})

    def clean(self) -> None:
        super().clean()
        if self.processing_type == self.ProcessingType.MANUAL:
            if self.filter_branch:
                raise ValidationError({"filter_branch": _("A static list has no criteria.")})
            self.filter_branch = None
            return
        if self.membership_source == self.MembershipSource.HUBSPOT:
            # Criteria this product cannot evaluate: HubSpot's membership is mirrored instead.
            self.filter_branch = None
            return
        if self.filter_branch is None:
            raise ValidationError({"filter_branch": _("An active list needs criteria.")})
        check_filter_branch(
            self.filter_branch,
            schema=ContactProperty.objects.schema(),
            list_ids=ContactList.objects.list_graph(),
            list_id=self.pk,
        )


class ListMembership(models.Model):
    # No single-column index on either key: membership_unique and membership_by_contact lead
    # with them, and a list refresh would pay for each extra index on every row it writes.
    contact_list = models.ForeignKey(
        ContactList, verbose_name=_("list"), on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("list membership")
        verbose_name_plural = _("list memberships")
        constraints = [
            models.UniqueConstraint(fields=["contact_list", "contact"], name="membership_unique"),
        ]
        indexes = [models.Index(fields=["contact", "contact_list"], name="membership_by_contact")]

    def __str__(self) -> str:
        return f"{self.contact} ∈ {self.contact_list}"


class MembershipChange(models.Model):
    """A contact joining or leaving a list, with its time: sync triggers and the timeline."""

    class Kind(models.TextChoices):
        JOINED = "joined", _("Joined")
        LEFT = "left", _("Left")

    # As for ListMembership: mchange_list_at and mchange_contact_at serve the keys' lookups.
    contact_list = models.ForeignKey(
        ContactList, verbose_name=_("list"), on_delete=models.CASCADE, related_name="changes", db_index=False
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="membership_changes",
        db_index=False,
    )
    kind = models.CharField(_("change"), max_length=6, choices=Kind.choices)
    at = models.DateTimeField(_("at"), db_index=True)
    list_version = models.PositiveIntegerField(_("list version"), default=1)

    class Meta:
        verbose_name = _("membership change")
        verbose_name_plural = _("membership changes")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["contact_list", "at"], name="mchange_list_at"),
            models.Index(fields=["contact", "at"], name="mchange_contact_at"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} {self.get_kind_display()} {self.contact_list}"
