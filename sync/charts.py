"""Server-side SVG charts for the health page: no JavaScript library, no CDN, works printed.

Each bar carries a ``<title>`` so hovering shows the figures; the charts are also given a text
summary (``aria-label``) for screen readers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from sync.selectors import HourTotals

SYNCED = "#2e8540"
SKIPPED = "#9aa5b1"
FAILED = "#ba2121"
API = "#417690"


@dataclass
class Series:
    label: str
    color: str
    values: Sequence[int]


def _nice_max(value: int) -> int:
    """Round the y-axis top up to 1, 2 or 5 × a power of ten."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def stacked_bars(
    *,
    series: Sequence[Series],
    bar_titles: Sequence[str],
    x_labels: Sequence[tuple[int, str]],
    label: str,
    width: int = 900,
    height: int = 220,
    limit: int | None = None,
    limit_label: str = "",
) -> SafeString:
    """Bars stacked bottom-up in the order of ``series``; ``limit`` draws a dashed line."""
    count = len(bar_titles)
    left, right, top, bottom = 44, 8, 26, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(count)]
    y_max = _nice_max(max([*totals, limit or 0, 0]))
    step = plot_w / max(count, 1)
    bar_w = max(1.0, step * 0.8)

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / y_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sync-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">'
    ]
    # Grid and y-axis labels at 0, half and top.
    for frac in (0, 0.5, 1):
        value = y_max * frac
        yy = y(value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd" stroke-width="1"/>'
        )
        shown = formats.number_format(round(value), force_grouping=True)
        parts.append(
            f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="11" fill="#666">{shown}</text>'
        )
    for i in range(count):
        x = left + i * step + (step - bar_w) / 2
        base = 0
        parts.append(f"<g><title>{escape(bar_titles[i])}</title>")
        # An invisible full-height target so thin bars are easy to hover.
        parts.append(
            f'<rect x="{left + i * step:.1f}" y="{top}" width="{step:.2f}" height="{plot_h}" fill="transparent"/>'
        )
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            y_top, y_bottom = y(base + value), y(base)
            parts.append(
                f'<rect x="{x:.2f}" y="{y_top:.2f}" width="{bar_w:.2f}" height="{y_bottom - y_top:.2f}" '
                f'fill="{s.color}"/>'
            )
            base += value
        parts.append("</g>")
    if limit:
        ly = y(limit)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ly:.1f}" y2="{ly:.1f}" stroke="{FAILED}" '
            f'stroke-dasharray="5,4" stroke-width="1.5"/>'
        )
        if limit_label:
            parts.append(
                f'<text x="{width - right}" y="{ly - 4:.1f}" text-anchor="end" font-size="11" '
                f'fill="{FAILED}">{escape(limit_label)}</text>'
            )
    for index, text in x_labels:
        x = left + index * step
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="#999"/>')
        parts.append(f'<text x="{x + 2:.1f}" y="{height - 8}" font-size="11" fill="#666">{escape(text)}</text>')
    # Legend.
    lx = left
    for s in series:
        parts.append(f'<rect x="{lx}" y="6" width="10" height="10" fill="{s.color}"/>')
        parts.append(f'<text x="{lx + 14}" y="15" font-size="12" fill="#333">{escape(s.label)}</text>')
        lx += 24 + 7 * len(s.label)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703  # every text in the SVG is escaped; the rest are numbers and this module's colours


def _hour_label(hour: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(hour), "D H:i")


def activity_chart(totals: Sequence[HourTotals]) -> SafeString:
    """Synced, skipped and failed per hour (7 days by default), a tick at each midnight."""
    titles = [
        _("%(hour)s — synced %(synced)s, skipped %(skipped)s, failed %(failed)s")
        % {"hour": _hour_label(t.hour), "synced": t.synced, "skipped": t.skipped, "failed": t.failed}
        for t in totals
    ]
    labels = [
        (i, formats.date_format(timezone.localtime(t.hour), "D j"))
        for i, t in enumerate(totals)
        if timezone.localtime(t.hour).hour == 0
    ]
    synced, skipped, failed = (sum(getattr(t, k) for t in totals) for k in ("synced", "skipped", "failed"))
    label = _("Records per hour over %(days)s days: %(synced)s synced, %(skipped)s skipped, %(failed)s failed.") % {
        "days": max(1, len(totals) // 24),
        "synced": synced,
        "skipped": skipped,
        "failed": failed,
    }
    return stacked_bars(
        series=[
            Series(_("Synced"), SYNCED, [t.synced for t in totals]),
            Series(_("Skipped"), SKIPPED, [t.skipped for t in totals]),
            Series(_("Failed"), FAILED, [t.failed for t in totals]),
        ],
        bar_titles=titles,
        x_labels=labels,
        label=label,
    )


def api_chart(per_hour: Sequence[tuple[dt.datetime, int]], *, allocation: int) -> SafeString:
    """Salesforce API calls per hour over 24 hours, with the even hourly share of the allocation."""
    titles = [_("%(hour)s — %(calls)s calls") % {"hour": _hour_label(h), "calls": n} for h, n in per_hour]
    labels = [
        (i, formats.date_format(timezone.localtime(h), "H:i")) for i, (h, _n) in enumerate(per_hour) if i % 3 == 0
    ]
    hourly_share = allocation // 24 if allocation else None
    return stacked_bars(
        series=[Series(_("Salesforce API calls"), API, [n for _h, n in per_hour])],
        bar_titles=titles,
        x_labels=labels,
        label=_("Salesforce API calls per hour over 24 hours: %(calls)s in all.")
        % {"calls": sum(n for _h, n in per_hour)},
        height=180,
        limit=hourly_share,
        limit_label=_("allocation ÷ 24 = %(n)s") % {"n": hourly_share} if hourly_share else "",
    )
