"""Login throttling (config/throttle.py): 5 wrong passwords lock a username from an address for
15 minutes, the right password included, with a message saying so; then it works again."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import Client

from config import throttle

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/"
PASSWORD = "right-Password-4821"


@pytest.fixture(autouse=True)
def _empty_throttle():
    throttle._cache().clear()
    yield
    throttle._cache().clear()


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("ops", "ops@example.com", PASSWORD, is_staff=True)


def login(client: Client, password: str, username: str = "ops", **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password, "next": "/admin/"}, **extra)


def logged_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_five_wrong_passwords_lock_the_username_even_with_the_right_one(client, staff):
    for attempt in range(1, 5):
        response = login(client, f"wrong-{attempt}")
        assert response.status_code == 200
        assert "Please enter the correct username and password" in response.content.decode()
    fifth = login(client, "wrong-5")
    assert "Too many failed logins for this username. Try again in 15 minutes." in fifth.content.decode()

    refused = login(client, PASSWORD)
    assert refused.status_code == 200
    assert "Too many failed logins for this username. Try again in 15 minutes." in refused.content.decode()
    assert not logged_in(client)
    # The backend refuses too, whatever form asks it: the password is not even checked.
    assert authenticate(refused.wsgi_request, username="ops", password=PASSWORD) is None


def test_the_lock_expires_after_fifteen_minutes(client, staff, monkeypatch):
    for attempt in range(5):
        login(client, f"wrong-{attempt}")
    start = throttle._now()
    monkeypatch.setattr(throttle, "_now", lambda: start + 14 * 60)
    response = login(client, PASSWORD)
    assert "Try again in 1 minute." in response.content.decode()
    monkeypatch.setattr(throttle, "_now", lambda: start + 15 * 60 + 1)
    response = login(client, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert logged_in(client)


def test_the_lock_is_per_username_and_address(client, staff, django_user_model):
    django_user_model.objects.create_user("other", "other@example.com", PASSWORD, is_staff=True)
    for attempt in range(5):
        login(client, f"wrong-{attempt}")
    # Another address may still log in as ops (a stranger cannot lock the admin out from elsewhere);
    # the same address may still log in as someone else. Case does not dodge the lock.
    assert login(Client(), PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 302
    assert login(Client(), PASSWORD, username="other").status_code == 302
    assert "Too many failed logins" in login(Client(), PASSWORD, username="OPS").content.decode()


def test_a_successful_login_clears_the_count(client, staff):
    for attempt in range(4):
        login(client, f"wrong-{attempt}")
    assert login(Client(), PASSWORD).status_code == 302
    for attempt in range(4):
        login(client, f"again-wrong-{attempt}")
    assert login(client, PASSWORD).status_code == 302


def test_the_message_is_translated(client, staff):
    for attempt in range(5):
        login(client, f"wrong-{attempt}")
    response = login(client, PASSWORD, headers={"accept-language": "fr"})
    assert "Trop de connexions échouées pour cet identifiant. Réessayez dans 15 minutes." in (response.content.decode())
