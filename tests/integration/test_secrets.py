"""No secret of a connection is ever sent back to a browser, nor written to a log.

Known secrets are stored in both connections (and travel through the forms, the audit, a failed
connection test whose remote error quotes the token); then every page and JSON endpoint of the
integration app, the generated admin pages included, is fetched and scanned.
"""

from __future__ import annotations

import json
import logging

import pytest
from django.urls import URLPattern, reverse

from integration.log_filters import SecretRedactingFilter
from integration.models import (
    FieldMapping,
    HubSpotConnection,
    SalesforceConnection,
    SettingChange,
    SyncSettings,
)
from integration.services import redact
from sandbox.testing import running_app
from sync.models import SyncRun
from sync.settings_page import urls as integration_urls
from tests.lists.factories import ContactListFactory

pytestmark = pytest.mark.django_db

PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDsecretkeymaterial42\n"
    "-----END PRIVATE KEY-----"
)
SECRETS = {
    "sf_client_secret": "sf-consumer-secret-8c1f0e",
    "sf_private_key_body": "DsecretkeymaterialZZ42",
    "sf_password": "sf-password-and-token-77aa",
    "sf_access_token": "00D000000000001!sf-access-token-3b9d",
    "sf_refresh_token": "5Aep-sf-refresh-token-51c2",
    "hs_access_token": "pat-na1-hubspot-token-9e0a",
    "hs_refresh_token": "hs-refresh-token-1d44",
    "hs_client_secret": "hs-client-secret-aa07",
}


def assert_no_secret(body: bytes | str, where: str) -> None:
    text = body.decode() if isinstance(body, bytes) else body
    for name, value in SECRETS.items():
        assert value not in text, f"{name} leaked in {where}"


@pytest.fixture
def stored_secrets(admin_client):
    """Secrets entered through the forms, as an admin does."""
    sf = SalesforceConnection.load()
    admin_client.post(
        reverse("integration:salesforce_connection_save"),
        {
            "sf-environment": "production",
            "sf-auth_method": "token",
            "sf-login_url": "https://login.salesforce.com",
            "sf-instance_url": "https://127.0.0.1:9",
            "sf-allow_custom_endpoint": "on",
            "sf-api_version": "59.0",
            "sf-client_id": "3MVG9-key",
            "sf-username": "admin@example.com",
            "sf-new_client_secret": SECRETS["sf_client_secret"],
            "sf-new_private_key": PRIVATE_KEY.replace("Dsecretkeymaterial42", SECRETS["sf_private_key_body"]),
            "sf-new_password": SECRETS["sf_password"],
            "sf-new_access_token": SECRETS["sf_access_token"],
        },
    )
    SalesforceConnection.objects.filter(pk=sf.pk).update(refresh_token=SECRETS["sf_refresh_token"])
    admin_client.post(
        reverse("integration:hubspot_connection_save"),
        {
            "hs-environment": "production",
            "hs-auth_method": "private_app",
            "hs-base_url": "https://127.0.0.1:9",
            "hs-allow_custom_endpoint": "on",
            "hs-client_id": "hs-client",
            "hs-portal_id": "12345",
            "hs-new_access_token": SECRETS["hs_access_token"],
            "hs-new_client_secret": SECRETS["hs_client_secret"],
        },
    )
    HubSpotConnection.objects.update(refresh_token=SECRETS["hs_refresh_token"])
    sf = SalesforceConnection.load()
    assert sf.client_secret == SECRETS["sf_client_secret"] and sf.access_token == SECRETS["sf_access_token"]
    assert SECRETS["sf_private_key_body"] in sf.private_key
    assert HubSpotConnection.load().access_token == SECRETS["hs_access_token"]


def integration_pages() -> list[str]:
    """Every GET-able page of the integration app: its own URLs and the generated admin's."""
    contact_list = ContactListFactory(complete=True)
    SyncSettings.objects.update(inclusion_list=contact_list)
    run = SyncRun.objects.create(trigger=SyncRun.Trigger.LIST_RESYNC, contact_list=contact_list)
    args = {"pk": run.pk}
    urls: list[str] = []
    for pattern in integration_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        if "<str:side>" in str(pattern.pattern):
            urls += [reverse(f"integration:{pattern.name}", args=[side]) for side in ("hubspot", "salesforce")]
            continue
        kwargs = {k: args.get(k, FieldMapping.objects.first().pk) for k in pattern.pattern.converters}
        urls.append(reverse(f"integration:{pattern.name}", kwargs=kwargs))
    base = reverse("integration:salesforce_settings")
    urls += [f"{base}?tab={tab}" for tab in ("connection", "sync", "mappings")]
    urls += [f"{base}?tab=sync&side=salesforce", f"{base}?tab=sync&run={run.pk}"]
    urls += [reverse("integration:switch_impact") + f"?list={contact_list.pk}"]
    for model in (SalesforceConnection, HubSpotConnection, SyncSettings, FieldMapping, SettingChange):
        opts = model._meta
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        obj = model.objects.first()
        if obj is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk]))
    return urls


def test_no_secret_in_any_page_or_json_of_the_integration_app(admin_client, stored_secrets, caplog):
    caplog.set_level(logging.DEBUG)
    # A failed test whose error message comes back from the remote side.
    admin_client.post(reverse("integration:salesforce_connection_action"), {"action": "test"})
    assert SalesforceConnection.load().status == "error"

    fetched = 0
    for url in integration_pages():
        response = admin_client.get(url)
        # 405: POST-only endpoints; 302: the OAuth callbacks, sent back to the page without a code.
        assert response.status_code in (200, 302, 405), (url, response.status_code)
        assert_no_secret(response.content, url)
        fetched += response.status_code == 200
    assert fetched >= 20

    # A form sent back with errors must not echo what was typed into a secret field either.
    response = admin_client.post(
        reverse("integration:salesforce_connection_save"),
        {"sf-environment": "nonsense", "sf-new_client_secret": SECRETS["sf_client_secret"]},
        follow=True,
    )
    assert_no_secret(response.content, "connection form with errors")
    audit = json.dumps(list(SettingChange.objects.values("old_value", "new_value", "detail")))
    assert_no_secret(audit, "the audit")
    assert_no_secret(caplog.text, "the logs")


def test_remote_error_quoting_the_token_is_redacted(admin_client, monkeypatch, stored_secrets):
    """An org whose error echoes the session id: the stored reason and the page say neither."""

    def echo_app(environ, start_response):
        body = json.dumps(
            [{"message": f"Session expired or invalid: {environ.get('HTTP_AUTHORIZATION')}", "errorCode": "INVALID"}]
        ).encode()
        start_response("401 Unauthorized", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    with running_app(echo_app, tls=True) as srv:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(srv.cert_path))
        SalesforceConnection.objects.update(instance_url=srv.url, refresh_token="")
        response = admin_client.post(
            reverse("integration:salesforce_connection_action"), {"action": "test"}, follow=True
        )
    connection = SalesforceConnection.load()
    assert connection.status == "error"
    assert_no_secret(connection.status_reason, "status reason")
    assert_no_secret(response.content, "test result page")


def test_redaction_helpers():
    text = (
        f'access_token={SECRETS["sf_access_token"]}&refresh_token: "{SECRETS["sf_refresh_token"]}" '
        f"Authorization: Bearer {SECRETS['hs_access_token']} {PRIVATE_KEY} and {SECRETS['sf_password']}"
    )
    cleaned = redact(text, [SECRETS["sf_password"]])
    assert_no_secret(cleaned, "redact()")
    assert "Dsecretkeymaterial42" not in cleaned
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "token refused: %s", (text,), None)
    SecretRedactingFilter().filter(record)
    message = record.getMessage()
    for name in ("sf_access_token", "sf_refresh_token", "hs_access_token"):
        assert SECRETS[name] not in message
    assert "Dsecretkeymaterial42" not in message
