"""``manage.py list_refresh LIST_ID``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from lists.models import ContactList, ContactProperty
from lists.services import list_create
from tests.lists.factories import ContactFactory, ContactPropertyFactory, filter_branch, property_filter

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored_list(db):
    ContactPropertyFactory(name="score", type=ContactProperty.Type.NUMBER)
    for score in (10, 60, 90):
        ContactFactory(properties={"score": score})
    return list_create(
        name="Hot",
        processing_type="DYNAMIC",
        filter_branch=filter_branch([property_filter("score", "NUMBER", "IS_GREATER_THAN", value=50)]),
    )


def test_refreshes_and_prints_the_size(scored_list):
    out = StringIO()
    call_command("list_refresh", str(scored_list.pk), stdout=out)
    scored_list.refresh_from_db()
    assert scored_list.processing_status == ContactList.ProcessingStatus.COMPLETE and scored_list.size == 2
    assert f"List {scored_list.pk} “Hot”: COMPLETE, 2 members" in out.getvalue()


def test_unknown_id_is_an_error(db):
    with pytest.raises(CommandError, match="No list with id 424242") as exc:
        call_command("list_refresh", "424242")
    assert exc.value.returncode == 1


def test_failed_list_exits_non_zero_with_the_error(scored_list):
    ContactProperty.objects.filter(name="score").delete()
    with pytest.raises(CommandError, match="FAILED: .*score") as exc:
        call_command("list_refresh", str(scored_list.pk), stdout=StringIO())
    assert exc.value.returncode == 1
    scored_list.refresh_from_db()
    assert scored_list.processing_status == ContactList.ProcessingStatus.FAILED


def test_shows_progress_on_big_lists(scored_list, monkeypatch):
    monkeypatch.setattr("lists.services.refresh.REFRESH_CHUNK_IDS", 1)
    out = StringIO()
    call_command("list_refresh", str(scored_list.pk), stdout=out)
    assert "Processing “Hot”: 33%" in out.getvalue()


def test_static_list_is_recounted(db):
    cl = list_create(name="Hand-picked", processing_type="MANUAL", filter_branch=None)
    out = StringIO()
    call_command("list_refresh", str(cl.pk), stdout=out)
    assert "COMPLETE, 0 members" in out.getvalue()
