"""Secrets only ever go to the vetted endpoint they were entered for.

- URLs outside the services' documented domains (or not https) are refused with a message naming
  what is wrong; ``allow_custom_endpoint`` (audited) lets a private server through, never another
  scheme nor credentials in the URL.
- Changing a URL or the environment deletes the stored secrets; a local listener then receives none.
- The OAuth callback never shows the link's own ``error_description``; the audit log masks
  credentials typed in a URL.

Instance URLs named by token endpoints, record links and the categories of connection errors:
``test_connection_failures.py``.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from integration import endpoints
from integration.models import HubSpotConnection, SalesforceConnection, SettingChange
from integration.services import connections
from integration.services.audit import changes_apply
from tests.integration.listener import Listener

pytestmark = pytest.mark.django_db

SAVE = "/admin/integration/salesforce/settings/connection/"
ACTION = "/admin/integration/salesforce/settings/connection/action/"
HS_SAVE = "/admin/integration/hubspot/settings/connection/"
HS_ACTION = "/admin/integration/hubspot/settings/connection/action/"
PAGE = "/admin/integration/salesforce/settings/?tab=connection"

SF_SECRETS = {
    "new_client_secret": "sf-bound-consumer-secret-1",
    "new_password": "sf-bound-password-2",
    "new_access_token": "00D000000000001!sf-bound-token-3",
}
HS_SECRETS = {"new_access_token": "pat-na1-bound-token-4", "new_client_secret": "hs-bound-client-secret-5"}


def sf_form(**values: str) -> dict[str, str]:
    data = {
        "environment": "production",
        "auth_method": "password",
        "login_url": "https://login.salesforce.com",
        "instance_url": "https://acme.my.salesforce.com",
        "api_version": "59.0",
        "client_id": "3MVG9-consumer-key",
        "username": "integration@acme.example",
        **values,
    }
    return {f"sf-{name}": value for name, value in data.items()}


def hs_form(**values: str) -> dict[str, str]:
    data = {"environment": "production", "auth_method": "private_app", "base_url": "https://api.hubapi.com"}
    return {f"hs-{name}": value for name, value in {**data, "client_id": "", "portal_id": "", **values}.items()}


def shown(response) -> str:
    return response.content.decode()


# --------------------------------------------------------------------------------------------
# URL vetting


@pytest.mark.parametrize(
    "url",
    [
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        "https://acme.my.salesforce.com",
        "https://acme--uat.sandbox.my.salesforce.com",
        "https://acme-dev-ed.develop.my.salesforce.com",
        "https://site-ability-1234.scratch.my.salesforce.com",
        "https://acme.lightning.force.com",
        "https://na85.salesforce.com",
        "https://acme.my.salesforce-setup.com",
    ],
)
def test_salesforce_documented_domains_are_accepted(url):
    assert endpoints.url_problem(url, service=endpoints.SALESFORCE) is None


@pytest.mark.parametrize("url", ["https://api.hubapi.com", "https://api.hubspot.com", "https://api-eu1.hubapi.com/"])
def test_hubspot_api_hosts_are_accepted(url):
    assert endpoints.url_problem(url, service=endpoints.HUBSPOT) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://acme.my.salesforce.com", "must start with https://"),
        ("https://evil.example", "evil.example is not a Salesforce domain"),
        ("https://acme.my.salesforce.com.evil.example", "is not a Salesforce domain"),
        ("https://evilsalesforce.com", "is not a Salesforce domain"),
        ("https://salesforce.com", "is not a Salesforce domain"),
        ("https://admin:hunter2@acme.my.salesforce.com", "must not contain a user name or password"),
        ("https://acme.my.salesforce.com?x=@evil.example", "must not contain a query"),
    ],
)
def test_salesforce_urls_off_its_domains_are_refused_with_a_message_and_nothing_stored_changes(
    admin_client, url, problem
):
    admin_client.post(SAVE, sf_form(**SF_SECRETS))
    before = SalesforceConnection.load()
    assert before.client_secret == SF_SECRETS["new_client_secret"]

    response = admin_client.post(SAVE, sf_form(instance_url=url), follow=True)

    assert problem in shown(response)
    after = SalesforceConnection.load()
    assert (after.instance_url, after.client_secret, after.password) == (
        before.instance_url,
        before.client_secret,
        before.password,
    )


@pytest.mark.parametrize(
    "url", ["http://api.hubapi.com", "https://api.hubapi.com.evil.example", "https://127.0.0.1:8100", "ftp://x.y"]
)
def test_hubspot_base_urls_off_its_api_hosts_are_refused(admin_client, url):
    response = admin_client.post(HS_SAVE, hs_form(base_url=url), follow=True)
    assert "API base URL:" in shown(response)
    assert HubSpotConnection.load().base_url == ""


def test_the_custom_endpoint_override_lets_a_private_server_through_audited_never_another_scheme_or_credentials(
    admin_client, admin_user
):
    admin_client.post(SAVE, sf_form(instance_url="http://127.0.0.1:8999", allow_custom_endpoint="on"))
    connection = SalesforceConnection.load()
    assert (connection.instance_url, connection.allow_custom_endpoint) == ("http://127.0.0.1:8999", True)
    audit = SettingChange.objects.get(setting="salesforce.allow_custom_endpoint")
    assert (audit.actor, audit.old_value, audit.new_value) == (admin_user, "False", "True")

    for url in ("javascript:alert(1)//", "ftp://127.0.0.1/", "http://user:pw@127.0.0.1:8999"):
        admin_client.post(SAVE, sf_form(instance_url=url, allow_custom_endpoint="on"))
        assert SalesforceConnection.load().instance_url == "http://127.0.0.1:8999", url
    assert endpoints.url_problem("javascript:alert(1)", service="salesforce", allow_custom=True)


def test_the_model_refuses_foreign_urls_so_every_edit_path_is_vetted(settings):
    connection = SalesforceConnection.load()
    connection.environment = SalesforceConnection.Environment.PRODUCTION
    connection.instance_url = "https://evil.example"
    with pytest.raises(ValidationError) as refused:
        connection.full_clean()
    assert "instance_url" in refused.value.message_dict
    hubspot = HubSpotConnection.load()
    settings.SANDBOX = False  # the "built-in sandbox" environment is a real API then
    hubspot.base_url = "http://api.hubapi.com"
    with pytest.raises(ValidationError):
        hubspot.full_clean()


# --------------------------------------------------------------------------------------------
# Secrets bound to their endpoint


@pytest.mark.parametrize("auth_method", ["password", "token"])
def test_changing_the_salesforce_urls_deletes_the_stored_secrets_and_the_new_endpoint_receives_none(
    admin_client, auth_method
):
    admin_client.post(SAVE, sf_form(auth_method=auth_method, **SF_SECRETS))
    assert SalesforceConnection.load().password == SF_SECRETS["new_password"]

    with Listener() as listener:
        saved = admin_client.post(
            SAVE,
            sf_form(
                auth_method=auth_method, login_url=listener.url, instance_url=listener.url, allow_custom_endpoint="on"
            ),
            follow=True,
        )
        for action in ("connect", "test"):
            admin_client.post(ACTION, {"action": action}, follow=True)

    listener.assert_no_secret(SF_SECRETS.values())
    assert "stored secrets were deleted" in shown(saved) and "Enter them again" in shown(saved)
    connection = SalesforceConnection.load()
    assert connection.instance_url == listener.url
    assert all(not getattr(connection, name) for name in SalesforceConnection.SECRET_FIELDS)
    cleared = SettingChange.objects.filter(new_value="(cleared)", detail__reason="endpoint_changed")
    assert {row.setting for row in cleared} == {
        "salesforce.client_secret",
        "salesforce.password",
        "salesforce.access_token",
    }


def test_changing_the_hubspot_base_url_deletes_its_token_and_the_new_endpoint_receives_none(admin_client):
    admin_client.post(HS_SAVE, hs_form(**HS_SECRETS))
    assert HubSpotConnection.load().access_token == HS_SECRETS["new_access_token"]

    with Listener(body=b"{}", content_type="application/json") as listener:
        admin_client.post(HS_SAVE, hs_form(base_url=listener.url, allow_custom_endpoint="on"))
        tested = admin_client.post(HS_ACTION, {"action": "test"}, follow=True)

    listener.assert_no_secret(HS_SECRETS.values())
    assert listener.received == []
    connection = HubSpotConnection.load()
    assert (connection.access_token, connection.client_secret) == ("", "")
    assert "No credentials are stored for HubSpot" in shown(tested)


def test_secrets_typed_with_the_change_are_kept_and_only_the_others_deleted(admin_client):
    admin_client.post(SAVE, sf_form(**SF_SECRETS))
    admin_client.post(
        SAVE, sf_form(instance_url="https://acme--uat.sandbox.my.salesforce.com", new_client_secret="typed-again-6")
    )
    connection = SalesforceConnection.load()
    assert connection.client_secret == "typed-again-6"
    assert (connection.password, connection.access_token) == ("", "")


def test_changing_the_environment_deletes_the_secrets_too(admin_client):
    admin_client.post(SAVE, sf_form(**SF_SECRETS))
    admin_client.post(SAVE, sf_form(environment="sandbox_org"))
    connection = SalesforceConnection.load()
    assert all(not getattr(connection, name) for name in SalesforceConnection.SECRET_FIELDS)


def test_the_form_says_beforehand_that_a_change_of_endpoint_deletes_the_secrets(admin_client):
    page = shown(admin_client.get(PAGE))
    assert page.count("Changing it deletes this connection&#x27;s stored secrets") >= 5
    assert "Secrets are bound to the endpoint they were entered for" in page
    assert 'name="sf-allow_custom_endpoint"' in page and 'name="hs-allow_custom_endpoint"' in page


def test_an_instance_url_from_the_token_endpoint_keeps_the_secrets():
    connection = SalesforceConnection.load()
    SalesforceConnection.objects.update(environment="production", client_secret="kept-7", refresh_token="5Aep-8")
    connections.connection_update(
        connection=connection,
        changes={"instance_url": "https://acme.my.salesforce.com"},
        source="token endpoint",
    )
    connection = SalesforceConnection.load()
    assert (connection.client_secret, connection.refresh_token) == ("kept-7", "5Aep-8")
    assert SettingChange.objects.get(setting="salesforce.instance_url").detail == {"source": "token endpoint"}


def test_the_generated_admin_vets_the_urls_and_deletes_the_secrets_on_a_change_of_endpoint(admin_client):
    admin_client.post(SAVE, sf_form(**SF_SECRETS))
    change = reverse("admin:integration_salesforceconnection_change", args=[SalesforceConnection.load().pk])
    data = {name.removeprefix("sf-"): value for name, value in sf_form().items()}

    refused = admin_client.post(change, {**data, "instance_url": "https://evil.example"})
    assert refused.status_code == 200 and "is not a Salesforce domain" in shown(refused)
    assert SalesforceConnection.load().client_secret == SF_SECRETS["new_client_secret"]

    admin_client.post(change, {**data, "instance_url": "https://acme--uat.sandbox.my.salesforce.com"})
    connection = SalesforceConnection.load()
    assert connection.instance_url == "https://acme--uat.sandbox.my.salesforce.com"
    assert all(not getattr(connection, name) for name in SalesforceConnection.SECRET_FIELDS)


# --------------------------------------------------------------------------------------------
# The OAuth callback and the audit log


@pytest.mark.parametrize("service", ["salesforce", "hubspot"])
@pytest.mark.parametrize(
    ("error", "expected"), [("access_denied", "was declined"), ("<b>CALL-US</b>", "refused the authorization request")]
)
def test_the_oauth_callback_never_shows_the_links_own_error_text(admin_client, service, error, expected):
    response = admin_client.get(
        reverse(f"integration:{service}_oauth_callback"),
        {"error": error, "error_description": "Your org is locked: call +1-555-0100 now"},
        follow=True,
    )
    html = shown(response)
    assert "+1-555-0100" not in html and "CALL-US" not in html
    assert expected in html


def test_credentials_typed_in_a_url_never_reach_the_audit_log_in_clear(admin_client):
    admin_client.post(SAVE, sf_form(instance_url="http://admin:hunter2@127.0.0.1:8999", allow_custom_endpoint="on"))
    rows = list(SettingChange.objects.values_list("old_value", "new_value"))
    assert not any("hunter2" in old + new for old, new in rows)

    connection = SalesforceConnection.load()
    (row,) = changes_apply(connection, {"instance_url": "http://user:pass@host.example/x"}, actor=None)
    assert row.new_value == "http://***@host.example/x"
