"""Secrets at rest, the sandbox switched off, and the audit of every settings change.

(Who may see and do what, URL by URL, is ``tests/test_security.py``; secrets in pages and logs
are scanned by ``tests/integration/test_secrets.py``.)
"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import Resolver404, get_resolver

from integration.models import FieldMapping, HubSpotConnection, SalesforceConnection, SettingChange, SyncSettings
from tests.lists.factories import ContactFactory, ContactListFactory, ListMembershipFactory
from tests.sync.factories import SyncRecordFactory
from tests.test_security import HUBSPOT_SECRETS, SALESFORCE_SECRETS, SENTINEL, walk

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------------------------
# Secrets at rest (the pages and the logs are scanned by tests/integration/test_secrets.py)


@pytest.mark.parametrize(
    "model, columns",
    [
        (SalesforceConnection, SALESFORCE_SECRETS),
        (HubSpotConnection, HUBSPOT_SECRETS),
    ],
)
def test_every_connection_secret_is_encrypted_in_its_column(model, columns):
    connection_row = model.load()
    secrets = {column: f"{column}-plain-{SENTINEL}" for column in columns}
    for column, value in secrets.items():
        setattr(connection_row, column, value)
    connection_row.save()
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(connection.ops.quote_name(c) for c in columns)} FROM {table}")
        raw = dict(zip(columns, cursor.fetchone(), strict=True))
    for column in columns:
        assert raw[column].startswith("fernet:"), column
        assert SENTINEL not in raw[column] and "plain" not in raw[column], column
    reloaded = model.load()
    assert {column: getattr(reloaded, column) for column in columns} == secrets


# --------------------------------------------------------------------------------------------
# The sandbox, off


@pytest.mark.parametrize(
    "command, args",
    [
        ("sandbox_serve", ["--hubspot-port", "0", "--salesforce-port", "0"]),
        ("sandbox_seed", ["--contacts", "5"]),
        ("sandbox_reset", []),
    ],
)
def test_sandbox_commands_refuse_to_run_when_the_sandbox_is_off(command, args, settings, tmp_path):
    settings.SANDBOX = False
    settings.DATA_DIR = tmp_path
    with pytest.raises(CommandError, match="SANDBOX=false"):
        call_command(command, *args, stdout=io.StringIO())
    assert not any(tmp_path.iterdir())  # not a file created, seeded or emptied


def test_no_route_of_the_project_leads_to_the_sandbox():
    """The emulators are separate WSGI apps (sandbox_serve): Django serves none of their paths."""
    resolver = get_resolver()
    for route in walk():
        callback = resolver.resolve("/" + route.pattern).func if "<" not in route.pattern else None
        assert "sandbox" not in route.pattern.lower(), route
        if callback is not None:
            assert "sandbox" not in getattr(callback, "__module__", ""), route
    for path in ("/services/oauth2/token", "/services/data/v59.0/sobjects/Lead", "/crm/v3/objects/contacts"):
        with pytest.raises(Resolver404):
            resolver.resolve(path)


# --------------------------------------------------------------------------------------------
# Audit: every settings change and every manual resync leaves a SettingChange naming who


def test_every_settings_change_and_manual_resync_is_audited_with_its_author(admin_client, admin_user):
    contact_list = ContactListFactory(name="Audited", complete=True)
    contact = ContactFactory()
    ListMembershipFactory(contact_list=contact_list, contact=contact)
    record = SyncRecordFactory(contact=contact, failed=True)
    mapping = FieldMapping.objects.create(
        hubspot_property="jobtitle", salesforce_field="Description", salesforce_object="Lead", rule="two_way"
    )
    actions = {
        "inclusion list (settings page)": (
            "/admin/integration/salesforce/settings/inclusion-list/",
            {"inclusion_list": contact_list.pk},
        ),
        "sync settings (settings page)": (
            "/admin/integration/salesforce/settings/sync/salesforce/",
            {"salesforce_object_for_new": "Contact", "daily_api_allocation": "12345"},
        ),
        "list resync (settings page)": ("/admin/integration/salesforce/settings/resync/", {}),
        "contact resync (sync log)": (
            "/admin/sync/syncrecord/",
            {"action": "resync_selected", "_selected_action": [record.pk]},
        ),
        "sync settings (generated admin)": (
            f"/admin/integration/syncsettings/{SyncSettings.load().pk}/change/",
            {
                "inclusion_list": contact_list.pk,
                "salesforce_object_for_new": "Lead",
                "dedupe_key": "email",
                "external_id_field": "",
                "polling_interval_minutes": "15",
                "daily_api_allocation": "12345",
                "sync_enabled": "on",
                "salesforce_deletions": "recreate",
            },
        ),
        "mapping (generated admin)": (
            f"/admin/integration/fieldmapping/{mapping.pk}/change/",
            {
                "hubspot_property": "jobtitle",
                "salesforce_field": "Description",
                "salesforce_object": "Lead",
                "rule": "dont_sync",
            },
        ),
        "mapping deleted (generated admin)": (f"/admin/integration/fieldmapping/{mapping.pk}/delete/", {"post": "yes"}),
        "HubSpot connection (generated admin)": (
            f"/admin/integration/hubspotconnection/{HubSpotConnection.load().pk}/change/",
            {
                **HubSpotConnection.objects.values(
                    "environment", "auth_method", "base_url", "client_id", "portal_id"
                ).get(),
                "portal_id": "424242",
            },
        ),
    }
    unaudited = []
    for what, (url, data) in actions.items():
        before = SettingChange.objects.filter(actor=admin_user).count()
        response = admin_client.post(url, data)
        assert response.status_code == 302, (what, response.status_code)
        if SettingChange.objects.filter(actor=admin_user).count() == before:
            unaudited.append(what)
    assert not unaudited, unaudited
