"""factory-boy factories for the sync app: runs and per-record log rows.

``SyncRecordFactory(failed=True)`` makes a categorised failure, ``SyncRecordFactory(at=...)``
backdates a record (``created_at`` is auto_now_add, so the factory updates it after insert).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from factory.django import DjangoModelFactory

from sync.models import Category, SyncRecord, SyncRun
from tests.lists.factories import ContactFactory


class SyncRunFactory(DjangoModelFactory):
    class Meta:
        model = SyncRun

    trigger = SyncRun.Trigger.SCHEDULE
    status = SyncRun.Status.SUCCEEDED

    class Params:
        running = factory.Trait(status=SyncRun.Status.RUNNING, finished_at=None)

    @classmethod
    def _create(cls, model_class, *args: Any, at: dt.datetime | None = None, **kwargs: Any):
        run = super()._create(model_class, *args, **kwargs)
        if at is not None:
            finished = at + dt.timedelta(seconds=30) if run.status != SyncRun.Status.RUNNING else None
            model_class.objects.filter(pk=run.pk).update(started_at=at, finished_at=finished)
            run.started_at, run.finished_at = at, finished
        return run


class SyncRecordFactory(DjangoModelFactory):
    class Meta:
        model = SyncRecord

    run = factory.SubFactory(SyncRunFactory)
    contact = factory.SubFactory(ContactFactory)
    hubspot_id = factory.LazyAttribute(lambda o: o.contact.hubspot_id if o.contact else "")
    email = factory.LazyAttribute(lambda o: o.contact.email if o.contact else "")
    name = factory.LazyAttribute(lambda o: str(o.contact) if o.contact else "")
    direction = SyncRecord.Direction.TO_SALESFORCE
    action = SyncRecord.Action.CREATED
    salesforce_object = "Lead"
    salesforce_id = factory.Sequence(lambda n: f"00Q{n:015d}")
    payload_before = None
    payload_after = factory.LazyAttribute(lambda o: {"Email": o.email, "LastName": "Doe"})

    class Params:
        failed = factory.Trait(
            action=SyncRecord.Action.FAILED,
            category=Category.REQUIRED_FIELD,
            error_code="REQUIRED_FIELD_MISSING",
            message="Required fields are missing: [Company]",
            fields=["Company"],
            salesforce_id="",
        )
        skipped = factory.Trait(
            action=SyncRecord.Action.SKIPPED,
            skip_reason=SyncRecord.SkipReason.NOT_MEMBER,
            salesforce_id="",
            payload_after=None,
        )

    @classmethod
    def _create(cls, model_class, *args: Any, at: dt.datetime | None = None, **kwargs: Any):
        record = super()._create(model_class, *args, **kwargs)
        if at is not None:
            model_class.objects.filter(pk=record.pk).update(created_at=at)
            record.created_at = at
        return record
