"""What a connection failure shows, and where an instance URL named by a token endpoint may lead.

- Instance URLs returned by token endpoints (login of the API client, OAuth web flow) are vetted
  before anything is sent there and before they are stored; their change is audited.
- Record links (sync log, record page, timeline) are only built on a vetted https instance URL.
- Connection errors are one of a fixed set of categories, never remote text or socket details;
  the details go to the log.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from requests.adapters import HTTPAdapter

from integration import failures
from integration.clients.salesforce import factory as sf_factory
from integration.models import SalesforceConnection, SettingChange
from integration.services import ConnectError, connections, salesforce_connection_test, salesforce_oauth_callback
from tests.integration.listener import Listener, closed_port
from tests.sync.factories import SyncRecordFactory

pytestmark = pytest.mark.django_db

ACTION = "/admin/integration/salesforce/settings/connection/action/"
PAGE = "/admin/integration/salesforce/settings/?tab=connection"


def shown(response) -> str:
    return response.content.decode()


# --------------------------------------------------------------------------------------------
# Instance URLs named by token endpoints


class TokenEndpoint(HTTPAdapter):
    """Answers every request with ``body`` (status ``status``) and records the URLs asked."""

    def __init__(self, body: dict, status: int = 200) -> None:
        super().__init__()
        self.body, self.status, self.urls = body, status, []

    def send(self, request, **kwargs):
        self.urls.append(request.url)
        response = requests.Response()
        response.status_code, response.url, response.request = self.status, request.url, request
        response._content = json.dumps(self.body).encode()
        response.headers["Content-Type"] = "application/json"
        return response


@contextmanager
def token_endpoint(body: dict, status: int = 200) -> Iterator[tuple[requests.Session, TokenEndpoint]]:
    session, adapter = requests.Session(), TokenEndpoint(body, status)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    yield session, adapter


def oauth_org() -> SalesforceConnection:
    SalesforceConnection.load()
    SalesforceConnection.objects.update(
        environment="production",
        auth_method="oauth_web",
        login_url="https://login.salesforce.com",
        instance_url="https://acme.my.salesforce.com",
        client_id="3MVG9-key",
        client_secret="consumer-secret-9",
        refresh_token="5Aep-refresh-10",
    )
    return SalesforceConnection.load()


FOREIGN = ["javascript:alert(document.cookie)//", "https://evil.example", "http://acme.my.salesforce.com"]


@pytest.mark.parametrize("named", FOREIGN)
def test_a_foreign_instance_url_from_a_login_is_refused_before_use_and_nothing_is_stored(monkeypatch, named):
    connection = oauth_org()
    with token_endpoint({"access_token": "00D!new-token", "instance_url": named}) as (session, endpoint):
        monkeypatch.setattr(
            connections, "get_salesforce_client", lambda: sf_factory.get_salesforce_client(session=session)
        )
        result = salesforce_connection_test(connection=connection)

    assert not result.ok
    assert result.message == failures.failure_message(failures.NOT_ENDPOINT, service="Salesforce")
    assert [urlsplit(url).hostname for url in endpoint.urls] == ["login.salesforce.com"]
    connection = SalesforceConnection.load()
    assert (connection.instance_url, connection.access_token) == ("https://acme.my.salesforce.com", "")
    assert connection.status_reason == result.message
    assert not SettingChange.objects.filter(setting="salesforce.instance_url").exists()


def test_a_vetted_instance_url_from_a_login_is_stored_and_its_change_audited(monkeypatch):
    connection = oauth_org()
    named = "https://acme--uat.sandbox.my.salesforce.com"
    with token_endpoint({"access_token": "00D!new-token", "instance_url": named}) as (session, _endpoint):
        monkeypatch.setattr(
            connections, "get_salesforce_client", lambda: sf_factory.get_salesforce_client(session=session)
        )
        assert salesforce_connection_test(connection=connection).ok
    assert SalesforceConnection.load().instance_url == named
    audit = SettingChange.objects.get(setting="salesforce.instance_url")
    assert (audit.old_value, audit.new_value, audit.detail) == (
        "https://acme.my.salesforce.com",
        named,
        {"source": "token endpoint"},
    )


@pytest.mark.parametrize("named", FOREIGN)
def test_the_oauth_callback_refuses_a_foreign_instance_url_and_stores_nothing(named):
    connection = oauth_org()
    SalesforceConnection.objects.update(refresh_token="")
    body = {"access_token": "00D!new", "refresh_token": "5Aep-new", "instance_url": named}
    with token_endpoint(body) as (session, _endpoint), pytest.raises(ConnectError) as refused:
        salesforce_oauth_callback(connection=connection, code="aPrx", redirect_uri="https://app/cb", session=session)
    assert str(refused.value) == failures.failure_message(failures.NOT_ENDPOINT, service="Salesforce")
    connection = SalesforceConnection.load()
    assert (connection.instance_url, connection.access_token, connection.refresh_token) == (
        "https://acme.my.salesforce.com",
        "",
        "",
    )


def test_a_refused_token_exchange_shows_a_category_not_the_remote_words(caplog):
    connection = oauth_org()
    body = {"error": "invalid_grant", "error_description": "REMOTE-SENTINEL call +1-555-0100"}
    with token_endpoint(body, status=400) as (session, _endpoint), pytest.raises(ConnectError) as refused:
        salesforce_oauth_callback(connection=connection, code="aPrx", redirect_uri="https://app/cb", session=session)
    assert str(refused.value) == failures.failure_message(failures.AUTH, service="Salesforce")
    assert "REMOTE-SENTINEL" in caplog.text  # for administrators, in the log


@pytest.mark.parametrize("stored", FOREIGN)
def test_record_links_are_only_built_on_a_vetted_https_instance_url(admin_client, stored):
    SalesforceConnection.load()
    SalesforceConnection.objects.update(environment="production", instance_url=stored)
    record = SyncRecordFactory(salesforce_object="Contact", salesforce_id="003000000000001AAA")
    record.contact.salesforce_id, record.contact.salesforce_object = "003000000000001AAA", "Contact"
    record.contact.save()
    pages = [
        reverse("admin:sync_syncrecord_changelist"),
        reverse("admin:sync_syncrecord_change", args=[record.pk]),
        reverse("sync:contact_timeline", args=[record.contact_id]),
    ]
    for url in pages:
        html = shown(admin_client.get(url))
        assert "003000000000001AAA" in html, url
        assert "/lightning/r/" not in html and 'href="javascript' not in html and "evil.example" not in html, url


# --------------------------------------------------------------------------------------------
# Connection errors as categories


def token_org(instance_url: str) -> None:
    SalesforceConnection.load()
    SalesforceConnection.objects.update(
        environment="production",
        auth_method="token",
        instance_url=instance_url,
        allow_custom_endpoint=True,
        access_token="00D!stored-token-11",
    )


@pytest.fixture
def viewer(django_user_model):
    """Staff who may only view the connection (a browser of their own)."""
    user = django_user_model.objects.create_user("viewer", password="pw-123456789", is_staff=True)
    for codename in ("view_syncsettings", "view_salesforceconnection"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    browser = Client()
    browser.force_login(user)
    return browser


REMOTE_TEXT = json.dumps([{"message": "REMOTE-SENTINEL session gone", "errorCode": "INVALID_SESSION_ID"}]).encode()


@pytest.mark.parametrize(
    ("server", "category", "detail"),
    [
        (None, failures.REFUSED, "Connection refused"),
        ({"tls": False}, failures.TLS, "WRONG_VERSION_NUMBER"),
        ({"body": b"<h1>REMOTE-SENTINEL welcome</h1>"}, failures.NOT_ENDPOINT, "JSONDecodeError"),
        ({"status": 401, "body": REMOTE_TEXT, "content_type": "application/json"}, failures.AUTH, "REMOTE-SENTINEL"),
    ],
    ids=["refused", "tls", "not-an-endpoint", "remote-text"],
)
def test_connection_errors_are_shown_as_a_category_never_remote_text_or_socket_details(
    admin_client, viewer, caplog, monkeypatch, tmp_path, server, category, detail
):
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(sf_factory, "SalesforceClient", _fast(sf_factory.SalesforceClient))
    if server is None:
        token_org(f"https://127.0.0.1:{closed_port()}")
        response = admin_client.post(ACTION, {"action": "test"}, follow=True)
    else:
        tls = server.pop("tls", True)
        with Listener(**server, cert_dir=tmp_path if tls else None) as listener:
            if tls:
                monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(listener.cert_path))
            # simple-salesforce always speaks https: a plain-http listener is a TLS failure.
            token_org(listener.url.replace("http://", "https://"))
            response = admin_client.post(ACTION, {"action": "test"}, follow=True)

    expected = failures.failure_message(category, service="Salesforce")
    assert SalesforceConnection.load().status_reason == expected
    assert expected.replace("'", "&#x27;") in shown(response)
    for page in (shown(response), shown(viewer.get(PAGE)), shown(viewer.get("/admin/integration/"))):
        for leak in ("REMOTE-SENTINEL", "Errno", "WRONG_VERSION", "SSLError", "JSONDecodeError", "Max retries"):
            assert leak not in page
    assert detail in caplog.text


def _fast(client_class):
    """The client without its back-off between retries (the categories, not the waits, are tested)."""

    class Fast(client_class):
        def __init__(self, **kwargs):
            super().__init__(**kwargs, max_retries=0, timeout=5)

    return Fast


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), failures.TIMEOUT),
        (requests.exceptions.ConnectTimeout("connect timed out"), failures.TIMEOUT),
        (socket.gaierror("Name or service not known"), failures.REFUSED),
        (ValueError("anything else"), failures.OTHER),
    ],
)
def test_each_network_failure_has_its_category(exc, category):
    assert failures.failure_category(exc) == category


def test_a_sync_run_stopped_by_a_refused_login_records_the_category_not_the_remote_words():
    from integration.clients.base import AuthError
    from sync.engine.errors import RunStopped
    from sync.services.cycle import _status_reason

    try:
        try:
            raise AuthError("REMOTE-SENTINEL Session expired or invalid", status=401, code="INVALID_SESSION_ID")
        except AuthError as exc:
            raise RunStopped(str(exc), category="connection") from exc
    except RunStopped as stopped:
        reason = _status_reason(stopped)
    assert reason == failures.failure_message(failures.AUTH, service="Salesforce")
    # The run's own words stay (no remote text in them).
    allocation = RunStopped("Daily API allocation of 10 calls reached.", category="api_limit")
    assert _status_reason(allocation) == "Daily API allocation of 10 calls reached."
