"""The daily Salesforce API allocation (HubSpot's rule): automatic retries stop at 75 %, automatic
syncs at 100 %; a manual resync still runs, with a warning."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from sync.engine.errors import RunStopped
from sync.models import Category

RETRY_SHARE = 0.75


@dataclass
class ApiBudget:
    allocation: int
    used_before: int
    manual: bool
    client: object | None = None

    @property
    def used(self) -> int:
        return self.used_before + (int(self.client.api_calls) if self.client is not None else 0)

    @property
    def retries_allowed(self) -> bool:
        return self.manual or self.used < self.allocation * RETRY_SHARE

    @property
    def exhausted(self) -> bool:
        return self.used >= self.allocation

    def warning(self) -> str:
        if self.exhausted and self.manual:
            return _("The daily API allocation (%(n)d calls) is used up; this manual resync runs anyway.") % {
                "n": self.allocation
            }
        return ""

    def check(self, calls_needed: int = 1) -> None:
        """Stop an automatic run that would go past the allocation."""
        if not self.manual and self.used + calls_needed > self.allocation:
            raise RunStopped(
                _("Daily API allocation of %(n)d calls reached; automatic syncs resume when usage drops.")
                % {"n": self.allocation},
                category=Category.API_LIMIT,
            )
