"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-pass-1234")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in English: a French request through the test client leaves French
    active in this thread (LocaleMiddleware activates, nothing deactivates)."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")
