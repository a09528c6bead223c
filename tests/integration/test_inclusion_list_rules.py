"""Only active lists can be the inclusion list, and the inclusion list cannot be deleted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from integration.models import SettingChange, SyncSettings
from integration.services import inclusion_list_set
from lists.models import ContactList

pytestmark = pytest.mark.django_db


def make_list(processing_type: str, name: str = "List") -> ContactList:
    # Bypasses criteria validation on purpose: these tests are about the settings row.
    return ContactList.objects.create(
        name=name,
        processing_type=processing_type,
        filter_branch={"filterBranchType": "OR", "filters": [], "filterBranches": []}
        if processing_type == "DYNAMIC"
        else None,
        processing_status="COMPLETE",
    )


def test_static_list_fails_model_validation_as_inclusion_list():
    static = make_list("MANUAL", "Hand-picked")
    sync_settings = SyncSettings.load()
    sync_settings.inclusion_list = static
    with pytest.raises(ValidationError) as exc:
        sync_settings.full_clean()
    assert "inclusion_list" in exc.value.message_dict
    assert "static" in exc.value.message_dict["inclusion_list"][0]


def test_static_list_refused_by_the_service_and_setting_unchanged(admin_user):
    active = make_list("DYNAMIC", "Active")
    static = make_list("MANUAL", "Static")
    sync_settings = SyncSettings.load()
    inclusion_list_set(sync_settings=sync_settings, contact_list=active, actor=admin_user)
    with pytest.raises(ValidationError):
        inclusion_list_set(sync_settings=sync_settings, contact_list=static, actor=admin_user)
    assert SyncSettings.load().inclusion_list_id == active.pk
    assert SettingChange.objects.filter(setting="inclusion_list").count() == 1


def test_choosing_a_list_is_audited_with_who_from_and_to(admin_user):
    first = make_list("DYNAMIC", "First")
    second = make_list("DYNAMIC", "Second")
    sync_settings = SyncSettings.load()
    inclusion_list_set(sync_settings=sync_settings, contact_list=first, actor=admin_user)
    inclusion_list_set(sync_settings=sync_settings, contact_list=second, actor=admin_user)
    inclusion_list_set(sync_settings=sync_settings, contact_list=None, actor=admin_user)
    changes = list(SettingChange.objects.order_by("id").values_list("actor__username", "old_value", "new_value"))
    assert changes == [
        ("admin", "", f"First (#{first.pk})"),
        ("admin", f"First (#{first.pk})", f"Second (#{second.pk})"),
        ("admin", f"Second (#{second.pk})", ""),
    ]
    assert SyncSettings.load().inclusion_list is None


def test_inclusion_list_cannot_be_deleted():
    active = make_list("DYNAMIC")
    sync_settings = SyncSettings.load()
    inclusion_list_set(sync_settings=sync_settings, contact_list=active)
    with pytest.raises(ProtectedError):
        active.delete()
    assert ContactList.objects.filter(pk=active.pk).exists()


def test_inclusion_list_delete_in_admin_shows_message_and_deletes_nothing(admin_client):
    active = make_list("DYNAMIC", "Inclusion")
    inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=active)
    response = admin_client.post(f"/admin/lists/contactlist/{active.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert ContactList.objects.filter(pk=active.pk).exists()
    assert "inclusion list" in response.content.decode().lower()
