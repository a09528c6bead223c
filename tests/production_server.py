"""The web process as ``make run`` starts it: the Procfile's ``web`` command (gunicorn, DEBUG
unset, whitenoise), in its own process group, on a free port, with its own DATA_DIR, database
and collected static files. For the tests of what production serves."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# What the test run sets or may set that a real `make run` would not have.
NOT_INHERITED = (
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "SECRET_KEY",
    "REDIS_URL",
    "TRUST_PROXY",
    "SECURE_SSL_REDIRECT",
    "SANDBOX",
    "ALLOWED_HOSTS",
)


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        key, _sep, command = line.partition(":")
        if key.strip() == name:
            return command.strip()
    raise LookupError(f"no {name!r} process in the Procfile")


def production_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(
        {
            "DATA_DIR": str(tmp / "data"),
            "DATABASE_URL": f"sqlite:///{tmp / 'app.sqlite3'}",
            "STATIC_ROOT": str(tmp / "static"),
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(env: dict[str, str], *, command: str | None = None, log: Path) -> Iterator[str]:
    """The web process (``command``: the Procfile's by default) until the block ends; yields its
    base URL."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", command or procfile_command("web")],
            cwd=ROOT,
            env={**env, "WEB_BIND": f"127.0.0.1:{port}"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for(port, process, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the web process exited ({process.returncode}):\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise AssertionError(f"the web process did not listen on {port}:\n{log.read_text()}")


def login_form(base: str) -> tuple[str, str]:
    """The CSRF cookie and the form's token of the admin's login page."""
    response = requests.get(f"{base}/admin/login/", timeout=30)
    assert response.status_code == 200, response.status_code
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
    assert token, response.text[:500]
    return response.cookies["csrftoken"], token.group(1)


def post_login(base: str, csrf: tuple[str, str], username: str, password: str) -> requests.Response:
    cookie, token = csrf
    return requests.post(
        f"{base}/admin/login/?next=/admin/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/admin/"},
        cookies={"csrftoken": cookie},
        allow_redirects=False,
        timeout=120,
    )
