"""Property-based fuzzing of the inputs from outside: the settings forms, the HubSpot
webhook and odd HubSpot data. Clear refusals, never a 500, nothing stored half-way."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.models import HubSpotConnection, SettingChange, SyncSettings
from sync.webhooks import signature_v3

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20).map(lambda s: (s * 10_000)[:10_000]),
    st.sampled_from(
        ["", "\x00", "-1", "0", "1e9", "99999999999999999999", "true", "Lead", "Contact", "email", "x" * 300]
    ),
)


@FUZZ
@given(
    side=st.sampled_from(["hubspot", "salesforce"]),
    data=st.dictionaries(
        st.sampled_from(
            [
                "sync_enabled",
                "dedupe_key",
                "external_id_field",
                "polling_interval_minutes",
                "salesforce_object_for_new",
                "create_hubspot_contacts_from_salesforce",
                "daily_api_allocation",
            ]
        ),
        text,
    ),
)
def test_settings_forms_refuse_garbage_without_a_500_or_a_half_save(admin_client, side, data):
    before = SyncSettings.load()
    before_values = {f.name: getattr(before, f.name) for f in SyncSettings._meta.fields if f.name != "updated_at"}
    audits = SettingChange.objects.count()
    response = admin_client.post(f"/admin/integration/salesforce/settings/sync/{side}/", data)
    assert response.status_code in (200, 302), response.status_code
    after = SyncSettings.load()
    after_values = {f.name: getattr(after, f.name) for f in SyncSettings._meta.fields if f.name != "updated_at"}
    changed = {k for k in before_values if before_values[k] != after_values[k]}
    # Whatever was stored is valid, and every change is audited (nothing silent, nothing half-way).
    after.full_clean()
    assert SettingChange.objects.count() - audits == len(changed)


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(str.encode)),
    timestamp=st.one_of(st.just(None), st.integers(min_value=-(2**40), max_value=2**45).map(str), st.text(max_size=20)),
    signature=st.one_of(st.just(None), st.text(max_size=80)),
    sign_properly=st.booleans(),
)
def test_webhook_never_fails_and_accepts_only_signed_fresh_requests(client, body, timestamp, signature, sign_properly):
    connection = HubSpotConnection.load()
    connection.client_secret = "fuzz-secret"
    connection.save()
    headers = {}
    fresh = str(int(time.time() * 1000))
    if sign_properly:
        timestamp = fresh
        signature = signature_v3(
            secret="fuzz-secret", method="POST", uri="http://testserver/webhooks/hubspot/", body=body, timestamp=fresh
        )
    if timestamp is not None:
        headers["HTTP_X_HUBSPOT_REQUEST_TIMESTAMP"] = timestamp
    if signature is not None:
        headers["HTTP_X_HUBSPOT_SIGNATURE_V3"] = signature
    from unittest import mock

    with mock.patch("sync.webhooks.async_task"):
        response = client.post("/webhooks/hubspot/", data=body, content_type="application/json", **headers)
    assert response.status_code < 500
    if not sign_properly:
        assert response.status_code in (401, 403)
    else:
        try:
            parsed = json.loads(body or b"[]")  # an empty body is an empty batch
            well_formed = isinstance(parsed, list) and all(isinstance(e, dict) for e in parsed)
        except ValueError:
            well_formed = False
        assert response.status_code == (200 if well_formed else 400)


def test_webhook_refuses_a_huge_body(client):
    response = client.post(
        "/webhooks/hubspot/",
        data=b"[" + b"{}," * 600_000 + b"{}]",
        content_type="application/json",
        HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=str(int(time.time() * 1000)),
        HTTP_X_HUBSPOT_SIGNATURE_V3="x",
    )
    assert response.status_code in (401, 403, 413)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.fixed_dictionaries(
        {
            "firstname": st.text(max_size=200),
            "lastname": st.one_of(
                st.text(max_size=200), st.text(min_size=1, max_size=20).map(lambda s: (s * 10_000)[:10_000])
            ),
            "company": st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
            "email": st.sampled_from(["ÉMILE@Exemple.FR", "a@b.co", "x\x00y@z.io", " spaced@x.io "]),
            "numemployees": st.text(max_size=12),
        }
    )
)
def test_odd_hubspot_values_are_stored_without_errors(values):
    """Unicode, 10 kB strings, NUL bytes, emails in odd case: the pull stores them (NUL removed,
    typed values only where they parse), never an exception."""
    from lists.models import Contact, ContactProperty
    from sync.engine.hubspot_pull import contacts_upsert_from_hubspot

    for name in values:
        ContactProperty.objects.get_or_create(name=name, defaults={"type": "string"})
    ContactProperty.objects.filter(name="numemployees").update(type="number")
    contacts_upsert_from_hubspot([{"id": "424242", "properties": dict(values), "archived": False}])
    contact = Contact.objects.get(hubspot_id="424242")
    assert "\x00" not in json.dumps(contact.raw_properties)
    assert contact.email == values["email"].replace("\x00", "").strip()[:254]
