"""Encryption at rest for connection secrets (Fernet, keyed by FIELD_ENCRYPTION_KEY)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models

PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt(value: str) -> str:
    if not value:
        return ""
    return PREFIX + _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        raise ValueError("Stored secret is not encrypted.")
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY.") from exc


class EncryptedTextField(models.TextField):
    """A text column whose value is encrypted before it reaches the database.

    Python code sees plain text; the column holds ``fernet:<token>``. A value that cannot be
    decrypted (the key changed) reads as an empty string so pages still render and the admin
    can enter the secret again.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else ""

    def from_db_value(self, value, expression, connection):
        try:
            return decrypt(value)
        except ValueError:
            return ""
