"""The HubSpot webhook: v3 signature and timestamp checked, refused otherwise; replays refused;
each event read with its types; Content-Length, depth and numbers checked by the JSON guard."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from integration.models import HubSpotConnection
from lists.models import Contact
from sync.models import WebhookSignature
from sync.webhooks import MAX_AGE_MS, MAX_BODY, signature_v3
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


# --- typed events ------------------------------------------------------------------------------


@pytest.fixture
def no_cycle(monkeypatch):
    monkeypatch.setattr("sync.webhooks.async_task", lambda *a, **k: None)


def merge(primary: int, merged: object) -> bytes:
    return json.dumps(
        [
            {
                "subscriptionType": "contact.merge",
                "objectId": primary,
                "primaryObjectId": primary,
                "mergedObjectIds": merged,
            }
        ]
    ).encode()


def test_merged_ids_given_as_text_archive_nothing(client, no_cycle):
    """A string "999" is refused, never read as the ids 9, 9 and 9."""
    nine, primary = ContactFactory(hubspot_id="9"), ContactFactory(hubspot_id="500")
    response = signed_post(client, merge(500, "999"))
    assert response.status_code == 400
    assert response.json()["refused"][0]["event"] == 0
    assert "mergedObjectIds" in response.json()["refused"][0]["message"]
    assert not Contact.objects.filter(pk__in=[nine.pk, primary.pk], archived=True).exists()


@pytest.mark.parametrize("merged", [999, ["999"], [True], [1.5], [-4], [2**63], {"999": 1}, []])
def test_merged_ids_that_are_not_a_list_of_integers_are_refused(client, no_cycle, merged):
    ContactFactory(hubspot_id="999")
    response = signed_post(client, merge(500, merged))
    assert response.status_code == 400
    assert len(response.json()["refused"]) == 1
    assert not Contact.objects.filter(archived=True).exists()


def test_a_malformed_event_is_refused_alone_and_the_rest_of_the_batch_applies(client, no_cycle):
    deleted = ContactFactory()
    body = json.dumps(
        [
            {"subscriptionType": "contact.deletion", "objectId": "12"},
            "not an event",
            {"subscriptionType": ["contact.deletion"], "objectId": 1},
            {"subscriptionType": "contact.deletion", "objectId": int(deleted.hubspot_id)},
        ]
    ).encode()
    response = signed_post(client, body)
    assert response.status_code == 200
    assert response.json()["handled"] == 1
    assert [entry["event"] for entry in response.json()["refused"]] == [0, 1, 2]
    assert list(Contact.objects.filter(archived=True).values_list("pk", flat=True)) == [deleted.pk]


def test_deep_nesting_is_a_400(client, no_cycle):
    response = signed_post(client, b"[" * 5_000 + b"]" * 5_000)
    assert response.status_code == 400
    assert "nested" in response.json()["message"]
    body = json.dumps([{"subscriptionType": "contact.creation", "objectId": 1, "x": [[[[[[[[[[]]]]]]]]]]}]).encode()
    assert signed_post(client, body).status_code == 400


def test_a_5000_digit_id_is_a_400(client, no_cycle):
    response = signed_post(client, b'[{"subscriptionType": "contact.deletion", "objectId": ' + b"9" * 5000 + b"}]")
    assert response.status_code == 400
    assert "$[0].objectId" in response.json()["message"]


# --- replays -------------------------------------------------------------------------------------


def test_a_replayed_signed_request_is_refused(client, no_cycle):
    deleted = ContactFactory()
    body = json.dumps([{"subscriptionType": "contact.deletion", "objectId": int(deleted.hubspot_id)}]).encode()
    timestamp = int(time.time() * 1000)
    assert signed_post(client, body, timestamp=timestamp).status_code == 200
    Contact.objects.filter(pk=deleted.pk).update(archived=False)
    # The same bytes again, from another client (as another web worker would receive them).
    replay = signed_post(Client(), body, timestamp=timestamp)
    assert replay.status_code == 409
    assert "replay" in replay.json()["message"]
    assert not Contact.objects.get(pk=deleted.pk).archived
    # A new delivery (a new timestamp, so a new signature) is accepted.
    assert signed_post(client, body, timestamp=timestamp + 1).status_code == 200


def test_signatures_are_kept_until_their_timestamp_expires_then_swept(client, no_cycle):
    now = int(time.time() * 1000)
    assert signed_post(client, b"[]", timestamp=now - MAX_AGE_MS + 1000).status_code == 200
    assert signed_post(client, b"[]", timestamp=now).status_code == 200
    expires = sorted(WebhookSignature.objects.values_list("expires_at", flat=True))
    assert [round(e.timestamp() * 1000) for e in expires] == [now + 1000, now + MAX_AGE_MS]
    # Once past its time, a signature is swept by the next request.
    WebhookSignature.objects.filter(expires_at=expires[0]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert signed_post(client, b"[]", timestamp=now + 1).status_code == 200
    assert WebhookSignature.objects.count() == 2


# --- Content-Length and headers --------------------------------------------------------------------


@pytest.mark.parametrize(("header", "status"), [("abc", 400), ("-1", 400), ("", 200), (str(MAX_BODY + 1), 413)])
def test_content_length_is_checked_before_the_body_is_read(client, no_cycle, header, status):
    ts = str(int(time.time() * 1000))
    signature = signature_v3(secret=SECRET, method="POST", uri=f"http://testserver{URL}", body=b"", timestamp=ts)
    response = client.post(
        URL,
        data=b"[]",
        content_type="application/json",
        CONTENT_LENGTH=header,
        HTTP_X_HUBSPOT_SIGNATURE_V3=signature,
        HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=ts,
    )
    assert response.status_code == status


def test_a_signature_header_with_non_ascii_characters_is_a_401(client):
    response = signed_post(client, b"[]", signature="é" * 44)
    assert response.status_code == 401
