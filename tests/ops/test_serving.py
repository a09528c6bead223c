"""The web process as it is started for real, checked from outside: the Procfile's web line
(``make run``) and the gunicorn command the README documents for production, each run as written
in its own process group on a free port, with a temporary DATA_DIR and database.

Served by gunicorn (``Server: gunicorn``) with ``WEB_CONCURRENCY`` worker processes, DEBUG off
(a 404 is Django's plain page, static files come from whitenoise), plain http for the demo and
https required in production, except ``/healthz`` for the probes; ``/metrics`` with its token.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.production_server import ROOT, manage, procfile_command, production_env, served

pytestmark = pytest.mark.slow

TOKEN = "served-metrics-token-0123456789"
# Set by the test run or a developer's shell, never by `make run` or the documented command.
NOT_DOCUMENTED = ("WEB_CONCURRENCY", "WEB_THREADS", "METRICS_TOKEN", "HEALTH_WORKER_MAX_AGE_SECONDS")

HEARTBEAT = """
from django.utils import timezone
from sync.models import SyncRun
SyncRun.objects.create(status=SyncRun.Status.SUCCEEDED, heartbeat_at=timezone.now(), finished_at=timezone.now())
"""


def documented_deployment() -> tuple[list[str], str]:
    """The README's Deployment commands: the set-up lines, and the gunicorn command."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Deployment") :]
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if any("gunicorn" in line for line in lines):
            assert "gunicorn" in lines[-1], lines
            return lines[:-1], lines[-1]
    raise AssertionError("the README's Deployment section shows no gunicorn command")


def environment(tmp: Path, **extra: str) -> dict[str, str]:
    env = production_env(tmp, **extra)
    for name in NOT_DOCUMENTED:
        if name not in extra:
            env.pop(name, None)
    return env


def prepared(tmp: Path, **extra: str) -> dict[str, str]:
    """A database set up by the README's own commands, and a worker's recent heartbeat."""
    env = environment(tmp, **extra)
    setup, _command = documented_deployment()
    for line in setup:
        result = subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
    manage(env, "shell", "-c", HEARTBEAT)
    return env


def gunicorn_workers(session_leader: int) -> int:
    """Worker processes of the gunicorn master in the process group of ``session_leader``."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        ppid, pgid = int(fields[1]), int(fields[2])
        if pgid == session_leader and b"gunicorn" in cmdline:
            processes[int(entry.name)] = ppid
    masters = [pid for pid, ppid in processes.items() if ppid not in processes]
    assert len(masters) == 1, processes
    return sum(1 for ppid in processes.values() if ppid == masters[0])


def assert_served_without_debug(base: str) -> None:
    # As through the TLS proxy in production (the demo, without TRUST_PROXY, ignores the header).
    https = {"X-Forwarded-Proto": "https"}
    missing = requests.get(f"{base}/no-such-page/", headers=https, allow_redirects=False, timeout=30)
    assert missing.status_code == 404
    assert missing.headers["Server"] == "gunicorn"
    assert "Not Found" in missing.text and "Traceback" not in missing.text and "DEBUG" not in missing.text
    login = requests.get(f"{base}/admin/login/", headers=https, allow_redirects=False, timeout=30)
    assert login.status_code == 200, login.status_code
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login.text)
    assert css, login.text[:500]
    static = requests.get(base + css.group(1), headers=https, allow_redirects=False, timeout=30)
    assert static.status_code == 200 and "immutable" in static.headers["Cache-Control"]
    assert static.headers["Server"] == "gunicorn"


def test_the_procfile_web_line_serves_the_demo_with_gunicorn_on_plain_http(tmp_path):
    assert "gunicorn" in procfile_command("web")
    env = prepared(tmp_path, WEB_CONCURRENCY="3")
    with served(env, log=tmp_path / "web.log") as base:
        health = requests.get(f"{base}/healthz", timeout=30)
        assert health.status_code == 200, health.text
        assert health.headers["Server"] == "gunicorn"
        assert health.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "worker": "ok"}}
        # The demo's plain http: no redirect to https.
        login = requests.get(f"{base}/admin/login/", allow_redirects=False, timeout=30)
        assert login.status_code == 200
        assert_served_without_debug(base)
        # No METRICS_TOKEN: no metrics.
        assert requests.get(f"{base}/metrics", timeout=30).status_code == 404
        assert gunicorn_workers(_leader_of(base)) == 3


def _leader_of(base: str) -> int:
    """The process group of the gunicorn listening on ``base``'s port."""
    port = base.rsplit(":", 1)[1]
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state, inode = line.split()[1], line.split()[3], line.split()[9]
        if int(local.rsplit(":", 1)[1], 16) == int(port) and state == "0A":
            inodes.add(inode)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return os.getpgid(int(entry.name))
    raise AssertionError(f"nothing listens on {port}")


def test_the_documented_gunicorn_command_serves_production(tmp_path):
    env = prepared(tmp_path, METRICS_TOKEN=TOKEN, TRUST_PROXY="true")
    assert "SECURE_SSL_REDIRECT" not in env  # production's default: https required
    _setup, command = documented_deployment()
    with served(env, command=command, log=tmp_path / "web.log") as base:
        # Plain http goes to https, except the probes' /healthz.
        plain = requests.get(f"{base}/admin/login/", allow_redirects=False, timeout=30)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
        health = requests.get(f"{base}/healthz", allow_redirects=False, timeout=30)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert health.headers["Server"] == "gunicorn"
        # The bearer token never travels over plain http: redirected before it is read.
        over_http = requests.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, allow_redirects=False, timeout=30
        )
        assert over_http.status_code == 301
        https = {"X-Forwarded-Proto": "https"}  # the TLS proxy's header (TRUST_PROXY=true)
        refused = requests.get(f"{base}/metrics", headers=https, timeout=30)
        assert refused.status_code == 401
        scraped = requests.get(f"{base}/metrics", headers={**https, "Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert scraped.status_code == 200, scraped.text[:500]
        names = {family.name for family in text_string_to_metric_families(scraped.text)}
        assert {"inclusion_sync_pending", "inclusion_sync_records", "inclusion_sync_list_members"} <= names
        assert_served_without_debug(base)
        assert gunicorn_workers(_leader_of(base)) == 2  # WEB_CONCURRENCY's default


def test_health_names_the_database_when_the_web_process_cannot_reach_it(tmp_path):
    env = environment(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'no-such-folder' / 'app.sqlite3'}")
    manage(env, "collectstatic", "--noinput")
    with served(env, log=tmp_path / "web.log") as base:
        response = requests.get(f"{base}/healthz", timeout=30)
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "checks": {"database": "unreachable", "migrations": "skipped", "worker": "skipped"},
        "failing": ["database"],
    }
    assert "Traceback" not in response.text
