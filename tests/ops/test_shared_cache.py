"""One cache for every process: Redis when REDIS_URL is set, else the database's cache table
(made by ``migrate``), never per-process memory. Proved with the webhook's debounce: two
processes receiving a HubSpot webhook at the same moment queue one sync cycle between them.

(The login throttle does not use the cache: its counters are atomic in Redis or the database,
and tests/test_login_throttle.py proves them across two gunicorn workers, on both stores.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tests.production_server import ROOT, manage, production_env
from tests.redis_server import redis_server

pytestmark = pytest.mark.slow

SECRET = "shared-cache-webhook-secret"

# One process receiving one signed webhook, once every process is ready (a barrier of files).
POST_WEBHOOK = """
import json, os, pathlib, time
from django.test import Client
from sync.webhooks import signature_v3
ready = pathlib.Path(os.environ["READY_DIR"])
(ready / str(os.getpid())).touch()
deadline = time.monotonic() + 120
while len(list(ready.iterdir())) < int(os.environ["PROCESSES"]) and time.monotonic() < deadline:
    time.sleep(0.01)
body = json.dumps([{"subscriptionType": "contact.propertyChange", "objectId": os.getpid()}]).encode()
ts = str(int(time.time() * 1000))
uri = "http://testserver/webhooks/hubspot/"
sig = signature_v3(secret=os.environ["HUBSPOT_CLIENT_SECRET"], method="POST", uri=uri, body=body, timestamp=ts)
response = Client().post(
    "/webhooks/hubspot/", data=body, content_type="application/json",
    HTTP_X_HUBSPOT_SIGNATURE_V3=sig, HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=ts,
)
print("STATUS", response.status_code)
"""

QUEUED = """
from django_q.brokers import get_broker
from django.conf import settings
print("BACKEND", settings.CACHES["default"]["BACKEND"])
print("QUEUED", get_broker().queue_size())
"""


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A database of TEST_REDIS_URL's server (.ci/with-postgres) no other test uses, else a
    throwaway redis-server."""
    import redis

    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        if os.environ.get("TEST_REDIS_URL"):
            url = url.rsplit("/", 1)[0] + "/7"
            redis.Redis.from_url(url).flushdb()
        yield url


def shell(env: dict[str, str], code: str) -> dict[str, str]:
    out = manage(env, "shell", "-c", code).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if line.split(" ", 1)[0].isupper())


@pytest.mark.parametrize("store", ["database", "redis"])
def test_two_processes_receiving_webhooks_together_queue_one_sync_cycle(store, request, tmp_path):
    extra = {"SECURE_SSL_REDIRECT": "false", "HUBSPOT_CLIENT_SECRET": SECRET, "PROCESSES": "2"}
    if store == "redis":
        extra["REDIS_URL"] = request.getfixturevalue("redis_url")
    env = production_env(tmp_path, **extra)
    manage(env, "migrate", "--noinput")
    before = shell(env, QUEUED)
    expected = {
        "database": "django.core.cache.backends.db.DatabaseCache",
        "redis": "django.core.cache.backends.redis.RedisCache",
    }
    assert before["BACKEND"] == expected[store]

    ready = tmp_path / f"ready-{uuid.uuid4().hex[:6]}"
    ready.mkdir()
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", POST_WEBHOOK],
            cwd=ROOT,
            env={**env, "READY_DIR": str(ready)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0 and "STATUS 200" in out, out + err

    # Both webhooks were handled; the debounce, shared between the processes, let one through.
    assert int(shell(env, QUEUED)["QUEUED"]) - int(before["QUEUED"]) == 1


def test_the_cache_table_is_made_by_migrate_and_shared_by_processes(tmp_path):
    env = production_env(tmp_path)
    manage(env, "migrate", "--noinput")
    first = shell(env, "from django.core.cache import cache\nprint('ADDED', cache.add('k', 'one', 60))")
    second = shell(
        env,
        "from django.core.cache import cache\nprint('ADDED', cache.add('k', 'two', 60))\nprint('VALUE', cache.get('k'))",
    )
    assert first == {"ADDED": "True"}
    assert second == {"ADDED": "False", "VALUE": "one"}
