"""Password-guessing throttling (config/throttle.py): 5 wrong passwords lock a username from an
address for 15 minutes, the right password included, with a message saying so; then it works
again. Attempts are reserved before the password is checked, so guesses sent together are
counted together, under gunicorn as ``make run`` serves, with the count in the database or in
Redis; the password-change form's old-password check shares the count."""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.test import Client

from config import throttle
from tests.production_server import login_form, manage, post_login, procfile_command, production_env, served
from tests.redis_server import redis_server

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/"
PASSWORD_CHANGE_URL = "/admin/password_change/"
PASSWORD = "right-Password-4821"
LOCKED = "Too many failed logins for this username."


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("ops", "ops@example.com", PASSWORD, is_staff=True)


@pytest.fixture
def password_checks(monkeypatch) -> list[str]:
    """Every password really checked, in this process."""
    checked: list[str] = []
    original = AbstractBaseUser.check_password

    def counted(user, raw_password):
        checked.append(raw_password)
        return original(user, raw_password)

    monkeypatch.setattr(AbstractBaseUser, "check_password", counted)
    return checked


def login(client: Client, password: str, username: str = "ops", **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password, "next": "/admin/"}, **extra)


def logged_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_five_wrong_passwords_lock_the_username_even_with_the_right_one(client, staff, password_checks):
    for attempt in range(1, 5):
        response = login(client, f"wrong-{attempt}")
        assert response.status_code == 200
        assert "Please enter the correct username and password" in response.content.decode()
    fifth = login(client, "wrong-5")
    assert f"{LOCKED} Try again in 15 minutes." in fifth.content.decode()

    refused = login(client, PASSWORD)
    assert refused.status_code == 200
    assert f"{LOCKED} Try again in 15 minutes." in refused.content.decode()
    assert not logged_in(client)
    # The backend refuses too, whatever form asks it: the password is not even checked.
    assert authenticate(refused.wsgi_request, username="ops", password=PASSWORD) is None
    assert password_checks == [f"wrong-{attempt}" for attempt in range(1, 6)]


def test_the_lock_expires_after_fifteen_minutes(client, staff, monkeypatch):
    start = throttle._now()
    monkeypatch.setattr(throttle, "_now", lambda: start)
    for attempt in range(5):
        login(client, f"wrong-{attempt}")
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
    assert LOCKED in login(Client(), PASSWORD, username="OPS").content.decode()


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


# --------------------------------------------------------------------------------------------
# The old password of "Change password"


def change_password(client: Client, old: str):
    return client.post(
        PASSWORD_CHANGE_URL,
        {"old_password": old, "new_password1": "n3w-Passw0rd-8812", "new_password2": "n3w-Passw0rd-8812"},
    )


def test_the_old_password_check_of_password_change_is_throttled(client, staff, password_checks):
    client.force_login(staff)
    for attempt in range(1, 5):
        response = change_password(client, f"wrong-{attempt}")
        assert "Your old password was entered incorrectly" in response.content.decode()
    assert f"{LOCKED} Try again in 15 minutes." in change_password(client, "wrong-5").content.decode()

    refused = change_password(client, PASSWORD)
    assert refused.status_code == 200
    assert f"{LOCKED} Try again in 15 minutes." in refused.content.decode()
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)
    password_checks.clear()
    # One count for both forms: the login form refuses this username from here too, unchecked.
    assert LOCKED in login(Client(), PASSWORD).content.decode()
    assert password_checks == []


def test_the_right_old_password_changes_it_and_clears_the_count(client, staff):
    client.force_login(staff)
    for attempt in range(4):
        change_password(client, f"wrong-{attempt}")
    response = change_password(client, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/password_change/done/"
    for attempt in range(4):
        login(Client(), f"wrong-{attempt}")
    assert login(Client(), "n3w-Passw0rd-8812").status_code == 302


# --------------------------------------------------------------------------------------------
# Guesses sent together, against the web process as `make run` starts it

LOCKOUT_SECONDS = 5
# Each worker counts the passwords it checks in CHECKS_FILE, and checks slowly: with twenty
# requests in flight, every one of them would pass a check-then-count throttle.
COUNTING_GUNICORN = """
import os
import time

exec(open({product!r}).read())


def post_worker_init(worker):
    from django.contrib.auth.base_user import AbstractBaseUser

    original = AbstractBaseUser.check_password

    def counted(self, raw_password):
        with open(os.environ["CHECKS_FILE"], "a") as checks:
            checks.write(raw_password + "\\n")
        time.sleep(0.4)
        return original(self, raw_password)

    AbstractBaseUser.check_password = counted
"""


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """TEST_REDIS_URL (.ci/with-postgres), else a throwaway redis-server."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def server_database_url(tmp_path):
    """The web process's own database: on PostgreSQL when the suite runs there (a database made
    for it beside the test database), else a SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'app.sqlite3'}"
        return
    import psycopg

    name = f"throttle_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
@pytest.mark.parametrize("store", ["database", "redis"])
def test_twenty_parallel_wrong_passwords_cost_twenty_attempts(store, request, tmp_path, server_database_url):
    extra = {
        "LOGIN_LOCKOUT_SECONDS": str(LOCKOUT_SECONDS),
        "CHECKS_FILE": str(tmp_path / "checks"),
        "DATABASE_URL": server_database_url,
    }
    if store == "redis":
        extra["REDIS_URL"] = request.getfixturevalue("redis_url")
    env = production_env(tmp_path, **extra)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    username = f"ops-{uuid.uuid4().hex[:8]}"  # a Redis shared with other tests starts from nothing
    manage(
        {**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
        "createsuperuser",
        "--noinput",
        "--username",
        username,
        "--email",
        "ops@example.com",
    )
    product = procfile_command("web")
    assert "config/gunicorn_settings.py" in product
    conf = tmp_path / "counting_gunicorn.py"
    conf.write_text(COUNTING_GUNICORN.format(product=str(Path("config/gunicorn_settings.py").resolve())))
    command = product.replace("config/gunicorn_settings.py", str(conf)) + " --workers 2 --threads 10"
    checks = tmp_path / "checks"

    def checked() -> list[str]:
        return checks.read_text().split() if checks.exists() else []

    with served(env, command=command, log=tmp_path / "web.log") as base:
        csrf = login_form(base)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(lambda n: post_login(base, csrf, username, f"wrong-{n}"), range(20)))
        assert [answer.status_code for answer in answers] == [200] * 20
        # Five attempts, five checks: the fifteen others were refused unchecked.
        assert len(checked()) == 5, checked()
        assert sum(LOCKED in answer.text for answer in answers) >= 15

        refused = post_login(base, csrf, username, PASSWORD)
        assert refused.status_code == 200 and LOCKED in refused.text
        assert len(checked()) == 5

        time.sleep(max(0.0, started + LOCKOUT_SECONDS + 1 - time.monotonic()))
        accepted = post_login(base, csrf, username, PASSWORD)
        assert accepted.status_code == 302, accepted.text[:500]
        assert checked()[-1] == PASSWORD and len(checked()) == 6
