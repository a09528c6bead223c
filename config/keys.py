"""The secret key a deployment did not set: generated once, kept in DATA_DIR.

``make run`` serves with DEBUG=false, which needs a real secret key; a newcomer should not have
to invent one, and a key written in the source would sign every demo's sessions alike. So the
first process to start writes a random key to ``DATA_DIR/secret_key`` (readable by its owner
only) and every later process, the web server's workers, the django-q2 worker and the next
``make run``, reads the same one. Plain Python: settings import it before Django is set up.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# 50 random bytes as URL-safe text: 67 characters, well past check --deploy's 50.
KEY_BYTES = 50


def stored_secret_key(path: Path) -> str:
    """The key kept in ``path``, made on first use."""
    if not path.exists():
        _create(path)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 50:
        raise ImproperlyConfigured(
            f"{path} does not hold a secret key: delete it to make a new one, or set SECRET_KEY."
        )
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, then linked into place: processes starting together (honcho starts three)
    # read either no file or a whole key, and the first link wins for all of them.
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as stream:
            stream.write(secrets.token_urlsafe(KEY_BYTES) + "\n")
        os.link(aside, path)
    except FileExistsError:
        pass  # another process was first: its key is the one
    finally:
        aside.unlink(missing_ok=True)
