"""What can be alerted about: one ``Condition`` per kind of alert, in ``CONDITIONS``.

A condition reads the facts of one check (``Facts``: each figure computed once, however many
channels ask) and, given one channel's threshold, says whether it holds (``Observation.state``
is ``"ok"`` or a state naming what is wrong) and words the message for both cases: the alert
when it starts, the notice when it clears.

Adding a condition: write its ``observe(facts, threshold)`` here, append a ``Condition`` to
``CONDITIONS`` with a stable ``key`` (stored in the alert states: never rename one) and say which
channels hear of it with ``threshold``: ``every_channel`` (on for every channel, no setting) or a
function reading a field of ``AlertChannel`` (blank or off: that channel is not told).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integration.models import SyncSettings
from lists.models import ContactList
from sync.models import AlertChannel, SyncRecord, SyncRun
from sync.selectors import Suspension, api_usage, suspensions
from sync.selectors.usage import ApiUsage

OK = "ok"


@dataclass(frozen=True)
class Observation:
    key: str
    state: str  # OK, or what is wrong (two different problems are two states)
    subject: str
    body: str
    value: Any = None
    threshold: Any = None

    @property
    def ok(self) -> bool:
        return self.state == OK


def link(name: str) -> str:
    return getattr(settings, "SYNC_PUBLIC_URL", "").rstrip("/") + reverse(name)


@dataclass
class Facts:
    """The figures one check looks at, each read at most once."""

    now: dt.datetime
    _failures: dict[int, int] = field(default_factory=dict)

    @cached_property
    def usage(self) -> ApiUsage:
        return api_usage(now=self.now)

    @cached_property
    def suspensions(self) -> list[Suspension]:
        return suspensions(usage=self.usage)

    @cached_property
    def health_link(self) -> str:
        return link("sync:health")

    def failures_last_hour(self, at_most: int) -> int:
        """Records that failed in the hour before ``now`` and are not ignored, counted up to
        ``at_most`` (the count stops there: never a scan of the whole hour's log)."""
        if at_most not in self._failures:
            since = self.now - dt.timedelta(hours=1)
            rows = SyncRecord.objects.filter(action=SyncRecord.Action.FAILED, ignored=False, created_at__gte=since)
            self._failures[at_most] = rows.order_by()[:at_most].count()
        return self._failures[at_most]

    @cached_property
    def inclusion_list(self) -> ContactList | None:
        return SyncSettings.load().inclusion_list

    @cached_property
    def oldest_running(self) -> SyncRun | None:
        return SyncRun.objects.filter(status=SyncRun.Status.RUNNING).order_by("started_at").first()

    def footer(self) -> str:
        return "\n\n" + _("Sync health: %(url)s") % {"url": self.health_link}


def observe_suspension(facts: Facts, threshold: Any) -> Observation:
    found = facts.suspensions
    if not found:
        return Observation(
            "connection", OK, _("[Sync] Running again"), _("The integration is no longer suspended.") + facts.footer()
        )
    state = ";".join(sorted(f"{s.system}:{s.kind}" for s in found))
    subject = _("[Sync] Suspended — %(what)s") % {"what": ", ".join(s.title for s in found)}
    body = "\n\n".join(f"{s.title}\n{s.reason}\n\n{s.advice}" for s in found) + facts.footer()
    return Observation("connection", state, subject, body, value=state)


def observe_failures(facts: Facts, threshold: int) -> Observation:
    failing = facts.failures_last_hour(threshold)
    if failing >= threshold:
        return Observation(
            "failures",
            "over",
            _("[Sync] %(n)s or more records are failing") % {"n": threshold},
            _(
                "At least %(n)s records failed to sync in the last hour (not ignored). "
                "Open Sync health to see them by category, fix the data, then resync them."
            )
            % {"n": threshold}
            + facts.footer(),
            value=failing,
            threshold=threshold,
        )
    return Observation(
        "failures",
        OK,
        _("[Sync] Failures back under the threshold"),
        _("Fewer than %(n)s records failed to sync in the last hour.") % {"n": threshold} + facts.footer(),
        value=failing,
        threshold=threshold,
    )


def observe_run_time(facts: Facts, threshold: int) -> Observation:
    run = facts.oldest_running
    minutes = int((facts.now - run.started_at).total_seconds() // 60) if run else 0
    if run and minutes >= threshold:
        return Observation(
            "run_time",
            f"run:{run.pk}",
            _("[Sync] Run %(run)s has been running for %(minutes)s minutes") % {"run": run.pk, "minutes": minutes},
            _(
                "Sync run %(run)s started %(minutes)s minutes ago and has not finished (threshold: %(n)s minutes). "
                "A worker may be stuck or the run may be much larger than usual."
            )
            % {"run": run.pk, "minutes": minutes, "n": threshold}
            + facts.footer(),
            value=minutes,
            threshold=threshold,
        )
    return Observation(
        "run_time",
        OK,
        _("[Sync] No run is overdue"),
        _("No sync run has been running for %(n)s minutes or more.") % {"n": threshold} + facts.footer(),
        value=minutes,
        threshold=threshold,
    )


def observe_api_usage(facts: Facts, threshold: int) -> Observation:
    usage = facts.usage
    values = {"percent": usage.percent, "n": threshold, "used": usage.used_24h, "allocation": usage.allocation}
    if usage.percent >= threshold:
        return Observation(
            "api_usage",
            "over",
            _("[Sync] Salesforce API usage at %(percent)s%%") % values,
            _(
                "%(used)s of the %(allocation)s daily Salesforce API calls were used in the last 24 hours "
                "(%(percent)s%%, threshold %(n)s%%). At 100%% the sync pauses until calls free up."
            )
            % values
            + facts.footer(),
            value=usage.percent,
            threshold=threshold,
        )
    return Observation(
        "api_usage",
        OK,
        _("[Sync] Salesforce API usage back under %(n)s%%") % values,
        _("%(percent)s%% of the daily Salesforce API allocation was used in the last 24 hours.") % values
        + facts.footer(),
        value=usage.percent,
        threshold=threshold,
    )


def observe_inclusion_list_deleted(facts: Facts, threshold: Any) -> Observation:
    """The inclusion list is a HubSpot list that HubSpot deleted: nobody is sent any more (the
    gate stays shut, never open) until it is restored there or another list is picked."""
    contact_list = facts.inclusion_list
    if contact_list is None or contact_list.hubspot_deleted_at is None or not contact_list.is_mirrored:
        return Observation(
            "inclusion_list_deleted",
            OK,
            _("[Sync] The inclusion list is usable again"),
            _("The inclusion list is no longer a list deleted in HubSpot.") + facts.footer(),
        )
    values = {"name": contact_list.name, "id": contact_list.hubspot_list_id}
    return Observation(
        "inclusion_list_deleted",
        f"deleted:{contact_list.hubspot_list_id}",
        _("[Sync] The inclusion list “%(name)s” was deleted in HubSpot") % values,
        _(
            "HubSpot list %(id)s (“%(name)s”), the Salesforce inclusion list, was deleted in HubSpot. No contact is "
            "sent to Salesforce until it is restored in HubSpot or another inclusion list is picked on the "
            "settings page."
        )
        % values
        + facts.footer(),
        value=contact_list.hubspot_list_id,
    )


def every_channel(channel: AlertChannel) -> bool:
    return True


@dataclass(frozen=True)
class Condition:
    key: str
    label: Any  # lazy: shown in the admin and in test alerts
    threshold: Callable[[AlertChannel], Any]  # None or False: this channel is not told
    observe: Callable[[Facts, Any], Observation]


CONDITIONS: list[Condition] = [
    Condition("connection", gettext_lazy("The sync is suspended"), lambda c: c.on_suspension, observe_suspension),
    Condition("failures", gettext_lazy("Failures in the last hour"), lambda c: c.failures_per_hour, observe_failures),
    Condition("run_time", gettext_lazy("A run takes too long"), lambda c: c.run_minutes, observe_run_time),
    Condition("api_usage", gettext_lazy("Salesforce API usage"), lambda c: c.api_usage_percent, observe_api_usage),
    Condition(
        "inclusion_list_deleted",
        gettext_lazy("The inclusion list was deleted in HubSpot"),
        every_channel,
        observe_inclusion_list_deleted,
    ),
]


def condition_label(key: str) -> str:
    for condition in CONDITIONS:
        if condition.key == key:
            return str(condition.label)
    return key
