"""Helpers for the tests that run the app in other processes (workers killed, restarted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sandbox.hubspot import HubSpotStore
from sandbox.hubspot.seed import seed_contacts

ROOT = Path(__file__).resolve().parents[2]

# A `manage.py shell -c` script: an inclusion list of every contact with an email, chosen.
SETUP_LIST = """
from integration.models import SyncSettings
from integration.services import inclusion_list_set
from lists.services import list_create, list_refresh
from bench.bench_sync import email_known
contact_list = list_create(name="Everyone with an email", processing_type="DYNAMIC", filter_branch=email_known())
list_refresh(contact_list=contact_list)
inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
print(contact_list.pk)
"""


def manage(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def seed_store(hubspot_db: Path, *, count: int, seed: int) -> set[str]:
    """Seed the HubSpot sandbox's store; returns the lower-case emails it holds."""
    hubspot_db.parent.mkdir(parents=True, exist_ok=True)
    store = HubSpotStore(hubspot_db)
    try:
        seed_contacts(store, count=count, seed=seed)
        rows = store.read().execute("SELECT json_extract(props, '$.email') FROM contact WHERE archived = 0")
        return {row[0].lower() for row in rows if row[0]}
    finally:
        store.close()


def app_env(app_db: Path, data_dir: Path, hubspot_url: str, sf) -> dict:
    """The environment of an app process on its own SQLite file, pointed at both emulators."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")},
        "DATABASE_URL": f"sqlite:///{app_db}",
        "SANDBOX": "true",
        "SANDBOX_HUBSPOT_URL": hubspot_url,
        "SANDBOX_SALESFORCE_URL": sf.url,
        "SANDBOX_SALESFORCE_CERT": str(sf.cert_path),
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
    }
    return env
