"""What the web process serves when started as ``make run`` starts it (the Procfile's ``web``
command: gunicorn, DEBUG unset, whitenoise), and what it believes of the headers it is sent.

No page shows debug information, whatever goes wrong; static files are served without DEBUG;
the secret key is generated once and kept; X-Forwarded-Proto counts only behind a proxy
(TRUST_PROXY=true)."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import requests

from tests.production_server import manage, production_env, served

pytestmark = pytest.mark.slow

# In the environment of the web process: a debug page would show it (DEBUG=true prints the
# process environment and the settings on every 500).
ENV_SENTINEL = "zq7environment-sentinel"
DEBUG_MARKS = ("Traceback", "DEBUG = True", "Request information", "SECRET_KEY", "settings.py", ENV_SENTINEL)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    """The web process of `make run`: static files collected, the database left unmigrated so a
    session lookup fails (the 500 below)."""
    tmp = tmp_path_factory.mktemp("demo")
    env = production_env(tmp, GATE_SENTINEL=ENV_SENTINEL)
    manage(env, "collectstatic", "--noinput")
    with served(env, log=tmp / "web.log") as base:
        yield {"base": base, "env": env, "tmp": tmp}


def assert_no_debug_information(response: requests.Response) -> None:
    for mark in DEBUG_MARKS:
        assert mark not in response.text, f"{mark!r} on a {response.status_code} page"


def test_a_missing_page_is_a_plain_404(demo):
    response = requests.get(f"{demo['base']}/no-such-page/", timeout=30)
    assert response.status_code == 404
    assert_no_debug_information(response)
    assert "Not Found" in response.text


def test_a_server_error_is_a_plain_500(demo):
    # The database has no session table: loading the session fails inside the app.
    response = requests.get(f"{demo['base']}/admin/", cookies={"sessionid": "x" * 32}, timeout=30)
    assert response.status_code == 500
    assert_no_debug_information(response)
    assert "Server Error (500)" in response.text


def test_static_files_are_served_by_whitenoise_without_debug(demo):
    login = requests.get(f"{demo['base']}/admin/login/", timeout=30)
    assert login.status_code == 200
    # The admin's stylesheet under its hashed name, cached for good, and its compressed copy.
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login.text)
    assert css, login.text[:1000]
    response = requests.get(demo["base"] + css.group(1), headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers.get("Content-Encoding") == "gzip"
    assert ".module" in response.text  # the real stylesheet


def test_the_secret_key_is_generated_once_and_kept_private(demo):
    key_file = Path(demo["env"]["DATA_DIR"]) / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 50
    # Every later process (the worker, the next `make run`) reads the same key.
    printed = manage(demo["env"], "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)")
    assert printed.stdout.strip().splitlines()[-1] == key
    assert key_file.read_text().strip() == key


# --------------------------------------------------------------------------------------------
# X-Forwarded-Proto


@pytest.mark.parametrize("trust_proxy", [False, True])
def test_x_forwarded_proto_is_believed_only_behind_a_trusted_proxy(trust_proxy, tmp_path):
    # A deployment's configuration: https required (SECURE_SSL_REDIRECT's default).
    env = production_env(tmp_path, SECURE_SSL_REDIRECT="true", **({"TRUST_PROXY": "true"} if trust_proxy else {}))
    manage(env, "collectstatic", "--noinput")
    with served(env, log=tmp_path / "web.log") as base:
        plain = requests.get(f"{base}/admin/login/", allow_redirects=False, timeout=30)
        claimed = requests.get(
            f"{base}/admin/login/", headers={"X-Forwarded-Proto": "https"}, allow_redirects=False, timeout=30
        )
    # Plain http is sent to https either way.
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    if trust_proxy:
        # The proxy says the client used https: served, with the headers of a secure response.
        assert claimed.status_code == 200
        assert "Strict-Transport-Security" in claimed.headers
    else:
        # Anyone can send the header: it changes nothing.
        assert claimed.status_code == 301 and claimed.headers["Location"].startswith("https://")
        assert "Strict-Transport-Security" not in claimed.headers
