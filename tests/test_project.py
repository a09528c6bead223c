"""The project as a whole: checks, migrations, production settings, every admin page renders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a production check.
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
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


def test_production_settings_pass_check_deploy(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DEBUG": "false",
            "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-" + "y" * 20,
            "FIELD_ENCRYPTION_KEY": "fcDNeGRKzA8ArL0b3B3pQ1rUXxvwSFC6jsOSqIxAJfs=",
            "ALLOWED_HOSTS": "sync.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["DEBUG"] = "false"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


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
