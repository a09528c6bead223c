"""django-q2 tasks of lists, run through django-q2 itself in sync mode."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule, Task

from lists.models import ContactList, ContactProperty, ListMembership
from lists.services import list_create, list_update
from lists.tasks import list_refresh_task, lists_refresh_rolling_task
from sync.schedules import ROLLING_SCHEDULE as ROLLING_SCHEDULE_NAME
from sync.schedules import ensure_schedules
from tests.lists.factories import ContactFactory, ContactPropertyFactory, filter_branch, property_filter

pytestmark = pytest.mark.django_db
Status = ContactList.ProcessingStatus


@pytest.fixture
def sync_queue(settings, monkeypatch):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    # django-q2 reads its configuration once, at import.
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def schema(db):
    ContactPropertyFactory(name="country")
    ContactPropertyFactory(name="createdate", type=ContactProperty.Type.DATETIME)


def country_is(value: str) -> dict:
    return filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value=value)])


def test_saving_an_active_list_computes_it_through_the_queue(schema, sync_queue, django_capture_on_commit_callbacks):
    fr = ContactFactory(properties={"country": "France"})
    ContactFactory(properties={"country": "Spain"})
    with django_capture_on_commit_callbacks(execute=True):
        cl = list_create(name="French", processing_type="DYNAMIC", filter_branch=country_is("France"))
    cl.refresh_from_db()
    assert (cl.processing_status, cl.size) == (Status.COMPLETE, 1)
    assert set(ListMembership.objects.values_list("contact_id", flat=True)) == {fr.pk}
    task = Task.objects.get()
    assert task.func == "lists.tasks.list_refresh_task" and task.success

    with django_capture_on_commit_callbacks(execute=True):
        list_update(contact_list=cl, filter_branch=country_is("Spain"))
    cl.refresh_from_db()
    assert (cl.version, cl.processing_status, cl.size) == (2, Status.COMPLETE, 1)


def test_a_task_for_replaced_criteria_does_nothing(schema):
    ContactFactory(properties={"country": "France"})
    cl = list_create(name="French", processing_type="DYNAMIC", filter_branch=country_is("France"))
    list_update(contact_list=cl, filter_branch=country_is("Spain"))
    assert list_refresh_task(cl.pk, 1) is None
    cl.refresh_from_db()
    assert cl.processing_status == Status.PROCESSING and not ListMembership.objects.exists()
    assert list_refresh_task(cl.pk, 2) == Status.COMPLETE


def test_a_task_for_a_deleted_list_does_nothing(db):
    assert list_refresh_task(123456, 1) is None


def test_rolling_date_lists_are_refreshed_daily(schema):
    now = timezone.now()
    day = 24 * 3600 * 1000
    recent = ContactFactory(properties={"createdate": int(now.timestamp() * 1000) - 2 * day})
    rolling = list_create(
        name="Created this week",
        processing_type="DYNAMIC",
        filter_branch=filter_branch(
            [property_filter("createdate", "ROLLING_DATE_RANGE", "IS_LESS_THAN_X_DAYS_AGO", numberOfDays=7)]
        ),
    )
    fixed = list_create(name="French", processing_type="DYNAMIC", filter_branch=country_is("France"))
    assert lists_refresh_rolling_task() == 1
    rolling.refresh_from_db()
    fixed.refresh_from_db()
    assert rolling.processing_status == Status.COMPLETE and rolling.size == 1
    assert fixed.processing_status == Status.PROCESSING  # not relative to today: left to its own task
    assert ListMembership.objects.get().contact_id == recent.pk


def test_ensure_schedules_is_idempotent():
    # migrate already created it (post_migrate, with today's date): start from none.
    Schedule.objects.filter(name=ROLLING_SCHEDULE_NAME).delete()
    ensure_schedules(now=datetime(2026, 3, 1, 15, 0, tzinfo=UTC))
    ensure_schedules(now=datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    schedule = Schedule.objects.get(name=ROLLING_SCHEDULE_NAME)
    assert schedule.func == "lists.tasks.lists_refresh_rolling_task"
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1
    assert schedule.next_run == datetime(2026, 3, 2, 0, 5, tzinfo=UTC)  # the second call did not move it
