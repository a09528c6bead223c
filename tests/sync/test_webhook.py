"""The HubSpot webhook: v3 signature and timestamp checked, refused otherwise."""

from __future__ import annotations

import json
import time

import pytest

from integration.models import HubSpotConnection
from lists.models import Contact
from sync.webhooks import signature_v3
from tests.lists.factories import ContactFactory

pytestmark = pytest.mark.django_db

URL = "/webhooks/hubspot/"
SECRET = "webhook-client-secret"


@pytest.fixture(autouse=True)
def secret():
    conn = HubSpotConnection.load()
    conn.client_secret = SECRET
    conn.save()


def signed_post(client, body: bytes, *, secret: str = SECRET, timestamp: int | None = None, signature=None):
    ts = str(timestamp if timestamp is not None else int(time.time() * 1000))
    sig = signature or signature_v3(
        secret=secret, method="POST", uri=f"http://testserver{URL}", body=body, timestamp=ts
    )
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_HUBSPOT_SIGNATURE_V3=sig,
        HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=ts,
    )


def test_valid_signature_is_accepted(client, monkeypatch):
    calls = []
    monkeypatch.setattr("sync.webhooks.async_task", lambda *a, **k: calls.append(a))
    body = json.dumps([{"subscriptionType": "contact.propertyChange", "objectId": 1}]).encode()
    response = signed_post(client, body)
    assert response.status_code == 200, response.content
    assert response.json()["events"] == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "wrong-secret"},
        {"timestamp": int(time.time() * 1000) - 6 * 60 * 1000},
        {"signature": "bm90IGEgc2lnbmF0dXJl"},
    ],
    ids=["bad-secret", "old-timestamp", "garbage-signature"],
)
def test_bad_signatures_and_old_timestamps_are_refused(client, kwargs):
    response = signed_post(client, b"[]", **kwargs)
    assert response.status_code == 401


def test_unsigned_request_is_refused(client):
    assert client.post(URL, data=b"[]", content_type="application/json").status_code == 401


def test_no_secret_configured_refuses_everything(client):
    conn = HubSpotConnection.load()
    conn.client_secret = ""
    conn.save()
    assert signed_post(client, b"[]").status_code == 403


def test_malformed_json_is_a_clear_400_not_a_500(client):
    response = signed_post(client, b"{not json")
    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
    assert signed_post(client, b'{"an": "object"}').status_code == 400


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_deletion_and_merge_events_archive_the_contacts(client, monkeypatch):
    monkeypatch.setattr("sync.webhooks.async_task", lambda *a, **k: None)
    deleted, merged_away, primary = ContactFactory(), ContactFactory(), ContactFactory()
    body = json.dumps(
        [
            {"subscriptionType": "contact.deletion", "objectId": int(deleted.hubspot_id)},
            {
                "subscriptionType": "contact.merge",
                "objectId": int(primary.hubspot_id),
                "primaryObjectId": int(primary.hubspot_id),
                "mergedObjectIds": [int(merged_away.hubspot_id), int(primary.hubspot_id)],
            },
        ]
    ).encode()
    response = signed_post(client, body)
    assert response.status_code == 200
    assert response.json()["handled"] == 2
    archived = set(Contact.objects.filter(archived=True).values_list("pk", flat=True))
    assert archived == {deleted.pk, merged_away.pk}
