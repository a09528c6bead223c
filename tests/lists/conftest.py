"""Fixtures of the services tests (``test_services.py``, ``test_services_refresh.py``); a test
module defining its own ``schema`` uses that one."""

from __future__ import annotations

import pytest

from lists.models import ContactProperty
from tests.lists.factories import ContactPropertyFactory


@pytest.fixture
def schema(db):
    ContactPropertyFactory(name="email")
    ContactPropertyFactory(name="country")
    ContactPropertyFactory(name="numemployees", type=ContactProperty.Type.NUMBER)
    ContactPropertyFactory(name="lifecyclestage", enum_values=["lead", "customer"])


@pytest.fixture
def enqueued(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr("lists.services.edit.async_task", lambda func, *args, **kw: calls.append((func, *args)))
    return calls
