from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from integration.models import FieldMapping, HubSpotConnection, SalesforceConnection, SettingChange, SyncSettings
from integration.services import (
    connection_update,
    field_mapping_delete,
    field_mapping_save,
    secrets_cleared,
    sync_settings_update,
)
from lists.admin.base import ReadOnlyAdmin


class SingletonAdmin(admin.ModelAdmin):
    """One row, edited in place: no add once it exists, no delete."""

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not self.model.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedConnectionAdmin(SingletonAdmin):
    """Edits made here are audited like those of the settings page (SettingChange), their URLs
    vetted by the model, and a change of endpoint deletes the stored secrets as there."""

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        stored = type(obj).objects.get(pk=obj.pk)
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            audit = connection_update(connection=stored, actor=request.user, changes=changes)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            return
        if secrets_cleared(audit):
            messages.warning(
                request,
                _(
                    "The connection now points elsewhere: its stored secrets were deleted. Enter them again on "
                    "the connected app's settings page, then connect."
                ),
            )


@admin.register(SalesforceConnection)
class SalesforceConnectionAdmin(AuditedConnectionAdmin):
    list_display = ["__str__", "environment", "auth_method", "instance_url", "status", "status_changed_at"]
    list_filter = ["status", "environment"]
    # Secrets are write-only: never rendered back to a browser.
    exclude = ["client_secret", "private_key", "password", "access_token", "refresh_token"]
    readonly_fields = ["org_id", "status", "status_reason", "status_changed_at", "connected_at"]


@admin.register(HubSpotConnection)
class HubSpotConnectionAdmin(AuditedConnectionAdmin):
    list_display = ["__str__", "environment", "auth_method", "base_url", "portal_id", "status"]
    list_filter = ["status", "environment"]
    exclude = ["access_token", "refresh_token", "client_secret"]
    readonly_fields = ["status", "status_reason", "status_changed_at"]


@admin.register(SyncSettings)
class SyncSettingsAdmin(SingletonAdmin):
    list_display = [
        "__str__",
        "inclusion_list",
        "salesforce_object_for_new",
        "create_hubspot_contacts_from_salesforce",
        "sync_enabled",
        "daily_api_allocation",
    ]
    list_select_related = ["inclusion_list"]

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        stored = SyncSettings.objects.get(pk=obj.pk)
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            sync_settings_update(sync_settings=stored, actor=request.user, **changes)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))


@admin.register(FieldMapping)
class FieldMappingAdmin(admin.ModelAdmin):
    list_display = ["hubspot_property", "salesforce_object", "salesforce_field", "rule"]
    list_filter = ["salesforce_object", "rule"]
    search_fields = ["hubspot_property", "salesforce_field"]

    # Through the audited services, as on the settings page's Field mappings tab.
    def save_model(self, request, obj, form, change):
        field_mapping_save(mapping=obj, actor=request.user)

    def delete_model(self, request, obj):
        field_mapping_delete(mapping=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for mapping in queryset:
            field_mapping_delete(mapping=mapping, actor=request.user)


@admin.register(SettingChange)
class SettingChangeAdmin(ReadOnlyAdmin):
    """The audit log: written by the services in the same transaction as each change."""

    list_display = ["at", "actor", "setting", "old_value", "new_value"]
    list_filter = ["setting", ("at", admin.DateFieldListFilter)]
    search_fields = ["setting", "old_value", "new_value", "actor__username"]
    list_select_related = ["actor"]
    date_hierarchy = "at"
