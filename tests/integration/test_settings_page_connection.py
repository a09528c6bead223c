"""The Connection and Field mappings tabs: connecting to the Salesforce sandbox over real HTTP
(sandbox, OAuth web-server flow, JWT bearer, client credentials), test, disconnect, write-only
secrets, and mapping type checks."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection as db
from django.urls import reverse

from integration.models import ConnectionStatus, FieldMapping, HubSpotConnection, SalesforceConnection, SettingChange
from sandbox.salesforce.testing import running_salesforce
from sandbox.testing import trusting_session
from tests.lists.factories import ContactPropertyFactory

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/admin/integration/salesforce/settings/"
ACTION_URL = "/admin/integration/salesforce/settings/connection/action/"
SAVE_URL = "/admin/integration/salesforce/settings/connection/"


@pytest.fixture
def sf_sandbox(tmp_path, settings, monkeypatch):
    """The Salesforce emulator over TLS on an ephemeral port, trusted by every requests call."""
    with running_salesforce(tmp_path) as (base_url, cert_path):
        settings.SANDBOX_SALESFORCE_URL = base_url
        settings.SANDBOX_SALESFORCE_CERT = str(cert_path)
        # "Production" flows use plain requests sessions: trust the emulator's certificate there too.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_path))
        yield base_url, cert_path


def form_data(connection: SalesforceConnection, **overrides) -> dict[str, str]:
    data = {
        "sf-environment": connection.environment,
        "sf-auth_method": connection.auth_method,
        "sf-login_url": connection.login_url,
        "sf-instance_url": connection.instance_url,
        "sf-api_version": connection.api_version,
        "sf-client_id": connection.client_id,
        "sf-username": connection.username,
    }
    data.update({f"sf-{k}": v for k, v in overrides.items()})
    return data


def raw_column(column: str) -> str:
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM integration_salesforceconnection")
        return cursor.fetchone()[0]


def test_use_sandbox_tests_the_connection_and_shows_the_org_api_usage(admin_client, sf_sandbox):
    response = admin_client.post(ACTION_URL, {"action": "sandbox"})
    assert response.status_code == 302
    connection = SalesforceConnection.load()
    assert connection.status == ConnectionStatus.SANDBOX
    assert connection.connected_at is not None
    page = admin_client.get(SETTINGS_URL, {"tab": "connection"}).content.decode()
    assert "Connected: Salesforce answered." in page
    assert 'id="org-api-usage"' in page and "daily API requests" in page
    assert SettingChange.objects.filter(setting="salesforce.status", new_value="sandbox").exists()


def test_oauth_web_server_flow_stores_an_encrypted_refresh_token(admin_client, sf_sandbox):
    base_url, cert_path = sf_sandbox
    connection = SalesforceConnection.load()
    admin_client.post(
        SAVE_URL,
        form_data(
            connection,
            environment="production",
            auth_method="oauth_web",
            login_url=base_url,
            allow_custom_endpoint="on",  # the emulator stands in for a private test server
            client_id="3MVG9-consumer-key",
            new_client_secret="consumer-secret-value",
        ),
    )

    start = admin_client.post(ACTION_URL, {"action": "connect"})
    assert start.status_code == 302
    authorize = urlparse(start["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == base_url
    assert authorize.path == "/services/oauth2/authorize"
    query = parse_qs(authorize.query)
    assert query["client_id"] == ["3MVG9-consumer-key"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://testserver/admin/integration/salesforce/oauth/callback/"]

    # The admin approves in Salesforce, which redirects back with a code and the state.
    approved = trusting_session(cert_path).get(start["Location"], allow_redirects=False)
    callback = urlparse(approved.headers["Location"])
    response = admin_client.get(callback.path, parse_qs(callback.query))

    assert response.status_code == 302
    connection = SalesforceConnection.load()
    assert connection.status == ConnectionStatus.CONNECTED, connection.status_reason
    assert connection.refresh_token.startswith("5Aep")
    assert connection.instance_url == base_url
    assert connection.org_id.startswith("00D")
    assert raw_column("refresh_token").startswith("fernet:")
    assert connection.refresh_token not in raw_column("refresh_token")
    audit = SettingChange.objects.filter(setting="salesforce.refresh_token").get()
    assert connection.refresh_token not in (audit.old_value + audit.new_value)


def test_oauth_callback_with_a_foreign_state_is_refused(admin_client, sf_sandbox):
    response = admin_client.get(
        reverse("integration:salesforce_oauth_callback"), {"code": "aPrx-stolen", "state": "not-mine"}, follow=True
    )
    assert "does not match the one started here" in response.content.decode()
    assert SalesforceConnection.load().refresh_token == ""


def test_jwt_bearer_connects_with_the_private_key(admin_client, sf_sandbox):
    base_url, cert_path = sf_sandbox
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    trusting_session(cert_path).post(f"{base_url}/_sandbox/settings", json={"jwt_public_key": public_pem})
    connection = SalesforceConnection.load()
    admin_client.post(
        SAVE_URL,
        form_data(
            connection,
            environment="production",
            auth_method="jwt",
            login_url=base_url,
            instance_url=base_url,
            allow_custom_endpoint="on",
            client_id="3MVG9-jwt",
            username="integration@example.com",
            new_private_key=private_pem,
        ),
    )
    assert SalesforceConnection.load().private_key == private_pem.strip()

    admin_client.post(ACTION_URL, {"action": "connect"})

    connection = SalesforceConnection.load()
    assert connection.status == ConnectionStatus.CONNECTED, connection.status_reason
    assert connection.access_token


def test_client_credentials_connect_and_a_refused_login_is_an_error(admin_client, sf_sandbox):
    base_url, cert_path = sf_sandbox
    trusting_session(cert_path).post(
        f"{base_url}/_sandbox/settings", json={"oauth_clients": {"3MVG9-cc": "right-secret"}}
    )
    connection = SalesforceConnection.load()
    data = form_data(
        connection,
        environment="production",
        auth_method="client_credentials",
        login_url=base_url,
        instance_url=base_url,
        allow_custom_endpoint="on",
        client_id="3MVG9-cc",
        new_client_secret="wrong-secret",
    )
    admin_client.post(SAVE_URL, data)
    response = admin_client.post(ACTION_URL, {"action": "connect"}, follow=True)
    connection = SalesforceConnection.load()
    assert connection.status == ConnectionStatus.ERROR
    # The category, not the token endpoint's words (invalid_client goes to the log).
    assert connection.status_reason.startswith("Authentication refused by Salesforce")
    assert "invalid_client" not in response.content.decode()
    assert "wrong-secret" not in response.content.decode()

    admin_client.post(SAVE_URL, {**data, "sf-new_client_secret": "right-secret"})
    admin_client.post(ACTION_URL, {"action": "connect"})
    assert SalesforceConnection.load().status == ConnectionStatus.CONNECTED


def test_missing_credentials_are_named(admin_client):
    connection = SalesforceConnection.load()
    admin_client.post(SAVE_URL, form_data(connection, environment="production", auth_method="jwt"))
    response = admin_client.post(ACTION_URL, {"action": "connect"}, follow=True)
    assert "JWT bearer needs: consumer key, username, private key." in response.content.decode()


def test_unreachable_org_is_an_error_with_its_reason(admin_client):
    connection = SalesforceConnection.load()
    admin_client.post(
        SAVE_URL,
        form_data(
            connection,
            environment="production",
            auth_method="token",
            instance_url="https://127.0.0.1:9",
            allow_custom_endpoint="on",
            new_access_token="00Dxx!token-that-must-not-leak",
        ),
    )
    response = admin_client.post(ACTION_URL, {"action": "test"}, follow=True)
    connection = SalesforceConnection.load()
    assert connection.status == ConnectionStatus.ERROR
    assert connection.status_reason.startswith("Could not connect to Salesforce")
    assert "token-that-must-not-leak" not in response.content.decode()


def test_disconnect_forgets_the_tokens(admin_client, sf_sandbox):
    admin_client.post(ACTION_URL, {"action": "sandbox"})
    SalesforceConnection.objects.update(refresh_token="5Aep-refresh")
    admin_client.post(ACTION_URL, {"action": "disconnect"})
    connection = SalesforceConnection.load()
    assert (connection.access_token, connection.refresh_token) == ("", "")
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert SettingChange.objects.filter(setting="salesforce.refresh_token", new_value="(cleared)").exists()


def test_secrets_are_write_only_an_empty_field_keeps_the_stored_value(admin_client):
    connection = SalesforceConnection.load()
    admin_client.post(
        SAVE_URL, form_data(connection, new_client_secret="first-secret-123", new_password="pw-secret-456")
    )
    assert SalesforceConnection.load().client_secret == "first-secret-123"

    page = admin_client.get(SETTINGS_URL, {"tab": "connection"}).content.decode()
    assert "first-secret-123" not in page and "pw-secret-456" not in page
    assert 'name="sf-new_client_secret"' in page and "Stored. Leave empty to keep it." in page

    admin_client.post(SAVE_URL, form_data(connection, username="someone@example.com", new_client_secret=""))
    connection = SalesforceConnection.load()
    assert (connection.client_secret, connection.username) == ("first-secret-123", "someone@example.com")
    audit = list(SettingChange.objects.filter(setting="salesforce.client_secret").values_list("new_value", flat=True))
    assert audit == ["(changed)"]


def test_a_bad_private_key_is_refused_without_echoing_it(admin_client):
    connection = SalesforceConnection.load()
    response = admin_client.post(SAVE_URL, form_data(connection, new_private_key="not-a-key-but-secret"), follow=True)
    html = response.content.decode()
    assert "Paste the whole PEM private key" in html
    assert "not-a-key-but-secret" not in html
    assert SalesforceConnection.load().private_key == ""


def test_connection_changes_need_the_permission(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw-123456789", is_staff=True)
    client.force_login(user)
    assert client.post(SAVE_URL, form_data(SalesforceConnection.load())).status_code == 403
    assert client.post(ACTION_URL, {"action": "sandbox"}).status_code == 403


# --------------------------------------------------------------------------------------------
# Field mappings


MAPPING_ADD = "/admin/integration/salesforce/settings/mappings/"


@pytest.fixture
def schema():
    ContactPropertyFactory(name="firstname", type="string")
    ContactPropertyFactory(name="numemployees", type="number")
    ContactPropertyFactory(name="opted_out", type="bool")
    ContactPropertyFactory(name="lifecyclestage", enum_values=["lead", "customer"])


@pytest.mark.parametrize(
    ("prop", "obj", "field", "accepted"),
    [
        ("numemployees", "Lead", "NumberOfEmployees", True),
        ("opted_out", "Lead", "Description", True),  # a yes/no into a text field is fine
        ("opted_out", "both", "HasOptedOutOfEmail", True),
        ("lifecyclestage", "Lead", "Status", True),
        ("firstname", "Lead", "NumberOfEmployees", False),  # text into a number
        ("firstname", "Lead", "Industry", False),  # text into a picklist
        ("numemployees", "Contact", "Birthdate", False),
        ("firstname", "Contact", "Company", False),  # no such field on Contact
        ("firstname", "both", "City", False),  # Contact has MailingCity, not City
        ("firstname", "Lead", "Nickname__c", True),  # custom field: cannot be checked offline
    ],
)
def test_mapping_types_are_checked(admin_client, schema, prop, obj, field, accepted):
    response = admin_client.post(
        MAPPING_ADD, {"hubspot_property": prop, "salesforce_object": obj, "salesforce_field": field, "rule": "two_way"}
    )
    exists = FieldMapping.objects.filter(salesforce_object=obj, salesforce_field=field, hubspot_property=prop).exists()
    assert exists is accepted
    if not accepted:
        assert response.status_code == 400
        html = response.content.decode()
        assert "Incompatible types" in html or "has no field" in html


def test_mapping_to_an_already_mapped_field_is_refused(admin_client, schema):
    # The default mappings (migration) already map Lead.FirstName via "both".
    response = admin_client.post(
        MAPPING_ADD,
        {
            "hubspot_property": "firstname",
            "salesforce_object": "Lead",
            "salesforce_field": "FirstName",
            "rule": "two_way",
        },
    )
    assert response.status_code == 400
    assert "FirstName is already mapped for this object." in response.content.decode()


def test_mapping_rule_change_and_delete_are_audited(admin_client):
    mapping = FieldMapping.objects.get(salesforce_object="both", salesforce_field="Phone")
    admin_client.post(reverse("integration:mapping_change", args=[mapping.pk]), {"rule": "prefer_salesforce"})
    assert FieldMapping.objects.get(pk=mapping.pk).rule == "prefer_salesforce"
    admin_client.post(reverse("integration:mapping_change", args=[mapping.pk]), {"action": "delete"})
    assert not FieldMapping.objects.filter(pk=mapping.pk).exists()
    values = list(
        SettingChange.objects.filter(setting="field_mapping").order_by("id").values_list("new_value", flat=True)
    )
    assert values == ["phone → both.Phone (prefer_salesforce)", ""]


def test_mappings_tab_lists_the_mappings_with_their_rules(admin_client):
    html = admin_client.get(SETTINGS_URL, {"tab": "mappings"}).content.decode()
    assert "MailingCountry" in html
    assert "Prefer Salesforce unless blank" in html and "Don&#x27;t sync" in html


def test_each_rule_is_explained_in_one_line_in_english_and_french(admin_client):
    english = admin_client.get(SETTINGS_URL, {"tab": "mappings"}).content.decode()
    assert "The most recent value wins, both ways" in english
    assert "HubSpot never writes to Salesforce, not even when creating a record" in english
    french = admin_client.get(SETTINGS_URL, {"tab": "mappings"}, headers={"accept-language": "fr"}).content.decode()
    assert "La valeur la plus récente l&#x27;emporte, dans les deux sens" in french
    assert "HubSpot n&#x27;écrit jamais dans Salesforce" in french


def test_the_email_takes_only_the_rules_hubspot_allows_for_it(admin_client):
    email = FieldMapping.objects.get(hubspot_property="email")
    assert email.rule == FieldMapping.Rule.PREFER_SALESFORCE, "HubSpot's default for the email"
    html = admin_client.get(SETTINGS_URL, {"tab": "mappings"}).content.decode()
    row = html[html.index(f'id="mapping-{email.pk}"') :].split("</tr>")[0]
    assert 'value="always_salesforce"' not in row and 'value="two_way"' in row

    response = admin_client.post(
        reverse("integration:mapping_change", args=[email.pk]), {"rule": "always_salesforce"}, follow=True
    )
    assert "The email can only be mapped Two-way or Prefer Salesforce unless blank" in response.content.decode()
    assert FieldMapping.objects.get(pk=email.pk).rule == FieldMapping.Rule.PREFER_SALESFORCE


# --------------------------------------------------------------------------------------------
# HubSpot


HS_ACTION_URL = "/admin/integration/hubspot/settings/connection/action/"
HS_SAVE_URL = "/admin/integration/hubspot/settings/connection/"


@pytest.fixture
def hs_sandbox(tmp_path, settings):
    from sandbox.testing import running_hubspot

    with running_hubspot(tmp_path) as base_url:
        settings.SANDBOX_HUBSPOT_URL = base_url
        yield base_url


def test_hubspot_use_sandbox_is_tested_by_reading_the_property_schema(admin_client, hs_sandbox):
    response = admin_client.post(HS_ACTION_URL, {"action": "sandbox"}, follow=True)
    assert HubSpotConnection.load().status == ConnectionStatus.SANDBOX
    assert "Connected: HubSpot answered with" in response.content.decode()


def test_hubspot_oauth_callback_stores_tokens_and_tests_them(admin_client, hs_sandbox):
    admin_client.post(
        HS_SAVE_URL,
        {
            "hs-environment": "production",
            "hs-auth_method": "oauth",
            "hs-base_url": hs_sandbox,
            "hs-allow_custom_endpoint": "on",
            "hs-client_id": "hs-app-client",
            "hs-portal_id": "",
            "hs-new_client_secret": "hs-app-secret",
        },
    )
    start = admin_client.post(HS_ACTION_URL, {"action": "connect"})
    authorize = urlparse(start["Location"])
    assert authorize.netloc == "app.hubspot.com"
    state = parse_qs(authorize.query)["state"][0]

    admin_client.get(reverse("integration:hubspot_oauth_callback"), {"code": "hs-code", "state": state})

    connection = HubSpotConnection.load()
    assert connection.access_token and connection.refresh_token
    assert connection.status == ConnectionStatus.CONNECTED, connection.status_reason
