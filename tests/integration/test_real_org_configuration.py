"""Real orgs are reached by configuration alone (SANDBOX=false and the SALESFORCE_* variables)."""

from __future__ import annotations

import pytest

from integration.clients.salesforce import get_salesforce_client

pytestmark = pytest.mark.django_db


def test_environment_alone_points_the_client_at_the_org(settings, tmp_path, monkeypatch):
    key = tmp_path / "server.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n")
    settings.SANDBOX = False
    settings.SALESFORCE_INSTANCE_URL = "https://acme.my.salesforce.com"
    settings.SALESFORCE_LOGIN_URL = "https://login.salesforce.com"
    settings.SALESFORCE_AUTH_METHOD = "jwt"
    settings.SALESFORCE_CLIENT_ID = "3MVG9-consumer-key"
    settings.SALESFORCE_USERNAME = "integration@acme.example"
    settings.SALESFORCE_PRIVATE_KEY_FILE = str(key)
    client = get_salesforce_client()
    assert client.instance_url == "https://acme.my.salesforce.com"
    assert client.credentials.method == "jwt"
    assert client.credentials.client_id == "3MVG9-consumer-key"
    assert "not-a-real-key" in client.credentials.private_key
    assert "127.0.0.1" not in client.instance_url
