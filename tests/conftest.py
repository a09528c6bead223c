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
