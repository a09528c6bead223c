"""Email alerts: the integration is suspended, or current failures pass a threshold.

One email per change of state, never one per check: the last state alerted is stored in
``AlertState`` and compared under a row lock, so two workers checking at once send one email.
A return to normal is announced too, so a reader knows the earlier alert is over.

Settings (all optional): ``SYNC_ALERT_EMAILS`` (recipients; default ``ADMINS``, then active
superusers), ``SYNC_ALERT_FAILURE_THRESHOLD`` (current failing records, default 25),
``SYNC_PUBLIC_URL`` (e.g. ``https://sync.example.com``, to put absolute links in the emails).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sync.models import AlertState
from sync.selectors import api_usage, current_failures, suspensions

DEFAULT_THRESHOLD = 25
OK = AlertState.OK


@dataclass
class Observation:
    key: str
    state: str
    subject: str
    body: str


def failure_threshold() -> int:
    return int(getattr(settings, "SYNC_ALERT_FAILURE_THRESHOLD", DEFAULT_THRESHOLD))


def recipients() -> list[str]:
    configured = getattr(settings, "SYNC_ALERT_EMAILS", None)
    if configured:
        return list(configured)
    admins = [email for _name, email in getattr(settings, "ADMINS", [])]
    if admins:
        return admins
    users = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")
    return sorted(users.values_list("email", flat=True))


def _link(name: str) -> str:
    return getattr(settings, "SYNC_PUBLIC_URL", "").rstrip("/") + reverse(name)


def observe(*, now: dt.datetime | None = None) -> list[Observation]:
    """The current state of each alert, with the email that announces it."""
    health = _link("sync:health")
    found = suspensions(usage=api_usage(now=now))
    if found:
        state = ";".join(sorted(f"{s.system}:{s.kind}" for s in found))
        subject = _("[Sync] Suspended — %(what)s") % {"what": ", ".join(s.title for s in found)}
        body = "\n\n".join(f"{s.title}\n{s.reason}\n\n{s.advice}" for s in found)
        body += "\n\n" + _("Sync health: %(url)s") % {"url": health}
        connection = Observation("connection", state, subject, body)
    else:
        connection = Observation(
            "connection",
            OK,
            _("[Sync] Running again"),
            _("The integration is no longer suspended.") + "\n\n" + _("Sync health: %(url)s") % {"url": health},
        )

    threshold = failure_threshold()
    failing = current_failures()[: threshold + 1].count()
    if failing >= threshold:
        failures = Observation(
            "failures",
            "over",
            _("[Sync] %(n)s or more records are failing") % {"n": threshold},
            _(
                "At least %(n)s records currently fail to sync (not ignored, not fixed by a later sync). "
                "Open Sync health to see them by category, fix the data, then resync them."
            )
            % {"n": threshold}
            + "\n\n"
            + _("Sync health: %(url)s") % {"url": health},
        )
    else:
        failures = Observation(
            "failures",
            OK,
            _("[Sync] Failures back under the threshold"),
            _("Fewer than %(n)s records currently fail to sync.") % {"n": threshold}
            + "\n\n"
            + _("Sync health: %(url)s") % {"url": health},
        )
    return [connection, failures]


def alerts_check(*, now: dt.datetime | None = None) -> list[str]:
    """Compare each alert's state with the last one alerted; email each change. Returns the keys
    of the alerts sent.

    A first check that finds everything normal sends nothing (there is no earlier alert to end).
    """
    now = now or timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        observations = observe(now=now)
    sent: list[str] = []
    for obs in observations:
        with transaction.atomic():
            AlertState.objects.get_or_create(key=obs.key, defaults={"state": OK})
            row = AlertState.objects.select_for_update().get(key=obs.key)
            if row.state == obs.state:
                continue
            row.state, row.detail, row.changed_at = obs.state, obs.body, now
            to = recipients()
            if to:
                send_mail(obs.subject, obs.body, None, to)
                row.notified_at = now
                sent.append(obs.key)
            row.save()
    return sent
