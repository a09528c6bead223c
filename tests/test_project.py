"""The project as a whole: checks, migrations, production settings, every admin page renders."""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # Only what a deployment would set: not the test run's settings module and DEBUG, nor the
    # browser tests' DJANGO_ALLOW_ASYNC_UNSAFE.
    unset = ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY")
    base = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_system_check_is_clean():
    call_command("check", fail_level="WARNING")


@pytest.mark.django_db
def test_migrations_are_in_step_with_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def documented_production_env() -> dict[str, str]:
    """The environment the README's Deployment section gives, placeholders filled in."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n((?:\s*[A-Z_]+=.*\n)+)\s*```", readme[readme.index("## Deployment") :])
    assert block, "the README's Deployment section lists the production environment"
    documented = dict(line.strip().split("=", 1) for line in block.group(1).splitlines() if line.strip())
    filled = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    for name, value in documented.items():
        assert not value.startswith("<") or name in filled, f"{name}: no value to fill {value} with"
    return {**documented, **filled}


def test_production_settings_pass_check_deploy(tmp_path):
    """With the environment the README documents for production."""
    env = documented_production_env()
    for name in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SANDBOX", "TRUST_PROXY"):
        assert name in env, name
    result = manage("check", "--deploy", "--fail-level", "DEBUG", env={**env, "DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_without_the_sandbox_a_secret_key_must_be_set(tmp_path):
    result = manage("check", env={"DEBUG": "false", "SANDBOX": "false", "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when SANDBOX is false" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_sqlite_runs_in_wal_mode_with_busy_timeout(settings):
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("SQLite only")
    assert "journal_mode=WAL" in options["init_command"]
    assert options["timeout"] >= 5


def test_queue_settings_do_not_redeliver_forever(settings):
    q = settings.Q_CLUSTER
    assert q["timeout"] < q["retry"]
    assert q["max_attempts"] >= 1
    assert q["ack_failures"] is True


@pytest.mark.django_db
def test_every_admin_changelist_and_add_page_renders(admin_client, admin_user, rf):
    request = rf.get("/admin/")
    request.user = admin_user
    names = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        names.append(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        if model_admin.has_add_permission(request):
            names.append(f"admin:{opts.app_label}_{opts.model_name}_add")
    assert len(names) >= 10
    for name in names:
        response = admin_client.get(reverse(name))
        assert response.status_code == 200, f"{name}: {response.status_code}"


@pytest.mark.django_db
def test_admin_index_lists_the_three_apps(admin_client):
    response = admin_client.get(reverse("admin:index"))
    content = response.content.decode()
    for title in ("Contacts and lists", "Connected apps", "Sync"):
        assert title in content


@pytest.mark.django_db
def test_admin_speaks_french(admin_client):
    response = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="fr")
    content = response.content.decode()
    assert 'lang="fr"' in content
    for title in ("Contacts et listes", "Applications connectées", "Synchronisation"):
        assert title in content
