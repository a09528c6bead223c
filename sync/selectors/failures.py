"""Current failures: what the health page counts, by category.

Every query here must stay fast with millions of ``SyncRecord`` rows: "current" failures are
found from the failed rows only, with one index probe each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, QuerySet, Sum
from django.utils import timezone

from sync.models import Category, SyncRecord, SyncRun


def current_failures(queryset: QuerySet[SyncRecord] | None = None) -> QuerySet[SyncRecord]:
    """Failed, not ignored records that are still the latest word on their contact.

    A failure stops being current as soon as a later record exists for the same contact in the
    same direction (a success, a skip, or a newer failure, which is then the current one).
    The probe walks the ``record_contact`` index from the failure's time onwards. Records
    without a contact (deleted since) stay current until ignored or swept.
    """
    later = SyncRecord.objects.filter(
        contact_id=OuterRef("contact_id"),
        direction=OuterRef("direction"),
        created_at__gt=OuterRef("created_at"),
    )
    queryset = SyncRecord.objects.all() if queryset is None else queryset
    return queryset.filter(action=SyncRecord.Action.FAILED, ignored=False).exclude(Exists(later))


@dataclass
class CategoryCard:
    category: str
    label: str
    affected: int = 0
    errors_24h: int = 0
    top_codes: list[tuple[str, int]] = field(default_factory=list)

    @property
    def is_failing(self) -> bool:
        return self.affected > 0


def category_cards(*, now: dt.datetime | None = None) -> list[CategoryCard]:
    """One card per category, in the order of ``Category``: two grouped queries in all."""
    now = now or timezone.now()
    cards = {value: CategoryCard(category=value, label=str(label)) for value, label in Category.choices}
    codes: dict[str, list[tuple[str, int]]] = {value: [] for value in cards}
    rows = current_failures().values("category", "error_code").annotate(n=Count("id")).order_by()
    for row in rows:
        card = cards.get(row["category"]) or cards[Category.OTHER]
        card.affected += row["n"]
        codes[card.category].append((row["error_code"] or "—", row["n"]))
    recent = (
        SyncRecord.objects.filter(action=SyncRecord.Action.FAILED, created_at__gte=now - dt.timedelta(hours=24))
        .values("category")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in recent:
        card = cards.get(row["category"]) or cards[Category.OTHER]
        card.errors_24h += row["n"]
    for category, pairs in codes.items():
        cards[category].top_codes = sorted(pairs, key=lambda p: (-p[1], p[0]))[:3]
    return list(cards.values())


def conflicts_24h(*, now: dt.datetime | None = None) -> int:
    """Records of the last 24 hours where both sides had changed a field since they last agreed
    (each resolved by its rule): from the run counters, not the log."""
    since = (now or timezone.now()) - dt.timedelta(hours=24)
    return SyncRun.objects.filter(started_at__gte=since).aggregate(n=Sum("conflicts"))["n"] or 0
